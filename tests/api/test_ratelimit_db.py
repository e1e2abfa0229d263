"""The token buckets in PostgreSQL, and in SQLite for several API processes on one file
(:class:`api.ratelimit.DatabaseRateLimiter`): the answers of
the in-memory :class:`api.ratelimit.RateLimiter` (a refused request takes nothing, the wait in
whole seconds), shared by two engines as by two processes, and concurrent takes never hand out
more tokens than the burst."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from api.ratelimit import DatabaseRateLimiter
from node.storage import open_database
from tests.servers import PostgresAdmin


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on the run's PostgreSQL server, or a migrated SQLite file."""
    if request.param == "postgresql":
        admin: PostgresAdmin = request.getfixturevalue("postgres")
        return admin.create(migrated=True)
    sqlite = f"sqlite:///{tmp_path / 'node.db'}"
    open_database(sqlite).dispose()
    return sqlite


def test_buckets_in_the_database_answer_like_the_ones_in_memory(url: str) -> None:
    a, b = open_database(url, migrate=False), open_database(url, migrate=False)
    try:
        one = DatabaseRateLimiter(a, "search", rate=0.01, burst=3)
        other = DatabaseRateLimiter(b, "search", rate=0.01, burst=3)
        verify = DatabaseRateLimiter(b, "verify", rate=0.01, burst=1)
        assert one.take("ip:1", "key:7") is None
        assert other.take("ip:1") is None  # the same bucket, from another engine
        assert one.take("ip:1", "key:7") is None
        # ip:1 is empty: refused for 1 / 0.01 s at most, and key:7 keeps its token.
        wait = other.take("ip:1", "key:7")
        assert wait is not None and 1 <= wait <= 100
        assert other.take("ip:2", "key:7") is None  # key:7's last token
        assert one.take("ip:3", "key:7") is not None
        # Another limiter's buckets are apart.
        assert verify.take("ip:1") is None and verify.take("ip:1") is not None

        # Forty concurrent takes from a bucket of 3 (refilled at 1/100 s): three granted.
        many = DatabaseRateLimiter(a, "many", rate=0.01, burst=3)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: many.take("ip:9"), range(40)))
        assert sum(answer is None for answer in answers) == 3
    finally:
        a.dispose()
        b.dispose()


def test_full_buckets_are_forgotten_and_nothing_else(url: str) -> None:
    """A bucket untouched for ``burst / rate`` seconds is full again, as a missing one is:
    the sweep deletes those of its own limiter only, and the answers stay the same."""
    db = open_database(url, migrate=False)
    try:
        # Full again 20 ms after a take; "slow" (and "fast_" next to "fast") stay.
        fast = DatabaseRateLimiter(db, "fast", rate=100.0, burst=2)
        lookalike = DatabaseRateLimiter(db, "fastX", rate=100.0, burst=2)
        slow = DatabaseRateLimiter(db, "slow", rate=0.001, burst=2)
        for limiter in (fast, lookalike, slow):
            assert limiter.take("ip:1", "ip:2") is None
        assert fast.take("ip:3") is None
        time.sleep(0.05)
        assert fast.take("ip:3") is None  # just taken from: not full, kept
        assert fast.sweep() == 2  # ip:1 and ip:2
        assert slow.sweep() == 0

        def names() -> set[str]:
            with db.transaction() as session:
                return set(session.execute(text("SELECT name FROM rate_buckets")).scalars())

        assert names() == {"fast/ip:3", "fastX/ip:1", "fastX/ip:2", "slow/ip:1", "slow/ip:2"}
        # A forgotten bucket answers as a full one: burst 2, both granted, the third refused.
        assert fast.take("ip:1") is None and fast.take("ip:1") is None
        assert fast.take("ip:1") is not None
    finally:
        db.dispose()


def test_each_process_sweeps_once_a_minute(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    db = open_database(url)
    clock = [0.0]
    try:
        limiter = DatabaseRateLimiter(db, "fast", rate=1000.0, burst=1, monotonic=lambda: clock[0])
        assert limiter.take("ip:1") is None
        time.sleep(0.01)  # ip:1 is full again (the database's clock)
        clock[0] = 59.0
        assert limiter.take("ip:2") is None  # no sweep yet

        def count() -> int:
            with db.transaction() as session:
                return int(session.execute(text("SELECT count(*) FROM rate_buckets")).scalar_one())

        assert count() == 2
        clock[0] = 60.0
        time.sleep(0.01)
        assert limiter.take("ip:3") is None  # swept ip:1 and ip:2 first
        assert count() == 1
    finally:
        db.dispose()
