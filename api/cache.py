"""Bounded caches of immutable responses: the hot public reads answer from memory.

Only values that can never change are kept, under a key that names everything they depend on,
so no entry ever needs invalidating:

- **Bundles**, keyed by ``(commitment, checkpoint index, format)``. A bundle is made from the
  certificate version (fixed by its commitment: the commitment covers every field and salt),
  its first log entry, and the inclusion proof into the certificate's *first confirmed*
  checkpoint, which :mod:`node.services.bundler` always targets and which the node records once and
  never moves (``certificates.checkpoint_index``). Statuses are not part of a bundle
  (docs/FORMATS.md "Bundle": network, certificate, entry, proof, anchor); a verifier reads them
  from the chain. The checkpoint index in the key is the one the request reads from the
  database, so a certificate anchored after a miss is looked up afresh.
- **Inclusion proofs**, keyed by ``(leaf index, tree size)``: the Merkle log is append-only, so
  the proof, the leaf hash and the root of a given size never change once the log holds that
  size (a size the log does not hold yet is refused, and refusals are not cached).
- **First leaf of a commitment**: the leaf index of the first entry about a commitment never
  changes once it exists (absent commitments are not cached).

Bundles carry personal data (holder name and ID number): the bundle cache lives in the API
process's memory only, is never written anywhere, and is served only after the same role and
ownership checks as a miss. ``ApiSettings.cache_entries = 0`` turns every cache off.

Several API processes over one database (docs/OPERATIONS.md "Several processes") each keep
their own caches and need no coordination: an entry can never go stale, whatever another
process writes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """A thread-safe least-recently-used map of at most ``size`` entries (0: keeps nothing).

    For immutable values only (see the module docstring): entries are never invalidated.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("a cache size is not negative")
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value``, dropping the least recently used entry when full."""
        if self.size == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
