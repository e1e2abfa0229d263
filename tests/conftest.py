"""Shared fixtures and paths for the test suite.

The servers (``postgres``, ``anvil_node``, ``ipfs_daemon``) are registered here and only here,
so one instance of each serves every suite in a run (tests/servers.py).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from node.core.rules.workdays import WorkdayCalendar
from node.core.time import china_date
from province.calendars import ENVIRONMENT, provisional_calendar, write_calendar_files
from province.vocabulary import load_vocabulary
from tests.servers import anvil_node, ipfs_daemon, postgres

__all__ = ["anvil_node", "ipfs_daemon", "postgres"]

ROOT = Path(__file__).resolve().parent.parent
#: The transparency-dev/merkle conformance corpus (Apache 2.0), kept in tests/vectors/tlog.
TLOG_VECTORS = ROOT / "tests" / "vectors" / "tlog"
OUR_VECTORS = ROOT / "tests" / "vectors"


#: The vocabulary province nodes use (national forbidden words, the shipped occupation catalogue).
VOCABULARY = load_vocabulary()


def today_calendar() -> WorkdayCalendar:
    """The working-day calendar of tests that take certificates in "today" (the API, the demo,
    the local consortium): chinese-calendar 1.11.0 ends with 2026, so from 2027 on, until the
    official arrangement is added (docs/NODE.md), the years up to today's are provisional
    Monday-Friday years, as `certreg dev up` makes for its synthetic data. The tests of the
    calendar itself build their own from fixed years."""
    return provisional_calendar(china_date(dt.datetime.now(dt.UTC)))


@pytest.fixture
def workdays() -> WorkdayCalendar:
    """:func:`today_calendar`, for a test to hand to what judges deadlines."""
    return today_calendar()


@pytest.fixture
def today_calendar_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> WorkdayCalendar:
    """For a test that runs `certreg` (in-process or as a child process) on certificates
    received today: ``CERTREG_CALENDAR`` names the files of :func:`today_calendar`'s added years
    (unset while chinese-calendar covers today) for the test's duration only."""
    calendar = today_calendar()
    paths = write_calendar_files(calendar, tmp_path_factory.mktemp("calendar"))
    if paths:
        monkeypatch.setenv(ENVIRONMENT, os.pathsep.join(str(p) for p in paths))
    else:
        monkeypatch.delenv(ENVIRONMENT, raising=False)
    return calendar
