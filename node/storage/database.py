"""Engines, migrations to head, and transactions.

``open_database(url)`` is the one entry point: it builds the engine (SQLite file by default,
PostgreSQL through psycopg 3), runs the packaged Alembic migrations to head (no ``alembic.ini``
needed) and returns a :class:`Database`. Nothing is built at import time.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from node.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger(__name__)


def _configure_sqlite(engine: Engine, *, background_checkpoints: bool = False) -> None:
    """Make pysqlite transactional in the way SQLAlchemy documents for SQLite.

    Python's ``sqlite3`` (3.11) starts transactions only before DML, so a read-then-write would
    not be one transaction. We switch the driver to autocommit and emit ``BEGIN`` ourselves
    when SQLAlchemy begins; WAL lets readers run while one writer appends; foreign keys on.
    With ``background_checkpoints`` the connections leave the WAL checkpoints to
    :class:`WalCheckpointer` (``wal_autocheckpoint = 0``).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        if background_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str, *, background_checkpoints: bool = False, **kwargs: Any) -> Engine:
    """Return an engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    Statement parameters are hidden from errors and logs (``hide_parameters``): they hold
    ciphertexts and blind indexes, never plaintext personal data, but need not travel either.
    ``background_checkpoints``: see :class:`WalCheckpointer` (SQLite files only; whoever sets
    it must register the file with :data:`CHECKPOINTER`, as :func:`open_database` does).

    Raises:
        StorageError: the URL is not usable.
    """
    try:
        engine = create_engine(url, hide_parameters=True, **kwargs)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StorageError(f"cannot create a database engine: {type(exc).__name__}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(
            engine,
            background_checkpoints=background_checkpoints and _sqlite_file(engine) is not None,
        )
    return engine


def _sqlite_file(engine: Engine) -> str | None:
    """The file of a SQLite engine, or ``None`` for an in-memory database."""
    path = engine.url.database
    if (
        engine.dialect.name != "sqlite"
        or not path
        or path == ":memory:"
        or path.startswith("file:")
    ):
        return None
    return os.path.abspath(path)


class WalCheckpointer:
    """Checkpoints the write-ahead logs of this process's SQLite databases from one thread.

    By default SQLite checkpoints inside a commit, once the WAL passes 1,000 pages: the
    committing writer then copies the WAL into the database file and waits for its fsync
    before it goes on. A bulk intake commits about 20 MB per chunk, so nearly every commit paid
    for a checkpoint (about a fifth of the writer's time per certificate at 10^6,
    docs/NODE-BENCH.md). Databases opened by :func:`open_database` switch that off
    (``wal_autocheckpoint = 0``) and register here; a daemon thread looks at each registered
    file's WAL every ``interval`` seconds and, past ``threshold_bytes``, runs a ``PASSIVE``
    checkpoint on a connection of its own. SQLite does the copying with the GIL released, so
    the writer goes on meanwhile; a passive checkpoint never blocks readers or the writer.

    Durability is unchanged: commits still fsync the WAL (``synchronous = FULL``), and a
    process killed with a long WAL leaves nothing behind that the next open does not read.
    When the last connection to a file closes, SQLite itself folds the WAL back.
    """

    def __init__(self, *, interval: float = 0.2, threshold_bytes: int = 8 << 20) -> None:
        self.interval = interval
        self.threshold_bytes = threshold_bytes
        self._lock = threading.Lock()
        self._users: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    def register(self, path: str) -> None:
        """Checkpoint ``path``'s WAL from now on (counted: one :meth:`unregister` per call)."""
        with self._lock:
            self._users[path] = self._users.get(path, 0) + 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="certreg-wal-checkpointer", daemon=True
                )
                self._thread.start()

    def unregister(self, path: str) -> None:
        """Stop checkpointing ``path`` (after one last checkpoint) when no user is left."""
        with self._lock:
            left = self._users.get(path, 0) - 1
            if left > 0:
                self._users[path] = left
                return
            self._users.pop(path, None)
        checkpoint_wal(path)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                paths = list(self._users)
            for path in paths:
                try:
                    if os.path.getsize(path + "-wal") >= self.threshold_bytes:
                        checkpoint_wal(path)
                except OSError:
                    continue


def checkpoint_wal(path: str, mode: str = "PASSIVE") -> None:
    """Run one WAL checkpoint on the SQLite file ``path`` with a connection of its own;
    failures are logged and ignored (the next one catches up)."""
    try:
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        log.warning("WAL checkpoint of a node database failed: %s", type(exc).__name__)


#: The process's one :class:`WalCheckpointer`.
CHECKPOINTER = WalCheckpointer()


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

    def __init__(self, engine: Engine, *, checkpointed_file: str | None = None) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._checkpointed = checkpointed_file
        if checkpointed_file is not None:
            CHECKPOINTER.register(checkpointed_file)

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

        Raises:
            StorageError: the database failed (the original error is chained).
        """
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StorageError(f"database transaction failed: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        """Close every pooled connection (and checkpoint the WAL, see :class:`WalCheckpointer`)."""
        self.engine.dispose()
        if self._checkpointed is not None:
            path, self._checkpointed = self._checkpointed, None
            CHECKPOINTER.unregister(path)


def open_database(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> Database:
    """Open the database at ``url``, migrated to head unless ``migrate`` is false.

    Raises:
        StorageError: the database cannot be opened or migrated.
    """
    engine = make_engine(url, background_checkpoints=True, **engine_kwargs)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return Database(engine, checkpointed_file=_sqlite_file(engine))
