"""Working days (real holiday arrangements) and the data guide deadlines (arts. 10-12)."""

from __future__ import annotations

import dataclasses
import datetime
import pickle
from collections.abc import Callable

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import InvalidInput
from node.core.rules.reasons import Reason
from node.core.rules.workdays import (
    CalendarYear,
    UploadTiming,
    WorkdayCalendar,
    add_months,
    parse_calendar_year,
    provisional_year,
    six_months_after,
)

D = datetime.date
#: The package's years alone: the calendar is a value, built here and handed to every call.
CALENDAR = WorkdayCalendar.default()
is_working_day = CALENDAR.is_working_day
working_days_between = CALENDAR.working_days_between
add_working_days = CALENDAR.add_working_days
upload_deadline = CALENDAR.upload_deadline
review_deadline = CALENDAR.review_deadline
correction_deadline = CALENDAR.correction_deadline
check_upload = CALENDAR.check_upload
FIRST, LAST = CALENDAR.years
# Starting dates that leave room for 200 working days within the covered years.
COVERED = st.dates(min_value=D(FIRST, 1, 1), max_value=D(LAST - 1, 12, 31))


def test_covered_years_of_the_pinned_package() -> None:
    package = {day.year for day in chinese_calendar.constants.holidays}
    assert (min(package), max(package)) == (2004, 2026)
    # The default calendar is the package's years; years after it are added to a calendar value
    # (tests/province/test_calendars.py), never to the process.
    assert (FIRST, LAST) == (2004, 2026)
    assert WorkdayCalendar.default() is CALENDAR and CALENDAR.added == ()


# 2025 Spring Festival (国办发明电〔2024〕12号): rest 1-28 to 2-4, work Sunday 1-26 and
# Saturday 2-8.
@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 1, 24), True),  # Friday
        (D(2025, 1, 25), False),  # Saturday
        (D(2025, 1, 26), True),  # Sunday, swapped working day
        (D(2025, 1, 27), True),
        (D(2025, 1, 28), False),  # 除夕
        (D(2025, 1, 29), False),  # 春节
        (D(2025, 2, 3), False),  # Monday, bridging day off
        (D(2025, 2, 4), False),
        (D(2025, 2, 5), True),
        (D(2025, 2, 8), True),  # Saturday, swapped working day
        (D(2025, 2, 9), False),
        # National Day and Mid-autumn 2025: rest 10-1 to 10-8, work Sunday 9-28, Saturday 10-11.
        (D(2025, 9, 28), True),
        (D(2025, 9, 30), True),
        (D(2025, 10, 1), False),
        (D(2025, 10, 6), False),  # Monday, 中秋
        (D(2025, 10, 8), False),  # Wednesday, bridging day off
        (D(2025, 10, 9), True),
        (D(2025, 10, 11), True),  # Saturday, swapped working day
        (D(2025, 10, 12), False),
        # Labour Day 2025: rest 5-1 to 5-5, work Sunday 4-27.
        (D(2025, 4, 27), True),
        (D(2025, 5, 5), False),
        (D(2025, 5, 6), True),
    ],
)
def test_is_working_day_follows_the_official_arrangement(day: D, working: bool) -> None:
    assert is_working_day(day) is working


def test_counting_across_spring_festival_2025() -> None:
    # After Friday 1-24: Sun 1-26, Mon 1-27, then Wed 2-5, Thu 2-6, Fri 2-7, Sat 2-8.
    assert working_days_between(D(2025, 1, 24), D(2025, 2, 8)) == 6
    assert add_working_days(D(2025, 1, 24), 1) == D(2025, 1, 26)
    assert add_working_days(D(2025, 1, 24), 2) == D(2025, 1, 27)
    assert add_working_days(D(2025, 1, 24), 3) == D(2025, 2, 5)
    assert add_working_days(D(2025, 1, 24), 6) == D(2025, 2, 8)
    assert add_working_days(D(2025, 1, 24), 7) == D(2025, 2, 10)


def test_counting_across_national_day_2025() -> None:
    # After Sat 9-27: Sun 9-28, Mon 9-29, Tue 9-30, then Thu 10-9, Fri 10-10, Sat 10-11.
    assert working_days_between(D(2025, 9, 27), D(2025, 10, 11)) == 6
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)


def test_start_day_never_counts() -> None:
    assert working_days_between(D(2025, 3, 3), D(2025, 3, 3)) == 0
    assert working_days_between(D(2025, 3, 3), D(2025, 3, 4)) == 1  # Monday to Tuesday
    assert working_days_between(D(2025, 3, 7), D(2025, 3, 9)) == 0  # Friday to Sunday
    assert add_working_days(D(2025, 3, 3), 0) == D(2025, 3, 3)
    assert add_working_days(D(2025, 3, 8), 0) == D(2025, 3, 8)  # even a Saturday
    assert add_working_days(D(2025, 3, 8), 1) == D(2025, 3, 10)


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        working_days_between(D(2025, 3, 4), D(2025, 3, 3))
    with pytest.raises(ValueError):
        add_working_days(D(2025, 3, 4), -1)
    with pytest.raises(TypeError):
        is_working_day(datetime.datetime(2025, 3, 4, 12, 0))


@given(COVERED, st.integers(min_value=0, max_value=200))
def test_add_then_count_is_identity(start: D, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n > 0:
        assert is_working_day(end)
        assert working_days_between(start, end - datetime.timedelta(days=1)) == n - 1


@given(COVERED, st.integers(min_value=0, max_value=300))
def test_count_then_add_gives_the_last_working_day_not_after_end(start: D, days: int) -> None:
    end = min(start + datetime.timedelta(days=days), D(LAST, 12, 31))
    n = working_days_between(start, end)
    back = add_working_days(start, n)
    assert back <= end
    assert back == end or n == 0 or not is_working_day(end)
    # Every day strictly after back, up to end, is a rest day.
    day = back + datetime.timedelta(days=1)
    while day <= end:
        assert not is_working_day(day)
        day += datetime.timedelta(days=1)


@given(COVERED, COVERED)
def test_count_matches_a_day_by_day_walk(a: D, b: D) -> None:
    start, end = min(a, b), max(a, b)
    if (end - start).days > 400:
        end = start + datetime.timedelta(days=400)
    walk = sum(
        is_working_day(start + datetime.timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )
    assert working_days_between(start, end) == walk


@pytest.mark.parametrize(
    "call",
    [
        lambda: is_working_day(D(FIRST - 1, 12, 31)),
        lambda: is_working_day(D(LAST + 1, 1, 1)),
        lambda: working_days_between(D(LAST, 12, 1), D(LAST + 1, 1, 5)),
        lambda: add_working_days(D(LAST, 12, 20), 30),
        lambda: add_working_days(D(LAST + 1, 1, 5), 0),
    ],
)
def test_outside_the_calendar_data_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        call()
    assert caught.value.rule == "workdays.calendar_range"
    assert f"{FIRST}-{LAST}" in caught.value.message


def test_deadlines_name_their_date_field_when_out_of_range() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: upload_deadline(D(LAST, 12, 1)), "issue_date"),
        (lambda: review_deadline(D(LAST, 12, 1)), "received_on"),
        (lambda: correction_deadline(D(LAST + 1, 1, 1)), "returned_on"),
    ]
    for call, field in cases:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert (caught.value.field, caught.value.rule) == (field, "workdays.calendar_range")


def test_upload_deadline_is_30_working_days_over_spring_festival() -> None:
    # Issued Monday 2025-01-20. Working days after it: 1-21..1-24 (4), 1-26, 1-27 (6),
    # 2-5..2-8 (10), then 20 more from 2-10: Mon 2-10 + 4 weeks = Fri 3-7.
    assert upload_deadline(D(2025, 1, 20)) == D(2025, 3, 7)
    assert working_days_between(D(2025, 1, 20), D(2025, 3, 7)) == 30


def test_review_and_correction_deadlines() -> None:
    # Received Thursday 2025-09-18: 9-19, 9-22..26 (6), 9-28..30 (9), 10-9..11 (12),
    # 10-13..17 (17), 10-20..24 (22), 10-27..31 (27), 11-3, 11-4, 11-5 (30).
    assert review_deadline(D(2025, 9, 18)) == D(2025, 11, 5)
    # Returned 2025-09-18: 17 working days to 10-17, then 10-20, 10-21, 10-22 (20).
    assert correction_deadline(D(2025, 9, 18)) == D(2025, 10, 22)


@pytest.mark.parametrize(
    ("day", "later"),
    [
        (D(2025, 3, 14), D(2025, 9, 14)),
        (D(2025, 8, 31), D(2026, 2, 28)),  # clamped to month end
        (D(2023, 8, 31), D(2024, 2, 29)),  # leap year
        (D(2025, 12, 31), D(2026, 6, 30)),
        (D(2025, 7, 1), D(2026, 1, 1)),  # across the year
        (D(2024, 2, 29), D(2024, 8, 29)),
    ],
)
def test_six_months_is_the_same_day_clamped_to_month_end(day: D, later: D) -> None:
    assert six_months_after(day) == later
    assert add_months(day, 6) == later


def test_add_months_round_trip_and_negatives() -> None:
    assert add_months(D(2025, 3, 31), -1) == D(2025, 2, 28)
    assert add_months(D(2025, 1, 15), -13) == D(2023, 12, 15)
    assert add_months(D(2025, 1, 15), 0) == D(2025, 1, 15)


# --- check_upload --------------------------------------------------------------------------

ISSUED = D(2025, 1, 20)  # deadline Friday 2025-03-07 (see above)


def test_on_time_up_to_and_including_the_deadline() -> None:
    assert check_upload(ISSUED, ISSUED, None) == UploadTiming("on_time", 0, None)
    timing = check_upload(ISSUED, D(2025, 3, 7), None)
    assert timing == UploadTiming("on_time", 30, None)
    assert not timing.late


def test_a_reason_for_an_on_time_upload_is_not_kept() -> None:
    assert check_upload(ISSUED, D(2025, 3, 6), Reason.LATE_SYSTEM_FAILURE).late_reason is None


def test_rest_day_after_the_deadline_is_late() -> None:
    # Saturday 2025-03-08: still 30 working days elapsed, but the deadline day has passed.
    with pytest.raises(InvalidInput) as caught:
        check_upload(ISSUED, D(2025, 3, 8), None)
    assert (caught.value.field, caught.value.rule) == ("late_reason", "late_reason.required")


def test_late_needs_a_late_upload_reason() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_upload(ISSUED, D(2025, 3, 10), None)
    assert (caught.value.field, caught.value.rule) == ("late_reason", "late_reason.required")
    timing = check_upload(ISSUED, D(2025, 3, 10), int(Reason.LATE_FORCE_MAJEURE))
    assert timing == UploadTiming("late_with_reason", 31, Reason.LATE_FORCE_MAJEURE)
    assert timing.late


@pytest.mark.parametrize(
    ("code", "rule"),
    [(Reason.CANDIDATE_CHEATING, "reason.not_for_action"), (9999, "reason.unknown")],
)
def test_late_reason_must_be_a_late_upload_reason(code: int, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_upload(ISSUED, D(2025, 3, 10), code)
    assert (caught.value.field, caught.value.rule) == ("late_reason", rule)


def test_six_months_is_the_last_acceptable_day() -> None:
    issued = D(2025, 3, 14)
    timing = check_upload(issued, D(2025, 9, 14), Reason.LATE_OTHER)
    assert timing.late
    for reason in (None, int(Reason.LATE_OTHER)):
        with pytest.raises(InvalidInput) as caught:
            check_upload(issued, D(2025, 9, 15), reason)
        assert (caught.value.field, caught.value.rule) == (
            "issue_date",
            "issue_date.over_six_months",
        )


def test_six_month_limit_needs_no_calendar_data() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_upload(D(LAST, 1, 5), D(LAST + 1, 3, 1), Reason.LATE_OTHER)
    assert caught.value.rule == "issue_date.over_six_months"


def test_uncovered_year_is_refused_not_guessed() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_upload(D(LAST, 12, 20), D(LAST + 1, 1, 10), None)
    assert (caught.value.field, caught.value.rule) == ("issue_date", "workdays.calendar_range")


def test_issue_date_after_receipt_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_upload(D(2025, 3, 15), D(2025, 3, 14), None)
    assert (caught.value.field, caught.value.rule) == ("issue_date", "issue_date.after_receipt")


@given(COVERED, st.integers(min_value=0, max_value=60))
def test_on_time_exactly_when_not_after_upload_deadline(issued: D, days: int) -> None:
    received = issued + datetime.timedelta(days=days)
    if received.year > LAST:
        return
    try:
        deadline = upload_deadline(issued)
    except InvalidInput:
        return
    if received <= deadline:
        assert not check_upload(issued, received, None).late
    else:
        assert check_upload(issued, received, Reason.LATE_OTHER).late


# -- the calendar is a value -------------------------------------------------------------------


def _year_2027(**changes: object) -> CalendarYear:
    document: dict[str, object] = {
        "version": 1,
        "year": 2027,
        "source": "test arrangement",
        "holidays": ["2027-01-01", "2027-01-04", "2027-01-05"],
        "working_weekends": ["2027-01-09"],
    }
    document.update(changes)
    return parse_calendar_year(document)


def test_calendars_are_independent_values() -> None:
    extended = CALENDAR.with_years([_year_2027()])
    assert extended.years == (2004, 2027) and extended.added == (_year_2027(),)
    # Adding to one calendar changes no other: the default still ends with the package.
    assert CALENDAR.years == (2004, 2026) and WorkdayCalendar.default().years == (2004, 2026)
    with pytest.raises(InvalidInput) as caught:
        CALENDAR.is_working_day(D(2027, 1, 6))
    assert caught.value.rule == "workdays.calendar_range"
    assert extended.is_working_day(D(2027, 1, 6)) and not extended.is_working_day(D(2027, 1, 4))
    # The same question, two calendars, two answers (the cache is keyed by the calendar too).
    issued, received = D(2026, 12, 21), D(2027, 1, 12)
    assert extended.check_upload(issued, received, None).working_days == 14
    with pytest.raises(InvalidInput):
        CALENDAR.check_upload(issued, received, None)
    provisional = CALENDAR.with_years([provisional_year(2027)])
    assert provisional.check_upload(issued, received, None).working_days == 16


def test_a_calendar_is_immutable_hashable_and_picklable() -> None:
    extended = CALENDAR.with_years([_year_2027()])
    with pytest.raises(dataclasses.FrozenInstanceError):
        extended.added = ()  # type: ignore[misc]
    again = WorkdayCalendar((_year_2027(),))
    assert again == extended and hash(again) == hash(extended) and again is not extended
    assert again != CALENDAR and extended != CALENDAR.with_years([provisional_year(2027)])
    assert {extended: 1}[again] == 1
    copy = pickle.loads(pickle.dumps(extended))
    assert copy == extended and copy.years == (2004, 2027)
    assert copy.working_days_between(D(2026, 12, 21), D(2027, 1, 12)) == 14


def test_years_are_added_in_order_once() -> None:
    with pytest.raises(InvalidInput, match="next year to add is 2027") as caught:
        CALENDAR.with_years([_year_2027(year=2028, holidays=[], working_weekends=[])])
    assert (caught.value.field, caught.value.rule) == ("year", "workdays.calendar_file")
    with pytest.raises(InvalidInput, match="already covered"):
        CALENDAR.with_years([_year_2027(year=2026, holidays=[], working_weekends=[])])
    with pytest.raises(InvalidInput, match="already covered"):
        WorkdayCalendar((provisional_year(2026),))
    with pytest.raises(InvalidInput, match="next year to add is 2027"):
        WorkdayCalendar((provisional_year(2028),))
    extended = CALENDAR.with_years([_year_2027()])
    assert extended.with_years([_year_2027()]) is extended  # the same again: nothing changes
    with pytest.raises(InvalidInput, match="already covered"):
        extended.with_years([_year_2027(source="another notice")])
    # Any order in: added by year.
    both = CALENDAR.with_years([provisional_year(2028), _year_2027()])
    assert both.years == (2004, 2028)
    assert [y.year for y in both.added] == [2027, 2028]
