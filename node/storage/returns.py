"""Returned data: certificates the province sent back to their organisation for correction
(data guide 中就培发〔2022〕1号 第十一条), on the caller's transaction like every repository here.

A row is ``returned`` (with the province's reason and the deadline, the 20th working day after
the day it was returned) until the corrected version is resubmitted; it then becomes
``resubmitted`` and names the new version's commitment. Rows are never deleted and carry no
personal data (commitments, numbers, dates, a reason checked like a note).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from sqlalchemy import insert, select, update

from node.storage.common import Executor, aware, storage_errors
from node.storage.schema import ReturnedRow, table_of

_RETURNS: Final = table_of(ReturnedRow)


@dataclasses.dataclass(frozen=True, slots=True)
class ReturnRecord:
    """One returned certificate (a row of ``returned_rows``)."""

    id: int
    province: str
    commitment: bytes
    certificate_number: str
    state: str
    reason: str
    returned_by: str
    returned_at: dt.datetime
    returned_on: dt.date
    deadline: dt.date
    resubmitted_at: dt.datetime | None
    resubmitted_commitment: bytes | None

    def public_json(self) -> dict[str, str]:
        """What ``node return`` and ``POST …/return`` show: no reason, actor or personal data."""
        return {
            "certificate_number": self.certificate_number,
            "commitment": self.commitment.hex(),
            "state": self.state,
            "returned_on": self.returned_on.isoformat(),
            "deadline": self.deadline.isoformat(),
        }


def _record(row: Any) -> ReturnRecord:
    values = dict(row._mapping)
    values["returned_at"] = aware(values["returned_at"])
    if values["resubmitted_at"] is not None:
        values["resubmitted_at"] = aware(values["resubmitted_at"])
    values["commitment"] = bytes(values["commitment"])
    if values["resubmitted_commitment"] is not None:
        values["resubmitted_commitment"] = bytes(values["resubmitted_commitment"])
    return ReturnRecord(**values)


class ReturnRepository:
    """Rows of ``returned_rows``."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(
        self,
        *,
        province: str,
        commitment: bytes,
        certificate_number: str,
        reason: str,
        returned_by: str,
        returned_on: dt.date,
        deadline: dt.date,
        now: dt.datetime,
    ) -> ReturnRecord:
        """Record a ``returned`` row and return it.

        Raises:
            StorageError: the database failed.
        """
        values: dict[str, Any] = {
            "province": province,
            "commitment": commitment,
            "certificate_number": certificate_number,
            "state": "returned",
            "reason": reason,
            "returned_by": returned_by,
            "returned_at": aware(now),
            "returned_on": returned_on,
            "deadline": deadline,
            "resubmitted_at": None,
            "resubmitted_commitment": None,
        }
        with storage_errors("cannot record the returned certificate"):
            result = self._db.execute(insert(_RETURNS).values(**values))
        return ReturnRecord(id=int(result.inserted_primary_key[0]), **values)  # type: ignore[attr-defined]

    def open_for(self, commitment: bytes) -> ReturnRecord | None:
        """The ``returned`` row of certificate ``commitment``, or ``None``."""
        with storage_errors("cannot read the returned certificate"):
            row = self._db.execute(
                select(_RETURNS).where(
                    _RETURNS.c.commitment == commitment, _RETURNS.c.state == "returned"
                )
            ).first()
        return None if row is None else _record(row)

    def in_state(self, province: str, state: str, *, limit: int = 1000) -> list[ReturnRecord]:
        """The rows of ``province`` in ``state``, oldest first."""
        with storage_errors("cannot read the returned certificates"):
            rows = self._db.execute(
                select(_RETURNS)
                .where(_RETURNS.c.province == province, _RETURNS.c.state == state)
                .order_by(_RETURNS.c.id)
                .limit(limit)
            ).all()
        return [_record(r) for r in rows]

    def resubmitted(self, return_id: int, commitment: bytes, *, now: dt.datetime) -> None:
        """Mark row ``return_id`` ``resubmitted`` by the version ``commitment``."""
        with storage_errors("cannot record the resubmission"):
            self._db.execute(
                update(_RETURNS)
                .where(_RETURNS.c.id == return_id, _RETURNS.c.state == "returned")
                .values(
                    state="resubmitted",
                    resubmitted_at=aware(now),
                    resubmitted_commitment=commitment,
                )
            )
