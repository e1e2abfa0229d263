"""api/cache.py: the bounded cache of immutable responses (least recently used goes first)."""

from __future__ import annotations

import pytest

from api.cache import BoundedCache


def test_least_recently_used_entry_is_dropped_when_full() -> None:
    cache: BoundedCache[str, bytes] = BoundedCache(2)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # "a" is now the most recently used
    cache.put("c", b"3")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1", None, b"3")
    assert len(cache) == 2 and (cache.hits, cache.misses) == (3, 1)


def test_size_zero_keeps_nothing_and_negative_is_refused() -> None:
    off: BoundedCache[str, bytes] = BoundedCache(0)
    off.put("a", b"1")
    assert off.get("a") is None and len(off) == 0
    with pytest.raises(ValueError, match="negative"):
        BoundedCache(-1)
