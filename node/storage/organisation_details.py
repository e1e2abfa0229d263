"""The public particulars of filed organisations (``organisation_details``): address, contact,
filing number and filing period (人社鉴发〔2019〕3号 三; Henan's 备案期限), and the code a
merged organisation was merged into. On the caller's transaction like every repository here;
rows are never deleted."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import insert, select, update

from node.storage.common import Executor, aware, storage_errors
from node.storage.schema import OrganisationDetails, table_of

_DETAILS: Final = table_of(OrganisationDetails)


@dataclasses.dataclass(frozen=True, slots=True)
class DetailsRecord:
    """One organisation's public particulars (all optional) and merged-into link."""

    code: str
    address: str | None = None
    contact: str | None = None
    filing_number: str | None = None
    filing_from: dt.date | None = None
    filing_until: dt.date | None = None
    merged_into: str | None = None
    merged_at: dt.datetime | None = None


def _record(row: Any) -> DetailsRecord:
    values = dict(row._mapping)
    values.pop("updated_at")
    if values["merged_at"] is not None:
        values["merged_at"] = aware(values["merged_at"])
    return DetailsRecord(**values)


class DetailsRepository:
    """Rows of ``organisation_details``."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def get(self, code: str) -> DetailsRecord | None:
        with storage_errors("cannot read the organisation's particulars"):
            row = self._db.execute(select(_DETAILS).where(_DETAILS.c.code == code)).first()
        return None if row is None else _record(row)

    def of(self, codes: Iterable[str]) -> dict[str, DetailsRecord]:
        """The particulars of ``codes`` that have any, by code."""
        wanted = list(codes)
        if not wanted:
            return {}
        with storage_errors("cannot read the organisations' particulars"):
            rows = self._db.execute(select(_DETAILS).where(_DETAILS.c.code.in_(wanted))).all()
        return {r.code: _record(r) for r in rows}

    def put(self, record: DetailsRecord, *, now: dt.datetime) -> None:
        """Store ``record``'s particulars (the merged-into link is kept as it is)."""
        values = {
            "address": record.address,
            "contact": record.contact,
            "filing_number": record.filing_number,
            "filing_from": record.filing_from,
            "filing_until": record.filing_until,
            "updated_at": aware(now),
        }
        with storage_errors("cannot store the organisation's particulars"):
            if self.get(record.code) is None:
                self._db.execute(
                    insert(_DETAILS).values(
                        code=record.code, merged_into=None, merged_at=None, **values
                    )
                )
            else:
                self._db.execute(
                    update(_DETAILS).where(_DETAILS.c.code == record.code).values(**values)
                )

    def merged(self, code: str, into: str, *, now: dt.datetime) -> None:
        """Record that ``code`` was merged into ``into``."""
        with storage_errors("cannot record the merger"):
            if self.get(code) is None:
                self._db.execute(
                    insert(_DETAILS).values(
                        code=code, merged_into=into, merged_at=aware(now), updated_at=aware(now)
                    )
                )
            else:
                self._db.execute(
                    update(_DETAILS)
                    .where(_DETAILS.c.code == code)
                    .values(merged_into=into, merged_at=aware(now), updated_at=aware(now))
                )
