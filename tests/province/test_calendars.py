"""Working-day calendar years added after chinese-calendar's: the document, the order rule, the
deadlines across the new year, the files, ``CERTREG_CALENDAR``, the node's workers."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from certreg.cli import main
from node.core.errors import InvalidInput
from node.core.rules.workdays import (
    CalendarYear,
    add_calendar_year,
    calendar_years,
    check_upload,
    is_working_day,
    parse_calendar_year,
    provisional_year,
    restore_calendar_years,
    working_days_between,
)
from province.calendars import (
    ENVIRONMENT,
    load_calendar_file,
    provisional_calendars,
    use_calendar_files,
    use_calendars_from_environment,
)

D = datetime.date
PACKAGE_LAST = 2026  # chinese-calendar 1.11.0


@pytest.fixture
def bare() -> None:
    """No added years: the package's data only (tests/conftest.py puts them back)."""
    restore_calendar_years(())


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


def test_a_document_gives_the_days(bare: None) -> None:
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


def test_years_are_added_in_order_once(bare: None) -> None:
    with pytest.raises(InvalidInput, match="next year to add is 2027"):
        add_calendar_year(parse_calendar_year(document(2028)))
    with pytest.raises(InvalidInput, match="already covered"):
        add_calendar_year(parse_calendar_year(document(2026, working_weekends=[])))
    year = parse_calendar_year(document())
    add_calendar_year(year)
    add_calendar_year(year)  # the same again: nothing changes
    with pytest.raises(InvalidInput, match="already covered"):
        add_calendar_year(parse_calendar_year(document(source="another notice")))
    assert calendar_years() == (2004, 2027)
    add_calendar_year(parse_calendar_year(document(2028)))
    assert calendar_years() == (2004, 2028)


def test_deadlines_count_across_the_added_year(bare: None) -> None:
    issued, received = D(2026, 12, 21), D(2027, 1, 12)
    with pytest.raises(InvalidInput) as caught:
        check_upload(issued, received, None)
    assert caught.value.rule == "workdays.calendar_range"
    add_calendar_year(parse_calendar_year(document()))
    # 2026-12-22..31: 8 working days; 2027: 1-6, 1-7, 1-8, 1-9 (worked Saturday), 1-11, 1-12.
    assert working_days_between(issued, received) == 14
    assert check_upload(issued, received, None).working_days == 14
    assert not is_working_day(D(2027, 1, 5)) and is_working_day(D(2027, 1, 9))


def test_files_and_the_environment(
    bare: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "2027.json"
    second = tmp_path / "2028.json"
    first.write_text(json.dumps(document()), encoding="utf-8")
    second.write_text(json.dumps(document(2028)), encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT, f"{second}:{first}")  # any order: added by year
    assert [y.year for y in use_calendars_from_environment()] == [2027, 2028]
    assert calendar_years()[1] == 2028

    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_calendar_file(broken)
    assert caught.value.rule == "workdays.calendar_file" and str(broken) in caught.value.message
    bad_year = tmp_path / "bad.json"
    bad_year.write_text(json.dumps(document(holidays=["2027-13-01"])), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        use_calendar_files([bad_year])
    assert caught.value.field == "holidays" and str(bad_year) in caught.value.message


def test_the_cli_refuses_a_bad_calendar_at_once(
    bare: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document(version=9)), encoding="utf-8")
    monkeypatch.setenv(ENVIRONMENT, str(broken))
    assert main(["qr", str(tmp_path / "none.json")]) == 2
    assert ENVIRONMENT in capsys.readouterr().err


def test_provisional_years_fill_up_to_today_and_reach_child_processes(
    bare: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert provisional_calendars(D(2026, 6, 1), tmp_path) == []
    added = provisional_calendars(D(2028, 3, 1), tmp_path)
    assert [y.year for y in added] == [2027, 2028] and all(y.provisional for y in added)
    assert is_working_day(D(2027, 1, 1))  # provisional: Monday-Friday, no holidays
    files = sorted(tmp_path.glob("provisional-*.json"))
    assert [load_calendar_file(f) for f in files] == added
    import os

    assert os.environ[ENVIRONMENT].split(os.pathsep) == [str(f) for f in files]
    assert provisional_year(2027) == added[0]


def test_intake_workers_judge_deadlines_with_the_added_years(bare: None, tmp_path: Path) -> None:
    # The pool hands the added years to its worker processes: a certificate received in the
    # added year is accepted there exactly as in this process.
    from node.core.formats.submissions import read_submission
    from node.storage import open_database
    from tests.node.services.test_intake import ACTOR, cert, jsonl
    from tests.node.services.test_intake_batch import file_organisation, service_for

    add_calendar_year(parse_calendar_year(document()))
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
                service_for(db).iter_per_row(
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
    bare: None, tmp_path: Path
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

    official = load_config(node_folder("official", document()))
    assert official.calendars == (tmp_path / "official" / "calendar.json",)
    ProvinceNode.open(official, client=client).close()
    assert calendar_years() == (2004, 2027)
    assert check_upload(D(2026, 12, 21), D(2027, 1, 12), None).working_days == 14

    made_up = load_config(node_folder("made-up", provisional_year(2028).to_json()))
    with pytest.raises(InvalidInput) as caught:
        ProvinceNode.open(made_up, client=client)
    assert (caught.value.field, caught.value.rule) == ("provisional", "workdays.calendar_file")
    assert str(tmp_path / "made-up" / "calendar.json") in caught.value.message
    assert calendar_years() == (2004, 2027)  # nothing added
