"""One leader among processes sharing a database: a PostgreSQL session advisory lock held on a
dedicated connection for as long as the leader lives (docs/OPERATIONS.md "Several processes").

PostgreSQL releases a session lock when its connection ends, so a leader that dies (SIGKILL,
power loss, a closed socket) gives the lock up without anyone cleaning up, and the next
:meth:`LeaderLock.try_acquire` of a standby succeeds. The lock never expires while its
connection lives, and :meth:`LeaderLock.held` asks the server (``pg_locks``) on that same
connection, so a leader that lost its connection finds out before its next step.

SQLite has no such lock: a node on SQLite runs one worker (docs/OPERATIONS.md), and the lock is
granted at once.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from node.storage.database import Database

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The signed 64-bit advisory-lock key of ``name`` (the first 8 bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """The advisory lock ``name`` on ``db``, taken and kept on a connection of its own."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.key = lock_key(name)
        self._connection: Connection | None = None
        self._sqlite_held = False

    def __repr__(self) -> str:
        return f"LeaderLock({self.name!r}, held={self._connection is not None})"

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (never waits); True when this process holds it."""
        if self.db.dialect != "postgresql":
            self._sqlite_held = True
            return True
        if self._connection is not None:
            return self.held()
        try:
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            log.warning("leader lock %s: no connection (%s)", self.name, type(exc).__name__)
            return False
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
        except SQLAlchemyError as exc:
            log.warning("leader lock %s: %s", self.name, type(exc).__name__)
            connection.invalidate()
            connection.close()
            return False
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def held(self) -> bool:
        """Whether this process still holds the lock, asked on the lock's own connection (a
        lost connection means the lock is gone: another process may hold it now)."""
        if self.db.dialect != "postgresql":
            return self._sqlite_held
        connection = self._connection
        if connection is None:
            return False
        try:
            count = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND objsubid = 1 "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": self.key},
            ).scalar_one()
        except SQLAlchemyError as exc:
            log.warning("leader lock %s lost: %s", self.name, type(exc).__name__)
            self._drop(invalidate=True)
            return False
        if not count:
            self._drop(invalidate=False)
            return False
        return True

    def release(self) -> None:
        """Give the lock up (closing its connection)."""
        self._sqlite_held = False
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError:
            self._drop(invalidate=True)
            return
        self._drop(invalidate=False)

    def _drop(self, *, invalidate: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if invalidate:
                connection.invalidate()
            connection.close()
        except SQLAlchemyError:
            pass
