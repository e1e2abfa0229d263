"""Intake of signed certificates (node/services/intake.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from certreg.dev.sample import KEY_VALID_FROM, sample_certificate, sample_network
from certreg.dev.sample import SAMPLE_ORGANISATION_NAME as ORG_NAME
from node.core.certificate import FIELD_NAMES, Certificate
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.commitment import Disclosed, SaltedCertificate, salt_certificate
from node.core.formats.entry import LogEntry, Signature
from node.core.formats.snapshot import Network
from node.core.formats.submissions import InvalidRow, parse_submission
from node.core.merkle import verify_inclusion
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake import IntakeService
from node.storage import (
    AuditTrail,
    CertificateRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import AuditEvent, CertificateRow, table_of
from tests.conftest import VOCABULARY
from tests.node.storage.conftest import blind_index, cipher

ORG = "S000144011001"  # the sample organisation (certreg.dev.sample)
OTHER_ORG = "S000144011002"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
#: The working days deadlines are judged in (the package's years: the dates here are in 2025).
CALENDAR = WorkdayCalendar.default()
ISSUED = dt.date(2025, 6, 18)  # certreg.dev.sample's issue date
ON_TIME = dt.date(2025, 6, 20)
LATE = dt.date(2025, 9, 1)  # > 30 working days, < 6 months
TOO_LATE = dt.date(2025, 12, 19)  # > 6 months
SCOPE = [
    {"occupation_code": code, "levels": [3, 4, 5]}
    for code in ("6-18-01-01", "6-20-01-01", "4-03-02-01", "6-31-01-03")
]
SUITE = get_suite("ed25519")
KEY = SUITE.generate_private_key(bytes(range(32)))
LATER_KEY = SUITE.generate_private_key(bytes(range(1, 33)))
NETWORK = sample_network()
ACTOR = "operator:test"


@pytest.fixture
def db(database: Database) -> Database:
    """The storage suite's database with the sample organisation filed, with two keys: key 0
    valid from 2025-01-01, key 1 valid only from 2026-01-01."""
    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(code=ORG, province="44", name=ORG_NAME, scope=SCOPE, now=NOW)
        orgs.add_key(
            ORG, suite="ed25519", public_key=SUITE.public_key(KEY), valid_from=KEY_VALID_FROM,
            now=NOW,
        )  # fmt: skip
        orgs.add_key(
            ORG, suite="ed25519", public_key=SUITE.public_key(LATER_KEY), valid_from=1767196800,
            now=NOW,
        )  # fmt: skip
    return database


@pytest.fixture
def service(db: Database) -> IntakeService:
    return IntakeService(
        db,
        "44",
        NETWORK,
        cipher(),
        blind_index(),
        calendar=CALENDAR,
        vocabulary=VOCABULARY,
        clock=lambda: NOW,
    )


def cert(serial: int = 1, **changes: Any) -> Certificate:
    base = sample_certificate(random.Random(serial), serial)
    return dataclasses.replace(base, **changes)


def salted(c: Certificate) -> SaltedCertificate:
    rng = random.Random(f"salt|{c.certificate_number}|{c.holder_name}")
    return salt_certificate(c, rng.randbytes)


def sign(
    s: SaltedCertificate, key: bytes = KEY, key_id: int = 0, network: Network = NETWORK
) -> Signature:
    message = signing_message(network.chain_id, network.contract, s.commitment())
    return Signature("ed25519", key_id, SUITE.sign(key, message))


def counts(db: Database) -> tuple[int, int, int]:
    with db.transaction() as session:
        certs = session.execute(
            select(func.count()).select_from(table_of(CertificateRow))
        ).scalar_one()
        audit = session.execute(select(func.count()).select_from(table_of(AuditEvent))).scalar_one()
        return int(certs), ProvinceLog(session, "44").size, int(audit)


def personal(c: Certificate) -> list[str]:
    return [c.holder_name, c.id_number]


def assert_no_personal(exc: BaseException, c: Certificate) -> None:
    text = str(exc) + repr(exc) + getattr(exc, "message", "")
    for value in personal(c):
        assert value not in text


def submit(
    service: IntakeService,
    c: Certificate,
    *,
    received_on: dt.date = ON_TIME,
    late_reason: int | None = None,
) -> Any:
    s = salted(c)
    return service.submit(s, sign(s), received_on=received_on, late_reason=late_reason, actor=ACTOR)


# ------------------------------------------------------------------------------------------
# One certificate


def test_valid_submission_lands_in_storage_and_log(db: Database, service: IntakeService) -> None:
    c = cert(1)
    s = salted(c)
    before = counts(db)
    accepted = service.submit(s, sign(s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert accepted.certificate_number == c.certificate_number
    assert accepted.commitment == s.commitment()
    assert accepted.log_index == 0
    assert accepted.warnings == ()
    with db.transaction() as session:
        log = ProvinceLog(session, "44")
        stored = log.entry(accepted.log_index)
        text = stored.entry.canonical_bytes().decode()
        for value in personal(c):
            assert value not in text
        assert stored.entry.kind == "issue"
        assert stored.entry.commitment == s.commitment()
        assert stored.entry.signature == sign(s)
        proof = log.merkle.inclusion_proof(accepted.log_index, log.size)
        verify_inclusion(stored.leaf_hash, accepted.log_index, log.size, proof, log.merkle.root())
        assert stored.leaf_hash == LogEntry.leaf_hash(stored.entry)
        repo = CertificateRepository(session, cipher(), blind_index())
        record = repo.get(s.commitment())
        assert record is not None
        assert record.log_index == accepted.log_index
        assert repo.salted(record) == s
        events = AuditTrail(session).for_target("certificate", s.commitment().hex())
        assert [e.action for e in events] == ["issue"]
        assert events[0].actor == ACTOR
        assert all(value not in json.dumps(events[0].details) for value in personal(c))


def refused(
    db: Database,
    service: IntakeService,
    s: SaltedCertificate,
    signature: Signature,
    *,
    field: str,
    rule: str,
    received_on: dt.date = ON_TIME,
    late_reason: int | None = None,
    commitment: bytes | None = None,
) -> InvalidInput:
    before = counts(db)
    with pytest.raises(InvalidInput) as info:
        service.submit(
            s, signature, received_on=received_on, late_reason=late_reason, actor=ACTOR,
            commitment=commitment,
        )  # fmt: skip
    assert (info.value.field, info.value.rule) == (field, rule), str(info.value)
    assert counts(db) == before
    full = {n: p.value for n, p in s.fields.items() if isinstance(p, Disclosed)}
    for name in ("holder_name", "id_number"):
        if name in full:
            assert str(full[name]) not in str(info.value)
    return info.value


def wrong_check(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


Case = Callable[[], tuple[SaltedCertificate, Signature]]


def _signed(c: Certificate) -> tuple[SaltedCertificate, Signature]:
    s = salted(c)
    return s, sign(s)


def _resigned(c: Certificate, **kw: Any) -> tuple[SaltedCertificate, Signature]:
    s = salted(c)
    return s, sign(s, **kw)


RULES: list[tuple[str, Case, str, str]] = [
    (
        "holder name",
        lambda: _signed(cert(1, holder_name="张\u200b三")),
        "holder_name",
        "holder_name.control_character",
    ),
    (
        "id check character",
        lambda: _signed(cert(1, id_number=wrong_check(cert(1).id_number))),
        "id_number",
        "id_number.resident_id.check_character",
    ),
    (
        "number level",
        lambda: _signed(cert(1, level=4)),
        "certificate_number",
        "certnum.position_16.matches_level",
    ),
    (
        "number year",
        lambda: _signed(cert(1, issue_date="2024-06-18")),
        "certificate_number",
        "certnum.position_14_15.issue_year",
    ),
    (
        "number organisation",
        lambda: _signed(cert(1, organisation_code=OTHER_ORG)),
        "certificate_number",
        "certnum.position_1_13.matches_organisation_code",
    ),
    (
        "other province",
        lambda: _signed(
            cert(
                1,
                organisation_code="S000141011001",
                certificate_number="S000141011001253000001",
            )
        ),
        "certificate_number",
        "certnum.province.node",
    ),
    (
        "organisation not filed",
        lambda: _signed(
            cert(1, organisation_code=OTHER_ORG, certificate_number=OTHER_ORG + "253000001")
        ),
        "organisation_code",
        "organisation.unknown",
    ),
    (
        "occupation outside scope",
        lambda: _signed(
            cert(
                1,
                occupation_code="6-05-01-01",
                occupation_name="其他",
                work_type_code="--",
                work_type_name="--",
            )
        ),
        "occupation_code",
        "scope.occupation",
    ),
    (
        "level outside scope",
        lambda: _signed(cert(1, level=1, certificate_number=ORG + "251000001")),
        "level",
        "scope.level",
    ),
    ("unknown key id", lambda: _resigned(cert(1), key_id=7), "key_id", "signature.unknown_key"),
    (
        "key not valid on the issue date",
        lambda: _resigned(cert(1), key=LATER_KEY, key_id=1),
        "key_id",
        "signature.key_not_valid",
    ),
    (
        "signed by another key",
        lambda: _resigned(cert(1), key=LATER_KEY, key_id=0),
        "signature",
        "signature.invalid",
    ),
    (
        "signed for another network",
        lambda: _resigned(cert(1), network=Network(1, bytes(20))),
        "signature",
        "signature.invalid",
    ),
    (
        "suite of another key",
        lambda: (salted(cert(1)), Signature("ecdsa-secp256k1", 0, bytes(64))),
        "signature_suite",
        "signature.suite_mismatch",
    ),
    (
        "unknown suite",
        lambda: (salted(cert(1)), Signature("rsa", 0, bytes(64))),
        "suite",
        "signature.suite_unknown",
    ),
    (
        "signature length",
        lambda: (salted(cert(1)), Signature("ed25519", 0, bytes(10))),
        "signature",
        "signature.length",
    ),
    (
        "redacted field",
        lambda: (salted(cert(1)).redact("id_number"), Signature("ed25519", 0, bytes(64))),
        "id_number",
        "commitment.redacted",
    ),
]


@pytest.mark.parametrize(("name", "case", "field", "rule"), RULES, ids=[r[0] for r in RULES])
def test_rule_refused_nothing_written(
    db: Database, service: IntakeService, name: str, case: Case, field: str, rule: str
) -> None:
    s, signature = case()
    refused(db, service, s, signature, field=field, rule=rule)


def test_tampered_value_after_signing_refused(db: Database, service: IntakeService) -> None:
    s = salted(cert(1))
    signature = sign(s)
    fields = dict(s.fields)
    original = fields["holder_name"]
    assert isinstance(original, Disclosed)
    fields["holder_name"] = Disclosed(str(original.value) + "某", original.salt)
    refused(
        db, service, SaltedCertificate(fields), signature, field="signature",
        rule="signature.invalid",
    )  # fmt: skip


def test_commitment_mismatch_refused(db: Database, service: IntakeService) -> None:
    s, signature = _signed(cert(1))
    refused(
        db, service, s, signature, field="commitment", rule="commitment.mismatch",
        commitment=bytes(32),
    )  # fmt: skip


def test_future_issue_date_refused(db: Database, service: IntakeService) -> None:
    s, signature = _signed(cert(1))
    refused(
        db, service, s, signature, field="issue_date", rule="issue_date.future",
        received_on=ISSUED - dt.timedelta(days=1),
    )  # fmt: skip


def test_organisation_suspended_refused(db: Database, service: IntakeService) -> None:
    with db.transaction() as session:
        OrganisationRepository(session).set_status(ORG, "suspended", now=NOW)
    s, signature = _signed(cert(1))
    refused(db, service, s, signature, field="organisation_code", rule="organisation.not_active")


def test_duplicate_serial_refused(db: Database, service: IntakeService) -> None:
    submit(service, cert(1))
    # Another holder, same certificate number: the serial is taken.
    s, signature = _signed(cert(1, holder_name="甲乙丙"))
    refused(db, service, s, signature, field="certificate_number", rule="serial.duplicate")
    # The very same submission again.
    s, signature = _signed(cert(1))
    refused(db, service, s, signature, field="certificate_number", rule="serial.duplicate")


def test_serial_gap_is_a_warning(db: Database, service: IntakeService) -> None:
    assert submit(service, cert(1)).warnings == ()
    accepted = submit(service, cert(4))
    assert [w.code for w in accepted.warnings] == ["serial.gap"]
    assert "000002-000003" in accepted.warnings[0].detail
    assert submit(service, cert(5)).warnings == ()
    assert submit(service, cert(2)).warnings == ()  # filling a hole
    # Serials are per level: level 4 starts again at 1.
    c = cert(7, level=4, certificate_number=ORG + "254000001")
    assert submit(service, c).warnings == ()


def test_late_upload(db: Database, service: IntakeService) -> None:
    s, signature = _signed(cert(1))
    refused(
        db, service, s, signature, field="late_reason", rule="late_reason.required",
        received_on=LATE,
    )  # fmt: skip
    refused(
        db, service, s, signature, field="late_reason", rule="reason.not_for_action",
        received_on=LATE, late_reason=401,
    )  # fmt: skip
    refused(
        db, service, s, signature, field="late_reason", rule="reason.unknown",
        received_on=LATE, late_reason=9999,
    )  # fmt: skip
    refused(
        db, service, s, signature, field="issue_date", rule="issue_date.over_six_months",
        received_on=TOO_LATE, late_reason=601,
    )  # fmt: skip
    accepted = service.submit(s, signature, received_on=LATE, late_reason=601, actor=ACTOR)
    assert accepted.late_reason == 601
    with db.transaction() as session:
        entry = ProvinceLog(session, "44").entry(accepted.log_index).entry
        assert entry.reason == 601
        record = CertificateRepository(session, cipher(), blind_index()).get(s.commitment())
        assert record is not None and record.late_reason == 601


def test_on_time_reason_not_kept(db: Database, service: IntakeService) -> None:
    accepted = submit(service, cert(1), late_reason=601)
    assert accepted.late_reason is None


def test_no_error_message_contains_personal_data(db: Database, service: IntakeService) -> None:
    c = cert(1)
    errors: list[InvalidInput] = []
    for _name, case, _field, _rule in RULES:
        s, signature = case()
        with pytest.raises(InvalidInput) as info:
            service.submit(s, signature, received_on=ON_TIME, late_reason=None, actor=ACTOR)
        errors.append(info.value)
    submit(service, c)
    with pytest.raises(InvalidInput) as info:
        submit(service, c)
    errors.append(info.value)
    with pytest.raises(InvalidInput) as info:
        submit(service, cert(2), received_on=LATE)
    errors.append(info.value)
    for exc in errors:
        assert_no_personal(exc, c)
        assert_no_personal(exc, cert(2))


# ------------------------------------------------------------------------------------------
# Bulk


def jsonl(rows: list[tuple[Certificate, bool]]) -> io.BytesIO:
    """A JSON Lines submission; each row signed correctly (or with a broken signature)."""
    lines = []
    for c, good in rows:
        s = salted(c)
        signature = sign(s)
        value = signature.value if good else bytes(64)
        obj: dict[str, Any] = dict(c.fields())
        obj["signature_suite"] = "ed25519"
        obj["key_id"] = 0
        obj["signature"] = value.hex()
        salts = {}
        for name in FIELD_NAMES:
            proof = s.fields[name]
            assert isinstance(proof, Disclosed)
            salts[name] = proof.salt.hex()
        obj["salts"] = salts
        lines.append(json.dumps(obj, ensure_ascii=False))
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def test_bulk_atomic_all_or_nothing(db: Database, service: IntakeService) -> None:
    rows = [(cert(i), i != 3) for i in range(1, 6)]
    before = counts(db)
    with pytest.raises(InvalidRow) as info:
        service.submit_bulk(
            parse_submission(jsonl(rows), "jsonl"), mode="atomic", received_on=ON_TIME,
            actor=ACTOR,
        )  # fmt: skip
    assert info.value.row_number == 3
    assert (info.value.field, info.value.rule) == ("signature", "signature.invalid")
    assert str(info.value.message).startswith("row 3:")
    assert counts(db) == before
    good = [(cert(i), True) for i in range(1, 6)]
    result = service.submit_bulk(
        parse_submission(jsonl(good), "jsonl"), mode="atomic", received_on=ON_TIME, actor=ACTOR
    )
    assert result.accepted == 5 and result.refused == 0
    assert [o.accepted.log_index for o in result.outcomes if o.accepted] == [0, 1, 2, 3, 4]
    assert counts(db) == (before[0] + 5, before[1] + 5, before[2] + 5)


def test_bulk_per_row_keeps_good_rows(db: Database, service: IntakeService) -> None:
    rows = [(cert(i), i not in (2, 5)) for i in range(1, 7)]
    rows.append((cert(1, holder_name="甲乙丙"), True))  # duplicate serial inside the file
    before = counts(db)
    result = service.submit_bulk(
        parse_submission(jsonl(rows), "jsonl"), mode="per_row", received_on=ON_TIME,
        actor=ACTOR, chunk_size=2,
    )  # fmt: skip
    assert [o.row_number for o in result.outcomes] == [1, 2, 3, 4, 5, 6, 7]
    assert [o.ok for o in result.outcomes] == [True, False, True, True, False, True, False]
    errors = [o.error for o in result.outcomes if o.error is not None]
    assert [(e.field, e.rule) for e in errors] == [
        ("signature", "signature.invalid"),
        ("signature", "signature.invalid"),
        ("certificate_number", "serial.duplicate"),
    ]
    assert all(isinstance(e, InvalidRow) for e in errors)
    assert counts(db) == (before[0] + 4, before[1] + 4, before[2] + 4)
    accepted = [o.accepted for o in result.outcomes if o.accepted is not None]
    assert [a.log_index for a in accepted] == [0, 1, 2, 3]
    # Row 3 skipped serial 2 (refused in row 2): a gap warning.
    assert [w.code for w in accepted[1].warnings] == ["serial.gap"]
    for e in errors:
        for c, _ in rows:
            assert_no_personal(e, c)


def test_bulk_unsigned_row_refused(db: Database, service: IntakeService) -> None:
    c = cert(1)
    line = json.dumps(dict(c.fields()), ensure_ascii=False) + "\n"
    result = service.submit_bulk(
        parse_submission(io.BytesIO(line.encode()), "jsonl"), mode="per_row",
        received_on=ON_TIME, actor=ACTOR,
    )  # fmt: skip
    [outcome] = result.outcomes
    assert outcome.error is not None
    assert (outcome.error.field, outcome.error.rule) == ("salts", "intake.unsigned")
    assert counts(db)[0] == 0


def test_bulk_parser_errors_are_row_errors(db: Database, service: IntakeService) -> None:
    data = jsonl([(cert(1), True)]).getvalue() + b'{"holder_name": 1}\n'
    result = service.submit_bulk(
        parse_submission(io.BytesIO(data), "jsonl"), mode="per_row", received_on=ON_TIME,
        actor=ACTOR,
    )  # fmt: skip
    assert [o.ok for o in result.outcomes] == [True, False]
    assert result.outcomes[1].row_number == 2
    with pytest.raises(InvalidRow) as info:
        service.submit_bulk(
            parse_submission(io.BytesIO(data), "jsonl"), mode="atomic", received_on=ON_TIME,
            actor=ACTOR,
        )  # fmt: skip
    assert info.value.row_number in (1, 2)  # row 1 is now a duplicate serial


def test_per_row_streams_in_chunks(db: Database, service: IntakeService) -> None:
    """Outcomes of a chunk come out (committed) before the next chunk is read from the input."""
    rows = list(parse_submission(jsonl([(cert(i), True) for i in range(1, 6)]), "jsonl"))
    consumed: list[int] = []

    def source() -> Any:
        for row in rows:
            consumed.append(row.row_number)
            yield row

    outcomes = service.iter_per_row(source(), received_on=ON_TIME, actor=ACTOR, chunk_size=2)
    first = next(outcomes)
    assert first.ok and consumed == [1, 2]
    assert counts(db)[0] == 2  # the first chunk is committed
    assert [o.ok for o in outcomes] == [True] * 4
    assert consumed == [1, 2, 3, 4, 5]
    assert counts(db)[0] == 5


# Names (人社鉴发〔2021〕1号 §二(三), §五(二)) and the occupation catalogue ----------------------

NAME_REFUSALS: dict[str, tuple[dict[str, Any], str, str]] = {
    # The probes of the names issue: each was accepted before these rules.
    "another organisation name": (
        {"organisation_name": "广州市另一评价中心"},
        "organisation_name",
        "organisation_name.not_filed",
    ),
    "forbidden word in the organisation name": (
        {"organisation_name": "中国示例职业技能评价中心"},
        "organisation_name",
        "name.forbidden_word",
    ),
    "forbidden word in the occupation name": (
        {"occupation_name": "国家车工"},
        "occupation_name",
        "name.forbidden_word",
    ),
    "车工 code labelled 电工": (
        {
            "occupation_code": "6-18-01-01",
            "occupation_name": "电工",
            "work_type_code": "--",
            "work_type_name": "--",
        },
        "occupation_name",
        "occupation.name_mismatch",
    ),
    "a category, not an occupation": (
        {
            "occupation_code": "6-00-00-00",
            "occupation_name": "生产制造及有关人员",
            "work_type_code": "--",
            "work_type_name": "--",
        },
        "occupation_code",
        "occupation.category_only",
    ),
    "a 准入类 occupation": (
        {
            "occupation_code": "4-07-05-04",
            "occupation_name": "消防设施操作员",
            "work_type_code": "--",
            "work_type_name": "--",
        },
        "occupation_code",
        "occupation.admission",
    ),
}


@pytest.mark.parametrize("case", NAME_REFUSALS, ids=list(NAME_REFUSALS))
def test_names_refused(db: Database, service: IntakeService, case: str) -> None:
    changes, field, rule = NAME_REFUSALS[case]
    s, signature = _signed(cert(1, **changes))
    refused(db, service, s, signature, field=field, rule=rule)


def test_an_occupation_outside_the_catalogue_is_a_warning(db: Database) -> None:
    with db.transaction() as session:
        OrganisationRepository(session).set_scope(
            ORG, [*SCOPE, {"occupation_code": "6-29-01-04", "levels": [3]}], bytes(32), now=NOW
        )
    service = IntakeService(
        db, "44", NETWORK, cipher(), blind_index(), calendar=CALENDAR, vocabulary=VOCABULARY,
        clock=lambda: NOW,
    )  # fmt: skip
    c = cert(1, occupation_code="6-29-01-04", occupation_name="变电设备检修工",
             work_type_code="--", work_type_name="--")  # fmt: skip
    accepted = submit(service, c)
    assert [w.code for w in accepted.warnings] == ["occupation.not_in_catalogue"]
    assert "6-29-01-04" in accepted.warnings[0].detail
