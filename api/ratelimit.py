"""Limits against enumeration (data guide art. 20): token buckets per client for the
two-of-three search, and a daily count of failed matches per certificate number for the holder's
reads (in the database, shared by every API process).

The token buckets live in the API process's memory on SQLite (one API process per node,
docs/OPERATIONS.md) and in the database on PostgreSQL (:class:`DatabaseRateLimiter`: one
statement per request, shared by every API process on that database, so running two processes
does not double a client's allowance).

Each client (its IP address, and its API key when it sends one) has a bucket of ``burst``
tokens refilled at ``rate`` per second; a request takes one. An empty bucket refuses with the
seconds until the next token, which the API sends as ``Retry-After`` with a 429.

In the database, the buckets of clients not seen for ``burst / rate`` seconds are deleted once
a minute by each process (:meth:`TokenBuckets.forget_full`): they are full again, as a missing
bucket is, so the table keeps the recent clients only.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from node.core.errors import StorageError
from node.core.time import china_day_number, china_day_start
from node.storage import Database
from node.storage.buckets import TokenBuckets
from node.storage.counters import DailyCounters

#: The longest bucket name kept in the database (``rate_buckets.name``).
_NAME_LIMIT = 96
#: How often each process deletes its limiters' full buckets from the database.
SWEEP_SECONDS = 60.0

log = logging.getLogger(__name__)


class RateLimiter:
    """Token buckets keyed by client; at most ``max_clients`` are remembered (least recently
    used first out, so memory stays bounded under a flood of addresses)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, *clients: str) -> int | None:
        """Take a token from each client's bucket; return None when all had one, else the
        whole seconds to wait (``Retry-After``) and take nothing."""
        now = self._clock()
        with self._lock:
            levels = [self._level(client, now) for client in clients]
            waits = [(1 - level) / self.rate for level in levels if level < 1]
            if waits:
                return max(1, math.ceil(max(waits)))
            for client, level in zip(clients, levels, strict=True):
                self._buckets[client] = (level - 1, now)
                self._buckets.move_to_end(client)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return None

    def _level(self, client: str, now: float) -> float:
        level, last = self._buckets.get(client, (float(self.burst), now))
        return min(float(self.burst), level + (now - last) * self.rate)


class DatabaseRateLimiter:
    """The token buckets of :class:`RateLimiter` in the database (``rate_buckets``,
    node/storage/buckets.py), for several API processes on one PostgreSQL database (or one
    SQLite file, ``certreg serve --workers N``). ``name``
    keeps each limiter's buckets apart (``search``, ``verify``, ``federation``). The same
    answers as :class:`RateLimiter`; the database's clock refills the buckets."""

    def __init__(
        self,
        db: Database,
        name: str,
        rate: float,
        burst: int,
        *,
        sweep_seconds: float = SWEEP_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.db = db
        self.name = name
        self.rate = rate
        self.burst = burst
        self._sweep_seconds = sweep_seconds
        self._monotonic = monotonic
        self._next_sweep = monotonic() + sweep_seconds
        self._sweep_lock = threading.Lock()

    def take(self, *clients: str) -> int | None:
        """Take a token from each client's bucket; return None when all had one, else the
        whole seconds to wait (``Retry-After``) and take nothing.

        Raises:
            StorageError: the database failed.
        """
        self._sweep_when_due()
        names = list(dict.fromkeys(f"{self.name}/{client}"[:_NAME_LIMIT] for client in clients))
        with self.db.transaction() as session:
            buckets = TokenBuckets(session, self.rate, self.burst, self.db.dialect)
            levels = buckets.take(names)
            lacking = [-level for level in levels.values() if level < 0]
            if not lacking:
                return None
            buckets.give_back([name for name, level in levels.items() if level >= 0])
        return max(1, math.ceil(max(lacking) / self.rate))

    def sweep(self) -> int:
        """Delete this limiter's full buckets (see the module docstring); return how many.

        Raises:
            StorageError: the database failed.
        """
        with self.db.transaction() as session:
            buckets = TokenBuckets(session, self.rate, self.burst, self.db.dialect)
            return buckets.forget_full(f"{self.name}/")

    def _sweep_when_due(self) -> None:
        """:meth:`sweep` when ``sweep_seconds`` have passed since the last (one thread does
        it); a failed sweep is logged and retried next time, the request goes on."""
        with self._sweep_lock:
            now = self._monotonic()
            if now < self._next_sweep:
                return
            self._next_sweep = now + self._sweep_seconds
        try:
            self.sweep()
        except StorageError as exc:
            log.warning("rate buckets %s: sweep failed (%s)", self.name, exc)


class FailureCounter:
    """Failed matches per key (a certificate number) per China day, whoever asks, counted in
    the node's database (``daily_counters``, node/storage/counters.py), so every API process
    on one database and every restart shares the count.

    ``limit`` failures are allowed a day; after that :meth:`blocked` answers the seconds until
    the next China midnight for that key. Time is unix seconds passed in by the caller.
    """

    def __init__(self, db: Database, limit: int, *, prefix: str = "holder:") -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.db = db
        self.limit = limit
        self.prefix = prefix

    @staticmethod
    def _day(now: float) -> int:
        # A "day" of the counter is a China day (node/core/time.py).
        return china_day_number(now)

    @classmethod
    def _until_tomorrow(cls, now: float) -> int:
        tomorrow = china_day_start(cls._day(now) + 1)
        return max(1, math.ceil(tomorrow - now))

    def blocked(self, key: str, now: float) -> int | None:
        """The seconds until ``key`` may be tried again, or None when it may be tried now.

        Raises:
            StorageError: the database failed.
        """
        with self.db.transaction() as session:
            count = DailyCounters(session).get(self.prefix + key, self._day(now))
        return self._until_tomorrow(now) if count >= self.limit else None

    def fail(self, key: str, now: float) -> int | None:
        """Count a failed match of ``key``; return the seconds to wait when this failure used
        the day's last one, else None.

        Raises:
            StorageError: the database failed.
        """
        with self.db.transaction() as session:
            count = DailyCounters(session).add(self.prefix + key, self._day(now))
        return self._until_tomorrow(now) if count >= self.limit else None
