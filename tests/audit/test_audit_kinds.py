"""The finding kinds test_audit.py does not plant, each planted on a history written through
the real contract (in-process EVM and anvil), with the auditor reporting exactly that kind;
and a check that every kind of ``FINDING_KINDS`` is planted by some test.

The contract refuses out-of-order, conflicting and inconsistent checkpoints, so those three
are planted by handing the auditor's one replay (``Auditor.run(events)``) the chain's real
events with one of them re-delivered or one field altered: the same code that replays the
chain's own events, on a history the contract cannot hold."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from anchor.chain import ChainEvent
from anchor.member_keys import set_member_key
from audit.auditor import AuditOptions, Auditor, AuditReport
from audit.findings import FINDING_KINDS
from node.core.crypto.signatures import get_suite, signing_message
from node.core.formats.access import LogHead, chain_heads
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE, PROVINCE_SIGNER, LogEntry, Signature
from tests.audit import test_audit, test_audit_api, test_audit_more
from tests.audit.histories import ACTIVE, ORG, ORG2, REVOKED, ZERO, Clean, clean_history, run
from tests.conftest import today_calendar
from tests.contract.conftest import Registry
from tests.province import test_adopt_foreign


@pytest.fixture
def clean(reg: Registry, tmp_path: Path) -> Clean:
    return clean_history(reg, tmp_path)


def kinds(report: AuditReport) -> dict[str, int]:
    return dict(report.finding_counts)


def number(clean: Clean, day: datetime.date, level: int, serial: int = 1) -> str:
    return f"{ORG}{day.year % 100:02d}{level}{serial:06d}"


# -- manifests and entries -------------------------------------------------------------------


def test_malformed_manifest(clean: Clean) -> None:
    clean.writer.issue(ORG, 7)
    clean.writer.anchor(alter=lambda data: data.replace(b'"level":4', b'"level":9', 1))
    report = run(clean)
    assert kinds(report) == {"manifest.malformed": 1}
    [finding] = report.findings
    assert finding.evidence["rule"] == "schema.range"
    assert finding.evidence["checkpoint_index"] == 2


def test_key_id_the_organisation_does_not_have(clean: Clean) -> None:
    clean.writer.issue(ORG, 7, signature=Signature("ed25519", 5, b"\x01" * 64))
    clean.writer.anchor()
    report = run(clean)
    assert kinds(report) == {"entry.key_unknown": 1}
    assert report.findings[0].evidence["leaf_index"] == 12


def test_signature_of_another_suite_than_the_key(clean: Clean) -> None:
    clean.writer.issue(ORG, 7, signature=Signature("sm2-sm3", 0, b"\x01" * 64))
    clean.writer.anchor()
    assert kinds(run(clean)) == {"entry.key_suite": 1}


def test_number_whose_level_differs_from_the_attributes(clean: Clean) -> None:
    day = clean.writer.today - datetime.timedelta(days=2)
    entry = clean.writer.issue(ORG, 1, level=4, number=number(clean, day, 5))
    clean.writer.anchor()
    report = run(clean)
    assert kinds(report) == {"entry.number_mismatch": 1}
    assert report.findings[0].evidence["certificate_number"] == entry.certificate_number


def test_number_that_breaks_the_certificate_number_rules(clean: Clean) -> None:
    # Serial 000000: the entry format takes 21 digits, node/core/rules/certnum.py does not.
    day = clean.writer.today - datetime.timedelta(days=2)
    bad = f"{ORG}{day.year % 100:02d}4000000"
    entry = clean.writer.issue(ORG, 0, level=4, number=bad)
    clean.writer.anchor()
    report = run(clean)
    assert kinds(report) == {"entry.number_mismatch": 1}
    [finding] = report.findings
    assert finding.evidence["certificate_number"] == entry.certificate_number == bad
    assert finding.evidence["rule"] == "certnum.position_17_22.serial"


def test_status_entry_for_a_certificate_never_logged(clean: Clean) -> None:
    ghost = dataclasses.replace(clean.issued[0], commitment=b"\x77" * 32)
    clean.writer.change("revoke", ghost, 101)
    clean.writer.anchor()
    clean.writer.client.set_status(44, ghost.commitment, REVOKED, 101, ZERO)
    assert kinds(run(clean)) == {"entry.unknown_target": 1}


def test_transition_the_rules_forbid(clean: Clean) -> None:
    """Reinstating an active certificate: the contract refuses the change too, so the entry's
    change never reaches the chain (reported unless within the grace blocks)."""
    clean.writer.change("reinstate", clean.issued[0], 301)
    clean.writer.anchor()
    assert kinds(run(clean)) == {"entry.transition": 1, "entry.status_not_on_chain": 1}
    assert kinds(run(clean, status_grace_blocks=10)) == {"entry.transition": 1}


def test_status_entry_with_a_reason_of_another_action(clean: Clean) -> None:
    clean.writer.change("revoke", clean.issued[0], 201)  # 2xx: a suspension reason
    clean.writer.anchor()
    clean.writer.client.set_status(44, clean.issued[0].commitment, REVOKED, 201, ZERO)
    report = run(clean)
    assert kinds(report) == {"entry.reason": 1}
    assert report.findings[0].evidence["rule"] == "reason.not_for_action"


def test_reinstatement_reason_matches_and_is_clean(clean: Clean) -> None:
    """Control for the two above: a suspension then reinstatement with their own reasons."""
    clean.writer.change("suspend", clean.issued[0], 201)
    clean.writer.change("reinstate", clean.issued[0], 301)
    clean.writer.anchor()
    client = clean.writer.client
    client.set_status(44, clean.issued[0].commitment, 2, 201, ZERO)
    client.set_status(44, clean.issued[0].commitment, ACTIVE, 301, ZERO)
    assert run(clean).clean


# -- deadlines ---------------------------------------------------------------------------------


def test_anchored_more_than_six_months_after_issue(clean: Clean) -> None:
    day = clean.writer.today - datetime.timedelta(days=200)
    clean.writer.issue(ORG, 1, issue_date=day, level=5, reason=602)
    clean.writer.anchor()
    assert kinds(run(clean)) == {"deadline.over_six_months": 1}


def test_issue_date_after_the_anchoring_day(clean: Clean) -> None:
    day = clean.writer.today + datetime.timedelta(days=3)
    clean.writer.issue(ORG, 1, issue_date=day, level=5)
    clean.writer.anchor()
    assert kinds(run(clean)) == {"deadline.issue_after_anchor": 1}


def test_late_with_a_reason_that_is_not_a_late_reason(clean: Clean) -> None:
    day = clean.writer.today - datetime.timedelta(days=70)
    clean.writer.issue(ORG, 1, issue_date=day, level=5, reason=101)
    clean.writer.anchor()
    assert kinds(run(clean)) == {"deadline.late_reason": 1}


def test_dates_beyond_the_working_day_calendar(reg: Registry, clean: Clean) -> None:
    """Anchored in a year the calendar (2004-2026, and any year added) does not cover: the
    chain's clock is moved into the next year (rolled back with the test's evm_revert)."""
    uncovered = today_calendar().years[1] + 1
    target = datetime.datetime(uncovered, 3, 1, 12, tzinfo=datetime.UTC).timestamp()
    now = reg.chain.w3.eth.get_block("latest")["timestamp"]
    reg.chain.advance_time(int(target) - int(now))
    day = clean.writer.chain_day() - datetime.timedelta(days=3)
    assert day.year == uncovered
    clean.writer.issue(ORG, 1, issue_date=day, level=5)
    clean.writer.anchor()
    assert kinds(run(clean)) == {"deadline.calendar": 1}


# -- checkpoints the contract refuses, through the auditor's replay of real events -----------


MAINTENANCE = get_suite("ed25519").generate_private_key(b"\x44" * 32)


def _province_correction(clean: Clean, old: LogEntry, key: bytes = MAINTENANCE) -> LogEntry:
    """A ``correct`` entry of ``old`` signed by the province's maintenance key (中就培发〔2022〕
    1号 第十六条), appended to the pending entries."""
    w = clean.writer
    commitment = bytes(31) + b"\x16"
    message = signing_message(w.chain_id, w.contract, commitment)
    entry = LogEntry(
        kind="correct",
        province="44",
        organisation_code=old.organisation_code,
        certificate_number=old.certificate_number,
        commitment=commitment,
        links=(old.commitment,),
        reason=403,
        attributes=old.attributes,
        signature=Signature(
            "ed25519",
            MAINTENANCE_KEY_PURPOSE,
            get_suite("ed25519").sign(key, message),
            signer=PROVINCE_SIGNER,
        ),
    )
    w.pending.append(entry)
    return entry


def test_province_correction_of_a_terminated_organisation_is_clean(clean: Clean) -> None:
    w = clean.writer
    set_member_key(w.client, MAINTENANCE_KEY_PURPOSE, get_suite("ed25519").public_key(MAINTENANCE))
    w.client.set_organisation_status(ORG2, 3)
    old = clean.issued[6]  # ORG2's certificate
    new = _province_correction(clean, old)
    w.anchor()
    w.client.set_status(44, old.commitment, 3, 403, new.commitment)
    assert kinds(run(clean)) == {}


def test_province_correction_of_a_live_organisation(clean: Clean) -> None:
    w = clean.writer
    set_member_key(w.client, MAINTENANCE_KEY_PURPOSE, get_suite("ed25519").public_key(MAINTENANCE))
    old = clean.issued[5]  # ORG is active
    new = _province_correction(clean, old)
    w.anchor()
    w.client.set_status(44, old.commitment, 3, 403, new.commitment)
    report = run(clean)
    assert kinds(report) == {"maintenance.organisation_active": 1}
    assert report.findings[0].evidence["hashes"]["commitment"] == new.commitment.hex()


def test_province_correction_not_signed_by_the_maintenance_key(clean: Clean) -> None:
    w = clean.writer
    set_member_key(w.client, MAINTENANCE_KEY_PURPOSE, get_suite("ed25519").public_key(MAINTENANCE))
    w.client.set_organisation_status(ORG2, 3)
    old = clean.issued[6]
    other = get_suite("ed25519").generate_private_key(b"\x45" * 32)
    new = _province_correction(clean, old, other)
    w.anchor()
    w.client.set_status(44, old.commitment, 3, 403, new.commitment)
    assert kinds(run(clean)) == {"maintenance.signature": 1}


def test_certificate_issued_before_its_occupation_was_filed(clean: Clean) -> None:
    """豫人社办函〔2021〕155号: an incremental filing (增量备案) takes effect before issuing; the
    scope document dates the item, and a certificate issued before that day is flagged."""
    w = clean.writer
    code = "S000144011003"
    added = (w.today + datetime.timedelta(days=1)).isoformat()
    w.file_organisation(
        code,
        get_suite("ed25519").generate_private_key(b"\x46" * 32),
        scope=[
            {"occupation_code": "6-18-01-01", "levels": [4], "effective_from": added},
            {"occupation_code": "6-20-01-01", "levels": [4]},
        ],
    )
    w.issue(code, 1)  # 6-18-01-01, two days before today: before the filing took effect
    w.issue(code, 2, occupation_code="6-20-01-01")  # filed from the start: fine
    w.anchor()
    report = run(clean)
    assert kinds(report) == {"scope.not_in_force": 1}
    assert report.findings[0].evidence["rule"] == "scope.not_in_force"


def replay(clean: Clean, events: list[ChainEvent]) -> AuditReport:
    options = AuditOptions(calendar=today_calendar())
    return Auditor(clean.writer.client, clean.store, options).run(events)


def checkpoint_events(events: list[ChainEvent]) -> list[ChainEvent]:
    return [e for e in events if e.name == "CheckpointAnchored"]


def test_replaying_the_real_events_is_clean(clean: Clean) -> None:
    assert replay(clean, list(clean.writer.client.iter_events())).clean


def test_checkpoint_delivered_again_out_of_order(clean: Clean) -> None:
    events = list(clean.writer.client.iter_events())
    first, second = checkpoint_events(events)
    events.insert(events.index(second) + 1, first)
    report = replay(clean, events)
    assert kinds(report) == {"checkpoint.order": 1}
    assert report.findings[0].evidence["checkpoint_index"] == 0


def test_one_size_anchored_with_two_roots(clean: Clean) -> None:
    events = list(clean.writer.client.iter_events())
    first, second = checkpoint_events(events)
    forged = dataclasses.replace(first, args={**first.args, "root": b"\x05" * 32})
    events.insert(events.index(second) + 1, forged)
    report = replay(clean, events)
    assert kinds(report) == {"checkpoint.conflict": 1}
    hashes = report.findings[0].evidence["hashes"]
    assert hashes == {"root": "05" * 32, "earlier": bytes(first.args["root"]).hex()}


def test_consistency_proof_that_does_not_verify(clean: Clean) -> None:
    """The second checkpoint's event pointing at the first anchoring transaction, whose
    (empty) proof does not lead from size 7 to size 12."""
    events = list(clean.writer.client.iter_events())
    first, second = checkpoint_events(events)
    events[events.index(second)] = dataclasses.replace(
        second, transaction_hash=first.transaction_hash
    )
    report = replay(clean, events)
    assert kinds(report) == {"checkpoint.inconsistent": 1}
    assert report.findings[0].evidence["previous_size"] == 7
    assert report.findings[0].evidence["transaction"] == first.transaction_hash


# -- access-log heads (docs/SHARING.md "Access log") -------------------------------------------


def _hashes(n: int) -> list[bytes]:
    return [bytes([i + 1]) * 32 for i in range(n)]


def _anchor_heads(clean: Clean, counts: list[int], hashes: list[bytes]) -> int:
    """Anchor one checkpoint per count (each adding a certificate of ``ORG2``), each carrying
    the head of the first ``count`` hashes; return ``ORG2``'s next serial."""
    heads = chain_heads(hashes)
    serial = 2
    for count in counts:
        clean.writer.issue(ORG2, serial)
        serial += 1
        head = ZERO if count == 0 else heads[count - 1]
        clean.writer.anchor(access_log=LogHead(count, head))
    return serial


def test_access_log_export_that_chains_to_every_anchored_head_is_clean(clean: Clean) -> None:
    hashes = _hashes(5)
    _anchor_heads(clean, [0, 2, 5], hashes)
    assert kinds(run(clean, access_logs={"44": hashes})) == {}
    assert kinds(run(clean, access_logs={"44": hashes + _hashes(7)[5:]})) == {}  # grew since


def test_access_log_export_missing_or_altering_a_record(clean: Clean) -> None:
    hashes = _hashes(5)
    _anchor_heads(clean, [2, 5], hashes)
    dropped = hashes[:1] + hashes[2:]
    report = run(clean, access_logs={"44": dropped})
    assert kinds(report) == {"access_log.mismatch": 2}
    assert {f.evidence["checkpoint_index"] for f in report.findings} == {2, 3}
    changed = [*hashes[:4], b"\x09" * 32]
    report = run(clean, access_logs={"44": changed})
    assert kinds(report) == {"access_log.mismatch": 1}
    assert report.findings[0].evidence["checkpoint_index"] == 3


def test_access_log_head_that_goes_back(clean: Clean) -> None:
    hashes = _hashes(5)
    _anchor_heads(clean, [5, 3], hashes)
    report = run(clean)
    assert kinds(report) == {"access_log.shrunk": 1}
    assert report.findings[0].evidence["checkpoint_index"] == 3


def test_manifest_without_the_access_log_head_after_one_with_it(clean: Clean) -> None:
    serial = _anchor_heads(clean, [1], _hashes(1))
    clean.writer.issue(ORG2, serial)
    clean.writer.anchor()  # version 1 again
    report = run(clean)
    assert kinds(report) == {"access_log.missing": 1}


# -- every kind is planted somewhere ------------------------------------------------------------

#: Finding kind -> the test that plants it (module, function).
PLANTED = {
    "checkpoint.order": "test_checkpoint_delivered_again_out_of_order",
    "checkpoint.conflict": "test_one_size_anchored_with_two_roots",
    "checkpoint.inconsistent": "test_consistency_proof_that_does_not_verify",
    "manifest.missing": "test_audit.test_manifest_not_in_store_is_missing",
    "manifest.malformed": "test_malformed_manifest",
    "manifest.mismatch": "test_audit.test_manifest_whose_entries_do_not_hash_to_the_root",
    "log.foreign_entries": (
        "test_adopt_foreign.test_a_thiefs_entries_are_adopted_as_foreign_and_anchoring_resumes"
    ),
    "organisation.unknown": "test_audit.test_unknown_organisation",
    "organisation.not_active": "test_audit.test_suspended_organisation",
    "scope.missing": "test_audit.test_unpublished_scope_document",
    "scope.outside": "test_audit.test_outside_the_filed_scope",
    "occupation.category_only": "test_audit.test_category_code_as_occupation",
    "entry.key_unknown": "test_key_id_the_organisation_does_not_have",
    "entry.key_suite": "test_signature_of_another_suite_than_the_key",
    "entry.key_not_valid": "test_audit.test_key_not_valid_on_the_issue_date",
    "entry.signature": "test_audit.test_bad_signature",
    "scope.not_in_force": "test_certificate_issued_before_its_occupation_was_filed",
    "maintenance.organisation_active": "test_province_correction_of_a_live_organisation",
    "maintenance.signature": "test_province_correction_not_signed_by_the_maintenance_key",
    "entry.number_mismatch": "test_number_whose_level_differs_from_the_attributes",
    "entry.unknown_target": "test_status_entry_for_a_certificate_never_logged",
    "entry.transition": "test_transition_the_rules_forbid",
    "entry.reason": "test_status_entry_with_a_reason_of_another_action",
    "entry.status_not_on_chain": "test_audit.test_status_entry_never_set_on_chain",
    "deadline.late": "test_audit.test_late_issue_date_without_reason",
    "deadline.over_six_months": "test_anchored_more_than_six_months_after_issue",
    "deadline.issue_after_anchor": "test_issue_date_after_the_anchoring_day",
    "deadline.late_reason": "test_late_with_a_reason_that_is_not_a_late_reason",
    "deadline.calendar": "test_dates_beyond_the_working_day_calendar",
    "certificate.duplicate_number": "test_audit.test_duplicate_certificate_number",
    "commitment.duplicate": "test_audit.test_duplicate_commitment",
    "serial.gap": "test_audit.test_serial_gap",
    "correction.rule": "test_audit.test_correction_that_changes_the_number",
    "status.no_entry": "test_audit.test_status_with_no_entry",
    "history.rewritten": "test_audit_more.test_rewritten_history_is_detected",
    "access_log.missing": "test_manifest_without_the_access_log_head_after_one_with_it",
    "access_log.shrunk": "test_access_log_head_that_goes_back",
    "access_log.mismatch": "test_access_log_export_missing_or_altering_a_record",
    "api.unreachable": "test_audit_api.test_unreachable_api",
    "api.status_mismatch": "test_audit_api.test_node_that_lies_about_a_status",
    "api.proof_invalid": "test_audit_api.test_node_that_serves_a_tampered_proof",
    "api.checkpoint_mismatch": "test_audit_api.test_node_that_lies_about_a_checkpoint",
    "api.certificate_missing": "test_audit_api.test_node_that_lost_a_certificate",
    "witness.refused": "test_audit_api.test_a_members_signed_refusal_to_cosign",
}


def test_every_finding_kind_is_planted_by_a_test() -> None:
    assert set(PLANTED) == set(FINDING_KINDS)
    modules = {
        "test_audit": test_audit,
        "test_audit_more": test_audit_more,
        "test_audit_api": test_audit_api,
        "test_adopt_foreign": test_adopt_foreign,
    }
    for where in PLANTED.values():
        module_name, _, name = where.rpartition(".")
        module = modules[module_name] if module_name else globals()
        test = module[name] if isinstance(module, dict) else getattr(module, name)
        assert callable(test), where
