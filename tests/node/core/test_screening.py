"""Screening rules: each flag with its code and severity, never personal data in the detail."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.entry import Attributes
from node.core.rules.reasons import REASONS
from node.core.rules.screening import (
    SUSPENSION_REASONS,
    Flag,
    flag_id_burst,
    flag_issue_date,
    flag_pass_rate,
    flag_scope,
    flag_serials,
)

D = datetime.date
HOLDER = "张三"
ID_NUMBER = "11010519491231002X"
CERT = Certificate(
    holder_name=HOLDER,
    id_type="resident_id",
    id_number=ID_NUMBER,
    occupation_name="车工",
    occupation_code="6-18-01-01",
    work_type_name="数控车床",
    work_type_code="6-18-01-01-02",
    level=5,
    certificate_number="S000144002009255000001",
    issue_date="2025-03-14",
    organisation_name="广东省某技工学校职业技能等级认定中心",
    organisation_code="S000144002009",
)


def assert_no_personal_data(flags: list[Flag]) -> None:
    for flag in flags:
        assert HOLDER not in flag.detail
        assert ID_NUMBER not in flag.detail


def codes(flags: list[Flag]) -> list[tuple[str, str]]:
    return [(flag.code, flag.severity) for flag in flags]


def test_every_flag_code_maps_to_a_suspension_reason() -> None:
    for reason in SUSPENSION_REASONS.values():
        assert REASONS[reason].action == "suspend"


# --- pass rate (湘人社鉴函〔2022〕1号 §四(十七)) -----------------------------------------------


@pytest.mark.parametrize(
    ("assessed", "passed", "flagged"),
    [
        (100, 90, False),  # exactly 90 % is not "above"
        (100, 91, True),
        (1000, 901, True),
        (10, 10, True),
        (0, 0, False),
        (7, 6, False),  # 85.7 %
        (3, 3, True),
    ],
)
def test_pass_rate_above_90_percent(assessed: int, passed: int, flagged: bool) -> None:
    flags = flag_pass_rate(assessed, passed)
    assert codes(flags) == ([("pass_rate.high", "review")] if flagged else [])


@given(st.integers(min_value=1, max_value=10**9), st.data())
def test_pass_rate_is_exact(assessed: int, data: st.DataObject) -> None:
    passed = data.draw(st.integers(min_value=0, max_value=assessed))
    assert bool(flag_pass_rate(assessed, passed)) == (10 * passed > 9 * assessed)


@pytest.mark.parametrize(
    ("assessed", "passed", "field", "rule"),
    [
        (10, 11, "passed", "screening.passed_over_assessed"),
        (-1, 0, "assessed", "screening.count"),
        (10, -1, "passed", "screening.count"),
    ],
)
def test_pass_rate_counts_refused(assessed: int, passed: int, field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        flag_pass_rate(assessed, passed)
    assert (caught.value.field, caught.value.rule) == (field, rule)


# --- filed scope (data guide art. 9) ---------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        {"6-18-01-01": {3, 4, 5}},  # the whole occupation
        {"6-18-01-01-02": [5]},  # just this work type
        {"6-18-01-01-01": {5}, "6-18-01-01": {5}},
    ],
)
def test_inside_the_filed_scope(scope: dict[str, set[int] | list[int]]) -> None:
    assert flag_scope(CERT, scope) == []
    assert flag_scope(Attributes.of(CERT), scope) == []


@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"6-18-01-01": {3, 4}},  # level not filed
        {"6-18-01-01-01": {5}},  # another work type
        {"6-18-01-02": {5}},  # another occupation
    ],
)
def test_outside_the_filed_scope(scope: dict[str, set[int]]) -> None:
    flags = flag_scope(CERT, scope)
    assert codes(flags) == [("scope.outside", "error")]
    assert "6-18-01-01-02" in flags[0].detail
    assert_no_personal_data(flags)


def test_no_work_type_needs_the_occupation_filed() -> None:
    cert = dataclasses.replace(CERT, work_type_name="--", work_type_code="--")
    assert flag_scope(cert, {"6-18-01-01": {5}}) == []
    assert codes(flag_scope(cert, {"--": {5}})) == [("scope.outside", "error")]


# --- ID bursts -------------------------------------------------------------------------------


def test_id_burst() -> None:
    dates = [D(2025, 1, 1), D(2025, 1, 10), D(2025, 1, 30), D(2025, 6, 1)]
    assert flag_id_burst(dates, window_days=30, limit=3) == []
    # 1-1, 1-10 and 1-30 are within 30 days (1-30 is day 30 of a window starting 1-1).
    flags = flag_id_burst(dates, window_days=30, limit=2)
    assert codes(flags) == [("id.burst", "review")]
    assert "3 certificates" in flags[0].detail
    assert "2025-01-01 to 2025-01-30" in flags[0].detail
    assert_no_personal_data(flags)
    # With a 29-day window 1-30 falls out.
    assert flag_id_burst(dates, window_days=29, limit=2) == []
    assert flag_id_burst([], window_days=30, limit=0) == []


@given(
    st.lists(st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 1, 1)), max_size=30),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=5),
)
def test_id_burst_matches_brute_force(dates: list[D], window: int, limit: int) -> None:
    fullest = max((sum(1 for d in dates if 0 <= (d - a).days < window) for a in dates), default=0)
    assert bool(flag_id_burst(dates, window, limit)) == (fullest > limit)


def test_id_burst_arguments() -> None:
    with pytest.raises(InvalidInput) as caught:
        flag_id_burst([D(2025, 1, 1)], window_days=0, limit=1)
    assert (caught.value.field, caught.value.rule) == ("window_days", "screening.count")
    with pytest.raises(InvalidInput) as caught:
        flag_id_burst([D(2025, 1, 1)], window_days=3, limit=-1)
    assert caught.value.field == "limit"


# --- issue date ------------------------------------------------------------------------------


def test_issue_date_flags() -> None:
    assert flag_issue_date(D(2025, 3, 14), D(2025, 3, 14)) == []
    assert flag_issue_date(D(2025, 3, 14), D(2025, 9, 14)) == []
    assert codes(flag_issue_date(D(2025, 3, 15), D(2025, 3, 14))) == [
        ("issue_date.future", "error")
    ]
    assert codes(flag_issue_date(D(2025, 3, 14), D(2025, 9, 15))) == [
        ("issue_date.stale", "review")
    ]
    # Clamped to month end: 8-31 + 6 months is 2-28.
    assert flag_issue_date(D(2025, 8, 31), D(2026, 2, 28)) == []
    assert codes(flag_issue_date(D(2025, 8, 31), D(2026, 3, 1))) == [("issue_date.stale", "review")]
    # No calendar data needed.
    assert codes(flag_issue_date(D(2030, 1, 1), D(2031, 1, 1))) == [("issue_date.stale", "review")]


# --- serials (人社鉴发〔2019〕2号 positions 17-22) ------------------------------------------


def test_serials_in_sequence() -> None:
    assert flag_serials(range(1, 1001)) == []
    assert flag_serials([3, 1, 2]) == []


def test_serial_gaps_are_warnings_as_runs() -> None:
    flags = flag_serials([1, 2, 5, 6, 8])
    assert codes(flags) == [("serial.gap", "warning")] * 2
    assert "000003-000004 missing (2)" in flags[0].detail
    assert "000007 missing (1)" in flags[1].detail


def test_gap_before_the_first_serial() -> None:
    assert codes(flag_serials([4, 5])) == [("serial.gap", "warning")]
    assert "000001-000003" in flag_serials([4, 5])[0].detail
    # Only part of the year: the start is not known.
    assert flag_serials([4, 5], first_expected=None) == []


def test_duplicates_are_errors() -> None:
    flags = flag_serials([1, 2, 2, 3, 3, 3])
    assert codes(flags) == [("serial.duplicate", "error")] * 2
    assert "000002 is used 2 times" in flags[0].detail
    assert "000003 is used 3 times" in flags[1].detail


def test_out_of_range_serials() -> None:
    flags = flag_serials([0, 1, 1_000_000])
    assert codes(flags) == [("serial.range", "error")]
    with pytest.raises(InvalidInput):
        flag_serials(["000001"])  # type: ignore[list-item]


def test_empty_serials() -> None:
    assert flag_serials([]) == []


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=100))
def test_serial_flags_account_for_every_number(serials: list[int]) -> None:
    flags = flag_serials(serials)
    duplicates = {s for s in serials if serials.count(s) > 1}
    assert sum(f.code == "serial.duplicate" for f in flags) == len(duplicates)
    missing = 0
    for flag in flags:
        if flag.code == "serial.gap":
            missing += int(flag.detail.rsplit("(", 1)[1].rstrip(")"))
    expected = (max(serials) - len(set(serials))) if serials else 0
    assert missing == expected
