"""Counts per name and China day in the database (``daily_counters``), shared by every API
process on one database: failed holder matches per certificate number (data guide art. 20,
against enumeration) and the daily quota of a sharing agreement (art. 22).

:meth:`DailyCounters.add` is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, so
concurrent processes never lose a count: PostgreSQL locks the row, SQLite takes the write lock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.storage.guard import Executor, dialect_of, storage_errors
from node.storage.schema import DailyCounter, table_of

_COUNTERS = table_of(DailyCounter)


class DailyCounters:
    """The counters, read and written in the caller's transaction."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def get(self, name: str, day: int) -> int:
        """The count of ``name`` on ``day`` (0 when none)."""
        with storage_errors("cannot read a counter"):
            value = self._db.execute(
                select(_COUNTERS.c.count).where(_COUNTERS.c.name == name, _COUNTERS.c.day == day)
            ).scalar_one_or_none()
        return int(value or 0)

    def add(self, name: str, day: int, amount: int = 1) -> int:
        """Add ``amount`` to the count of ``name`` on ``day``; return the new count."""
        dialect = dialect_of(self._db)
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(_COUNTERS)
            .values(name=name, day=day, count=amount)
            .on_conflict_do_update(
                index_elements=[_COUNTERS.c.name, _COUNTERS.c.day],
                set_={"count": _COUNTERS.c.count + amount},
            )
            .returning(_COUNTERS.c.count)
        )
        with storage_errors("cannot count"):
            return int(self._db.execute(statement).scalar_one())
