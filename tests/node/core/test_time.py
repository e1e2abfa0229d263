"""China Standard Time (node/core/time.py): the day of an instant, day numbers and day bounds,
at the edges of a China day (16:00 UTC) and of a year."""

from __future__ import annotations

import datetime as dt

import pytest

from node.core.time import (
    CHINA_STANDARD_TIME,
    CHINA_UTC_OFFSET_SECONDS,
    china_date,
    china_date_of_unix,
    china_day_number,
    china_day_start,
    day_bounds,
)

#: 2025-12-31T16:00:00Z, the first second of 2026-01-01 in China.
NEW_YEAR = 1767196800


def test_the_offset_is_eight_hours() -> None:
    assert CHINA_UTC_OFFSET_SECONDS == 28_800
    assert dt.datetime(2026, 1, 1, tzinfo=CHINA_STANDARD_TIME).timestamp() == NEW_YEAR


def test_china_date() -> None:
    assert china_date(dt.datetime(2025, 12, 31, 15, 59, 59, tzinfo=dt.UTC)) == dt.date(2025, 12, 31)
    assert china_date(dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC)) == dt.date(2026, 1, 1)
    with pytest.raises(ValueError, match="time zone"):
        china_date(dt.datetime(2026, 1, 1))


def test_china_date_of_unix() -> None:
    assert china_date_of_unix(NEW_YEAR - 1) == dt.date(2025, 12, 31)
    assert china_date_of_unix(NEW_YEAR) == dt.date(2026, 1, 1)


def test_day_numbers() -> None:
    day = china_day_number(NEW_YEAR)
    assert day == (dt.date(2026, 1, 1) - dt.date(1970, 1, 1)).days
    assert china_day_number(NEW_YEAR - 1) == day - 1
    assert china_day_number(NEW_YEAR + 86_399) == day
    assert china_day_number(NEW_YEAR + 86_400) == day + 1
    assert china_day_start(day) == NEW_YEAR
    assert china_day_start(day + 1) == NEW_YEAR + 86_400


def test_day_bounds() -> None:
    assert day_bounds("2026-01-01") == (NEW_YEAR, NEW_YEAR + 86_400)
    assert day_bounds(dt.date(2026, 1, 1)) == (NEW_YEAR, NEW_YEAR + 86_400)
    # A leap day is a day like any other.
    start, end = day_bounds("2024-02-29")
    assert end - start == 86_400 and day_bounds("2024-03-01")[0] == end
    with pytest.raises(ValueError):
        day_bounds("2025-02-29")


class _NoOffset(dt.tzinfo):
    """A time zone that does not know its offset: Python counts such a datetime as naive."""

    def utcoffset(self, moment: dt.datetime | None) -> None:
        return None

    def dst(self, moment: dt.datetime | None) -> None:
        return None

    def tzname(self, moment: dt.datetime | None) -> None:
        return None


def test_a_zone_without_an_offset_is_naive() -> None:
    with pytest.raises(ValueError, match="time zone"):
        china_date(dt.datetime(2026, 1, 1, tzinfo=_NoOffset()))


def test_day_numbers_before_the_epoch() -> None:
    # China day 0 begins at 1970-01-01T00:00+08:00, 8 hours before the unix epoch; the second
    # before it is on day -1 (floor division, not truncation towards zero).
    assert china_day_number(-CHINA_UTC_OFFSET_SECONDS) == 0
    assert china_day_number(-CHINA_UTC_OFFSET_SECONDS - 1) == -1
    assert china_day_start(-1) == -CHINA_UTC_OFFSET_SECONDS - 86_400
