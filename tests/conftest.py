"""Shared fixtures and paths for the test suite.

The servers (``postgres``, ``anvil_node``, ``ipfs_daemon``) are registered here and only here,
so one instance of each serves every suite in a run (tests/servers.py).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.core.rules.workdays import added_calendar_years, restore_calendar_years
from province.calendars import ENVIRONMENT as CALENDAR_ENVIRONMENT
from province.calendars import provisional_calendars
from tests.servers import anvil_node, ipfs_daemon, postgres

__all__ = ["anvil_node", "ipfs_daemon", "postgres"]

ROOT = Path(__file__).resolve().parent.parent
#: The transparency-dev/merkle conformance corpus (Apache 2.0), kept in tests/vectors/tlog.
TLOG_VECTORS = ROOT / "tests" / "vectors" / "tlog"
OUR_VECTORS = ROOT / "tests" / "vectors"

# Tests that take certificates in "today" (the API, the demo, the local consortium) need today's
# year in the working-day calendar. chinese-calendar 1.11.0 ends with 2026: from 2027 on, until
# the official arrangement is added (docs/NODE.md), the run counts Monday-Friday there
# (provisional, as `certreg dev up` does for its synthetic data), in this process and, through
# CERTREG_CALENDAR, in the processes the tests start. The tests of the calendar itself use
# fixed years; every test gets back the years (and CERTREG_CALENDAR) the session started with.
provisional_calendars(
    dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date(),
    Path(tempfile.gettempdir()) / "certreg-test-calendar",
)


@pytest.fixture(autouse=True)
def _calendar_restored() -> Iterator[None]:
    """Added calendar years are process-wide (node/core/rules/workdays.py) and CERTREG_CALENDAR adds
    more in whatever runs `certreg` in-process: put both back after each test, so no test
    sees the years another one added."""
    years = added_calendar_years()
    variable = os.environ.get(CALENDAR_ENVIRONMENT)
    yield
    if variable is None:
        os.environ.pop(CALENDAR_ENVIRONMENT, None)
    else:
        os.environ[CALENDAR_ENVIRONMENT] = variable
    if added_calendar_years() != years:
        restore_calendar_years(years)
