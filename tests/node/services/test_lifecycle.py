"""Certificate lifecycle (node/services/lifecycle.py): correction, revocation, suspension,
reinstatement and logical deletion, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import Signature
from node.core.rules.reasons import Reason
from node.services.intake import IntakeService
from node.services.intake_checks import Accepted
from node.services.lifecycle import LifecycleOutcome, LifecycleService
from node.storage import (
    AuditRecord,
    AuditTrail,
    CertificateRecord,
    CertificateRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import CertificateRow, table_of
from tests.node.services.test_intake import (
    LATER_KEY,
    NETWORK,
    NOW,
    ORG,
    cert,
    counts,
    db,
    personal,
    salted,
    service,
    sign,
    submit,
)
from tests.node.storage.conftest import blind_index, cipher

__all__ = ["db", "service"]

#: The lifecycle clock: after the sample issue date (2025-06-18), so field rules with
#: ``today`` accept the corrected versions.
LATER = dt.datetime(2025, 7, 1, 2, 0, tzinfo=dt.UTC)
OPERATOR = "province:44:operator-1"
ORGANISATION_ACTOR = f"organisation:{ORG}"


@pytest.fixture
def lifecycle(db: Database) -> LifecycleService:
    return LifecycleService(db, "44", NETWORK, cipher(), blind_index(), clock=lambda: LATER)


@dataclasses.dataclass
class Issued:
    certificate: Certificate
    salted: SaltedCertificate
    accepted: Accepted

    @property
    def commitment(self) -> bytes:
        return self.accepted.commitment


def issue(service: IntakeService, serial: int = 1, **changes: Any) -> Issued:
    c = cert(serial, **changes)
    return Issued(c, salted(c), submit(service, c))


@pytest.fixture
def issued(service: IntakeService) -> Issued:
    return issue(service)


def record(db: Database, commitment: bytes) -> CertificateRecord:
    with db.transaction() as session:
        found = CertificateRepository(session, cipher(), blind_index()).get(commitment)
    assert found is not None
    return found


def audit(db: Database, commitment: bytes) -> list[AuditRecord]:
    with db.transaction() as session:
        return AuditTrail(session).for_target("certificate", commitment.hex())


def entry_json(db: Database, index: int) -> dict[str, Any]:
    with db.transaction() as session:
        stored = ProvinceLog(session, "44").entry(index)
    value: dict[str, Any] = json.loads(stored.entry.canonical_bytes())
    return value


def status_of(db: Database, commitment: bytes) -> str:
    return record(db, commitment).status


def assert_clean(text: str, *certificates: Certificate) -> None:
    for c in certificates:
        for value in personal(c):
            assert value not in text


def refused(
    db: Database, call: Callable[[], object], field: str, rule: str, *watch: bytes
) -> InvalidInput:
    """Run ``call``, expect ``InvalidInput(field, rule)`` and that nothing was written: the
    certificate, log and audit counts and the watched certificates' rows are unchanged."""
    before = counts(db)
    rows = [record(db, c) for c in watch]
    with pytest.raises(InvalidInput) as info:
        call()
    assert (info.value.field, info.value.rule) == (field, rule), str(info.value)
    assert counts(db) == before
    assert [record(db, c) for c in watch] == rows
    return info.value


# ------------------------------------------------------------------------------------------
# Status changes


def test_revoke_appends_entry_sets_status_and_audits(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    before = counts(db)
    outcome = lifecycle.revoke(
        issued.commitment,
        reason=Reason.CANDIDATE_CHEATING,
        actor=OPERATOR,
        note="exam room report 2025-06",
    )
    assert outcome == LifecycleOutcome(
        kind="revoke",
        certificate_number=issued.certificate.certificate_number,
        commitment=issued.commitment,
        log_index=1,
        reason=Reason.CANDIDATE_CHEATING,
        status="revoked",
    )
    assert counts(db) == (before[0], before[1] + 1, before[2] + 1)
    row = record(db, issued.commitment)
    assert (row.status, row.status_changed_at) == ("revoked", LATER)
    entry = entry_json(db, outcome.log_index)
    assert entry == {
        "v": 1,
        "kind": "revoke",
        "province": "44",
        "organisation_code": ORG,
        "certificate_number": issued.certificate.certificate_number,
        "commitment": issued.commitment.hex(),
        "links": [],
        "reason": 101,
        "attributes": None,
        "signature": None,
    }
    events = audit(db, issued.commitment)
    assert [e.action for e in events] == ["issue", "revoke"]
    last = events[-1]
    assert (last.actor, last.reason, last.note, last.occurred_at) == (
        OPERATOR,
        101,
        "exam room report 2025-06",
        LATER,
    )
    assert last.details == {
        "certificate_number": issued.certificate.certificate_number,
        "log_index": 1,
        "from_status": "active",
        "to_status": "revoked",
    }


def test_suspend_reinstate_suspend_revoke(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    steps: list[tuple[Callable[..., LifecycleOutcome], int, str]] = [
        (lifecycle.suspend, Reason.COMPLAINT_UNDER_INVESTIGATION, "suspended"),
        (lifecycle.reinstate, Reason.REVIEW_CLEARED, "active"),
        (lifecycle.suspend, Reason.SCREENING_ID_BURST, "suspended"),
        (lifecycle.revoke, Reason.CANDIDATE_IMPERSONATION, "revoked"),
    ]
    for expected_index, (method, reason, status) in enumerate(steps, start=1):
        outcome = method(issued.commitment, reason=reason, actor=OPERATOR)
        assert (outcome.log_index, outcome.status, outcome.reason) == (
            expected_index,
            status,
            reason,
        )
        assert status_of(db, issued.commitment) == status
        entry = entry_json(db, expected_index)
        assert (entry["kind"], entry["reason"], entry["commitment"], entry["links"]) == (
            outcome.kind,
            int(reason),
            issued.commitment.hex(),
            [],
        )
    assert [e.action for e in audit(db, issued.commitment)] == [
        "issue",
        "suspend",
        "reinstate",
        "suspend",
        "revoke",
    ]


@pytest.mark.parametrize("suspend_first", [False, True])
def test_delete_is_logical(
    db: Database, lifecycle: LifecycleService, issued: Issued, suspend_first: bool
) -> None:
    if suspend_first:
        lifecycle.suspend(
            issued.commitment, reason=Reason.COMPLAINT_UNDER_INVESTIGATION, actor=OPERATOR
        )
    before = counts(db)
    outcome = lifecycle.delete(issued.commitment, reason=Reason.DUPLICATE_RECORD, actor=OPERATOR)
    assert counts(db) == (before[0], before[1] + 1, before[2] + 1)
    row = record(db, issued.commitment)
    assert (row.status, row.deleted_at) == ("deleted", LATER)
    with db.transaction() as session:
        # The row and its encrypted record stay (data guide art. 15: logical only).
        assert CertificateRepository(session, cipher(), blind_index()).salted(row) == issued.salted
    entry = entry_json(db, outcome.log_index)
    assert (entry["kind"], entry["reason"], entry["attributes"]) == ("delete", 502, None)


# Refusals of status changes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "code", "rule"),
    [
        ("revoke", Reason.SCREENING_ID_BURST, "reason.not_for_action"),
        ("revoke", Reason.PROVINCE_REQUEST, "reason.not_for_action"),
        ("revoke", 999, "reason.unknown"),
        ("revoke", 0, "reason.unknown"),
        ("suspend", Reason.CANDIDATE_CHEATING, "reason.not_for_action"),
        ("reinstate", Reason.SCREENING_SERIAL, "reason.not_for_action"),
        ("delete", Reason.CANDIDATE_CHEATING, "reason.not_for_action"),
        ("delete", Reason.HOLDER_NAME_ERROR, "reason.not_for_action"),
    ],
)
def test_wrong_reason_for_action_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued, action: str, code: int, rule: str
) -> None:
    method = getattr(lifecycle, action)
    refused(
        db,
        lambda: method(issued.commitment, reason=code, actor=OPERATOR),
        "reason",
        rule,
        issued.commitment,
    )


@pytest.mark.parametrize("action", ["revoke", "suspend", "reinstate", "delete"])
def test_unknown_certificate_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued, action: str
) -> None:
    reason = {"revoke": 101, "suspend": 206, "reinstate": 301, "delete": 501}[action]
    method = getattr(lifecycle, action)
    refused(
        db,
        lambda: method(b"\x07" * 32, reason=reason, actor=OPERATOR),
        "commitment",
        "certificate.unknown",
    )
    refused(
        db,
        lambda: method(b"\x07" * 31, reason=reason, actor=OPERATOR),
        "commitment",
        "certificate.unknown",
    )


def test_other_province_refused(db: Database, issued: Issued) -> None:
    beijing = LifecycleService(db, "11", NETWORK, cipher(), blind_index(), clock=lambda: LATER)
    refused(
        db,
        lambda: beijing.revoke(issued.commitment, reason=101, actor=OPERATOR),
        "commitment",
        "certificate.province",
        issued.commitment,
    )
    c = cert(1, holder_name="李四")
    s = salted(c)
    refused(
        db,
        lambda: beijing.correct(
            issued.commitment,
            s,
            sign(s),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "old_commitment",
        "certificate.province",
        issued.commitment,
    )


@pytest.mark.parametrize(
    ("first", "first_reason"),
    [("revoke", 108), ("delete", 501)],
)
@pytest.mark.parametrize(
    ("action", "reason"),
    [("revoke", 101), ("suspend", 206), ("reinstate", 301), ("delete", 501)],
)
def test_final_statuses_refuse_every_change(
    db: Database,
    lifecycle: LifecycleService,
    issued: Issued,
    first: str,
    first_reason: int,
    action: str,
    reason: int,
) -> None:
    getattr(lifecycle, first)(issued.commitment, reason=first_reason, actor=OPERATOR)
    method = getattr(lifecycle, action)
    refused(
        db,
        lambda: method(issued.commitment, reason=reason, actor=OPERATOR),
        "status",
        "certificate.final",
        issued.commitment,
    )


def test_superseded_is_final(db: Database, lifecycle: LifecycleService, issued: Issued) -> None:
    corrected = correct_name(lifecycle, issued)
    for action, reason in [("revoke", 101), ("suspend", 206), ("delete", 501)]:
        method: Callable[..., LifecycleOutcome] = getattr(lifecycle, action)
        refused(
            db,
            functools.partial(method, issued.commitment, reason=reason, actor=OPERATOR),
            "status",
            "certificate.final",
            issued.commitment,
            corrected.commitment,
        )


def test_transitions_the_contract_refuses(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    refused(
        db,
        lambda: lifecycle.reinstate(issued.commitment, reason=301, actor=OPERATOR),
        "status",
        "certificate.transition",
        issued.commitment,
    )
    lifecycle.suspend(issued.commitment, reason=206, actor=OPERATOR)
    refused(
        db,
        lambda: lifecycle.suspend(issued.commitment, reason=207, actor=OPERATOR),
        "status",
        "certificate.transition",
        issued.commitment,
    )


@pytest.mark.parametrize(("actor", "rule"), [("", "actor.missing"), ("x" * 129, "actor.length")])
def test_actor_required(
    db: Database, lifecycle: LifecycleService, issued: Issued, actor: str, rule: str
) -> None:
    refused(
        db,
        lambda: lifecycle.revoke(issued.commitment, reason=101, actor=actor),
        "actor",
        rule,
        issued.commitment,
    )


@pytest.mark.parametrize("which", ["holder_name", "id_number"])
def test_note_with_personal_data_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued, which: str
) -> None:
    value = getattr(issued.certificate, which)
    error = refused(
        db,
        lambda: lifecycle.suspend(
            issued.commitment, reason=206, actor=OPERATOR, note=f"complaint about {value}"
        ),
        "note",
        "note.personal_data",
        issued.commitment,
    )
    assert_clean(str(error), issued.certificate)


# ------------------------------------------------------------------------------------------
# Correction


def correct_name(
    lifecycle: LifecycleService, issued: Issued, name: str = "李四"
) -> LifecycleOutcome:
    c = dataclasses.replace(issued.certificate, holder_name=name)
    s = salted(c)
    return lifecycle.correct(
        issued.commitment,
        s,
        sign(s),
        reason=Reason.HOLDER_NAME_ERROR,
        requested_by=ORGANISATION_ACTOR,
        confirmed_by=OPERATOR,
        commitment=s.commitment(),
        note="written statement 2025-06-30",
    )


def test_correction_supersedes_and_logs(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    new = dataclasses.replace(issued.certificate, holder_name="李四")
    new_salted = salted(new)
    before = counts(db)
    outcome = correct_name(lifecycle, issued)
    assert outcome == LifecycleOutcome(
        kind="correct",
        certificate_number=issued.certificate.certificate_number,
        commitment=new_salted.commitment(),
        log_index=1,
        reason=Reason.HOLDER_NAME_ERROR,
        status="active",
        supersedes=issued.commitment,
    )
    assert counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)
    old_row = record(db, issued.commitment)
    new_row = record(db, outcome.commitment)
    assert (old_row.status, old_row.superseded_by) == ("superseded", outcome.commitment)
    assert (new_row.status, new_row.log_index, new_row.superseded_by) == ("active", 1, None)
    assert new_row.signature == sign(new_salted)
    with db.transaction() as session:
        repo = CertificateRepository(session, cipher(), blind_index())
        assert repo.salted(new_row) == new_salted
        current = repo.get_current(issued.certificate.certificate_number)
        assert current is not None and current.commitment == outcome.commitment
    entry = entry_json(db, 1)
    assert entry == {
        "v": 1,
        "kind": "correct",
        "province": "44",
        "organisation_code": ORG,
        "certificate_number": issued.certificate.certificate_number,
        "commitment": outcome.commitment.hex(),
        "links": [issued.commitment.hex()],
        "reason": 401,
        "attributes": {
            "issue_date": new.issue_date,
            "level": new.level,
            "occupation_code": new.occupation_code,
            "work_type_code": new.work_type_code,
        },
        "signature": {"suite": "ed25519", "key_id": 0, "value": sign(new_salted).value.hex()},
    }
    assert_clean(json.dumps(entry, ensure_ascii=False), issued.certificate, new)
    [event] = [e for e in audit(db, issued.commitment) if e.action == "correct"]
    assert (event.actor, event.reason, event.note) == (
        OPERATOR,
        401,
        "written statement 2025-06-30",
    )
    assert event.details == {
        "certificate_number": issued.certificate.certificate_number,
        "log_index": 1,
        "successor": outcome.commitment.hex(),
        "requested_by": ORGANISATION_ACTOR,
        "confirmed_by": OPERATOR,
        "changed_fields": ["holder_name"],
        "from_status": "active",
    }
    assert_clean(json.dumps(event.details, ensure_ascii=False), issued.certificate, new)


def test_correction_of_a_correction_and_of_a_suspended_certificate(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    first = correct_name(lifecycle, issued)
    lifecycle.suspend(first.commitment, reason=206, actor=OPERATOR)
    c = dataclasses.replace(issued.certificate, holder_name="李四", occupation_name="电工（维修）")
    s = salted(c)
    second = lifecycle.correct(
        first.commitment,
        s,
        sign(s),
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by=ORGANISATION_ACTOR,
        confirmed_by=OPERATOR,
    )
    assert (second.log_index, second.supersedes) == (3, first.commitment)
    assert status_of(db, first.commitment) == "superseded"
    assert status_of(db, second.commitment) == "active"
    with db.transaction() as session:
        history = CertificateRepository(session, cipher(), blind_index()).history(
            issued.certificate.certificate_number
        )
    assert [h.commitment for h in history] == [
        issued.commitment,
        first.commitment,
        second.commitment,
    ]


def test_id_number_correction(db: Database, lifecycle: LifecycleService, issued: Issued) -> None:
    other_id = cert(2).id_number
    c = dataclasses.replace(issued.certificate, id_number=other_id)
    s = salted(c)
    outcome = lifecycle.correct(
        issued.commitment,
        s,
        sign(s),
        reason=Reason.ID_NUMBER_ERROR,
        requested_by=ORGANISATION_ACTOR,
        confirmed_by=OPERATOR,
    )
    assert entry_json(db, outcome.log_index)["reason"] == 402


def test_name_then_id_number_over_a_lineage_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    # Data guide art. 14 (姓名和证件号码，原则上只能更改其中的一项) holds over the lineage: the
    # name first (401), then the ID number (402) would replace the whole identity.
    first = correct_name(lifecycle, issued)
    c = dataclasses.replace(issued.certificate, holder_name="李四", id_number=cert(2).id_number)
    s = salted(c)
    error = refused(
        db,
        lambda: lifecycle.correct(
            first.commitment,
            s,
            sign(s),
            reason=Reason.ID_NUMBER_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "id_number",
        "correct.lineage_name_and_id_number",
        first.commitment,
    )
    assert_clean(str(error), issued.certificate, c)
    # Correcting the name once more (back towards the original or not) stays allowed.
    c2 = dataclasses.replace(issued.certificate, holder_name="王五")
    s2 = salted(c2)
    lifecycle.correct(
        first.commitment,
        s2,
        sign(s2),
        reason=Reason.HOLDER_NAME_ERROR,
        requested_by=ORGANISATION_ACTOR,
        confirmed_by=OPERATOR,
    )


# Refusals of corrections -------------------------------------------------------------------

#: A correction case: (changes to the certificate, reason, extra keyword arguments, a signer
#: taking the salted record, expected field, expected rule).
Signer = Callable[[SaltedCertificate], Signature]
CorrectionCase = tuple[dict[str, Any], int, dict[str, Any], Signer, str, str]


def _wrong_check(id_number: str) -> str:
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


CORRECTION_REFUSALS: dict[str, CorrectionCase] = {
    "name and ID number": (
        {"holder_name": "李四", "id_number": cert(2).id_number},
        Reason.HOLDER_NAME_ERROR,
        {},
        sign,
        "id_number",
        "correct.name_and_id_number",
    ),
    "name and ID type and number": (
        {"holder_name": "李四", "id_type": "passport", "id_number": "E12345678"},
        Reason.ID_NUMBER_ERROR,
        {},
        sign,
        "id_number",
        "correct.name_and_id_number",
    ),
    "no confirmer": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"confirmed_by": None},
        sign,
        "confirmed_by",
        "correct.confirmer_missing",
    ),
    "blank confirmer": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"confirmed_by": "  "},
        sign,
        "confirmed_by",
        "correct.confirmer_missing",
    ),
    "requester confirms": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"confirmed_by": ORGANISATION_ACTOR},
        sign,
        "confirmed_by",
        "correct.confirmer_same",
    ),
    "no requester": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"requested_by": ""},
        sign,
        "requested_by",
        "actor.missing",
    ),
    "changed number": (
        {"certificate_number": f"{ORG}253000002"},
        Reason.OTHER_FIELD_ERROR,
        {},
        sign,
        "certificate_number",
        "correction.number",
    ),
    "bad signature": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {},
        lambda s: sign(s, key=LATER_KEY),
        "signature",
        "signature.invalid",
    ),
    "key not valid on the issue date": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {},
        lambda s: sign(s, key=LATER_KEY, key_id=1),
        "key_id",
        "signature.key_not_valid",
    ),
    "unknown key": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {},
        lambda s: sign(s, key_id=7),
        "key_id",
        "signature.unknown_key",
    ),
    "short signature": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {},
        lambda s: Signature("ed25519", 0, sign(s).value[:63]),
        "signature",
        "signature.length",
    ),
    "reason names another field": (
        {"holder_name": "李四"},
        Reason.OTHER_FIELD_ERROR,
        {},
        sign,
        "reason",
        "correct.reason_mismatch",
    ),
    "reason of another action": (
        {"holder_name": "李四"},
        Reason.CANDIDATE_CHEATING,
        {},
        sign,
        "reason",
        "reason.not_for_action",
    ),
    "nothing changed": (
        {},
        Reason.OTHER_FIELD_ERROR,
        {},
        sign,
        "reason",
        "correct.nothing_changed",
    ),
    "field rule": (
        {"id_number": _wrong_check(cert(1).id_number)},
        Reason.ID_NUMBER_ERROR,
        {},
        sign,
        "id_number",
        "id_number.resident_id.check_character",
    ),
    "outside the filed scope": (
        {"occupation_code": "6-29-01-04", "occupation_name": "变电设备检修工"},
        Reason.OTHER_FIELD_ERROR,
        {},
        sign,
        "occupation_code",
        "scope.occupation",
    ),
    "commitment mismatch": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"commitment": b"\x01" * 32},
        sign,
        "commitment",
        "commitment.mismatch",
    ),
    "note with personal data": (
        {"holder_name": "李四"},
        Reason.HOLDER_NAME_ERROR,
        {"note": "the name was 李四"},
        sign,
        "note",
        "note.personal_data",
    ),
}


@pytest.mark.parametrize("case", CORRECTION_REFUSALS, ids=list(CORRECTION_REFUSALS))
def test_correction_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued, case: str
) -> None:
    changes, reason, extra, signer, field, rule = CORRECTION_REFUSALS[case]
    c = dataclasses.replace(issued.certificate, **changes)
    s = salted(c)
    kwargs: dict[str, Any] = {
        "reason": reason,
        "requested_by": ORGANISATION_ACTOR,
        "confirmed_by": OPERATOR,
    } | extra
    error = refused(
        db,
        lambda: lifecycle.correct(issued.commitment, s, signer(s), **kwargs),
        field,
        rule,
        issued.commitment,
    )
    assert_clean(str(error) + repr(error), issued.certificate, c)


def test_correction_of_an_unknown_certificate_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    c = dataclasses.replace(issued.certificate, holder_name="李四")
    s = salted(c)
    refused(
        db,
        lambda: lifecycle.correct(
            b"\x09" * 32,
            s,
            sign(s),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "old_commitment",
        "certificate.unknown",
    )


@pytest.mark.parametrize(("action", "reason"), [("revoke", 101), ("delete", 501)])
def test_correction_of_a_final_certificate_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued, action: str, reason: int
) -> None:
    getattr(lifecycle, action)(issued.commitment, reason=reason, actor=OPERATOR)
    c = dataclasses.replace(issued.certificate, holder_name="李四")
    s = salted(c)
    refused(
        db,
        lambda: lifecycle.correct(
            issued.commitment,
            s,
            sign(s),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "status",
        "certificate.final",
        issued.commitment,
    )


def test_correcting_a_superseded_version_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    first = correct_name(lifecycle, issued)
    c = dataclasses.replace(issued.certificate, holder_name="王五")
    s = salted(c)
    refused(
        db,
        lambda: lifecycle.correct(
            issued.commitment,
            s,
            sign(s),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "status",
        "certificate.final",
        issued.commitment,
        first.commitment,
    )


def test_correction_by_an_inactive_organisation_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    with db.transaction() as session:
        OrganisationRepository(session).set_status(ORG, "suspended", now=NOW)
    c = dataclasses.replace(issued.certificate, holder_name="李四")
    s = salted(c)
    refused(
        db,
        lambda: lifecycle.correct(
            issued.commitment,
            s,
            sign(s),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "organisation_code",
        "organisation.not_active",
        issued.commitment,
    )


def test_correction_back_to_a_stored_version_refused(
    db: Database, lifecycle: LifecycleService, issued: Issued
) -> None:
    # A -> B, then B "corrected" back to A's exact record (same values and salts): the
    # commitment is already stored (the superseded A), so it cannot be a new version.
    first = correct_name(lifecycle, issued)
    refused(
        db,
        lambda: lifecycle.correct(
            first.commitment,
            issued.salted,
            sign(issued.salted),
            reason=Reason.HOLDER_NAME_ERROR,
            requested_by=ORGANISATION_ACTOR,
            confirmed_by=OPERATOR,
        ),
        "commitment",
        "certificate.duplicate",
        issued.commitment,
        first.commitment,
    )


# ------------------------------------------------------------------------------------------
# No personal data anywhere


def test_no_personal_data_in_entries_audit_or_logs(
    db: Database,
    lifecycle: LifecycleService,
    issued: Issued,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    corrected = correct_name(lifecycle, issued)
    lifecycle.suspend(corrected.commitment, reason=203, actor=OPERATOR)
    lifecycle.reinstate(corrected.commitment, reason=301, actor=OPERATOR)
    lifecycle.revoke(corrected.commitment, reason=104, actor=OPERATOR)
    new = dataclasses.replace(issued.certificate, holder_name="李四")
    with db.transaction() as session:
        entries = [s.entry.canonical_bytes().decode() for s in ProvinceLog(session, "44").entries()]
        events = [
            json.dumps([e.actor, e.action, e.target_id, e.note, e.details], ensure_ascii=False)
            for c in (issued.commitment, corrected.commitment)
            for e in AuditTrail(session).for_target("certificate", c.hex())
        ]
        columns = session.execute(
            select(table_of(CertificateRow).c.certificate_number, table_of(CertificateRow).c.status)
        ).all()
    assert len(entries) == 5
    assert len(events) == 5
    assert_clean("\n".join(entries + events + [str(columns), caplog.text]), issued.certificate, new)
    assert [json.loads(e)["kind"] for e in entries] == [
        "issue",
        "correct",
        "suspend",
        "reinstate",
        "revoke",
    ]
