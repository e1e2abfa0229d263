"""A 专项职业能力证书 end to end (issue #17, item 1): filed examining body, intake, anchoring,
export, offline verification VALID and, five years after issue, EXPIRED; on SQLite and
PostgreSQL against the in-process EVM."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

import pytest

from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot
from audit.auditor import AuditOptions, audit
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.entry import examining_body_registry_code
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import ResultCode, day_bounds, expiry_of, verify_bundle_text
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import ACTOR, KEY, NOW, ON_TIME, SUITE, salted, sign

REGISTRY_CODE = examining_body_registry_code(SAMPLE_EXAMINING_BODY, "41")


@pytest.fixture
def henan(database: Database, reg: Registry, tmp_path: Path) -> ProvinceNode:
    """A Henan (41) node with the sample examining body 16015001 filed under its registry code
    (in the node's database and on the contract, by Henan's operator)."""
    client = reg.as_(1)
    public_key = SUITE.public_key(KEY)
    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(
            code=REGISTRY_CODE,
            province="41",
            name="郑州市示例专项职业能力考核站",
            scope=[{"occupation_code": "4-03-02-01", "levels": [0]}],
            now=NOW,
        )
        orgs.add_key(
            REGISTRY_CODE,
            suite="ed25519",
            public_key=public_key,
            valid_from=KEY_VALID_FROM,
            now=NOW,
        )
    client.file_organisation(REGISTRY_CODE, b"\x02" * 32, 1, public_key, KEY_VALID_FROM, 0)
    return ProvinceNode(
        province="41",
        db=database,
        client=client,
        store=LocalManifestStore(tmp_path / "manifests"),
        cipher=cipher(),
        blind_index=blind_index(),
        batch_size=1,
        max_age_seconds=3600.0,
        calendar=WorkdayCalendar.default(),
        clock=lambda: NOW,
    )


def test_special_ability_certificate_end_to_end(henan: ProvinceNode, tmp_path: Path) -> None:
    certificate = sample_certificate(random.Random(5), 2, certificate_type="special_ability")
    assert (certificate.level, len(certificate.certificate_number)) == (0, 15)
    s = salted(certificate)
    accepted = henan.intake.submit(
        s, sign(henan, s), received_on=ON_TIME, late_reason=None, actor=ACTOR
    )
    [checkpoint] = henan.anchor_all()
    assert checkpoint.tree_size == 1

    bundle = henan.bundles.bundle(accepted.commitment)
    assert bundle.version == 2 and bundle.certificate_type == "special_ability"
    assert bundle.entry.organisation_code == REGISTRY_CODE
    assert bundle.entry.to_json()["attributes"]["certificate_type"] == "special_ability"
    assert Bundle.from_json(json.loads(json.dumps(bundle.to_json()))) == bundle

    trust = SnapshotTrustSource(take_snapshot(henan.client))
    expires = expiry_of("special_ability", certificate.issue_date)
    assert expires == day_bounds("2030-06-18")[0]
    for text in (json.dumps(bundle.to_json(), ensure_ascii=False), encode_compact(bundle)):
        now = int(time.time()) + 60  # the in-process chain's blocks carry the real time
        assert verify_bundle_text(text, trust, at=now).code is ResultCode.VALID
        assert verify_bundle_text(text, trust, at=expires - 1).code is ResultCode.VALID
        assert verify_bundle_text(text, trust, at=expires).code is ResultCode.EXPIRED

    # The auditor replays the v2 entry: it reads the 15-digit number (no number mismatch;
    # serial 00002 without 00001 is a gap of examining body, year and level 0) and the
    # signature and leaf verify. The other two findings belong to this fixture: its clock is
    # 2025 while the in-process chain's blocks carry today's time, and the scope hash filed
    # above names no published document.
    report = audit(henan.client, henan.store, AuditOptions(calendar=henan.calendar))
    assert report.kinds() == {"serial.gap", "deadline.over_six_months", "scope.missing"}


def test_special_ability_refusals_at_intake(henan: ProvinceNode) -> None:
    base = sample_certificate(random.Random(5), 3, certificate_type="special_ability")
    cases = (
        (dataclasses.replace(base, level=3), "level.ungraded"),
        (
            dataclasses.replace(
                base,
                organisation_code="16015002",
                certificate_number="2516015002" + base.certificate_number[10:],
            ),
            "organisation.unknown",
        ),
    )
    for certificate, rule in cases:
        s = salted(certificate)
        with pytest.raises(InvalidInput) as caught:
            henan.intake.submit(
                s, sign(henan, s), received_on=ON_TIME, late_reason=None, actor=ACTOR
            )
        assert caught.value.rule == rule
    assert henan.status().log_size == 0
