"""The synthetic consortium data set (certreg/dev/dataset.py): organisations valid for filing,
rows every province node accepts, determinism, the distributions the issue asks for, the files
and the refusals.

The end-to-end test files the organisations of the three founding provinces on the in-process
EVM and ingests rows through a real ProvinceNode per province (SQLite), exactly as
``certreg node file-org`` and ``certreg node ingest`` do, then screens what was accepted."""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore
from certreg.dev.dataset import (
    FOUNDERS,
    KEY_VALID_FROM,
    SyntheticOrganisation,
    issue_days,
    read_issuer_keys,
    synthetic_organisations,
    synthetic_submissions,
    write_dataset,
)
from certreg.dev.occupations import OCCUPATIONS
from certreg.dev.sample import sample_network
from node.core.certificate import NO_WORK_TYPE
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.snapshot import Network
from node.core.formats.submissions import ParsedRow, parse_jsonl
from node.core.records import check_record, salted_from_row
from node.core.rules.certnum import HenanSite, parse_certificate_number, parse_organisation_code
from node.core.rules.codes import HMT_RESIDENCE_AREAS, RESIDENT_ID_PROVINCES
from node.core.rules.reasons import REASONS_BY_ACTION
from node.core.rules.scope import check_scope, filed_scope
from node.core.rules.workdays import WorkdayCalendar, six_months_after
from node.storage import open_database
from province.node import ProvinceNode
from province.organisations import parse_filing
from tests.conftest import VOCABULARY
from tests.node.storage.conftest import blind_index, cipher

# 2026-10-20: the on-time window (30 working days) reaches back over the National Day and
# Mid-Autumn holidays (2026-10-01 … 10-07), the late window to April.
RECEIVED_ON = dt.date(2026, 10, 20)
#: The nodes' working days (the package's years cover the dates here).
CALENDAR = WorkdayCalendar.default()
NETWORK = sample_network()
SEED = 7


def organisations(per_province: int = 6, seed: int = SEED) -> list[SyntheticOrganisation]:
    return [o for p in FOUNDERS for o in synthetic_organisations(p, per_province, seed=seed)]


def rows_of(lines: list[str]) -> list[ParsedRow]:
    """Parse JSON Lines text as ``certreg node ingest`` does."""
    parsed = list(parse_jsonl(io.BytesIO("".join(lines).encode("utf-8"))))
    assert all(isinstance(row, ParsedRow) for row in parsed)
    return [row for row in parsed if isinstance(row, ParsedRow)]


# --------------------------------------------------------------------------------------------
# Organisations


def test_organisations_are_valid_filings_of_both_classes() -> None:
    orgs = organisations(12)
    codes = [o.filing.code for o in orgs]
    assert len(set(codes)) == len(codes)
    for province in FOUNDERS:
        mine = [o for o in orgs if o.province == province]
        assert {o.filing.code[0] for o in mine} == {"Y", "S"}
        assert len({o.filing.name for o in mine}) == len(mine)
        levels = {lvl for o in mine for item in o.filing.scope for lvl in item.levels}
        assert levels == {1, 2, 3, 4, 5}
    for o in orgs:
        code = parse_organisation_code(o.filing.code)
        assert code.province == o.province
        # The JSON `certreg node file-org` reads gives the same filing back.
        assert parse_filing(json.loads(json.dumps(o.filing_json()))) == o.filing
        [key] = o.filing.keys
        assert key.valid_from == KEY_VALID_FROM and key.valid_until == 0
        assert get_suite("ed25519").public_key(o.private_key) == key.public_key
        # Every scope line is one of the seeds' (certreg/dev/occupations.py).
        for item in o.filing.scope:
            line = OCCUPATIONS[item.work_type_code or item.occupation_code]
            assert set(item.levels) <= set(line.levels)
        # A social organisation files at most three occupations (seed 002).
        if o.filing.code[0] == "S":
            assert len({item.occupation_code for item in o.filing.scope}) <= 3
        if isinstance(code.refinement, HenanSite) and code.refinement.technical_school:
            assert code.class_code == "Y"
        assert o.private_key.hex() not in repr(o)


def test_organisations_are_deterministic_and_prefix_stable() -> None:
    first = synthetic_organisations("44", 5, seed=3)
    again = synthetic_organisations("44", 8, seed=3)
    assert [o.filing for o in first] == [o.filing for o in again[:5]]
    assert [o.private_key for o in first] == [o.private_key for o in again[:5]]
    other = synthetic_organisations("44", 5, seed=4)
    assert {o.filing.code for o in first} != {o.filing.code for o in other}


def test_henan_technical_schools_and_guangdong_categories_appear() -> None:
    henan = synthetic_organisations("41", 60, seed=1)
    schools = [
        o
        for o in henan
        if (ref := parse_organisation_code(o.filing.code).refinement) is not None
        and isinstance(ref, HenanSite)
        and ref.technical_school
    ]
    assert schools and all("技师学院" in o.filing.name for o in schools)
    guangdong = synthetic_organisations("44", 60, seed=1)
    categories = {(o.filing.code[0], o.filing.category) for o in guangdong}
    assert {("Y", "1"), ("Y", "2"), ("S", "1"), ("S", "2"), ("S", "3")} <= categories
    # About one in ten was first filed with the Ministry (positions 2-5 not 0000).
    assert any(o.filing.code[1:5] != "0000" for o in guangdong)


def test_organisation_refusals() -> None:
    with pytest.raises(InvalidInput) as caught:
        synthetic_organisations("71", 2, seed=1)
    assert (caught.value.field, caught.value.rule) == ("province", "dataset.province")
    with pytest.raises(InvalidInput) as caught:
        synthetic_organisations("44", -1, seed=1)
    assert (caught.value.field, caught.value.rule) == ("count", "dataset.count")
    with pytest.raises(InvalidInput) as caught:
        synthetic_organisations("44", 1, seed=1, suite="rsa")
    assert caught.value.rule == "signature.suite_unknown"


# --------------------------------------------------------------------------------------------
# Submissions without a node: every row passes the node's pure checks


def test_every_row_passes_the_intake_checks() -> None:
    orgs = organisations()
    by_code = {o.filing.code: o for o in orgs}
    lines = [
        s.line
        for s in synthetic_submissions(
            orgs, NETWORK, 1500, seed=SEED, received_on=RECEIVED_ON, calendar=CALENDAR
        )
    ]
    for row in rows_of(lines):
        salted, signature, late_reason = salted_from_row(row)
        org = by_code[salted.certificate().organisation_code]
        checked = check_record(salted, signature, RECEIVED_ON, org.province, vocabulary=VOCABULARY)
        check_scope(checked.certificate, filed_scope([i.to_json() for i in org.filing.scope]))
        timing = CALENDAR.check_upload(checked.issue_date, RECEIVED_ON, late_reason)
        # A late reason only where the upload is late (the node would drop a needless one).
        assert timing.late_reason == late_reason
        message = signing_message(NETWORK.chain_id, NETWORK.contract, checked.commitment)
        public_key = org.filing.keys[0].public_key
        get_suite(signature.suite).verify(public_key, message, signature.value)  # Raises.
        assert signature.key_id == 0


def test_distributions() -> None:
    orgs = organisations()
    rows = list(
        synthetic_submissions(
            orgs, NETWORK, 5000, seed=SEED, received_on=RECEIVED_ON, calendar=CALENDAR
        )
    )
    assert len(rows) == 5000
    # Provinces even by default.
    by_province = collections.Counter(r.province for r in rows)
    assert set(by_province) == set(FOUNDERS)
    assert all(1400 < n < 1950 for n in by_province.values()), by_province
    data = [json.loads(r.line) for r in rows]
    # All five levels; level in position 16 and year in 14-15.
    assert {d["level"] for d in data} == {1, 2, 3, 4, 5}
    for d, r in zip(data, rows, strict=True):
        number = parse_certificate_number(d["certificate_number"])
        assert number.level == d["level"] and number.year == r.issue_date.year % 100
        assert r.certificate_number == d["certificate_number"]
        assert r.organisation_code == d["organisation_code"] == number.organisation_code
    # Work types and the occupation-only lines both occur.
    assert any(d["work_type_code"] == NO_WORK_TYPE for d in data)
    assert any(d["work_type_code"] != NO_WORK_TYPE for d in data)
    # Issue dates: never after receipt, never more than 6 months before; the spread crosses
    # the National Day holiday and includes rest days; ~2 % late, each with a 6xx reason.
    dates = [r.issue_date for r in rows]
    assert max(dates) <= RECEIVED_ON
    assert all(six_months_after(day) >= RECEIVED_ON for day in dates)
    assert min(dates) < dt.date(2026, 10, 1) and max(dates) > dt.date(2026, 10, 8)
    assert any(not CALENDAR.is_working_day(day) for day in dates)
    assert dates == sorted(dates)
    late = [d for d in data if "late_reason" in d]
    assert len(late) == 100
    assert {d["late_reason"] for d in late} <= set(REASONS_BY_ACTION["issue"])
    on_time, late_days = issue_days(RECEIVED_ON, CALENDAR)
    assert {r.issue_date for r, d in zip(rows, data, strict=True) if "late_reason" in d} <= set(
        late_days
    )
    assert max(late_days) < min(on_time)
    # Holders: Chinese names of 2-4 characters, 18-60 years old; mostly resident IDs with
    # a province's area, a few other ID types.
    id_types = collections.Counter(d["id_type"] for d in data)
    assert id_types["resident_id"] > 4850 and len(id_types) >= 3
    for d, r in zip(data, rows, strict=True):
        if d["id_type"] in ("resident_id", "hmt_residence_permit"):
            number = d["id_number"]
            born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            age = (r.issue_date - born).days / 365.2425
            assert 18 <= age <= 60
            if d["id_type"] == "resident_id":
                assert number[:2] in RESIDENT_ID_PROVINCES
                assert 2 <= len(d["holder_name"]) <= 4
            else:
                assert number[:6] in HMT_RESIDENCE_AREAS
    home = sum(1 for d, r in zip(data, rows, strict=True) if d["id_number"][:2] == r.province)
    assert home > 0.6 * len(data)


def test_serials_are_sequential_and_continue_from_start_serials() -> None:
    orgs = organisations(3)
    rows = list(
        synthetic_submissions(
            orgs, NETWORK, 600, seed=SEED, received_on=RECEIVED_ON, calendar=CALENDAR
        )
    )
    serials: dict[tuple[str, int, int], list[int]] = collections.defaultdict(list)
    for r in rows:
        n = parse_certificate_number(r.certificate_number)
        serials[(r.organisation_code, r.issue_date.year, n.level)].append(n.serial)
    assert all(s == list(range(1, len(s) + 1)) for s in serials.values())
    # A second run continues after the last serials of the first.
    last = {key: s[-1] for key, s in serials.items()}
    more = synthetic_submissions(
        orgs,
        NETWORK,
        600,
        seed=SEED + 1,
        received_on=RECEIVED_ON,
        calendar=CALENDAR,
        start_serials=last,
    )
    for r in more:
        n = parse_certificate_number(r.certificate_number)
        key = (r.organisation_code, r.issue_date.year, n.level)
        assert n.serial == last.get(key, 0) + 1
        last[key] = n.serial


def test_deterministic_for_a_seed() -> None:
    orgs = organisations(3)

    def lines(seed: int) -> list[str]:
        return [
            s.line
            for s in synthetic_submissions(
                orgs, NETWORK, 200, seed=seed, received_on=RECEIVED_ON, calendar=CALENDAR
            )
        ]

    assert lines(1) == lines(1)
    assert lines(1) != lines(2)


def test_no_issue_date_before_the_keys() -> None:
    received_on = dt.date(2020, 2, 20)  # the late window would reach back to August 2019
    rows = synthetic_submissions(
        organisations(2),
        NETWORK,
        400,
        seed=1,
        received_on=received_on,
        calendar=CALENDAR,
        late_share=0.2,
    )
    assert min(r.issue_date for r in rows) >= dt.date(2020, 1, 1)


def test_province_weights_and_network() -> None:
    orgs = organisations(3)
    rows = list(
        synthetic_submissions(
            orgs,
            Network(1234, b"\x11" * 20),
            900,
            seed=1,
            received_on=RECEIVED_ON,
            calendar=CALENDAR,
            province_weights={"44": 2.0, "41": 1.0, "43": 0.0},
        )
    )
    counts = collections.Counter(r.province for r in rows)
    assert counts["43"] == 0 and counts["44"] > 1.5 * counts["41"]


def test_submission_refusals() -> None:
    orgs = organisations(2)
    cases: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"count": -1}, ("count", "dataset.count")),
        ({"organisations": []}, ("organisations", "dataset.organisations")),
        ({"province_weights": {"11": 1.0}}, ("province_weights", "dataset.province_weights")),
        ({"province_weights": {"44": 0.0}}, ("province_weights", "dataset.province_weights")),
        ({"late_share": 1.5}, ("late_share", "dataset.late_share")),
        ({"received_on": dt.date(2031, 3, 1)}, ("received_on", "workdays.calendar_range")),
        ({"received_on": dt.date(2019, 12, 20)}, ("received_on", "dataset.before_keys")),
    ]
    for changes, expected in cases:
        kwargs: dict[str, Any] = {
            "organisations": orgs,
            "network": NETWORK,
            "count": 10,
            "seed": 1,
            "received_on": RECEIVED_ON,
            "calendar": CALENDAR,
        }
        kwargs.update(changes)
        with pytest.raises(InvalidInput) as caught:
            next(iter(synthetic_submissions(**kwargs)))
        assert (caught.value.field, caught.value.rule) == expected, changes


def test_no_personal_data_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    orgs = organisations(2)
    rows = list(
        synthetic_submissions(orgs, NETWORK, 50, seed=1, received_on=RECEIVED_ON, calendar=CALENDAR)
    )
    personal = [(d["holder_name"], d["id_number"]) for d in (json.loads(r.line) for r in rows)]
    text = caplog.text + "".join(repr(r) for r in rows) + "".join(repr(o) for o in orgs)
    assert not any(name in text or number in text for name, number in personal)
    assert not any(o.private_key.hex() in text for o in orgs)


# --------------------------------------------------------------------------------------------
# Files


def test_write_dataset(tmp_path: Path) -> None:
    orgs = organisations(3)
    files = write_dataset(
        tmp_path,
        orgs,
        NETWORK,
        300,
        seed=SEED,
        received_on=RECEIVED_ON,
        calendar=CALENDAR,
        progress=False,
    )
    assert files.certificates == 300 and set(files.provinces) == set(FOUNDERS)
    expected = list(
        synthetic_submissions(
            orgs, NETWORK, 300, seed=SEED, received_on=RECEIVED_ON, calendar=CALENDAR
        )
    )
    for province, written in files.provinces.items():
        mine = [o for o in orgs if o.province == province]
        assert written.organisations == tuple(
            tmp_path / province / "organisations" / f"{o.filing.code}.json" for o in mine
        )
        for org, path in zip(mine, written.organisations, strict=True):
            assert parse_filing(json.loads(path.read_text(encoding="utf-8"))) == org.filing
        assert stat.S_IMODE(written.issuer_keys.stat().st_mode) == 0o600
        keys = read_issuer_keys(written.issuer_keys)
        assert keys == {o.filing.code: ("ed25519", 0, o.private_key) for o in mine}
        text = written.submissions.read_text(encoding="utf-8")
        assert text == "".join(r.line for r in expected if r.province == province)
        assert written.certificates == text.count("\n")
    for r in expected:
        n = parse_certificate_number(r.certificate_number)
        assert files.last_serials[(r.organisation_code, r.issue_date.year, n.level)] >= n.serial
    # Refused inputs write nothing.
    with pytest.raises(InvalidInput):
        write_dataset(
            tmp_path / "x", orgs, NETWORK, -1, seed=1, received_on=RECEIVED_ON, calendar=CALENDAR
        )
    assert not (tmp_path / "x").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        read_issuer_keys(bad)
    assert (caught.value.field, caught.value.rule) == ("issuer_keys", "dataset.issuer_keys")


# --------------------------------------------------------------------------------------------
# End to end: three province nodes accept every row


def test_three_province_nodes_accept_every_row(tmp_path: Path) -> None:
    w3 = connect("memory")
    accounts = w3.eth.accounts
    founders = [(int(p), accounts[i]) for i, p in enumerate(FOUNDERS)]
    deployer, _ = RegistryClient.deploy(w3, founders)
    orgs = organisations(4)
    network = Network(deployer.chain_id(), bytes.fromhex(deployer.address[2:]))
    files = write_dataset(
        tmp_path / "data",
        orgs,
        network,
        360,
        seed=SEED,
        received_on=RECEIVED_ON,
        calendar=CALENDAR,
        progress=False,
    )
    clock_now = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.UTC)
    for i, province in enumerate(FOUNDERS):
        client = RegistryClient(w3, deployer.address, sender=accounts[i])
        node = ProvinceNode(
            province=province,
            db=open_database(f"sqlite:///{tmp_path / province}.db"),
            client=client,
            store=LocalManifestStore(tmp_path / "manifests"),
            cipher=cipher(),
            blind_index=blind_index(),
            batch_size=1000,
            max_age_seconds=3600.0,
            calendar=CALENDAR,
            clock=lambda: clock_now,
        )
        written = files.provinces[province]
        for path in written.organisations:
            node.organisations.file(
                parse_filing(json.loads(path.read_text(encoding="utf-8"))), actor="test"
            )
        with written.submissions.open("rb") as stream:
            outcomes = list(
                node.intake.iter_per_row(parse_jsonl(stream), received_on=RECEIVED_ON, actor="test")
            )
        refused = [(o.row_number, o.error and o.error.rule) for o in outcomes if not o.ok]
        assert not refused
        assert len(outcomes) == written.certificates > 60
        assert all(o.accepted is not None and not o.accepted.warnings for o in outcomes)
        # Screening: nothing about scope, IDs or issue dates, no serial anomaly.
        flags: list[str] = []
        for o in outcomes:
            assert o.accepted is not None
            screened = node.review.screen_certificate(
                o.accepted.commitment, actor="test", received_on=RECEIVED_ON
            )
            flags.extend(f.code for f in screened.flags)
        for org in (o for o in orgs if o.province == province):
            screened = node.review.screen_organisation(
                org.filing.code, assessed=1000, passed=600, actor="test", since_year=2025
            )
            flags.extend(f.code for f in screened.flags)
        assert flags == [], flags
        assert node.anchor_all()
        node.close()


def test_a_range_of_rows_is_that_part_of_the_whole_run() -> None:
    orgs = organisations(3)

    def lines(rows: range | None) -> list[str]:
        return [
            s.line
            for s in synthetic_submissions(
                orgs, NETWORK, 300, seed=SEED, received_on=RECEIVED_ON, calendar=CALENDAR,
                rows=rows,
            )
        ]  # fmt: skip

    whole = lines(None)
    assert len(whole) == 300
    parts = [lines(range(0, 120)), lines(range(120, 250)), lines(range(250, 300))]
    assert [len(p) for p in parts] == [120, 130, 50]
    assert parts[0] + parts[1] + parts[2] == whole
    assert lines(range(299, 400)) == whole[299:]
    with pytest.raises(ValueError, match="step 1"):
        lines(range(0, 300, 2))
