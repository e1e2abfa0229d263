"""A 专项职业能力证书 end to end (issue #17, item 1): filed examining body, intake, anchoring,
export, offline verification VALID and, five years after issue, EXPIRED; on SQLite and
PostgreSQL against the in-process EVM."""

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
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.entry import examining_body_registry_code
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import ResultCode, day_bounds, expiry_of, verify_bundle_text
from node.storage import Database, OrganisationRepository
from province.config import NodeConfig, new_config
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


def test_vocational_qualification_number_format_comes_from_the_configuration(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    """A Hunan node accepts a 职业资格证书 whose number matches its configured format, and
    refuses one that does not; without a format it accepts none."""
    client = reg.as_(2)
    code = "S000143011001"
    public_key = SUITE.public_key(KEY)
    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(
            code=code,
            province="43",
            name="长沙市示例职业技能鉴定所",
            scope=[{"occupation_code": "6-20-01-01", "levels": [3]}],
            now=NOW,
        )
        orgs.add_key(
            code, suite="ed25519", public_key=public_key, valid_from=KEY_VALID_FROM, now=NOW
        )
    client.file_organisation(code, b"\x03" * 32, 1, public_key, KEY_VALID_FROM, 0)

    def node(pattern: str | None) -> ProvinceNode:
        return ProvinceNode(
            province="43",
            db=database,
            client=client,
            store=LocalManifestStore(tmp_path / "manifests"),
            cipher=cipher(),
            blind_index=blind_index(),
            batch_size=1,
            max_age_seconds=3600.0,
            calendar=WorkdayCalendar.default(),
            clock=lambda: NOW,
            qualification_number=None if pattern is None else re.compile(pattern),
        )

    certificate = sample_certificate(
        random.Random(6), 5, certificate_type="vocational_qualification"
    )
    s = salted(certificate)
    for pattern, rule in (
        (None, "qualnum.not_configured"),
        (r"[0-9]{2}44[0-9]{16}", "qualnum.format"),
    ):
        hunan = node(pattern)
        with pytest.raises(InvalidInput) as caught:
            hunan.intake.submit(
                s, sign(hunan, s), received_on=ON_TIME, late_reason=None, actor=ACTOR
            )
        assert caught.value.rule == rule
    hunan = node(r"[0-9]{2}43[0-9]{16}")
    accepted = hunan.intake.submit(
        s, sign(hunan, s), received_on=ON_TIME, late_reason=None, actor=ACTOR
    )
    hunan.anchor_all()
    bundle = hunan.bundles.bundle(accepted.commitment)
    assert bundle.certificate_type == "vocational_qualification" and bundle.version == 2
    trust = SnapshotTrustSource(take_snapshot(client))
    result = verify_bundle_text(encode_compact(bundle), trust, at=int(time.time()) + 60)
    assert result.code is ResultCode.VALID
    # No term: still valid decades on.
    later = verify_bundle_text(
        encode_compact(bundle), trust, at=int(time.time()) + 40 * 365 * 86400
    )
    assert later.code is ResultCode.VALID


def test_node_json_carries_the_qualification_number_format(tmp_path: Path) -> None:
    """node.json ``qualification_number``: read, written back, and a pattern that does not
    compile is refused with its rule id."""
    config = new_config(
        tmp_path,
        province="43",
        rpc="http://127.0.0.1:8545",
        contract="0x" + "11" * 20,
        operator_key=None,
    )
    assert config.qualification_number is None
    value = {**config.to_json(), "qualification_number": "[0-9]{2}43[0-9]{16}"}
    read = NodeConfig.from_json(value, path=tmp_path / "node.json")
    assert read.qualification_number == "[0-9]{2}43[0-9]{16}"
    assert read.to_json()["qualification_number"] == "[0-9]{2}43[0-9]{16}"
    for bad in ("[0-9", "", 7):
        with pytest.raises(InvalidInput) as caught:
            NodeConfig.from_json({**value, "qualification_number": bad}, path=tmp_path / "n.json")
        assert caught.value.rule == "config.qualification_number"
