"""The auditor on histories written through the real contract (in-process EVM and anvil): a
clean history gives no finding, and each planted fault gives exactly its finding."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from node.core.formats.entry import Signature
from tests.audit.histories import (
    KEY,
    ORG,
    REVOKED,
    ZERO,
    Clean,
    clean_history,
    run,
)
from tests.contract.conftest import Registry


@pytest.fixture
def clean(reg: Registry, tmp_path: Path) -> Clean:
    return clean_history(reg, tmp_path)


def only(report_counts: dict[str, int], kind: str, count: int = 1) -> None:
    assert report_counts == {kind: count}


def test_clean_history_has_no_findings(clean: Clean) -> None:
    report = run(clean)
    assert report.clean, report.summary()
    assert report.counts["entries"] == 12
    assert report.counts["checkpoints"] == 2
    assert report.counts["signatures"] == 9
    assert report.counts["status_changes"] == 4
    assert report.counts["organisations"] == 2
    assert report.counts["members"] == 3


def test_manifest_not_in_store_is_missing(clean: Clean) -> None:
    clean.writer.issue(ORG, 7)
    cid = clean.writer.anchor(publish=False)
    report = run(clean)
    only(dict(report.finding_counts), "manifest.missing")
    [finding] = report.findings
    assert finding.evidence["manifest_cid"] == cid
    assert finding.evidence["checkpoint_index"] == 2
    assert finding.evidence["transaction"].startswith("0x")


def test_manifest_whose_entries_do_not_hash_to_the_root(clean: Clean) -> None:
    a = clean.writer.issue(ORG, 7)
    b = clean.writer.issue(ORG, 8)
    clean.writer.anchor(entries=[b, a])  # the same entries in another order
    report = run(clean)
    only(dict(report.finding_counts), "manifest.mismatch")
    [finding] = report.findings
    assert finding.evidence["hashes"]["root"] == clean.writer.log.root().hex()
    assert finding.evidence["hashes"]["rebuilt"] != finding.evidence["hashes"]["root"]


def test_bad_signature(clean: Clean) -> None:
    other = clean.writer.sign(ORG, b"\x99" * 32)
    entry = clean.writer.issue(ORG, 7, signature=other)
    clean.writer.anchor()
    report = run(clean)
    only(dict(report.finding_counts), "entry.signature")
    assert report.findings[0].evidence["hashes"]["commitment"] == entry.commitment.hex()
    assert report.findings[0].evidence["leaf_index"] == 12


def test_key_not_valid_on_the_issue_date(clean: Clean) -> None:
    later = KEY_LATER = bytes(range(32))
    start = int(datetime.datetime.now(datetime.UTC).timestamp()) + 86_400 * 30
    clean.writer.add_key(ORG, KEY_LATER, start, 1)
    clean.writer.issue(ORG, 7, key_id=1)
    clean.writer.anchor()
    assert later
    only(dict(run(clean).finding_counts), "entry.key_not_valid")


def test_late_issue_date_without_reason(clean: Clean) -> None:
    day = clean.writer.today - datetime.timedelta(days=70)
    clean.writer.issue(ORG, 1, issue_date=day, level=5)  # serial 1 of that year's group
    clean.writer.anchor()
    report = run(clean)
    only(dict(report.finding_counts), "deadline.late")


def test_late_issue_date_with_a_late_reason_is_fine(clean: Clean) -> None:
    day = clean.writer.today - datetime.timedelta(days=70)
    clean.writer.issue(ORG, 1, issue_date=day, level=5, reason=602)
    clean.writer.anchor()
    assert run(clean).clean


def test_duplicate_certificate_number(clean: Clean) -> None:
    clean.writer.issue(ORG, 3, commitment=b"\x42" * 32)
    clean.writer.anchor()
    only(dict(run(clean).finding_counts), "certificate.duplicate_number")


def test_duplicate_commitment(clean: Clean) -> None:
    first = clean.issued[0]
    clean.writer.issue(ORG, 7, commitment=first.commitment)
    clean.writer.anchor()
    only(dict(run(clean).finding_counts), "commitment.duplicate")


def test_serial_gap(clean: Clean) -> None:
    clean.writer.issue(ORG, 10)  # 7 to 9 skipped
    clean.writer.anchor()
    report = run(clean)
    only(dict(report.finding_counts), "serial.gap")
    assert report.findings[0].evidence["first"] == 7
    assert report.findings[0].evidence["last"] == 9


def test_serial_gap_at_the_first_serial(clean: Clean) -> None:
    # A group (organisation, year, level 5) whose first logged serial is 000002: 000001 is
    # missing, as the intake and the screening count it (node/core/rules/serials.py).
    clean.writer.issue(ORG, 2, level=5)
    clean.writer.issue(ORG, 3, level=5)
    clean.writer.anchor()
    report = run(clean)
    only(dict(report.finding_counts), "serial.gap")
    evidence = report.findings[0].evidence
    assert (evidence["first"], evidence["last"], evidence["level"]) == (1, 1, 5)
    assert evidence["organisation_code"] == ORG
    assert "serial(s) 000001 " in report.findings[0].message


def test_status_with_no_entry(clean: Clean) -> None:
    tx = clean.writer.client.set_status(44, clean.issued[0].commitment, REVOKED, 104, ZERO)
    report = run(clean)
    only(dict(report.finding_counts), "status.no_entry")
    assert report.findings[0].evidence["transaction"] == tx.transaction_hash
    assert report.findings[0].evidence["block"] == tx.block_number


def test_status_entry_never_set_on_chain(clean: Clean) -> None:
    clean.writer.change("revoke", clean.issued[0], 104)
    clean.writer.anchor()
    report = run(clean)
    only(dict(report.finding_counts), "entry.status_not_on_chain")
    assert run(clean, status_grace_blocks=10).clean


def test_unknown_organisation(clean: Clean) -> None:
    code = "S000144011003"
    clean.writer.keys[(code, 0)] = ("ed25519", KEY)
    clean.writer.issue(code, 1)
    clean.writer.anchor()
    only(dict(run(clean).finding_counts), "organisation.unknown")


def test_suspended_organisation(clean: Clean) -> None:
    clean.writer.client.set_organisation_status(ORG, 2)
    clean.writer.issue(ORG, 7)
    clean.writer.anchor()
    only(dict(run(clean).finding_counts), "organisation.not_active")


def test_outside_the_filed_scope(clean: Clean) -> None:
    clean.writer.issue(ORG, 1, level=1)  # filed for levels 3-5
    clean.writer.anchor()
    only(dict(run(clean).finding_counts), "scope.outside")


def test_category_code_as_occupation(clean: Clean) -> None:
    clean.writer.issue(ORG, 7, occupation_code="6-00-00-00")
    clean.writer.anchor()
    counts = dict(run(clean).finding_counts)
    assert counts == {"occupation.category_only": 1, "scope.outside": 1}


def test_correction_that_changes_the_number(clean: Clean) -> None:
    old = clean.issued[4]
    number = old.certificate_number[:16] + "000099"
    new = clean.writer.correct(old, 403, number=number)
    clean.writer.anchor()
    clean.writer.client.set_status(44, old.commitment, 3, 403, new.commitment)
    report = run(clean)
    only(dict(report.finding_counts), "correction.rule")
    assert report.findings[0].evidence["rule"] == "correction.number"


def test_lineage_with_a_name_and_an_id_correction(clean: Clean) -> None:
    # Data guide art. 14: a name correction (401) then an ID correction (402) of one
    # certificate replace its whole identity; flagged once, at the second.
    old = clean.issued[5]
    first = clean.writer.correct(old, 401)
    second = clean.writer.correct(first, 402)
    clean.writer.anchor()
    clean.writer.client.set_status(44, old.commitment, 3, 401, first.commitment)
    clean.writer.client.set_status(44, first.commitment, 3, 402, second.commitment)
    report = run(clean)
    only(dict(report.finding_counts), "correction.rule")
    assert report.findings[0].evidence["rule"] == "correction.lineage_name_and_id_number"
    assert report.findings[0].evidence["hashes"]["commitment"] == second.commitment.hex()


def test_unpublished_scope_document(reg: Registry, tmp_path: Path) -> None:
    from anchor.manifest import LocalManifestStore
    from certreg.bench.audit import HistoryWriter

    store = LocalManifestStore(tmp_path / "m")
    w = HistoryWriter(reg.as_(0), store, "44")
    w.file_organisation(ORG, KEY, publish_scope=False)
    w.issue(ORG, 1)
    w.issue(ORG, 2)
    w.anchor()
    report = run(Clean(w, store, []))
    only(dict(report.finding_counts), "scope.missing")  # once per scope, not per entry


def test_summary_and_json_carry_no_personal_data(clean: Clean) -> None:
    clean.writer.issue(ORG, 10)
    clean.writer.anchor()
    report = run(clean)
    document = report.to_json()
    assert document["clean"] is False
    assert document["finding_counts"] == {"serial.gap": 1}
    assert "serial.gap" in report.summary()


def test_signature_checks_on_two_processes(clean: Clean) -> None:
    clean.writer.issue(ORG, 7, signature=Signature("ed25519", 0, b"\x01" * 64))
    clean.writer.anchor()
    report = run(clean, workers=2, signature_batch=2)
    only(dict(report.finding_counts), "entry.signature")
    assert report.counts["signatures"] == 10
