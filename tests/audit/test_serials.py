"""The one serial-gap rule (node/core/rules/serials.py) and its three users: the intake (one new
serial against the highest so far), the screening of held serials and the auditor's bitmaps.
All count from 000001: a group whose first serial is 000002 misses 000001."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from audit.log import ProvinceLog
from node.core.rules.flags import Flag
from node.core.rules.screening import flag_serials
from node.core.rules.serials import gap_flag, missing_serials, serial_gap, serial_span

GROUP = ("S000144011001", 26, 5)


def test_missing_runs() -> None:
    assert list(missing_serials([1, 2, 5, 6, 8])) == [(3, 4), (7, 7)]
    assert list(missing_serials([2, 3])) == [(1, 1)]
    assert list(missing_serials([2, 3], first_expected=None)) == []
    assert list(missing_serials([])) == []
    assert serial_span(7, 7) == "000007" and serial_span(7, 9) == "000007-000009"
    assert gap_flag(7, 9) == Flag("serial.gap", "warning", "serial(s) 000007-000009 missing (3)")


def test_the_first_serial_is_expected_by_every_user() -> None:
    # Intake: the first serial of a group (nothing used yet) is 000002.
    assert serial_gap(0, 2) == [gap_flag(1, 1)]
    assert serial_gap(1, 2) == [] and serial_gap(5, 3) == []
    # Screening of held serials.
    assert flag_serials([2, 3]) == [gap_flag(1, 1)]
    # The auditor's rebuilt log.
    log = ProvinceLog("44")
    assert log.mark_serial(GROUP, 2) and log.mark_serial(GROUP, 3)
    assert not log.mark_serial(GROUP, 3)
    assert list(log.serial_gaps()) == [(GROUP, 1, 1)]


@given(st.sets(st.integers(min_value=1, max_value=300), max_size=60))
def test_the_users_agree(serials: set[int]) -> None:
    log = ProvinceLog("44")
    for serial in serials:
        log.mark_serial(GROUP, serial)
    runs = list(missing_serials(sorted(serials)))
    assert [(first, last) for _, first, last in log.serial_gaps()] == runs
    assert [f for f in flag_serials(sorted(serials)) if f.code == "serial.gap"] == [
        gap_flag(first, last) for first, last in runs
    ]
    # The intake, one serial at a time in ascending order, warns about the same runs.
    top, warned = 0, []
    for serial in sorted(serials):
        warned.extend(serial_gap(top, serial))
        top = serial
    assert warned == [gap_flag(first, last) for first, last in runs]
    # And every serial up to the highest is present or in a run.
    missing = {s for first, last in runs for s in range(first, last + 1)}
    assert missing | serials == set(range(1, max(serials, default=0) + 1))
