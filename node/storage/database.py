"""Engines, migrations to head, and transactions.

``open_database(url)`` is the one entry point: it builds the engine (SQLite file by default,
PostgreSQL through psycopg 3), runs the packaged Alembic migrations to head (no ``alembic.ini``
needed) and returns a :class:`Database`. Nothing is built at import time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from node.core.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: How long an SQLite connection waits for another writer's lock before ``SQLITE_BUSY``.
BUSY_TIMEOUT_MS = 30_000
#: How long :meth:`Database.write` keeps retrying a transaction the database found busy.
WRITE_PATIENCE_SECONDS = 300.0
# SQLITE_BUSY, SQLITE_LOCKED; PostgreSQL serialization failure and deadlock.
#: The execution option of :meth:`Database.read`'s engine (and, per SQLite connection, whether
#: ``PRAGMA query_only`` is on).
READ_ONLY_OPTION = "certreg_read_only"
_SQLITE_BUSY_CODES = frozenset({5, 6})
_POSTGRES_RETRY_STATES = frozenset({"40001", "40P01"})

T = TypeVar("T")


class LocalWriterBusy(StorageError):
    """Another thread of this process held the SQLite write turn past :data:`BUSY_TIMEOUT_MS`
    (:class:`_WriteTurns`): as busy as ``SQLITE_BUSY``, so :meth:`Database.write` retries."""


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` (a :class:`StorageError` or the driver's error under it) says only that
    another writer held the database: worth waiting and trying again."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, LocalWriterBusy):
            return True
        orig = getattr(current, "orig", None)
        for candidate in (current, orig):
            if getattr(candidate, "sqlite_errorcode", None) in _SQLITE_BUSY_CODES:
                return True
            if getattr(candidate, "sqlstate", None) in _POSTGRES_RETRY_STATES:
                return True
            if candidate is not None and "database is locked" in str(candidate):
                return True
        current = current.__cause__ or current.__context__
    return False


def _configure_sqlite(engine: Engine) -> None:
    """Make pysqlite transactional in the way SQLAlchemy documents for SQLite.

    Python's ``sqlite3`` (3.11) starts transactions only before DML, so a read-then-write would
    not be one transaction. We switch the driver to autocommit and emit ``BEGIN IMMEDIATE``
    ourselves when SQLAlchemy begins; WAL lets readers run while one writer appends; foreign
    keys on.

    :meth:`Database.read` transactions are the exception: a plain ``BEGIN`` on a connection
    set to ``PRAGMA query_only`` (a write in one fails at once), so that API processes reading
    the same file (``certreg serve --workers N``) neither take the write lock nor wait for it.

    Why ``IMMEDIATE``: a deferred ``BEGIN`` that reads and then writes asks for the write lock
    in the middle of the transaction, and when another process (``certreg node run`` next to
    ``certreg node ingest``) wrote in between, SQLite answers ``SQLITE_BUSY`` at once without
    waiting (its busy handler cannot help a transaction whose snapshot is stale). Taking the
    write lock at ``BEGIN`` makes every transaction wait its turn there, for up to
    :data:`BUSY_TIMEOUT_MS`; :meth:`Database.write` retries beyond that.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # Database.read(): a deferred BEGIN (WAL readers wait for no lock and block no writer)
        # on a connection made read-only for it (PRAGMA query_only, set when it changes).
        read_only = bool(connection.get_execution_options().get(READ_ONLY_OPTION, False))
        if connection.info.get(READ_ONLY_OPTION, False) != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
            connection.info[READ_ONLY_OPTION] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Return an engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    Statement parameters are hidden from errors and logs (``hide_parameters``): they hold
    ciphertexts and blind indexes, never plaintext personal data, but need not travel either.

    Raises:
        StorageError: the URL is not usable.
    """
    try:
        engine = create_engine(url, hide_parameters=True, **kwargs)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StorageError(f"cannot create a database engine: {type(exc).__name__}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the revision id of the newest packaged migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the migration revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(target: str | Engine) -> None:
    """Run the packaged migrations to head on ``target`` (a URL or an engine), in one transaction.

    Raises:
        StorageError: the database could not be migrated.
    """
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {type(exc).__name__}") from exc
    finally:
        if isinstance(target, str):
            engine.dispose()


class _WriteTurns:
    """First come, first served turns at an SQLite database for the threads of one process.

    Every SQLite transaction here starts with ``BEGIN IMMEDIATE`` and so holds the database's
    one write lock; the threads of a process waiting for it in SQLite's busy handler (which
    sleeps and polls) lose every time to a thread that commits and begins again at once (a
    bulk job's chunks), and a short job could wait for a long one to end. Here they queue:
    the thread that ends a transaction and begins the next one goes behind those already
    waiting. Reentrant (a thread that holds the turn and opens another transaction is not
    queued behind itself). Other processes still meet at SQLite's lock, as before.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: deque[object] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float) -> bool:
        """Wait for this thread's turn for up to ``timeout`` seconds; False when it did not come."""
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return True
            ticket = object()
            self._queue.append(ticket)
            deadline = time.monotonic() + timeout
            while self._owner is not None or self._queue[0] is not ticket:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._queue.remove(ticket)
                    self._changed.notify_all()
                    return False
                self._changed.wait(remaining)
            self._queue.popleft()
            self._owner = me
            self._depth = 1
            return True

    def release(self) -> None:
        with self._changed:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._changed.notify_all()


class Database:
    """An engine and the sessions over it.

    Repositories and the Merkle node store take the :class:`~sqlalchemy.orm.Session` (or
    :class:`~sqlalchemy.Connection`) of a transaction the *caller* opens and commits, so that
    certificate rows, log entries, Merkle nodes and audit events of one intake land together or
    not at all::

        with database.transaction() as session:
            CertificateRepository(session, cipher, index).add(...)
            ProvinceLog(session, "44").append([entry], now=now)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._turns = _WriteTurns() if engine.dialect.name == "sqlite" else None
        self._reads = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    def __repr__(self) -> str:
        return f"Database(dialect={self.engine.dialect.name!r})"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """Return a new session; the caller commits or rolls back and closes it."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session in a transaction: committed on success, rolled back on any error.
        On SQLite, the threads of this process take turns, first come first served
        (:class:`_WriteTurns`).

        Raises:
            StorageError: the database failed (the original error is chained).
            LocalWriterBusy: SQLite, and another thread of this process kept its turn for
                longer than :data:`BUSY_TIMEOUT_MS`.
        """
        turns = self._turns
        if turns is None:
            yield from self._transaction()
            return
        if not turns.acquire(BUSY_TIMEOUT_MS / 1000):
            raise LocalWriterBusy("database transaction failed: another thread held the database")
        try:
            yield from self._transaction()
        finally:
            turns.release()

    def _transaction(self, sessions: sessionmaker[Session] | None = None) -> Iterator[Session]:
        try:
            with (sessions or self._sessions).begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StorageError(f"database transaction failed: {type(exc).__name__}") from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session in a transaction that only reads (hot API reads: proofs, bundles).

        On SQLite a deferred ``BEGIN`` on a ``query_only`` connection: it sees one snapshot,
        takes no write lock, waits for no writer or thread of this process, and a write in it
        fails (``attempt to write a readonly database``); on PostgreSQL the same as
        :meth:`transaction`.

        Raises:
            StorageError: the database failed (the original error is chained).
        """
        yield from self._transaction(self._reads)

    def write(
        self,
        work: Callable[[Session], T],
        *,
        patience: float = WRITE_PATIENCE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """Run ``work(session)`` in a transaction and return its result; when the database is
        busy (:func:`is_busy`: another process holds the write lock), roll back, wait with
        backoff and run it again, for up to ``patience`` seconds. ``work`` must only touch the
        session, so a retry repeats nothing else.

        Raises:
            StorageError: the database failed otherwise, or stayed busy past ``patience``.
        """
        delay = 0.05
        deadline = time.monotonic() + patience
        while True:
            try:
                with self.transaction() as session:
                    return work(session)
            except StorageError as exc:
                if not is_busy(exc) or time.monotonic() + delay > deadline:
                    raise
            sleep(delay)
            delay = min(delay * 2, 2.0)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> Database:
    """Open the database at ``url``, migrated to head unless ``migrate`` is false.

    Raises:
        StorageError: the database cannot be opened or migrated.
    """
    engine = make_engine(url, **engine_kwargs)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return Database(engine)
