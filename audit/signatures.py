"""Issuer signature checks for the auditor, in batches, on every core.

Signature verification dominates an audit (Ed25519 ~110 µs per entry on one core here, against
~30 µs for everything else), so batches go to a process pool while the main process keeps
reading manifests. Results come back in submission order; at most ``2 × workers`` batches are
in flight, so memory stays bounded. With ``workers <= 1`` batches are checked in process.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, VerificationError

#: One check: (suite name, public key, commitment, signature value).
SignatureItem = tuple[str, bytes, bytes, bytes]


def verify_batch(chain_id: int, contract: bytes, items: Sequence[SignatureItem]) -> list[int]:
    """Return the positions in ``items`` whose signature does not verify over
    ``signing_message(chain_id, contract, commitment)`` (docs/FORMATS.md "Signatures")."""
    failed = []
    for position, (suite, public_key, commitment, value) in enumerate(items):
        try:
            message = signing_message(chain_id, contract, commitment)
            get_suite(suite).verify(public_key, message, value)
        except (VerificationError, InvalidInput):
            failed.append(position)
    return failed


class SignatureChecker:
    """Collects signature checks with a context each and reports the failed contexts to
    ``on_failure`` (possibly later, once their batch has been checked)."""

    def __init__(
        self,
        chain_id: int,
        contract: bytes,
        on_failure: Callable[[Any], None],
        *,
        workers: int = 1,
        batch_size: int = 2_000,
    ) -> None:
        self.chain_id = chain_id
        self.contract = contract
        self.on_failure = on_failure
        self.batch_size = batch_size
        self.checked = 0
        self._items: list[SignatureItem] = []
        self._contexts: list[Any] = []
        self._pending: deque[tuple[concurrent.futures.Future[list[int]], list[Any]]] = deque()
        self._max_pending = 2 * max(1, workers)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        if workers > 1:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn")
            )

    def add(self, item: SignatureItem, context: Any) -> None:
        """Queue one check; ``context`` is handed to ``on_failure`` if it fails."""
        self._items.append(item)
        self._contexts.append(context)
        if len(self._items) >= self.batch_size:
            self._submit()

    def _submit(self) -> None:
        items, contexts = self._items, self._contexts
        self._items, self._contexts = [], []
        if not items:
            return
        self.checked += len(items)
        if self._pool is None:
            for position in verify_batch(self.chain_id, self.contract, items):
                self.on_failure(contexts[position])
            return
        future = self._pool.submit(verify_batch, self.chain_id, self.contract, items)
        self._pending.append((future, contexts))
        while len(self._pending) > self._max_pending:
            self._collect_one()

    def _collect_one(self) -> None:
        future, contexts = self._pending.popleft()
        for position in future.result():
            self.on_failure(contexts[position])

    def finish(self) -> None:
        """Check everything queued and report every failure; stop the pool."""
        self._submit()
        try:
            while self._pending:
                self._collect_one()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pool (pending checks are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


__all__ = ["SignatureChecker", "SignatureItem", "verify_batch"]
