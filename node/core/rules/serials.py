"""Serials of certificate numbers (national rule 人社鉴发〔2019〕2号 §二(七), positions 17-22):
sequential per organisation, issue year and level, from 000001 to 999999. A gap is a warning,
not a refusal.

The one implementation of "which serials are missing", used by the intake (a serial that skips
some after the highest so far, :func:`serial_gap`), the screening of held data
(:func:`node.core.rules.screening.flag_serials`) and the auditor (``audit/log.py``): each asks
:func:`missing_serials` and words a run with :func:`serial_span`. Serials are counted from
000001 everywhere: a group whose first serial is 000002 misses 000001.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from node.core.rules.flags import Flag

#: Serials run 000001-999999 (人社鉴发〔2019〕2号 §二(七), positions 17-22).
SERIAL_MIN: Final = 1
SERIAL_MAX: Final = 999_999


def missing_serials(
    serials: Iterable[int], *, first_expected: int | None = SERIAL_MIN
) -> Iterator[tuple[int, int]]:
    """The runs ``(first, last)`` of serials missing from ``serials`` (ascending, distinct):
    each jump of more than one between neighbours, and the serials from ``first_expected`` up
    to the lowest one (``None``: only gaps between the given serials, e.g. when they are part of
    a year). Nothing is missing after the highest serial."""
    previous: int | None = None if first_expected is None else first_expected - 1
    for serial in serials:
        if previous is not None and serial > previous + 1:
            yield previous + 1, serial - 1
        if previous is None or serial > previous:
            previous = serial


def serial_span(first: int, last: int) -> str:
    """``000007`` or ``000007-000009``: a run of serials as the messages write it."""
    return f"{first:06d}" if first == last else f"{first:06d}-{last:06d}"


def gap_flag(first: int, last: int) -> Flag:
    """The ``serial.gap`` warning of one run of missing serials."""
    return Flag(
        "serial.gap",
        "warning",
        f"serial(s) {serial_span(first, last)} missing ({last - first + 1})",
    )


def serial_gap(top: int, serial: int) -> list[Flag]:
    """A ``serial.gap`` warning when ``serial`` skips serials after ``top``, the highest one
    used so far for its organisation, year and level (0 when none is: then every serial below
    ``serial`` is missing, 000001 included)."""
    return [
        gap_flag(first, last) for first, last in missing_serials((serial,), first_expected=top + 1)
    ]


__all__ = [
    "SERIAL_MAX",
    "SERIAL_MIN",
    "gap_flag",
    "missing_serials",
    "serial_gap",
    "serial_span",
]
