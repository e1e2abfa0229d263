"""Foreign log entries (migration 0011): leaves of a province's log that someone else anchored
with the province's operator key, adopted so the log equals the chain's again
(``certreg node adopt-foreign``, province/adopt.py). Rows are only added, in the transaction
that appends the leaves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Final

from sqlalchemy import func, select

from node.storage.bulk import insert_tuples
from node.storage.common import BULK_ROWS, Executor, aware, storage_errors
from node.storage.schema import ForeignEntry, table_of

_FOREIGN: Final = table_of(ForeignEntry)
_COLUMNS = (
    "province",
    "leaf_index",
    "checkpoint_index",
    "manifest_cid",
    "anchored_by",
    "adopted_by",
    "adopted_at",
)


@dataclasses.dataclass(frozen=True, slots=True)
class ForeignRange:
    """Consecutive foreign leaves ``[start, end)`` of one checkpoint."""

    checkpoint_index: int
    start: int
    end: int
    manifest_cid: str
    anchored_by: str


class ForeignEntries:
    """The foreign leaves of one province's log, in the caller's transaction."""

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self._province = province

    def __repr__(self) -> str:
        return f"ForeignEntries(province={self._province!r})"

    def add(
        self,
        leaves: Sequence[int],
        *,
        checkpoint_index: int,
        manifest_cid: str,
        anchored_by: str,
        actor: str,
        now: dt.datetime,
    ) -> None:
        """Mark ``leaves`` (of checkpoint ``checkpoint_index``) foreign.

        Raises:
            StorageError: the database failed, or a leaf is already marked.
        """
        aware(now)
        rows = [
            (self._province, leaf, checkpoint_index, manifest_cid, anchored_by, actor, now)
            for leaf in leaves
        ]
        with storage_errors(f"cannot mark foreign entries of log {self._province}"):
            insert_tuples(self._db, _FOREIGN, _COLUMNS, rows, BULK_ROWS)

    def count(self) -> int:
        with storage_errors(f"cannot read foreign entries of log {self._province}"):
            value = self._db.execute(
                select(func.count()).where(_FOREIGN.c.province == self._province)
            ).scalar_one()
        return int(value)

    def contains(self, leaf_index: int) -> bool:
        """Whether leaf ``leaf_index`` is foreign."""
        with storage_errors(f"cannot read foreign entries of log {self._province}"):
            row = self._db.execute(
                select(_FOREIGN.c.leaf_index).where(
                    _FOREIGN.c.province == self._province, _FOREIGN.c.leaf_index == leaf_index
                )
            ).first()
        return row is not None

    def ranges(self, start: int = 0, end: int | None = None) -> list[ForeignRange]:
        """The foreign leaves in ``[start, end)`` as ranges of consecutive leaves of one
        checkpoint, in log order."""
        query = select(
            _FOREIGN.c.leaf_index,
            _FOREIGN.c.checkpoint_index,
            _FOREIGN.c.manifest_cid,
            _FOREIGN.c.anchored_by,
        ).where(_FOREIGN.c.province == self._province, _FOREIGN.c.leaf_index >= start)
        if end is not None:
            query = query.where(_FOREIGN.c.leaf_index < end)
        with storage_errors(f"cannot read foreign entries of log {self._province}"):
            rows = self._db.execute(query.order_by(_FOREIGN.c.leaf_index)).all()
        out: list[ForeignRange] = []
        for leaf, checkpoint, cid, by in rows:
            last = out[-1] if out else None
            if last is not None and last.end == leaf and last.checkpoint_index == checkpoint:
                out[-1] = dataclasses.replace(last, end=leaf + 1)
            else:
                out.append(ForeignRange(int(checkpoint), int(leaf), int(leaf) + 1, cid, by))
        return out


__all__ = ["ForeignEntries", "ForeignRange"]
