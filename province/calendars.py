"""Working-day calendar files: the State Council's yearly arrangement, loaded at start-up.

``chinese-calendar`` ships the arrangements up to its release (2026 for the pinned 1.11.0). A
year published later is read from a JSON document
(:func:`node.core.rules.workdays.parse_calendar_year`, docs/NODE.md "Working-day calendar") named in
``CERTREG_CALENDAR`` (file paths separated by ``os.pathsep``), read by every ``certreg`` command, or
in a node's ``node.json`` (``calendars``). Every province and auditor must load the same files:
deadlines are judged in these working days.

The functions here are loaders: each returns a
:class:`~node.core.rules.workdays.WorkdayCalendar` value (the package's years plus the files'),
which the caller hands to whatever judges deadlines (:class:`province.node.ProvinceNode`, the
auditor, the intake's worker processes). Nothing is registered process-wide.

:func:`provisional_calendar` adds Monday-Friday placeholder years for the synthetic local
consortium, the demo and the tests only, where nothing real is judged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from node.core.errors import InvalidInput
from node.core.rules.workdays import (
    CalendarYear,
    WorkdayCalendar,
    parse_calendar_year,
    provisional_year,
)
from province.documents import load_json_document

ENVIRONMENT = "CERTREG_CALENDAR"


def load_calendar_file(path: str | os.PathLike[str]) -> CalendarYear:
    """Read one calendar document.

    Raises:
        InvalidInput: the file cannot be read or is not a calendar document (rule
            ``workdays.calendar_file``; the message names the file).
    """
    return load_json_document(path, "calendar", "workdays.calendar_file", parse_calendar_year)


def calendar_from_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    base: WorkdayCalendar | None = None,
    official_only: bool = False,
) -> WorkdayCalendar:
    """``base`` (default: the package's years alone) with the years of the files added, in
    year order (:meth:`~node.core.rules.workdays.WorkdayCalendar.with_years`).
    ``official_only`` refuses a provisional year (a node's own ``node.json``: real
    certificates are judged on the State Council's arrangement only).

    Raises:
        InvalidInput: a file is unreadable or malformed, or provisional where only official
            years may be, or its year does not follow the covered ones.
    """
    loaded = [(Path(path), load_calendar_file(path)) for path in paths]
    for path, year in loaded:
        if official_only and year.provisional:
            raise InvalidInput(
                "provisional",
                "workdays.calendar_file",
                f"{path}: {year.year} is a provisional year (synthetic data only); a node "
                "judges deadlines on the State Council's arrangement (docs/NODE.md)",
            )
    start = WorkdayCalendar.default() if base is None else base
    return start.with_years(year for _, year in loaded)


def environment_files(environ: Mapping[str, str] | None = None) -> list[str]:
    """The files ``CERTREG_CALENDAR`` names in ``environ`` (default: this process's
    environment)."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT, "")
    return [part for part in value.split(os.pathsep) if part.strip()]


def calendar_from_environment(environ: Mapping[str, str] | None = None) -> WorkdayCalendar:
    """The package's years plus those of the files ``CERTREG_CALENDAR`` names (none when it
    is unset). Provisional years are allowed here (a synthetic consortium's processes).

    Raises:
        InvalidInput: as :func:`calendar_from_files`.
    """
    return calendar_from_files(environment_files(environ))


def node_calendar(
    config_calendars: Iterable[str | os.PathLike[str]],
    *,
    base: WorkdayCalendar | None = None,
    environ: Mapping[str, str] | None = None,
) -> WorkdayCalendar:
    """The calendar a node judges deadlines in: ``base`` (default:
    :func:`calendar_from_environment`) with the official years its ``node.json`` names
    (``calendars``) added after it.

    Raises:
        InvalidInput: as :func:`calendar_from_files`; a provisional year in ``node.json`` is
            refused (field ``provisional``).
    """
    start = calendar_from_environment(environ) if base is None else base
    return calendar_from_files(config_calendars, base=start, official_only=True)


def provisional_calendar(today: dt.date, base: WorkdayCalendar | None = None) -> WorkdayCalendar:
    """For synthetic data only: ``base`` (default: the package's years) with a provisional
    Monday-Friday year added for each year up to ``today``'s that it does not cover (``base``
    itself while it reaches today)."""
    calendar = WorkdayCalendar.default() if base is None else base
    last = calendar.years[1]
    missing = [provisional_year(year) for year in range(last + 1, today.year + 1)]
    return calendar.with_years(missing) if missing else calendar


def write_calendar_files(calendar: WorkdayCalendar, folder: Path) -> list[Path]:
    """Write the added years of ``calendar`` to ``folder`` as calendar documents (provisional
    ones as ``provisional-YYYY.json``, others as ``calendar-YYYY.json``) and return their
    paths, in year order: name them in ``CERTREG_CALENDAR`` (:func:`environment_with`) so the
    processes one starts count the same working days."""
    paths = []
    if calendar.added:
        folder.mkdir(parents=True, exist_ok=True)
    for year in calendar.added:
        name = "provisional" if year.provisional else "calendar"
        path = folder / f"{name}-{year.year}.json"
        path.write_text(json.dumps(year.to_json(), ensure_ascii=False, indent=1) + "\n")
        paths.append(path)
    return paths


def environment_with(
    paths: Iterable[str | os.PathLike[str]], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's environment) whose ``CERTREG_CALENDAR``
    names ``paths`` only (for the processes one starts; this process's environment is left
    as it is)."""
    out = dict(os.environ if environ is None else environ)
    names = [str(path) for path in paths]
    if names:
        out[ENVIRONMENT] = os.pathsep.join(names)
    else:
        out.pop(ENVIRONMENT, None)
    return out


__all__ = [
    "ENVIRONMENT",
    "calendar_from_environment",
    "calendar_from_files",
    "environment_files",
    "environment_with",
    "load_calendar_file",
    "node_calendar",
    "provisional_calendar",
    "write_calendar_files",
]
