"""Screening rules: anomalies that put a certificate or an organisation under review.

Data guide 中就培发〔2022〕1号 art. 17 (seed 002): the authorities screen certificate data for
anomalies (筛查预警) and suspend the query service of suspicious certificates until the province
reviews them. Each rule here is a pure function over plain data returning a list of
:class:`Flag` (empty when nothing is wrong). Flags never carry personal data: ``detail`` holds
counts, dates, codes and serials only, never a holder name or ID number.

Severities:

- ``warning``: worth a look, nothing is suspended (a gap in the serials);
- ``review``: the province reviews; the certificate's query service may be suspended meanwhile
  (:data:`SUSPENSION_REASONS` gives the suspension reason code of each such flag);
- ``error``: the data breaks a rule and is refused or revoked (outside the filed scope,
  a duplicate serial, an issue date in the future).

Flag codes: ``pass_rate.high``, ``scope.outside``, ``id.burst``, ``issue_date.future``,
``issue_date.stale``, ``serial.range``, ``serial.duplicate``, ``serial.gap``,
``organisation.inactive``.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Final, Protocol

from node.core.certificate import NO_WORK_TYPE
from node.core.errors import InvalidInput
from node.core.rules.flags import Flag, Severity
from node.core.rules.reasons import Reason
from node.core.rules.serials import SERIAL_MAX, SERIAL_MIN, gap_flag, missing_serials
from node.core.rules.workdays import six_months_after

#: Hunan notice 湘人社鉴函〔2022〕1号 §四(十七) (seed 002): organisations whose average pass
#: rate over the last year is above 90 % (近一年内平均获证率高于 90%) are put under focused
#: supervision (重点督导检查对象).
PASS_RATE_LIMIT_PERCENT: Final = 90

#: The suspension reason (node.core.rules.reasons) to record when a flag leads to suspending a
#: certificate's query service.
SUSPENSION_REASONS: Final[Mapping[str, Reason]] = MappingProxyType(
    {
        "pass_rate.high": Reason.SCREENING_PASS_RATE,
        "scope.outside": Reason.SCREENING_OUTSIDE_SCOPE,
        "id.burst": Reason.SCREENING_ID_BURST,
        "issue_date.future": Reason.SCREENING_ISSUE_DATE,
        "issue_date.stale": Reason.SCREENING_ISSUE_DATE,
        "serial.range": Reason.SCREENING_SERIAL,
        "serial.duplicate": Reason.SCREENING_SERIAL,
        "serial.gap": Reason.SCREENING_SERIAL,
    }
)


def _count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field, "screening.count", "must be a non-negative integer")
    return value


def flag_pass_rate(
    assessed: int, passed: int, *, limit_percent: int = PASS_RATE_LIMIT_PERCENT
) -> list[Flag]:
    """Flag an organisation whose pass rate over the last year is above ``limit_percent``.

    ``assessed`` is the number of candidates assessed over the last year and ``passed`` the
    number certified. "Above" is strict (高于 90%): exactly 90 % is not flagged. The comparison
    is exact (integers, no floating point). No one assessed, no flag.

    Returns:
        ``[Flag("pass_rate.high", "review", …)]`` or ``[]``.

    Raises:
        InvalidInput: field ``assessed`` or ``passed``, rule ``screening.count`` for a negative
            or non-integer count; field ``passed``, rule ``screening.passed_over_assessed``.
    """
    assessed = _count("assessed", assessed)
    passed = _count("passed", passed)
    if passed > assessed:
        raise InvalidInput(
            "passed", "screening.passed_over_assessed", "must not exceed the number assessed"
        )
    if assessed == 0 or passed * 100 <= assessed * limit_percent:
        return []
    return [
        Flag(
            "pass_rate.high",
            "review",
            f"pass rate {passed}/{assessed} ({passed * 100 / assessed:.1f} %) over the last year "
            f"is above {limit_percent} %: focused supervision (湘人社鉴函〔2022〕1号)",
        )
    ]


def one_year_before(day: datetime.date) -> datetime.date:
    """The same day a year earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def flag_inactivity(
    last_issue: datetime.date | None, active_since: datetime.date, today: datetime.date
) -> list[Flag]:
    """Flag an organisation that has issued no certificate for a year or more: a ground for
    terminating its filing, "一年（含）以上不开展评价工作的" (misconduct guideline
    人社职司便函〔2021〕57号 art. 14(七), seed 002), which the province reviews.

    ``last_issue`` is the latest issue date of the organisation's certificates (None: none
    yet), ``active_since`` the day it was filed; the organisation is inactive when the later of
    the two is on or before the same day a year before ``today`` ("（含）": a full year counts).

    Returns:
        ``[Flag("organisation.inactive", "review", …)]`` or ``[]``.
    """
    since = active_since if last_issue is None else max(last_issue, active_since)
    if since > one_year_before(today):
        return []
    what = "no certificate issued" if last_issue is None else "last certificate issued"
    return [
        Flag(
            "organisation.inactive",
            "review",
            f"{what} since {since.isoformat()}: no assessment for a year or more, a termination "
            "ground (人社职司便函〔2021〕57号 art. 14(七))",
        )
    ]


class ScopeSubject(Protocol):
    """What the scope rule looks at: :class:`~node.core.certificate.Certificate` and the public
    :class:`~node.core.formats.entry.Attributes` of a log entry both fit."""

    @property
    def occupation_code(self) -> str: ...

    @property
    def work_type_code(self) -> str: ...

    @property
    def level(self) -> int: ...


#: A filed scope (备案的评价范围): occupation codes (``6-18-01-01``, every work type under it) or
#: work-type codes (``6-18-01-01-02``, that work type only), each with the levels filed for it.
FiledScope = Mapping[str, Collection[int]]


def flag_scope(certificate: ScopeSubject, filed_scope: FiledScope) -> list[Flag]:
    """Flag a certificate whose occupation, work type or level is outside the organisation's
    filed scope (data guide art. 9; uploading outside it is revoked, misconduct guidelines
    art. 15).

    The certificate is inside when its work-type code is filed with its level, or its
    occupation code is filed (for every work type) with its level.

    Returns:
        ``[Flag("scope.outside", "error", …)]`` or ``[]``.
    """
    level = certificate.level
    occupation = certificate.occupation_code
    work_type = certificate.work_type_code
    if level in filed_scope.get(occupation, ()):
        return []
    if work_type != NO_WORK_TYPE and level in filed_scope.get(work_type, ()):
        return []
    subject = occupation if work_type == NO_WORK_TYPE else f"{occupation} / {work_type}"
    return [
        Flag(
            "scope.outside",
            "error",
            f"occupation {subject} at level {level} is not in the filed scope (data guide art. 9)",
        )
    ]


def flag_id_burst(
    issue_dates_for_id: list[datetime.date], window_days: int, limit: int
) -> list[Flag]:
    """Flag one ID holding more than ``limit`` certificates issued within ``window_days``.

    ``issue_dates_for_id`` are the issue dates of every certificate held under one ID (the
    caller groups by ID; the ID itself never comes here). A window is ``window_days``
    consecutive calendar days: dates ``a <= b`` are in one window when ``(b - a).days <
    window_days``. The flag reports the fullest window.

    Returns:
        ``[Flag("id.burst", "review", …)]`` or ``[]``.

    Raises:
        InvalidInput: field ``window_days`` or ``limit``, rule ``screening.count``
            (``window_days`` must also be at least 1).
    """
    window_days = _count("window_days", window_days)
    limit = _count("limit", limit)
    if window_days < 1:
        raise InvalidInput("window_days", "screening.count", "must be at least 1")
    dates = sorted(issue_dates_for_id)
    best, best_start = 0, 0
    start = 0
    for end, day in enumerate(dates):
        while (day - dates[start]).days >= window_days:
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, start
    if best <= limit:
        return []
    first = dates[best_start]
    last = dates[best_start + best - 1]
    return [
        Flag(
            "id.burst",
            "review",
            f"{best} certificates for one ID issued within {window_days} days "
            f"({first.isoformat()} to {last.isoformat()}; limit {limit})",
        )
    ]


def flag_issue_date(issue_date: datetime.date, received_on: datetime.date) -> list[Flag]:
    """Flag an issue date after the day of receipt, or more than 6 months before it.

    "More than 6 months" is :func:`node.core.rules.workdays.six_months_after` (same day of the month
    six months later, clamped to the month's end): data guide art. 12 says such data is in principle
    not accepted, so data already held that is this stale is put up for review.

    Returns:
        ``[Flag("issue_date.future", "error", …)]``, ``[Flag("issue_date.stale", "review",
        …)]`` or ``[]``.
    """
    if issue_date > received_on:
        return [
            Flag(
                "issue_date.future",
                "error",
                f"issue date {issue_date.isoformat()} is after the day of receipt "
                f"{received_on.isoformat()}",
            )
        ]
    if received_on > six_months_after(issue_date):
        return [
            Flag(
                "issue_date.stale",
                "review",
                f"received {received_on.isoformat()}, more than 6 months after the issue date "
                f"{issue_date.isoformat()} (data guide art. 12)",
            )
        ]
    return []


def flag_serials(serials: Iterable[int], *, first_expected: int | None = SERIAL_MIN) -> list[Flag]:
    """Check the serials (positions 17-22) of one organisation, one year and one level.

    Serials are assigned in sequence per organisation, per year, per level (人社鉴发〔2019〕2号
    §二). A serial used twice is an error; numbers skipped between the lowest and the highest
    serial are a warning, reported as runs; so are numbers skipped before the lowest serial down
    to ``first_expected`` (pass ``None`` when ``serials`` is only part of the year, e.g. one
    batch). A serial outside 1-999999 is an error. The runs are
    :func:`node.core.rules.serials.missing_serials`' (the intake and the auditor count gaps
    with it too).

    Returns:
        Flags in this order: ``serial.range`` (errors), ``serial.duplicate`` (errors, ascending),
        ``serial.gap`` (warnings, ascending).
    """
    counts: Counter[int] = Counter()
    for serial in serials:
        if isinstance(serial, bool) or not isinstance(serial, int):
            raise InvalidInput("serials", "screening.serial_type", "serials must be integers")
        counts[serial] += 1
    flags: list[Flag] = []
    bad = sorted(s for s in counts if not SERIAL_MIN <= s <= SERIAL_MAX)
    if bad:
        flags.append(
            Flag(
                "serial.range",
                "error",
                f"{len(bad)} serial(s) outside {SERIAL_MIN:06d}-{SERIAL_MAX:06d}",
            )
        )
    valid = sorted(s for s in counts if SERIAL_MIN <= s <= SERIAL_MAX)
    for serial in valid:
        if counts[serial] > 1:
            flags.append(
                Flag(
                    "serial.duplicate",
                    "error",
                    f"serial {serial:06d} is used {counts[serial]} times",
                )
            )
    flags.extend(
        gap_flag(first, last)
        for first, last in missing_serials(valid, first_expected=first_expected)
    )
    return flags


__all__ = [
    "PASS_RATE_LIMIT_PERCENT",
    "SERIAL_MAX",
    "SERIAL_MIN",
    "SUSPENSION_REASONS",
    "FiledScope",
    "Flag",
    "ScopeSubject",
    "Severity",
    "flag_id_burst",
    "flag_inactivity",
    "flag_issue_date",
    "flag_pass_rate",
    "flag_scope",
    "flag_serials",
    "one_year_before",
]
