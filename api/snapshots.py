"""The trust source of ``POST /v1/verify`` and ``GET /v1/snapshot``: a snapshot of the node's
chain taken at request time (docs/SNAPSHOT.md: online verification is a fresh snapshot), cached
per block. A new block is replayed incrementally from the cached snapshot (``since``), so the
cost of a request is one ``eth_blockNumber`` unless the chain moved."""

from __future__ import annotations

import threading

from anchor.chain import RegistryClient
from anchor.snapshot import take_snapshot
from node.core.formats.snapshot import Snapshot


class SnapshotCache:
    """The latest snapshot of ``client``'s contract, refreshed when the final block changes
    (the head less the client's confirmations: a reorganisation cannot change it)."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def current(self) -> Snapshot:
        """The snapshot at the chain's latest final block.

        Raises:
            ChainError: the chain failed or disagrees with its own views.
        """
        head = self._client.final_block()
        cached = self._snapshot
        if cached is not None and cached.block.number == head:
            return cached
        with self._lock:
            cached = self._snapshot
            if cached is not None and cached.block.number >= head:
                return cached
            since = cached if cached is not None and cached.block.number < head else None
            snapshot = take_snapshot(self._client, block=head, since=since)
            self._snapshot = snapshot
            return snapshot
