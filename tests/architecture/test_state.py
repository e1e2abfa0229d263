"""No process-wide calendar, no hidden wall clock in the services, one China Standard Time
(docs/ARCHITECTURE.md, docs/NODE.md "Working-day calendar")."""

from __future__ import annotations

import datetime as dt
import inspect
import re

import pytest

from node.core import time as core_time
from node.core.rules import workdays
from node.services.intake import IntakeService
from node.services.lifecycle import LifecycleService
from node.services.review import ReviewService
from tests.architecture.test_layers import PACKAGES
from tests.conftest import ROOT


@pytest.mark.parametrize("service", [IntakeService, LifecycleService, ReviewService])
def test_services_take_their_clock_and_have_no_default(service: type) -> None:
    clock = inspect.signature(service).parameters["clock"]
    assert clock.kind is inspect.Parameter.KEYWORD_ONLY
    assert clock.default is inspect.Parameter.empty


def test_intake_takes_its_calendar() -> None:
    calendar = inspect.signature(IntakeService).parameters["calendar"]
    assert calendar.default is inspect.Parameter.empty


def test_the_calendar_registry_is_gone() -> None:
    for name in ("add_calendar_year", "restore_calendar_years", "added_calendar_years"):
        assert not hasattr(workdays, name), name
    # The module keeps no mutable mapping or list of years at module level.
    mutable = [
        name
        for name, value in vars(workdays).items()
        if isinstance(value, dict | list | set) and not name.startswith("__")
    ]
    assert mutable == []


def test_one_china_standard_time() -> None:
    assert core_time.CHINA_STANDARD_TIME.utcoffset(None) == dt.timedelta(hours=8)
    # No other definition of UTC+8 in the packages (the JS verifier has its own language).
    pattern = re.compile(r"timedelta\(hours=8\)|8 \* 3600|28_?800\b")
    found = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["node/core/time.py"]


def test_china_time_helpers() -> None:
    # 2026-01-01 00:00 in China is 2025-12-31 16:00 UTC.
    start = int(dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC).timestamp())
    assert core_time.day_bounds("2026-01-01") == (start, start + 86_400)
    assert core_time.day_bounds(dt.date(2026, 1, 1)) == (start, start + 86_400)
    assert core_time.china_date_of_unix(start) == dt.date(2026, 1, 1)
    assert core_time.china_date_of_unix(start - 1) == dt.date(2025, 12, 31)
    assert core_time.china_day_start(core_time.china_day_number(start + 3600)) == start
    assert core_time.china_day_number(start - 1) + 1 == core_time.china_day_number(start)
    moment = dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert core_time.china_date(moment) == dt.date(2026, 1, 1)
    with pytest.raises(ValueError):
        core_time.china_date(dt.datetime(2026, 1, 1))  # naive: which day is unknown
