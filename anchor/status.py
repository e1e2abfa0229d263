"""On-chain certificate statuses from a province log's status-changing entries.

A correction, revocation, suspension, reinstatement or deletion is first an entry in the
province log (``node.services.lifecycle``); once a confirmed checkpoint holds the entry,
:class:`StatusSync` writes the matching status to the contract (docs/FORMATS.md "On-chain
encodings"), so a status on chain always has an anchored entry behind it (the auditor checks both
ways).

=============  =====================================================================
entry kind     status change on chain, keyed by (province, commitment)
=============  =====================================================================
``revoke``     the entry's commitment → 1 revoked, the entry's reason
``suspend``    → 2 suspended
``reinstate``  → 0 active (recorded as ``reinstated`` in the history)
``delete``     → 1 revoked with the 5xx deletion reason (logical deletion withdraws the
               certificate; the contract has no separate status for it)
``correct``    the corrected commitment (``links[0]``) → 3 superseded, successor = the
               entry's commitment, the correction reason
=============  =====================================================================

Crash safety: progress is ``log_state.status_synced`` (entries below it are on chain). A crash
between the transaction and that update is settled by the contract's per-certificate change
count: an entry whose change the chain has already counted is not sent again.
"""

from __future__ import annotations

import dataclasses

from anchor.registry import RegistryClient, StatusChange
from node.core.formats.entry import LogEntry
from node.storage import CheckpointRepository, Database, ProvinceLog
from node.storage.foreign import ForeignEntries

STATUS_ACTIVE, STATUS_REVOKED, STATUS_SUSPENDED, STATUS_SUPERSEDED = 0, 1, 2, 3
_STATUS_OF_KIND = {
    "revoke": STATUS_REVOKED,
    "suspend": STATUS_SUSPENDED,
    "reinstate": STATUS_ACTIVE,
    "delete": STATUS_REVOKED,
}
#: Changes sent per ``setStatusBatch`` transaction (about 27k gas each).
DEFAULT_BATCH = 100


@dataclasses.dataclass(frozen=True, slots=True)
class _Pending:
    leaf_index: int
    change: StatusChange
    #: The target's change count on chain once this change is applied.
    expected_changes: int


def status_change(entry: LogEntry) -> StatusChange | None:
    """The contract call an entry asks for, or ``None`` for an ``issue`` entry."""
    if entry.kind == "correct":
        return StatusChange(entry.links[0], STATUS_SUPERSEDED, entry.reason or 0, entry.commitment)
    status = _STATUS_OF_KIND.get(entry.kind)
    if status is None:
        return None
    return StatusChange(entry.commitment, status, entry.reason or 0)


class StatusSync:
    """Writes one province's anchored status entries to the contract."""

    def __init__(
        self, db: Database, province: str, client: RegistryClient, *, batch: int = DEFAULT_BATCH
    ) -> None:
        self.db = db
        self.province = province
        self.client = client
        self.batch = batch
        self._chain_province = int(province)

    def __repr__(self) -> str:
        return f"StatusSync(province={self.province!r})"

    def run_once(self) -> int:
        """Send the status changes of anchored entries not yet on chain; return how many were
        sent (0 when there is nothing to do).

        Raises:
            ChainError: the chain failed or refused; progress stays where it was.
        """
        sent = 0
        while True:
            pending, end = self._next_batch()
            if end is None:
                return sent
            todo = [p for p in pending if not self._already_applied(p)]
            if todo:
                self.client.set_status_batch(self._chain_province, [p.change for p in todo])
                sent += len(todo)
            with self.db.transaction() as session:
                ProvinceLog(session, self.province).set_status_synced(end)

    def _next_batch(self) -> tuple[list[_Pending], int | None]:
        """The next status entries from ``status_synced`` within the confirmed log, and the
        log size to record once they are on chain (``None``: nothing left)."""
        with self.db.transaction() as session:
            log = ProvinceLog(session, self.province)
            confirmed = CheckpointRepository(session, self.province).latest("confirmed")
            limit = 0 if confirmed is None else confirmed.tree_size
            start = log.status_synced
            first = log.first_status_entry(start, limit) if start < limit else None
            if first is None:
                return [], (limit if start < limit else None)
            pending: list[_Pending] = []
            end = limit
            # Entries adopted as foreign (anchored by a thief with the operator's key,
            # province/adopt.py) are never the province's status changes.
            foreign = {
                leaf
                for r in ForeignEntries(session, self.province).ranges(first, limit)
                for leaf in range(r.start, r.end)
            }
            for stored in log.entries(first, limit):
                change = status_change(stored.entry)
                if change is None or stored.leaf_index in foreign:
                    continue
                if len(pending) == self.batch:
                    end = stored.leaf_index
                    break
                before = log.status_changes_of(change.commitment, stored.leaf_index)
                pending.append(_Pending(stored.leaf_index, change, before + 1))
            return pending, end

    def _already_applied(self, pending: _Pending) -> bool:
        """True when the chain has counted this change already (a retry after a crash)."""
        on_chain = self.client.certificate_status(self._chain_province, pending.change.commitment)
        return on_chain.changes >= pending.expected_changes
