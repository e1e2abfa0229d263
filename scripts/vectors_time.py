"""Build the time vectors (``tests/vectors/time.json``): the calendar arithmetic both verifiers
share, pinned function by function. ``day_bounds``: a ``YYYY-MM-DD`` day's first and last
second + 1 in China Standard Time, or refused when the text is not a day of the calendar;
``expiry``: when a certificate of a type issued on a day stops being valid (5 years for
special_ability, 1 March for 29 February; none for the other types); ``describe_time``: a unix
time as the verifiers print it in details (``unix time N`` outside 1970-9999)."""

from __future__ import annotations

from typing import Any

from node.core.time import day_bounds
from node.core.verify import LAST_DESCRIBED_TIME, describe_time, expiry_of

DAYS = (
    "2025-06-18", "2024-02-29", "2025-02-28", "2025-12-31", "2026-01-01", "0001-01-01",
    "0099-12-31", "0100-03-01", "9999-12-31",
    "2025-02-29", "2025-02-30", "2024-02-30", "2025-04-31", "2025-13-01", "2025-00-10",
    "2025-03-00", "2025-03-32", "0000-01-01", "1900-02-29", "2100-02-29", "20250618",
)  # fmt: skip


def _bounds(day: str) -> list[int] | None:
    try:
        return list(day_bounds(day))
    except ValueError:
        return None


EXPIRIES = (
    ("special_ability", "2025-06-18"), ("special_ability", "2024-02-29"),
    ("special_ability", "2028-02-29"), ("special_ability", "2096-02-29"),
    ("special_ability", "2025-02-10"), ("special_ability", "2025-01-29"),
    ("special_ability", "2025-03-29"), ("special_ability", "2027-02-28"),
    ("special_ability", "2025-12-31"), ("skill_level", "2024-02-29"),
    ("vocational_qualification", "2025-06-18"),
)  # fmt: skip

TIMES = (
    -1, 0, 1, 1_750_000_000, 1_767_196_799, 1_767_196_800, LAST_DESCRIBED_TIME - 1,
    LAST_DESCRIBED_TIME, LAST_DESCRIBED_TIME + 1, 2**53 - 1,
)  # fmt: skip


def build() -> dict[str, Any]:
    return {
        "algorithm": "certreg-time",
        "version": 1,
        "notes": (
            "day_bounds: [start, end) in unix seconds of the day in China Standard Time, or "
            "null when day is not a date of the calendar (refused). expiry: unix time at which "
            "a certificate of type issued on issue_date stops being valid, or null (no term). "
            "describe_time: the text a verifier prints for a unix time."
        ),
        "day_bounds": [{"day": day, "bounds": _bounds(day)} for day in DAYS],
        "expiry": [
            {"type": kind, "issue_date": day, "expires": expiry_of(kind, day)}
            for kind, day in EXPIRIES
        ],
        "describe_time": [{"seconds": s, "text": describe_time(s)} for s in TIMES],
    }
