"""The province maintains the certificates of a terminated or vanished organisation
(中就培发〔2022〕1号 第十六条: 评价机构主体灭失的，由属地人社部门做好证书数据的维护工作): a
correction signed with the province's maintenance key (``setMemberKey`` purpose 3), marked in
the entry, anchored, exported and verified; refused while the organisation lives, and an
organisation-signed correction of a terminated organisation's certificate is refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anchor.member_keys import set_member_key
from anchor.snapshot import take_snapshot
from audit.auditor import AuditOptions, audit
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE, PROVINCE_SIGNER
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.issuer import sign_as_province
from node.core.rules.reasons import Reason
from node.core.verify import ResultCode, verify_bundle, verify_bundle_text
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.province.helpers import (
    ACTOR,
    ORG,
    SUITE,
    certificate,
    file_sample_organisation,
    issue,
    make_node,
    salted,
    sign,
)

MAINTENANCE = SUITE.generate_private_key(b"province 44 maintenance key".ljust(32, b"."))
REQUESTER = "holder-request:2025-118"


@pytest.fixture
def node(database: Database, reg: Registry, tmp_path: Path) -> ProvinceNode:
    file_sample_organisation(database, reg.as_(0))
    return make_node(database, reg.as_(0), tmp_path)


def _correct_by_province(node: ProvinceNode, old: bytes, serial: int) -> object:
    fixed = salted(certificate(serial, occupation_name="焊工（省级维护更正）"))
    return node.correct_by_province(
        old,
        fixed,
        private_key=MAINTENANCE,
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by=REQUESTER,
        confirmed_by=ACTOR,
    )


def test_the_province_corrects_a_terminated_organisations_certificate(
    node: ProvinceNode,
) -> None:
    old = issue(node, 1)
    node.anchor_all()
    # No maintenance key published yet.
    with pytest.raises(InvalidInput) as caught:
        _correct_by_province(node, old.commitment, 1)
    assert caught.value.rule == "maintenance.key_missing"
    set_member_key(node.client, MAINTENANCE_KEY_PURPOSE, SUITE.public_key(MAINTENANCE))
    # While the organisation lives, it signs its own corrections.
    with pytest.raises(InvalidInput) as caught:
        _correct_by_province(node, old.commitment, 1)
    assert caught.value.rule == "maintenance.organisation_active"

    node.organisations.terminate(ORG, actor=ACTOR, note="主体灭失")
    # The organisation's own signature no longer serves: the province maintains.
    fixed = salted(certificate(1, occupation_name="焊工（省级维护更正）"))
    with pytest.raises(InvalidInput) as caught:
        node.lifecycle.correct(
            old.commitment,
            fixed,
            sign(node, fixed),
            reason=Reason.OTHER_FIELD_ERROR,
            requested_by="org:" + ORG,
            confirmed_by=ACTOR,
        )
    assert caught.value.rule == "maintenance.province_required"
    assert caught.value.field == "signature"
    # Another private key than the published one is refused before anything is written.
    with pytest.raises(InvalidInput) as caught:
        node.correct_by_province(
            old.commitment,
            fixed,
            private_key=SUITE.generate_private_key(b"x" * 32),
            reason=Reason.OTHER_FIELD_ERROR,
            requested_by=REQUESTER,
            confirmed_by=ACTOR,
        )
    assert caught.value.rule == "maintenance.key_not_published"

    outcome = node.correct_by_province(
        old.commitment,
        fixed,
        private_key=MAINTENANCE,
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by=REQUESTER,
        confirmed_by=ACTOR,
    )
    node.anchor_all()
    bundle = node.bundles.bundle(outcome.commitment)
    signature = bundle.entry.signature
    assert signature is not None
    assert (signature.signer, signature.key_id) == (PROVINCE_SIGNER, MAINTENANCE_KEY_PURPOSE)
    assert bundle.entry.to_json()["signature"]["signer"] == "province"

    snapshot = take_snapshot(node.client)
    [member] = [m for m in snapshot.members if m.province == "44"]
    assert [k.public_key for k in member.maintenance_keys] == [SUITE.public_key(MAINTENANCE)]
    trust = SnapshotTrustSource(snapshot)
    at = int(time.time()) + 60
    # JSON and compact (QR) forms both verify.
    for result in (
        verify_bundle(bundle.to_json(), trust, at=at),
        verify_bundle_text(encode_compact(bundle), trust, at=at),
    ):
        assert result.code is ResultCode.VALID, result.to_json()
        checks = {c.name: c.detail for c in result.checks}
        assert "maintained by the province" in checks["issuer"]
        assert "maintenance key" in checks["key"]
    # The old version is superseded by the province's correction.
    assert verify_bundle(node.bundles.bundle(old.commitment).to_json(), trust, at=at).code is (
        ResultCode.SUPERSEDED
    )

    # The signer is committed: dropping it breaks the leaf (or the organisation key check).
    raw = bundle.to_json()
    del raw["entry"]["signature"]["signer"]
    assert verify_bundle(raw, trust, at=at).code is not ResultCode.VALID
    # Signed by another key than the published one: refused.
    forged = bundle.to_json()
    forged["entry"]["signature"]["value"] = SUITE.sign(
        SUITE.generate_private_key(b"y" * 32), b"other"
    ).hex()
    assert verify_bundle(forged, trust, at=at).code is not ResultCode.VALID

    # The auditor accepts it: no maintenance finding, no signature finding.
    report = audit(node.client, node.store, AuditOptions(calendar=node.calendar))
    kinds = report.kinds()
    assert not {k for k in kinds if k.startswith("maintenance.") or k == "entry.signature"}
    assert "organisation.not_active" not in kinds


def test_verifiers_refuse_a_province_signature_for_a_live_organisation(
    node: ProvinceNode,
) -> None:
    """A province-signed correction planted while the organisation was active (the node's own
    check bypassed): the verifier answers UNKNOWN_ISSUER, the auditor reports
    ``maintenance.organisation_active``."""
    old = issue(node, 2)
    node.anchor_all()
    set_member_key(node.client, MAINTENANCE_KEY_PURPOSE, SUITE.public_key(MAINTENANCE))
    fixed = salted(certificate(2, occupation_name="焊工（擅自更正）"))
    signature = sign_as_province(MAINTENANCE, node.network, fixed.commitment())
    # Plant: file the organisation as terminated in the node's database only, correct, restore.
    with node.db.transaction() as session:
        OrganisationRepository(session).set_status(ORG, "terminated", now=node.clock())
    outcome = node.lifecycle.correct(
        old.commitment,
        fixed,
        signature,
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by=REQUESTER,
        confirmed_by=ACTOR,
        maintenance_key=SUITE.public_key(MAINTENANCE),
    )
    node.anchor_all()
    bundle: Bundle = node.bundles.bundle(outcome.commitment)
    trust = SnapshotTrustSource(take_snapshot(node.client))
    result = verify_bundle(bundle.to_json(), trust, at=int(time.time()) + 60)
    assert result.code is ResultCode.UNKNOWN_ISSUER
    report = audit(node.client, node.store, AuditOptions(calendar=node.calendar))
    assert "maintenance.organisation_active" in report.kinds()
