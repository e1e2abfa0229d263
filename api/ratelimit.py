"""Token buckets against enumeration of the two-of-three search (data guide art. 20).

Each client (its IP address, and its API key when it sends one) has a bucket of ``burst``
tokens refilled at ``rate`` per second; a request takes one. An empty bucket refuses with the
seconds until the next token, which the API sends as ``Retry-After`` with a 429.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


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
