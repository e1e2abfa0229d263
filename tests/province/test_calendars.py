"""Working-day calendar years added after chinese-calendar's: the document, the order rule, the
deadlines across the new year, the files, ``CERTREG_CALENDAR``, the node's workers. Every
calendar here is a value built by the test (nothing is registered process-wide)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any

import pytest

from certreg.cli import main
from node.core.errors import InvalidInput
from node.core.rules.workdays import (
    CalendarYear,
    WorkdayCalendar,
    parse_calendar_year,
    provisional_year,
)
from province.calendars import (
    ENVIRONMENT,
    calendar_from_environment,
    calendar_from_files,
    environment_with,
    load_calendar_file,
    node_calendar,
    provisional_calendar,
    write_calendar_files,
)

D = datetime.date
PACKAGE_LAST = 2026  # chinese-calendar 1.11.0
BARE = WorkdayCalendar.default()  # the package's data only


def document(year: int = PACKAGE_LAST + 1, **changes: Any) -> dict[str, Any]:
    # A made-up arrangement (the test needs days, not the official ones).
    value: dict[str, Any] = {
        "version": 1,
        "year": year,
        "source": "test arrangement",
        "holidays": [f"{year}-01-01", f"{year}-01-04", f"{year}-01-05"],
        "working_weekends": [f"{year}-01-09"],
    }
    value.update(changes)
    return value


def test_a_document_gives_the_days() -> None:
    year = parse_calendar_year(document())
    assert year.year == PACKAGE_LAST + 1 and not year.provisional
    assert not year.is_working_day(D(2027, 1, 4))  # a Monday off
    assert year.is_working_day(D(2027, 1, 9))  # a Saturday worked
    assert not year.is_working_day(D(2027, 1, 10))  # a plain Sunday
    assert year.is_working_day(D(2027, 1, 6))  # a plain Wednesday
    assert parse_calendar_year(year.to_json()) == year


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "calendar"),
        (document(extra=1), "extra"),
        (document(version=2), "version"),
        ({**document(), "year": "2027"}, "year"),
        (document(year=1999), "year"),
        (document(source=" "), "source"),
        (document(provisional="no"), "provisional"),
        (document(holidays="2027-01-01"), "holidays"),
        (document(holidays=["2026-12-31"]), "holidays"),
        (document(holidays=["2027-1-1"]), "holidays"),
        (document(holidays=["2027-02-30"]), "holidays"),
        (document(working_weekends=["2027-01-11"]), "working_weekends"),  # a Monday
        (document(holidays=["2027-01-09"]), "working_weekends"),  # both
    ],
)
def test_a_malformed_document_is_refused(value: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_calendar_year(value)
    assert (caught.value.field, caught.value.rule) == (field, "workdays.calendar_file")


def test_years_are_added_in_order_once() -> None:
    with pytest.raises(InvalidInput, match="next year to add is 2027"):
        BARE.with_years([parse_calendar_year(document(2028))])
    with pytest.raises(InvalidInput, match="already covered"):
        BARE.with_years([parse_calendar_year(document(2026, working_weekends=[]))])
    year = parse_calendar_year(document())
    calendar = BARE.with_years([year])
    assert calendar.with_years([year]) is calendar  # the same again: nothing changes
    with pytest.raises(InvalidInput, match="already covered"):
        calendar.with_years([parse_calendar_year(document(source="another notice"))])
    assert calendar.years == (2004, 2027)
    assert calendar.with_years([parse_calendar_year(document(2028))]).years == (2004, 2028)
    assert BARE.years == (2004, 2026)  # nothing changed for anyone else


def test_deadlines_count_across_the_added_year() -> None:
    issued, received = D(2026, 12, 21), D(2027, 1, 12)
    with pytest.raises(InvalidInput) as caught:
        BARE.check_upload(issued, received, None)
    assert caught.value.rule == "workdays.calendar_range"
    calendar = BARE.with_years([parse_calendar_year(document())])
    # 2026-12-22..31: 8 working days; 2027: 1-6, 1-7, 1-8, 1-9 (worked Saturday), 1-11, 1-12.
    assert calendar.working_days_between(issued, received) == 14
    assert calendar.check_upload(issued, received, None).working_days == 14
    assert not calendar.is_working_day(D(2027, 1, 5)) and calendar.is_working_day(D(2027, 1, 9))


def test_files_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "2027.json"
    second = tmp_path / "2028.json"
    first.write_text(json.dumps(document()), encoding="utf-8")
    second.write_text(json.dumps(document(2028)), encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT, f"{second}:{first}")  # any order: added by year
    calendar = calendar_from_environment()
    assert [y.year for y in calendar.added] == [2027, 2028]
    assert calendar.years == (2004, 2028)
    # An explicit environment, and none at all.
    assert calendar_from_environment({ENVIRONMENT: str(first)}).years == (2004, 2027)
    assert calendar_from_environment({}) == BARE
    assert calendar_from_files([first], base=calendar) is calendar

    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_calendar_file(broken)
    assert caught.value.rule == "workdays.calendar_file" and str(broken) in caught.value.message
    bad_year = tmp_path / "bad.json"
    bad_year.write_text(json.dumps(document(holidays=["2027-13-01"])), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        calendar_from_files([bad_year])
    assert caught.value.field == "holidays" and str(bad_year) in caught.value.message


def test_the_cli_refuses_a_bad_calendar_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document(version=9)), encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT, str(broken))
    # Refused before the command runs (there is no node folder); the commands that judge no
    # deadline (verify, qr, ...) do not load the calendar (tests/certreg/test_cli_start.py).
    assert main(["node", "status", "--dir", str(tmp_path / "none")]) == 2
    assert ENVIRONMENT in capsys.readouterr().err


def test_provisional_years_fill_up_to_today_and_reach_child_processes(tmp_path: Path) -> None:
    assert provisional_calendar(D(2026, 6, 1)) is BARE
    calendar = provisional_calendar(D(2028, 3, 1))
    assert calendar.years == (2004, 2028)
    assert [y.year for y in calendar.added] == [2027, 2028]
    assert all(y.provisional for y in calendar.added)
    assert calendar.is_working_day(D(2027, 1, 1))  # provisional: Monday-Friday, no holidays
    assert BARE.years == (2004, 2026)  # made, not registered
    # On top of an official year, only the missing ones are provisional.
    official = BARE.with_years([parse_calendar_year(document())])
    assert [y.provisional for y in provisional_calendar(D(2028, 1, 1), official).added] == [
        False,
        True,
    ]
    # Child processes get the same years as files named in their CERTREG_CALENDAR.
    files = write_calendar_files(calendar, tmp_path)
    assert [f.name for f in files] == ["provisional-2027.json", "provisional-2028.json"]
    assert [load_calendar_file(f) for f in files] == list(calendar.added)
    environment = environment_with(files, {"PATH": "/bin"})
    assert environment == {"PATH": "/bin", ENVIRONMENT: os.pathsep.join(map(str, files))}
    assert calendar_from_environment(environment) == calendar
    assert ENVIRONMENT not in environment_with([], {ENVIRONMENT: "x"})
    assert provisional_year(2027) == calendar.added[0]


def test_intake_workers_judge_deadlines_with_the_added_years(tmp_path: Path) -> None:
    # The pool hands the calendar to its worker processes (initargs): a certificate received
    # in the added year is accepted there exactly as in this process.
    from node.core.formats.submissions import read_submission
    from node.storage import open_database
    from tests.node.services.test_intake import ACTOR, cert, jsonl
    from tests.node.services.test_intake_batch import file_organisation, service_for

    calendar = BARE.with_years([parse_calendar_year(document())])
    rows = []
    for i in (1, 2, 3):
        c = cert(i)
        number = c.certificate_number[:13] + "26" + c.certificate_number[15:]
        rows.append(
            (dataclasses.replace(c, issue_date="2026-12-21", certificate_number=number), True)
        )
    for workers in (0, 2):
        db = file_organisation(open_database(f"sqlite:///{tmp_path / f'w{workers}.db'}"))
        try:
            outcomes = list(
                service_for(db, calendar).iter_per_row(
                    read_submission(jsonl(rows), "jsonl"),
                    received_on=D(2027, 1, 12),
                    actor=ACTOR,
                    workers=workers,
                )
            )
        finally:
            db.dispose()
        assert [o.error for o in outcomes] == [None] * 3
        assert {o.accepted.working_days for o in outcomes if o.accepted} == {14}


def test_calendar_year_is_frozen() -> None:
    year = provisional_year(2030)
    with pytest.raises(AttributeError):
        year.year = 2031  # type: ignore[misc]
    assert isinstance(year, CalendarYear)


def test_a_node_loads_the_calendars_its_node_json_names_but_never_a_provisional_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anchor.chain import RegistryClient, connect
    from province.config import load_config, new_config, write_config
    from province.node import ProvinceNode

    w3 = connect("memory")
    client, _ = RegistryClient.deploy(w3, [(44, w3.eth.accounts[0])])

    def node_folder(name: str, calendar: dict[str, Any]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "calendar.json").write_text(json.dumps(calendar), encoding="utf-8")
        config = new_config(
            folder, province="44", rpc="memory", contract=client.address, operator_key=None
        )
        write_config(dataclasses.replace(config, calendars=(folder / "calendar.json",)), folder)
        return folder

    monkeypatch.delenv(ENVIRONMENT, raising=False)
    official = load_config(node_folder("official", document()))
    assert official.calendars == (tmp_path / "official" / "calendar.json",)
    node = ProvinceNode.open(official, client=client)
    try:
        assert node.calendar.years == (2004, 2027)
        assert node.calendar.check_upload(D(2026, 12, 21), D(2027, 1, 12), None).working_days == 14
    finally:
        node.close()
    assert node_calendar(official.calendars) == node.calendar

    made_up = load_config(node_folder("made-up", provisional_year(2028).to_json()))
    with pytest.raises(InvalidInput) as caught:
        ProvinceNode.open(made_up, client=client)
    assert (caught.value.field, caught.value.rule) == ("provisional", "workdays.calendar_file")
    assert str(tmp_path / "made-up" / "calendar.json") in caught.value.message

    # CERTREG_CALENDAR may hold provisional years (a synthetic consortium); node.json's official
    # years are added after them, and an explicit calendar replaces the environment's.
    provisional = tmp_path / "provisional-2027.json"
    provisional.write_text(json.dumps(provisional_year(2027).to_json()), encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT, str(provisional))
    with_2028 = load_config(node_folder("2028", document(2028)))
    node = ProvinceNode.open(with_2028, client=client)
    try:
        assert [(y.year, y.provisional) for y in node.calendar.added] == [
            (2027, True),
            (2028, False),
        ]
    finally:
        node.close()
    base = BARE.with_years([parse_calendar_year(document())])
    node = ProvinceNode.open(with_2028, client=client, calendar=base)
    try:
        assert node.calendar.added == (*base.added, parse_calendar_year(document(2028)))
    finally:
        node.close()
