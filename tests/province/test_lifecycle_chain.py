"""Corrections, revocations, suspensions, reinstatements and deletions through a province node:
log entries at once, on-chain statuses once anchored, bundles that follow (SQLite/PostgreSQL x
EVM/anvil)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchor.status import STATUS_ACTIVE, STATUS_REVOKED, STATUS_SUPERSEDED, STATUS_SUSPENDED
from node.core.rules.reasons import Reason
from node.storage import AuditTrail, Database, ProvinceLog
from tests.contract.conftest import Registry
from tests.province.helpers import (
    ACTOR,
    certificate,
    file_sample_organisation,
    issue,
    make_node,
    salted,
    sign,
)


@pytest.fixture
def parts(database: Database, reg: Registry, tmp_path: Path) -> tuple[Database, Registry, Path]:
    file_sample_organisation(database, reg.as_(0))
    return database, reg, tmp_path


def test_every_change_reaches_the_chain_after_anchoring(
    parts: tuple[Database, Registry, Path],
) -> None:
    db, reg, tmp_path = parts
    client = reg.as_(0)
    node = make_node(db, client, tmp_path)
    a, b, c, d = (issue(node, serial) for serial in range(1, 5))
    node.anchor_all()

    lc = node.lifecycle
    lc.revoke(a.commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR, note="case 17")
    lc.suspend(b.commitment, reason=Reason.COMPLAINT_UNDER_INVESTIGATION, actor=ACTOR)
    lc.reinstate(b.commitment, reason=Reason.REVIEW_CLEARED, actor=ACTOR)
    lc.delete(d.commitment, reason=Reason.DUPLICATE_RECORD, actor=ACTOR)
    fixed = salted(certificate(3, occupation_name="焊工（修正）"))
    corrected = lc.correct(
        c.commitment,
        fixed,
        sign(node, fixed),
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by="org:S000144011001",
        confirmed_by=ACTOR,
    )
    # Nothing on chain yet: entries wait for the next checkpoint.
    assert client.certificate_status(44, a.commitment).changes == 0

    [checkpoint] = node.anchor_all()
    assert checkpoint.tree_size == 4 + 5
    expected = {
        a.commitment: (STATUS_REVOKED, 101, 1),
        b.commitment: (STATUS_ACTIVE, 301, 2),
        c.commitment: (STATUS_SUPERSEDED, 403, 1),
        d.commitment: (STATUS_REVOKED, 502, 1),
        corrected.commitment: (STATUS_ACTIVE, 0, 0),
    }
    for commitment, want in expected.items():
        record = client.certificate_status(44, commitment)
        assert (record.status, record.reason, record.changes) == want
    successors = [
        e.args["successor"]
        for e in client.iter_events(names=["CertificateStatusChanged"])
        if e.args["commitment"] == c.commitment
    ]
    assert successors == [corrected.commitment]
    assert node.status().status_synced == checkpoint.tree_size

    # The corrected version has a bundle into the new checkpoint; the old one keeps its own.
    new_bundle = node.bundles.bundle(corrected.commitment)
    assert new_bundle.entry.kind == "correct" and new_bundle.entry.links == (c.commitment,)
    assert new_bundle.anchor.checkpoint_index == checkpoint.index
    assert node.bundles.bundle(c.commitment).anchor.checkpoint_index == 0

    # The audit trail says who did what and why.
    with db.transaction() as session:
        actions = [
            e.action for e in AuditTrail(session).for_target("certificate", a.commitment.hex())
        ]
        kinds = [s.entry.kind for s in ProvinceLog(session, "44").entries(4, 9)]
    assert "revoke" in actions
    assert kinds == ["revoke", "suspend", "reinstate", "delete", "correct"]


def test_a_suspension_alone_makes_the_log_due(parts: tuple[Database, Registry, Path]) -> None:
    db, reg, tmp_path = parts
    client = reg.as_(0)
    node = make_node(db, client, tmp_path, batch_size=1000, max_age_seconds=10**6)
    a = issue(node, 1)
    node.anchor_all()
    node.lifecycle.suspend(a.commitment, reason=Reason.SCREENING_ID_BURST, actor=ACTOR)
    outcome = node.anchor_once()  # not forced: due because of the status entry
    assert outcome is not None
    assert client.certificate_status(44, a.commitment).status == STATUS_SUSPENDED
