"""Chinese official working days and the deadlines of the certificate data guide.

Pure: no I/O, no clock and no process-wide state; every date and the calendar come in as
arguments.

Working days (工作日) follow the State Council's holiday arrangements as shipped by the
``chinese-calendar`` package: Monday-Friday are working days unless they are public holidays
or bridging days off (调休), and a Saturday or Sunday is a working day when it was swapped in
(调休上班, e.g. Sunday 2025-01-26 before the Spring Festival).

**The calendar is a value.** :class:`WorkdayCalendar` holds the years it covers: those
``chinese-calendar`` ships data for (2004-2026 with the pinned version 1.11.0, read from the
package) and, after them, :class:`CalendarYear` documents added in order. Anything that needs a
day outside its years raises :class:`~node.core.errors.InvalidInput` with rule
``workdays.calendar_range`` instead of guessing Monday-Friday. A new year's arrangement is
published each November (国务院办公厅关于部分节假日安排的通知) and may reach PyPI late:
:func:`parse_calendar_year` reads it from a small JSON document and
:meth:`WorkdayCalendar.with_years` makes the calendar that covers it too (docs/NODE.md
"Working-day calendar"; ``province/calendars.py`` builds a node's calendar from
``CERTREG_CALENDAR`` and ``node.json``'s ``calendars``). Whoever judges a deadline is handed the
calendar: the intake, the auditor, the CLI; nothing is registered process-wide.
:func:`provisional_year` makes a Monday-Friday year with no holidays, marked provisional, for
synthetic data only (``certreg dev up``, ``serve --demo``, tests).

**Counting convention.** As in Civil Code art. 201 (开始的当日不计入，自下一日开始计算), the
start day never counts. :meth:`~WorkdayCalendar.working_days_between` ``(start, end)`` is the
number of working days ``d`` with ``start < d <= end``;
:meth:`~WorkdayCalendar.add_working_days` ``(start, n)`` is the ``n``-th working day after
``start``. So ``working_days_between(start, add_working_days(start, n)) == n``, and a deadline
of "``n`` working days from D" is the last day on which the act is still in time.

Deadlines of 中就培发〔2022〕1号 (seed 002, 职业技能等级证书数据工作指南), methods of
:class:`WorkdayCalendar`:

- art. 10: the organisation uploads within 30 working days of the issue date
  (``upload_deadline``, ``check_upload``); the province audits within 30 working days of
  receipt (``review_deadline``);
- art. 11: data returned by an audit is corrected and re-uploaded within 20 working days
  (``correction_deadline``);
- art. 12: a late upload needs a written reason; more than 6 months after the issue date it is,
  in principle, not accepted (:func:`six_months_after`, ``check_upload``).

Rule ids of this module: ``workdays.calendar_range``, ``workdays.calendar_file``,
``issue_date.after_receipt``, ``issue_date.over_six_months``, ``late_reason.required`` and the
``reason.*`` rules of :func:`node.core.rules.reasons.check_reason` (for ``late_reason``).
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime
import functools
from collections.abc import Iterable
from typing import Final, Literal

from node.core.errors import InvalidInput
from node.core.rules.reasons import ACTION_ISSUE, check_reason

#: Data guide art. 10: working days from the issue date to the upload.
UPLOAD_WORKING_DAYS: Final = 30
#: Data guide art. 10: working days from receipt to the end of the province's audit.
REVIEW_WORKING_DAYS: Final = 30
#: Data guide art. 10: working days for the national centre to make compliant data queryable.
NATIONAL_PUBLICATION_WORKING_DAYS: Final = 15
#: Data guide art. 11: working days to correct and re-upload data returned by an audit.
CORRECTION_WORKING_DAYS: Final = 20
#: Data guide art. 12: calendar months after the issue date beyond which an upload is refused.
LATE_LIMIT_MONTHS: Final = 6

_CALENDAR_RANGE_RULE: Final = "workdays.calendar_range"


@dataclasses.dataclass(frozen=True, slots=True)
class CalendarYear:
    """One year's official arrangement of public holidays and swapped working days.

    A day of the year is a working day when it is Monday-Friday and not in ``holidays``, or
    when it is in ``working_weekends`` (调休上班). ``source`` names the notice it comes from;
    ``provisional`` marks a year made up for synthetic data (:func:`provisional_year`).
    """

    year: int
    holidays: frozenset[datetime.date]
    working_weekends: frozenset[datetime.date]
    source: str
    provisional: bool = False

    def is_working_day(self, day: datetime.date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def to_json(self) -> dict[str, object]:
        """The document :func:`parse_calendar_year` reads."""
        return {
            "version": 1,
            "year": self.year,
            "source": self.source,
            "provisional": self.provisional,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "working_weekends": sorted(d.isoformat() for d in self.working_weekends),
        }


def parse_calendar_year(value: object) -> CalendarYear:
    """Read a calendar document::

        {"version": 1, "year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知 …",
         "holidays": ["2027-01-01", …], "working_weekends": ["2027-02-20", …]}

    ``holidays`` lists every day off of the arrangement (weekends inside a holiday may be
    listed or not); ``working_weekends`` the Saturdays and Sundays worked. ``provisional``
    (optional, default false) marks made-up data.

    Raises:
        InvalidInput: field ``calendar`` (or the named key) with rule ``workdays.calendar_file``
            and what is wrong.
    """

    def bad(field: str, message: str) -> InvalidInput:
        return InvalidInput(field, "workdays.calendar_file", message)

    if not isinstance(value, dict):
        raise bad("calendar", "must be a JSON object")
    unknown = sorted(set(value) - {"version", "year", "source", "provisional", "holidays",
                                   "working_weekends"})  # fmt: skip
    if unknown:
        raise bad(unknown[0], "unknown key")
    if value.get("version") != 1:
        raise bad("version", "must be 1")
    year = value.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise bad("year", "must be a year 2000-2200")
    source = value.get("source")
    if not isinstance(source, str) or not source.strip():
        raise bad("source", "must name the notice the arrangement comes from")
    provisional = value.get("provisional", False)
    if not isinstance(provisional, bool):
        raise bad("provisional", "must be true or false")

    def days(key: str) -> frozenset[datetime.date]:
        items = value.get(key)
        if not isinstance(items, list):
            raise bad(key, "must be a list of dates YYYY-MM-DD")
        out = set()
        for item in items:
            try:
                day = datetime.date.fromisoformat(item) if isinstance(item, str) else None
            except ValueError:
                day = None
            if day is None or len(item) != 10 or day.year != year:
                raise bad(key, f"must hold dates YYYY-MM-DD of {year}")
            out.add(day)
        return frozenset(out)

    holidays, weekends = days("holidays"), days("working_weekends")
    if any(day.weekday() < 5 for day in weekends):
        raise bad("working_weekends", "must hold Saturdays and Sundays only")
    if holidays & weekends:
        raise bad("working_weekends", "a day cannot be both a holiday and a working day")
    return CalendarYear(year, holidays, weekends, source.strip(), provisional)


def provisional_year(year: int) -> CalendarYear:
    """A Monday-Friday year with no holidays, marked provisional: for synthetic data (the local
    demo consortium, tests) when the official arrangement of ``year`` is not at hand. Never
    configure it on a node that takes real certificates."""
    return CalendarYear(
        year,
        frozenset(),
        frozenset(),
        "provisional: Monday-Friday, no holidays (synthetic data only, not an official "
        "arrangement)",
        provisional=True,
    )


def _check_date(value: object, name: str) -> None:
    # datetime.datetime is a date subclass; a time of day has no meaning here.
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise TypeError(f"{name} must be a datetime.date")


@functools.cache
def _package_days() -> tuple[int, int, tuple[datetime.date, ...]]:
    """The first and last year of the installed ``chinese-calendar`` and every working day of
    them, ascending (about 250 a year; read once: the package's data never changes while the
    process runs). The package is imported here, on first use: a verifier that judges no
    deadline never loads it."""
    import chinese_calendar
    from chinese_calendar import constants as chinese_calendar_constants

    years = {day.year for day in chinese_calendar_constants.holidays}
    first, last = min(years), max(years)
    day, end = datetime.date(first, 1, 1), datetime.date(last, 12, 31)
    days = []
    while day <= end:
        if chinese_calendar.is_workday(day):
            days.append(day)
        day += datetime.timedelta(days=1)
    return first, last, tuple(days)


def _year_days(year: CalendarYear) -> list[datetime.date]:
    day, end = datetime.date(year.year, 1, 1), datetime.date(year.year, 12, 31)
    days = []
    while day <= end:
        if year.is_working_day(day):
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


@dataclasses.dataclass(frozen=True, eq=False)
class WorkdayCalendar:
    """The working days a node or an auditor judges deadlines in: the years the installed
    ``chinese-calendar`` ships (2004-2026 for the pinned 1.11.0) and, after them, the
    :class:`CalendarYear` documents added in order (``added``). An immutable, hashable value:
    whoever judges a deadline is handed one (nothing process-wide; worker processes get it
    pickled).

    Build one with :meth:`default` and :meth:`with_years` (or ``WorkdayCalendar(added)`` when
    ``added`` is already the exact sequence of years after the package's).

    Raises:
        InvalidInput: field ``year``, rule ``workdays.calendar_file``: an added year is already
            covered, or leaves a gap after the last covered year.
    """

    added: tuple[CalendarYear, ...] = ()
    _first: int = dataclasses.field(init=False, repr=False)
    _last: int = dataclasses.field(init=False, repr=False)
    _days: tuple[datetime.date, ...] = dataclasses.field(init=False, repr=False)
    _hash: int = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        added = tuple(self.added)
        first, last, days = _package_days()
        extra: list[datetime.date] = []
        for year in added:
            if not isinstance(year, CalendarYear):
                raise TypeError("added must hold CalendarYear values")
            _check_next(year, first, last)
            extra.extend(_year_days(year))
            last = year.year
        object.__setattr__(self, "added", added)
        object.__setattr__(self, "_first", first)
        object.__setattr__(self, "_last", last)
        object.__setattr__(self, "_days", days + tuple(extra) if extra else days)
        object.__setattr__(self, "_hash", hash(added))

    @classmethod
    def default(cls) -> WorkdayCalendar:
        """The calendar of the installed ``chinese-calendar`` alone (no added years)."""
        return _default()

    def with_years(self, years: Iterable[CalendarYear]) -> WorkdayCalendar:
        """This calendar with ``years`` added after its last year, in year order. A year
        already added with the same days is left as it is.

        Raises:
            InvalidInput: field ``year``, rule ``workdays.calendar_file``: a year is already
                covered differently, or would leave a gap after the last covered year.
        """
        added = list(self.added)
        by_year = {year.year: year for year in added}
        first, last = self.years
        for year in sorted(years, key=lambda y: y.year):
            if by_year.get(year.year) == year:
                continue
            _check_next(year, first, last)
            added.append(year)
            by_year[year.year] = year
            last = year.year
        if len(added) == len(self.added):
            return self
        return WorkdayCalendar(tuple(added))

    @property
    def years(self) -> tuple[int, int]:
        """The first and last year (inclusive) this calendar covers."""
        return self._first, self._last

    # Equal when the added years are; the derived days follow from them.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkdayCalendar):
            return NotImplemented
        return self is other or self.added == other.added

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[WorkdayCalendar], tuple[tuple[CalendarYear, ...]]]:
        # Pickled as its added years (worker processes rebuild the days).
        return WorkdayCalendar, (self.added,)

    def _check_covered(self, day: datetime.date, field: str) -> None:
        if not self._first <= day.year <= self._last:
            raise InvalidInput(
                field,
                _CALENDAR_RANGE_RULE,
                f"working days are known for {self._first}-{self._last} only (chinese-calendar "
                f"data and added calendar years, docs/NODE.md); the date falls in {day.year}",
            )

    def is_working_day(self, day: datetime.date) -> bool:
        """Return whether ``day`` is a Chinese official working day.

        Raises:
            InvalidInput: field ``date``, rule ``workdays.calendar_range`` when the year is not
                covered by the calendar data.
        """
        _check_date(day, "day")
        self._check_covered(day, "date")
        days = self._days
        index = bisect.bisect_left(days, day)
        return index < len(days) and days[index] == day

    def _working_days_between(self, start: datetime.date, end: datetime.date, field: str) -> int:
        _check_date(start, "start")
        _check_date(end, "end")
        if end < start:
            raise ValueError("end must not be before start")
        self._check_covered(start, field)
        self._check_covered(end, field)
        days = self._days
        return bisect.bisect_right(days, end) - bisect.bisect_right(days, start)

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Return the number of working days ``d`` with ``start < d <= end``.

        The start day never counts (Civil Code art. 201); the end day counts when it is a
        working day. ``working_days_between(d, d)`` is 0.

        Raises:
            ValueError: ``end`` is before ``start``.
            InvalidInput: field ``date``, rule ``workdays.calendar_range`` when ``start`` or
                ``end`` falls in a year the calendar does not cover.
        """
        return self._working_days_between(start, end, "date")

    def _add_working_days(self, start: datetime.date, n: int, field: str) -> datetime.date:
        _check_date(start, "start")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("n must be a non-negative integer")
        self._check_covered(start, field)
        if n == 0:
            return start
        days = self._days
        index = bisect.bisect_right(days, start) + n - 1
        if index >= len(days):
            raise InvalidInput(
                field,
                _CALENDAR_RANGE_RULE,
                f"the result falls after {self._last}; working days are known for "
                f"{self._first}-{self._last} only (chinese-calendar data and added calendar "
                "years, docs/NODE.md)",
            )
        return days[index]

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date:
        """Return the ``n``-th working day after ``start`` (``start`` itself when ``n`` is 0).

        For ``n >= 1`` the result is always a working day, whether or not ``start`` is one.

        Raises:
            ValueError: ``n`` is negative or not an integer.
            InvalidInput: field ``date``, rule ``workdays.calendar_range`` when ``start`` or the
                result falls in a year the calendar does not cover.
        """
        return self._add_working_days(start, n, "date")

    def upload_deadline(self, issue_date: datetime.date) -> datetime.date:
        """Return the last day for uploading a certificate: 30 working days after
        ``issue_date``.

        Data guide art. 10 (自发证日期起 30 个工作日内上传).

        Raises:
            InvalidInput: field ``issue_date``, rule ``workdays.calendar_range``.
        """
        return self._add_working_days(issue_date, UPLOAD_WORKING_DAYS, "issue_date")

    def review_deadline(self, received_on: datetime.date) -> datetime.date:
        """Return the last day of the province's audit: 30 working days after receipt.

        Data guide art. 10 (自接收证书数据起 30 个工作日内完成审核并上传部中心).

        Raises:
            InvalidInput: field ``received_on``, rule ``workdays.calendar_range``.
        """
        return self._add_working_days(received_on, REVIEW_WORKING_DAYS, "received_on")

    def correction_deadline(self, returned_on: datetime.date) -> datetime.date:
        """Return the last day for re-uploading data returned by an audit: 20 working days
        later.

        Data guide art. 11 (应在 20 个工作日内进行更正，并重新上报).

        Raises:
            InvalidInput: field ``returned_on``, rule ``workdays.calendar_range``.
        """
        return self._add_working_days(returned_on, CORRECTION_WORKING_DAYS, "returned_on")

    def check_upload(
        self, issue_date: datetime.date, received_on: datetime.date, late_reason: int | None
    ) -> UploadTiming:
        """Judge the timing of an upload against data guide arts. 10 and 12.

        Checks, in this order:

        1. the issue date is not after the day of receipt;
        2. receipt is within 6 months of the issue date (:func:`six_months_after`); needs no
           calendar data, so it is decided even for years the calendar does not cover;
        3. on time means received no later than :meth:`upload_deadline`, the 30th working day
           after the issue date (decided by counting :meth:`working_days_between`, so only the
           days from the issue date to receipt need calendar data);
        4. a late upload needs ``late_reason``, a late-upload reason code of
           :mod:`node.core.rules.reasons`.

        A reason given for an upload that is on time is not needed and is not kept: the
        result's ``late_reason`` is then ``None``.

        The answer depends on the calendar and the three arguments only, and a bulk file has
        few distinct issue dates, so answers are kept (a bounded cache keyed by all four;
        errors are not kept, they are raised anew).

        Returns:
            The :class:`UploadTiming`: ``on_time`` or ``late_with_reason``.

        Raises:
            InvalidInput: field ``issue_date``, rule ``issue_date.after_receipt`` or
                ``issue_date.over_six_months``; field ``issue_date``, rule
                ``workdays.calendar_range``; field ``late_reason``, rule
                ``late_reason.required``, ``reason.unknown`` or ``reason.not_for_action``.
        """
        if late_reason is None or type(late_reason) is int:
            # (True == 1 as a cache key: anything but a plain int or None skips the cache.)
            return _check_upload_memo(self, issue_date, received_on, late_reason)
        return self._check_upload(issue_date, received_on, late_reason)

    def _check_upload(
        self, issue_date: datetime.date, received_on: datetime.date, late_reason: int | None
    ) -> UploadTiming:
        _check_date(issue_date, "issue_date")
        _check_date(received_on, "received_on")
        if issue_date > received_on:
            raise InvalidInput(
                "issue_date", "issue_date.after_receipt", "must not be after the day of receipt"
            )
        if received_on > six_months_after(issue_date):
            # Data guide art. 12: 自发证日期起逾期超过6个月的，原则上不予受理。
            raise InvalidInput(
                "issue_date",
                "issue_date.over_six_months",
                "received more than 6 months after the issue date; not accepted (data guide "
                "art. 12)",
            )
        elapsed = self._working_days_between(issue_date, received_on, "issue_date")
        # Received on or before the 30th working day after the issue date. With exactly 30
        # working days elapsed, receipt on a rest day means the day after the deadline (the
        # 30th working day itself has passed), so it is late.
        if elapsed < UPLOAD_WORKING_DAYS or (
            elapsed == UPLOAD_WORKING_DAYS and self.is_working_day(received_on)
        ):
            return UploadTiming(status="on_time", working_days=elapsed, late_reason=None)
        # Data guide art. 12: 未按规定上传证书数据，造成逾期的，须书面说明原因。
        if late_reason is None:
            raise InvalidInput(
                "late_reason",
                "late_reason.required",
                f"uploaded {elapsed} working days after the issue date (limit "
                f"{UPLOAD_WORKING_DAYS}); a late-upload reason is required (data guide art. 12)",
            )
        check_reason(ACTION_ISSUE, late_reason, field="late_reason")
        return UploadTiming(
            status="late_with_reason", working_days=elapsed, late_reason=late_reason
        )


def _check_next(year: CalendarYear, first: int, last: int) -> None:
    """Refuse ``year`` unless it is the year after ``last`` (the calendar covers first-last)."""
    if first <= year.year <= last:
        raise InvalidInput(
            "year",
            "workdays.calendar_file",
            f"{year.year} is already covered ({first}-{last}); a year is added once",
        )
    if year.year != last + 1:
        raise InvalidInput(
            "year",
            "workdays.calendar_file",
            f"the next year to add is {last + 1}; years are added in order, without gaps",
        )


@functools.cache
def _default() -> WorkdayCalendar:
    """The one default calendar, built on first use (its day table is the costly part)."""
    return WorkdayCalendar()


@functools.lru_cache(maxsize=4096)
def _check_upload_memo(
    workdays: WorkdayCalendar,
    issue_date: datetime.date,
    received_on: datetime.date,
    late_reason: int | None,
) -> UploadTiming:
    return workdays._check_upload(issue_date, received_on, late_reason)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Return the same day of the month ``months`` calendar months later, clamped to the end of
    the month when that month is shorter (Civil Code art. 202: 到期月的对应日为期间的最后一日；
    没有对应日的，为月末日).

    Examples: 2025-03-14 + 6 = 2025-09-14; 2025-08-31 + 6 = 2026-02-28; 2023-08-31 + 6 =
    2024-02-29. Needs no calendar data. ``months`` may be negative.

    Raises:
        OverflowError: the result is outside year 1-9999.
    """
    _check_date(day, "day")
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise OverflowError("date out of range")
    last = calendar.monthrange(year, month0 + 1)[1]
    return datetime.date(year, month0 + 1, min(day.day, last))


def six_months_after(issue_date: datetime.date) -> datetime.date:
    """Return the last day an upload can be accepted at all (data guide art. 12).

    "逾期超过6个月" is read as: received after the same day of the month six calendar months
    after the issue date (clamped to that month's end, :func:`add_months`). Received on that
    day is still within 6 months; the day after is more than 6 months. The day is not moved
    when it is a holiday (the guide says "in principle"; a province granting an exception does
    so outside these rules).
    """
    return add_months(issue_date, LATE_LIMIT_MONTHS)


@dataclasses.dataclass(frozen=True, slots=True)
class UploadTiming:
    """The timing of one certificate upload, as judged by
    :meth:`WorkdayCalendar.check_upload`."""

    status: Literal["on_time", "late_with_reason"]
    working_days: int
    """Working days after the issue date up to and including the day of receipt."""
    late_reason: int | None
    """The late-upload reason code (``node.core.rules.reasons``) when late; ``None`` when on
    time."""

    @property
    def late(self) -> bool:
        """Whether the upload came after the 30-working-day deadline."""
        return self.status == "late_with_reason"
