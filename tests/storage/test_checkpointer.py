"""WAL checkpoints of node databases run on a thread of their own, not inside commits."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import text

from node.storage import open_database
from node.storage.database import CHECKPOINTER, WalCheckpointer, make_engine


def _write(engine_or_db: object, path: Path, rows: int) -> None:
    engine = getattr(engine_or_db, "engine", engine_or_db)
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS blob (b BLOB)")
        connection.exec_driver_sql(
            "INSERT INTO blob VALUES (?)", [(os.urandom(4000),) for _ in range(rows)]
        )


def test_open_database_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert str(tmp_path / "node.db") in CHECKPOINTER._users
    finally:
        db.dispose()
    assert str(tmp_path / "node.db") not in CHECKPOINTER._users


def test_the_thread_checkpoints_a_long_wal_and_a_commit_does_not(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    _write(engine, path, 1500)  # 6 MB: past SQLite's 1,000 pages, yet all of it in the WAL
    assert os.path.getsize(path) < 100_000
    assert os.path.getsize(f"{path}-wal") > 5_000_000

    checkpointer = WalCheckpointer(interval=0.02, threshold_bytes=1 << 20)
    checkpointer.register(str(path))
    deadline = time.monotonic() + 10
    while os.path.getsize(path) < 5_000_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(path) > 5_000_000  # copied into the database file by the thread
    checkpointer.unregister(str(path))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM blob").scalar() == 1500
    engine.dispose()


def test_a_plain_engine_keeps_sqlite_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
    _write(engine, path, 1500)
    assert os.path.getsize(path) > 5_000_000  # the commit checkpointed
    engine.dispose()
