"""The screening review queue: flags awaiting a province operator's decision (data guide
中就培发〔2022〕1号 art. 17), on the caller's transaction like every repository here.

A flag targets a certificate (``target_type = "certificate"``, ``target_id`` the commitment in
hex) or an organisation (``"organisation"``, its code). It is ``open`` until an operator
``clear``s it (nothing wrong) or ``uphold``s it; decided flags stay (rows are never deleted).
Flags carry no personal data: the message is a :class:`node.core.rules.screening.Flag` detail
(counts, dates, codes).

:class:`ScreeningData` holds the read-only queries the screening rules need that the certificate
repository does not offer (issue dates under one ID number, through its blind index only).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from sqlalchemy import func, insert, select, update

from node.core.errors import InvalidInput
from node.core.rules.screening import Flag
from node.storage.certificates import current_serials
from node.storage.common import Executor, aware, storage_errors
from node.storage.schema import REVIEW_STATES, CertificateRow, ReviewFlag, table_of

_FLAGS: Final = table_of(ReviewFlag)
_CERTS: Final = table_of(CertificateRow)

TARGET_TYPES: Final = ("certificate", "organisation")
#: Largest page :meth:`ReviewRepository.in_state` returns.
MAX_PAGE: Final = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One review flag."""

    id: int
    province: str
    target_type: str
    target_id: str
    code: str
    severity: str
    message: str
    state: str
    query_suspended: bool
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None

    @property
    def is_open(self) -> bool:
        return self.state == "open"


def _review(row: Any) -> ReviewRecord:
    return ReviewRecord(
        id=int(row.id),
        province=row.province,
        target_type=row.target_type,
        target_id=row.target_id,
        code=row.code,
        severity=row.severity,
        message=row.message,
        state=row.state,
        query_suspended=bool(row.query_suspended),
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )


class ReviewRepository:
    """Review flags of the screening rules (``review_flags``)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(
        self,
        *,
        province: str,
        target_type: str,
        target_id: str,
        flag: Flag,
        query_suspended: bool,
        now: dt.datetime,
    ) -> ReviewRecord:
        """Record an ``open`` flag and return it.

        Raises:
            InvalidInput: ``target_type`` / ``review.target_type``; ``query_suspended`` /
                ``review.suspend_target`` (only a certificate's query service is suspended).
            StorageError: the database failed.
        """
        if target_type not in TARGET_TYPES:
            raise InvalidInput("target_type", "review.target_type", f"one of {TARGET_TYPES}")
        if query_suspended and target_type != "certificate":
            raise InvalidInput(
                "query_suspended",
                "review.suspend_target",
                "only a certificate's query service can be suspended",
            )
        values: dict[str, Any] = {
            "province": province,
            "target_type": target_type,
            "target_id": target_id,
            "code": flag.code,
            "severity": flag.severity,
            "message": flag.detail,
            "state": "open",
            "query_suspended": query_suspended,
            "created_at": aware(now),
            "decided_at": None,
            "decided_by": None,
        }
        with storage_errors("cannot add the review flag"):
            result = self._db.execute(insert(_FLAGS).values(**values))
        flag_id = int(result.inserted_primary_key[0])  # type: ignore[attr-defined]
        return ReviewRecord(id=flag_id, **values)

    def get(self, flag_id: int) -> ReviewRecord | None:
        """Return flag ``flag_id``, or ``None``."""
        with storage_errors("cannot read the review flag"):
            row = self._db.execute(select(_FLAGS).where(_FLAGS.c.id == flag_id)).first()
        return None if row is None else _review(row)

    def open_for(self, target_type: str, target_id: str) -> list[ReviewRecord]:
        """Return the open flags on one target, oldest first."""
        with storage_errors("cannot read review flags"):
            rows = self._db.execute(
                select(_FLAGS)
                .where(
                    _FLAGS.c.target_type == target_type,
                    _FLAGS.c.target_id == target_id,
                    _FLAGS.c.state == "open",
                )
                .order_by(_FLAGS.c.id)
            )
            return [_review(row) for row in rows]

    def in_state(
        self, province: str, state: str, *, after_id: int = 0, limit: int = 100
    ) -> list[ReviewRecord]:
        """Return up to ``limit`` flags of ``province`` in ``state``, by id after ``after_id``
        (page on with the last id returned; index ``ix_review_flags_state``).

        Raises:
            InvalidInput: ``state`` / ``review.state``; ``limit`` / ``review.limit`` (1-1000).
        """
        if state not in REVIEW_STATES:
            raise InvalidInput("state", "review.state", f"one of {REVIEW_STATES}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", "review.limit", f"must be 1-{MAX_PAGE}")
        with storage_errors("cannot list review flags"):
            rows = self._db.execute(
                select(_FLAGS)
                .where(
                    _FLAGS.c.province == province,
                    _FLAGS.c.state == state,
                    _FLAGS.c.id > after_id,
                )
                .order_by(_FLAGS.c.id)
                .limit(limit)
            )
            return [_review(row) for row in rows]

    def decide(self, flag_id: int, state: str, *, operator: str, now: dt.datetime) -> ReviewRecord:
        """Close an open flag as ``cleared`` or ``upheld`` by ``operator`` and return it.

        Raises:
            InvalidInput: ``decision`` / ``review.decision`` (not cleared or upheld);
                ``flag_id`` / ``review.unknown`` or ``review.decided`` (not open any more).
        """
        if state not in ("cleared", "upheld"):
            raise InvalidInput("decision", "review.decision", "cleared or upheld")
        with storage_errors("cannot decide the review flag"):
            result = self._db.execute(
                update(_FLAGS)
                .where(_FLAGS.c.id == flag_id, _FLAGS.c.state == "open")
                .values(state=state, decided_at=aware(now), decided_by=operator)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if self.get(flag_id) is None:
                raise InvalidInput("flag_id", "review.unknown", "no review flag with this id")
            raise InvalidInput("flag_id", "review.decided", "the flag was decided already")
        decided = self.get(flag_id)
        assert decided is not None
        return decided


class ScreeningData:
    """Read-only certificate queries of the screening rules (no personal data leaves)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def issue_dates_under_same_id(self, commitment: bytes) -> list[dt.date]:
        """Return the issue dates of every current, not deleted certificate held under the
        same ID number as ``commitment`` (matched by the ID number's blind index; the ID
        itself is never read), the certificate itself included, ascending."""
        same_id = (
            select(_CERTS.c.id_number_index)
            .where(_CERTS.c.commitment == commitment)
            .scalar_subquery()
        )
        with storage_errors("cannot read certificates"):
            rows = self._db.execute(
                select(_CERTS.c.issue_date)
                .where(
                    _CERTS.c.id_number_index == same_id,
                    _CERTS.c.superseded_by.is_(None),
                    _CERTS.c.status != "deleted",
                )
                .order_by(_CERTS.c.issue_date)
            )
            return [r[0] for r in rows]

    def issue_years(self, organisation_code: str, since_year: int) -> list[int]:
        """Return the issue years from ``since_year`` in which the organisation has current
        certificates, ascending."""
        with storage_errors("cannot read certificates"):
            rows = self._db.execute(
                select(_CERTS.c.issue_year)
                .where(
                    _CERTS.c.organisation_code == organisation_code,
                    _CERTS.c.issue_year >= since_year,
                    _CERTS.c.superseded_by.is_(None),
                )
                .distinct()
                .order_by(_CERTS.c.issue_year)
            )
            return [int(r[0]) for r in rows]

    def last_issue_date(self, organisation_code: str) -> dt.date | None:
        """Return the latest issue date of the organisation's certificates (every version and
        status: a revoked certificate was still assessed), or ``None``."""
        with storage_errors("cannot read the certificates"):
            value = self._db.execute(
                select(func.max(_CERTS.c.issue_date)).where(
                    _CERTS.c.organisation_code == organisation_code
                )
            ).scalar_one()
        if value is None:
            return None
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))

    def serials(self, organisation_code: str, issue_year: int, level: int) -> list[int]:
        """Return the serials of the organisation's current certificates of one year and level,
        ascending (national rule positions 17-22: sequential per organisation, year, level)."""
        return current_serials(self._db, organisation_code, issue_year, level)


__all__ = ["TARGET_TYPES", "ReviewRecord", "ReviewRepository", "ScreeningData"]
