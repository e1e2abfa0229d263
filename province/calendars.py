"""Working-day calendar files: the State Council's yearly arrangement, loaded at start-up.

``chinese-calendar`` ships the arrangements up to its release (2026 for the pinned 1.11.0). A
year published later is added from a JSON document
(:func:`node.core.rules.workdays.parse_calendar_year`, docs/NODE.md "Working-day calendar") named in
``CERTREG_CALENDAR`` (file paths separated by ``os.pathsep``), read by every ``certreg`` command, or
in a node's ``node.json`` (``calendars``). Every province and auditor must load the same files:
deadlines are judged in these working days.

:func:`provisional_calendars` makes Monday-Friday placeholder years for the synthetic local
consortium and the demo only, where nothing real is judged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from pathlib import Path

from node.core.errors import InvalidInput
from node.core.rules.workdays import (
    CalendarYear,
    add_calendar_year,
    calendar_years,
    parse_calendar_year,
    provisional_year,
)

ENVIRONMENT = "CERTREG_CALENDAR"


def load_calendar_file(path: str | os.PathLike[str]) -> CalendarYear:
    """Read one calendar document.

    Raises:
        InvalidInput: the file cannot be read or is not a calendar document (rule
            ``workdays.calendar_file``; the message names the file).
    """
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "calendar", "workdays.calendar_file", f"{path}: cannot read a JSON document"
        ) from exc
    try:
        return parse_calendar_year(value)
    except InvalidInput as exc:
        raise InvalidInput(exc.field, exc.rule, f"{path}: {exc.message}") from None


def use_calendar_files(
    paths: Iterable[str | os.PathLike[str]], *, official_only: bool = False
) -> list[CalendarYear]:
    """Load the files and add their years, in year order (:func:`add_calendar_year`).
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
    years = sorted((year for _, year in loaded), key=lambda y: y.year)
    for year in years:
        add_calendar_year(year)
    return years


def use_calendars_from_environment() -> list[CalendarYear]:
    """Add the years of the files ``CERTREG_CALENDAR`` names (none when it is unset)."""
    value = os.environ.get(ENVIRONMENT, "")
    return use_calendar_files(part for part in value.split(os.pathsep) if part.strip())


def provisional_calendars(today: dt.date, folder: Path | None = None) -> list[CalendarYear]:
    """For synthetic data only: add a provisional Monday-Friday year for each year up to
    ``today``'s that no calendar covers, and return them (none while the data reaches today).
    With ``folder``, also write them there as files and name them in ``CERTREG_CALENDAR``, so
    the processes this one starts use the same."""
    added = []
    while calendar_years()[1] < today.year:
        year = provisional_year(calendar_years()[1] + 1)
        add_calendar_year(year)
        added.append(year)
    if folder is not None and added:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for year in added:
            path = folder / f"provisional-{year.year}.json"
            path.write_text(json.dumps(year.to_json(), ensure_ascii=False, indent=1) + "\n")
            paths.append(str(path))
        known = [p for p in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if p]
        os.environ[ENVIRONMENT] = os.pathsep.join([*known, *paths])
    return added
