"""Corrections and revocations of the new certificate types (专项职业能力证书 special_ability,
职业资格证书 vocational_qualification) end to end: corrected through the node, anchored, exported
and verified (the old version SUPERSEDED, the new one VALID), revoked (REVOKED), and the
auditor's replay finds nothing wrong with them (中就培发〔2022〕1号 arts. 12, 14)."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
from pathlib import Path

import pytest

from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot
from audit.auditor import AuditOptions, audit
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.compact import encode_compact
from node.core.formats.entry import examining_body_registry_code
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.reasons import Reason
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import ResultCode, verify_bundle_text
from node.services.lifecycle import LifecycleService
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import (
    ACTOR,
    KEY,
    NOW,
    ON_TIME,
    SUITE,
    certificate,
    file_sample_organisation,
    issue,
    make_node,
    salted,
    sign,
)

#: (province, registry code, filed name, scope levels, operator account) per type.
SETUPS = {
    "special_ability": (
        "41",
        examining_body_registry_code(SAMPLE_EXAMINING_BODY, "41"),
        "郑州市示例专项职业能力考核站",
        [0],
        1,
    ),
    "vocational_qualification": ("43", "S000143011001", "长沙市示例职业技能鉴定所", [3], 2),
}


def _node(database: Database, reg: Registry, tmp_path: Path, certificate_type: str) -> ProvinceNode:
    province, code, name, levels, account = SETUPS[certificate_type]
    client = reg.as_(account)
    public_key = SUITE.public_key(KEY)
    occupations = sorted(
        {_certificate(certificate_type, serial).occupation_code for serial in (1, 2)}
    )
    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(
            code=code,
            province=province,
            name=name,
            scope=[{"occupation_code": o, "levels": levels} for o in occupations],
            now=NOW,
        )
        orgs.add_key(
            code, suite="ed25519", public_key=public_key, valid_from=KEY_VALID_FROM, now=NOW
        )
    client.file_organisation(code, b"\x04" * 32, 1, public_key, KEY_VALID_FROM, 0)
    return ProvinceNode(
        province=province,
        db=database,
        client=client,
        store=LocalManifestStore(tmp_path / "manifests"),
        cipher=cipher(),
        blind_index=blind_index(),
        batch_size=1000,
        max_age_seconds=3600.0,
        calendar=WorkdayCalendar.default(),
        clock=lambda: NOW,
        qualification_number=re.compile(r"[0-9]{2}43[0-9]{16}"),
    )


def _certificate(certificate_type: str, serial: int) -> Certificate:
    return sample_certificate(random.Random(5), serial, certificate_type=certificate_type)


@pytest.mark.parametrize("certificate_type", sorted(SETUPS))
def test_correct_and_revoke_each_new_type(
    database: Database, reg: Registry, tmp_path: Path, certificate_type: str
) -> None:
    node = _node(database, reg, tmp_path, certificate_type)
    accepted = []
    for serial in (1, 2):
        s = salted(_certificate(certificate_type, serial))
        accepted.append(
            node.intake.submit(s, sign(node, s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
        )
    node.anchor_all()
    first, second = accepted

    original = _certificate(certificate_type, 1)
    fixed = salted(dataclasses.replace(original, holder_name=original.holder_name + "明"))
    corrected = node.lifecycle.correct(
        first.commitment,
        fixed,
        sign(node, fixed),
        reason=Reason.HOLDER_NAME_ERROR,
        requested_by="org:clerk",
        confirmed_by=ACTOR,
    )
    assert corrected.supersedes == first.commitment
    revoked = node.lifecycle.revoke(
        second.commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR
    )
    assert revoked.status == "revoked"
    node.anchor_all()

    new_bundle = node.bundles.bundle(corrected.commitment)
    assert new_bundle.certificate_type == certificate_type and new_bundle.version == 2
    assert new_bundle.entry.kind == "correct"
    assert new_bundle.entry.organisation_code == SETUPS[certificate_type][1]
    trust = SnapshotTrustSource(take_snapshot(node.client))
    at = int(time.time()) + 60
    for bundle, want in (
        (new_bundle, ResultCode.VALID),
        (node.bundles.bundle(first.commitment), ResultCode.SUPERSEDED),
        (node.bundles.bundle(second.commitment), ResultCode.REVOKED),
    ):
        for text in (bundle.to_json(), encode_compact(bundle)):
            raw = text if isinstance(text, str) else json.dumps(text)
            assert verify_bundle_text(raw, trust, at=at).code is want, (certificate_type, want)

    report = audit(node.client, node.store, AuditOptions(calendar=node.calendar))
    kinds = report.kinds()
    # The fixture's clock is 2025 while the in-process chain's blocks carry today's time, and
    # the scope hash filed above names no published document: those findings are the
    # fixture's. Nothing about the correction or the revocation.
    assert not {
        k for k in kinds if k.startswith(("correction", "entry.", "status", "commitment"))
    }, [(f.kind, f.message, f.evidence.get("rule")) for f in report.findings]


def test_a_correction_keeps_the_certificate_type(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    """A skill_level certificate's number also fits the vocational_qualification envelope: a
    correction that keeps the number but changes the committed type is refused."""
    file_sample_organisation(database, reg.as_(0))
    node = make_node(database, reg.as_(0), tmp_path)
    # Guangdong configured a 职业资格证书 format that a skill-level number also fits.
    node.lifecycle = LifecycleService(
        database,
        "44",
        node.network,
        node.cipher,
        node.blind_index,
        clock=node.clock,
        qualification_number=re.compile(r"S[0-9]{21}"),
    )
    old = issue(node, 1)
    retyped = salted(
        dataclasses.replace(certificate(1), certificate_type="vocational_qualification")
    )
    with pytest.raises(InvalidInput) as caught:
        node.lifecycle.correct(
            old.commitment,
            retyped,
            sign(node, retyped),
            reason=Reason.OTHER_FIELD_ERROR,
            requested_by="org:clerk",
            confirmed_by=ACTOR,
        )
    assert (caught.value.field, caught.value.rule) == (
        "certificate_type",
        "correction.certificate_type",
    )
