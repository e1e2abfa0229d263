"""Format-2 certificates (专项职业能力证书, 职业资格证书) through bulk intake (issue #17, item 1):
a submission file read as the CLI and the API's bulk jobs read it, checked one row per chunk
position in the writer or in worker processes, with every rule of the one-by-one path and the
refused rows named by rule id."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot
from certreg.dev.sample import KEY_VALID_FROM, sample_certificate
from node.core.certificate import Certificate
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.formats.submissions import InvalidRow, ReadRow, read_submission
from node.core.issuer import submission_row
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import ResultCode, verify_bundle_text
from node.services.intake_checks import Accepted
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import ACTOR, KEY, NOW, ON_TIME, SUITE, salted, sign
from tests.province.test_certificate_types import REGISTRY_CODE, henan

__all__ = ["henan"]

QUALIFICATION_ORG = "S000143011001"


@pytest.fixture
def hunan(database: Database, reg: Registry, tmp_path: Path) -> ProvinceNode:
    """A Hunan (43) node whose node.json gives a 职业资格证书 number format, with the sample
    qualification organisation filed."""
    client = reg.as_(2)
    public_key = SUITE.public_key(KEY)
    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(
            code=QUALIFICATION_ORG,
            province="43",
            name="长沙市示例职业技能鉴定所",
            scope=[{"occupation_code": c, "levels": [3]} for c in ("6-20-01-01", "6-18-01-01")]
            + [{"occupation_code": c, "levels": [3]} for c in ("4-03-02-01", "6-31-01-03")],
            now=NOW,
        )
        orgs.add_key(
            QUALIFICATION_ORG,
            suite="ed25519",
            public_key=public_key,
            valid_from=KEY_VALID_FROM,
            now=NOW,
        )
    client.file_organisation(QUALIFICATION_ORG, b"\x03" * 32, 1, public_key, KEY_VALID_FROM, 0)
    return ProvinceNode(
        province="43",
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


def lines(node: ProvinceNode, certificates: list[Certificate]) -> bytes:
    out = io.BytesIO()
    for certificate in certificates:
        s = salted(certificate)
        row = submission_row(s, sign(node, s))
        out.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return out.getvalue()


def read(data: bytes) -> Iterator[ReadRow]:
    return read_submission(io.BytesIO(data), "jsonl")


def special(serial: int, **changes: object) -> Certificate:
    base = sample_certificate(random.Random(serial), serial, certificate_type="special_ability")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def qualification(serial: int, **changes: object) -> Certificate:
    base = sample_certificate(
        random.Random(serial), serial, certificate_type="vocational_qualification"
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def check_bulk(
    node: ProvinceNode, data: bytes, workers: int, refused: dict[int, str]
) -> list[Accepted]:
    """Ingest ``data`` per row (``workers`` worker processes); the rows of ``refused`` (row
    number -> rule) are refused, the others anchored and verified VALID as format 2."""
    outcomes = list(
        node.intake.iter_per_row(
            read(data), received_on=ON_TIME, actor=ACTOR, chunk_size=2, workers=workers
        )
    )
    got = {o.row_number: o.error.rule for o in outcomes if o.error is not None}
    assert got == refused
    accepted = [o.accepted for o in outcomes if o.accepted is not None]
    assert len(accepted) == len(outcomes) - len(refused) > 0
    node.anchor_all()
    trust = SnapshotTrustSource(take_snapshot(node.client))
    for a in accepted:
        bundle = node.bundles.bundle(a.commitment)
        assert bundle.version == 2
        result = verify_bundle_text(encode_compact(bundle), trust, at=int(time.time()) + 60)
        assert result.code is ResultCode.VALID, result
    return accepted


@pytest.mark.parametrize("workers", [0, 1])
def test_special_ability_rows_in_bulk(henan: ProvinceNode, workers: int) -> None:
    data = lines(
        henan,
        [
            special(2),
            special(4, level=3),  # 不划分等级
            special(6),
            special(8, organisation_code="16015002", certificate_number="251601500200008"),
            special(2),  # the same certificate again
            special(3),  # 美甲: not in the examining body's filed scope
        ],
    )
    accepted = check_bulk(
        henan,
        data,
        workers,
        {
            2: "level.ungraded",
            4: "organisation.unknown",
            5: "serial.duplicate",
            6: "scope.occupation",
        },
    )
    # Filed under the examining body's registry code, in the log and the certificate rows.
    bundle = henan.bundles.bundle(accepted[0].commitment)
    assert bundle.entry.organisation_code == REGISTRY_CODE
    assert bundle.certificate_type == "special_ability"


@pytest.mark.parametrize("workers", [0, 1])
def test_vocational_qualification_rows_in_bulk(hunan: ProvinceNode, workers: int) -> None:
    data = lines(
        hunan,
        [
            # Two in one chunk: a 职业资格证书 number has no serial rule (no serial.duplicate).
            qualification(1),
            qualification(3),
            # The province's configured number format (node.json qualification_number).
            qualification(2, certificate_number="2544" + qualification(2).certificate_number[4:]),
            qualification(4, level=2),  # outside the filed scope
        ],
    )
    check_bulk(hunan, data, workers, {3: "qualnum.format", 4: "scope.level"})


def test_atomic_bulk_of_a_new_type_refuses_the_file_at_its_first_broken_rule(
    henan: ProvinceNode,
) -> None:
    data = lines(henan, [special(2), special(4, level=3)])
    with pytest.raises(InvalidRow) as caught:
        henan.intake.submit_bulk(read(data), mode="atomic", received_on=ON_TIME, actor=ACTOR)
    assert (caught.value.row_number, caught.value.rule) == (2, "level.ungraded")
    assert henan.status().log_size == 0
    result = henan.intake.submit_bulk(
        read(lines(henan, [special(2), special(4)])),
        mode="atomic",
        received_on=ON_TIME,
        actor=ACTOR,
    )
    assert [o.accepted is not None for o in result.outcomes] == [True, True]
