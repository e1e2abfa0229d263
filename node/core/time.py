"""China Standard Time: the one time zone of the registry's dates.

Issue dates, deadlines (data guide 中就培发〔2022〕1号 arts. 10-12), key validity days
(docs/FORMATS.md "Signatures") and the per-day limits of the API are China dates: UTC+8 all
year, with no daylight saving time. This module is the one definition; everything else imports
it. Pure: the time comes in as an argument, never from a clock.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

#: UTC+8, no daylight saving time.
CHINA_STANDARD_TIME: Final = datetime.timezone(datetime.timedelta(hours=8))

#: Seconds China Standard Time is ahead of UTC.
CHINA_UTC_OFFSET_SECONDS: Final = 8 * 3600

_DAY_SECONDS: Final = 86_400


def china_date(moment: datetime.datetime) -> datetime.date:
    """The China date of an aware ``moment``.

    Raises:
        ValueError: ``moment`` is naive (no time zone: which day it is cannot be known).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must carry a time zone")
    return moment.astimezone(CHINA_STANDARD_TIME).date()


def china_date_of_unix(seconds: float) -> datetime.date:
    """The China date of a unix time (e.g. a block's timestamp)."""
    return datetime.datetime.fromtimestamp(seconds, CHINA_STANDARD_TIME).date()


def china_day_number(seconds: float) -> int:
    """The number of China days from 1970-01-01 (China date) to the China date of a unix time:
    the same integer for every second of one China day."""
    return int((seconds + CHINA_UTC_OFFSET_SECONDS) // _DAY_SECONDS)


def china_day_start(day_number: int) -> int:
    """The unix time at which China day ``day_number`` (:func:`china_day_number`) begins."""
    return day_number * _DAY_SECONDS - CHINA_UTC_OFFSET_SECONDS


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day_bounds(day: datetime.date | str) -> tuple[int, int]:
    """The unix seconds of the start (inclusive) and end (exclusive) of a China date, given as a
    date or as its ISO text ``YYYY-MM-DD``.

    Raises:
        ValueError: the text is not a ``YYYY-MM-DD`` day of the calendar (2025-02-30 is not).
    """
    if isinstance(day, str):
        if _ISO_DAY.fullmatch(day) is None:
            raise ValueError(f"not a YYYY-MM-DD day: {day!r}")
        day = datetime.date.fromisoformat(day)
    start = datetime.datetime.combine(day, datetime.time(), CHINA_STANDARD_TIME)
    begin = int(start.timestamp())
    return begin, begin + _DAY_SECONDS


__all__ = [
    "CHINA_STANDARD_TIME",
    "CHINA_UTC_OFFSET_SECONDS",
    "china_date",
    "china_date_of_unix",
    "china_day_number",
    "china_day_start",
    "day_bounds",
]
