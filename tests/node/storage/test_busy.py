"""SQLite contention: transactions wait for another process's write lock at ``BEGIN IMMEDIATE``
and ``Database.write`` retries a busy one (issue "Hostile input and contention")."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text

from node.core.errors import StorageError
from node.storage import Database, open_database
from node.storage.database import is_busy


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        yield database
    finally:
        database.dispose()


def _hold_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another connection (as another process would) holding the write lock for ``seconds``."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    held.set()
    time.sleep(seconds)
    other.execute("ROLLBACK")
    other.close()


def _busy_db(tmp_path: Path) -> Database:
    # A busy timeout of 0 makes SQLite answer SQLITE_BUSY at once: what Database.write must
    # survive when another writer holds the lock longer than the timeout.
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    database.dispose()

    @event.listens_for(database.engine, "connect")
    def _no_wait(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")  # type: ignore[attr-defined]

    return database


def test_a_write_waits_for_the_lock_and_retries(tmp_path: Path) -> None:
    database = _busy_db(tmp_path)
    held = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path / "node.db", 0.5, held))
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(StorageError) as info, database.transaction() as session:
            session.execute(text("SELECT 1"))
        assert is_busy(info.value)  # BEGIN IMMEDIATE: busy at once with no timeout
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        answer = database.write(lambda session: session.execute(text("SELECT 42")).scalar_one(),
                                sleep=sleep)  # fmt: skip
        assert answer == 42 and slept  # it waited, then went through
    finally:
        holder.join()
        database.dispose()


def test_a_write_gives_up_after_its_patience(tmp_path: Path) -> None:
    database = _busy_db(tmp_path)
    held = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path / "node.db", 1.5, held))
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(StorageError) as info:
            database.write(lambda session: session.execute(text("SELECT 1")), patience=0.3)
        assert is_busy(info.value)
    finally:
        holder.join()
        database.dispose()


def test_other_storage_errors_are_not_retried(db: Database) -> None:
    calls = []

    def work(session: object) -> None:
        calls.append(1)
        session.execute(text("SELECT * FROM no_such_table"))  # type: ignore[attr-defined]

    with pytest.raises(StorageError) as info:
        db.write(work)
    assert calls == [1] and not is_busy(info.value)


def test_threads_of_one_process_take_turns(db: Database) -> None:
    # A thread committing and beginning again at once (a long bulk job's chunks) does not keep
    # another thread of the process out: the waiting one goes next.
    stop = threading.Event()
    started = threading.Event()
    rounds: list[int] = []

    def busy_writer() -> None:
        while not stop.is_set():
            with db.transaction() as session:
                started.set()
                session.execute(text("SELECT 1"))
                time.sleep(0.02)
            rounds.append(1)

    writer = threading.Thread(target=busy_writer)
    writer.start()
    try:
        assert started.wait(10)
        while len(rounds) < 3:  # the writer is in its stride
            time.sleep(0.01)
        for _ in range(5):
            before = len(rounds)
            with db.transaction() as session:
                session.execute(text("SELECT 1"))
            assert len(rounds) - before <= 2  # it waited for the writer's turn, not for ever
    finally:
        stop.set()
        writer.join()


def test_a_turn_held_too_long_is_busy(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("node.storage.database.BUSY_TIMEOUT_MS", 200)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with db.transaction():
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(StorageError) as info, db.transaction():
            pass
        assert is_busy(info.value)

        def later() -> None:
            time.sleep(0.3)
            release.set()

        threading.Thread(target=later).start()
        # Database.write waits for the turn as for a busy database.
        assert db.write(lambda session: session.execute(text("SELECT 7")).scalar_one()) == 7
    finally:
        release.set()
        thread.join()


def test_reads_wait_for_no_writer_and_cannot_write(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    held = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(tmp_path / "node.db", 1.0, held))
    holder.start()
    try:
        assert held.wait(10)
        start = time.monotonic()
        with db.read() as session:  # another process holds the write lock
            assert session.execute(text("SELECT x FROM t")).scalar_one() == 1
        assert time.monotonic() - start < 0.5
        with pytest.raises(StorageError, match="transaction failed"), db.read() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        holder.join()
    # The same pooled connections write again in ordinary transactions.
    for _ in range(3):
        with db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (3)"))
        with db.read() as session:
            session.execute(text("SELECT count(*) FROM t")).scalar_one()
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 4
