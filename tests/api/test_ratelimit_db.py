"""The token buckets in PostgreSQL, and in SQLite for several API processes on one file
(:class:`api.ratelimit.DatabaseRateLimiter`): the answers of
the in-memory :class:`api.ratelimit.RateLimiter` (a refused request takes nothing, the wait in
whole seconds), shared by two engines as by two processes, and concurrent takes never hand out
more tokens than the burst."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.ratelimit import DatabaseRateLimiter
from node.storage import open_database
from tests.servers import PostgresAdmin


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_buckets_in_the_database_answer_like_the_ones_in_memory(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgresql":
        admin: PostgresAdmin = request.getfixturevalue("postgres")
        url = admin.create(migrated=True)
    else:
        url = f"sqlite:///{tmp_path / 'node.db'}"
        open_database(url).dispose()
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
