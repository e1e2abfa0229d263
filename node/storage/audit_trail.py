"""The append-only audit trail (who, what, when, why, target); never personal data."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import insert, select, text

from node.storage.bulk import insert_tuples
from node.storage.common import BULK_ROWS, Executor, aware, storage_errors
from node.storage.schema import NOT_ISSUE_EVENT, AuditEvent, CertificateRow, table_of

_CERTS: Final = table_of(CertificateRow)
_AUDIT: Final = table_of(AuditEvent)


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event (who, what, when, why, target)."""

    id: int
    occurred_at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    reason: int | None
    note: str | None
    details: Any


class NewAuditEvent(NamedTuple):
    """An event for :meth:`AuditTrail.record_many` (the fields of :meth:`AuditTrail.record`
    but the time, which the batch shares); a named tuple, as bulk intake makes one per
    certificate."""

    actor: str
    action: str
    target_type: str
    target_id: str
    reason: int | None = None
    note: str | None = None
    details: Mapping[str, Any] | None = None


_AUDIT_COLUMNS = (
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "reason",
    "note",
    "details",
)


class AuditTrail:
    """The append-only audit trail. Never put personal data in ``note`` or ``details``: use
    commitments, certificate numbers and organisation codes as targets."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def record(
        self,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        now: dt.datetime,
        reason: int | None = None,
        note: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an event and return its id."""
        with storage_errors("cannot record the audit event"):
            result = self._db.execute(
                insert(_AUDIT).values(
                    occurred_at=aware(now),
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    reason=reason,
                    note=note,
                    details=None if details is None else dict(details),
                )
            )
        return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]

    def record_many(self, events: Sequence[NewAuditEvent], *, now: dt.datetime) -> None:
        """Append events in order, all at ``now``, with executemany-style statements (bulk
        intake: one ``issue`` event per accepted certificate). Ids are not returned.

        Raises:
            StorageError: the database failed; the caller's transaction must roll back.
        """
        occurred_at = aware(now)
        rows = [
            (
                occurred_at,
                e.actor,
                e.action,
                e.target_type,
                e.target_id,
                e.reason,
                e.note,
                e.details if e.details is None or type(e.details) is dict else dict(e.details),
            )
            for e in events
        ]
        with storage_errors("cannot record the audit events"):
            insert_tuples(self._db, _AUDIT, _AUDIT_COLUMNS, rows, BULK_ROWS)

    def for_target(self, target_type: str, target_id: str) -> list[AuditRecord]:
        """Return the events about one target, oldest first.

        Events other than ``issue`` come from the partial index ``ix_audit_events_target``; a
        certificate's ``issue`` events (one per version of the commitment, in practice one)
        through the certificate, whose ``submitted_at`` is their ``occurred_at`` (migration
        0004: intake writes no random-key index entry per certificate).
        """
        same = (_AUDIT.c.target_type == target_type, _AUDIT.c.target_id == target_id)
        queries = [select(_AUDIT).where(*same, text(NOT_ISSUE_EVENT))]
        commitment = _commitment_of_hex(target_id) if target_type == "certificate" else None
        if commitment is not None:
            submitted = select(_CERTS.c.submitted_at).where(_CERTS.c.commitment == commitment)
            queries.append(
                select(_AUDIT).where(
                    *same, _AUDIT.c.action == "issue", _AUDIT.c.occurred_at.in_(submitted)
                )
            )
        with storage_errors("cannot read the audit trail"):
            rows = [row for query in queries for row in self._db.execute(query)]
        return [
            AuditRecord(
                r.id,
                r.occurred_at,
                r.actor,
                r.action,
                r.target_type,
                r.target_id,
                r.reason,
                r.note,
                r.details,
            )
            for r in sorted(rows, key=lambda r: r.id)
        ]


def _commitment_of_hex(text: str) -> bytes | None:
    """The 32 bytes a commitment's lowercase hex names, or ``None``."""
    if len(text) != 64 or text != text.lower():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


__all__ = [
    "AuditRecord",
    "AuditTrail",
    "NewAuditEvent",
]
