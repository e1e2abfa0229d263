"""Filing a 专项职业能力 examining body (issue #17, item 1): by its 8-digit code
(豫人社办函〔2020〕41号 二(四)) under its registry code, with an ungraded scope, through the
province node and the API operator route; its certificates are then accepted and the auditor
reads its published scope document."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anchor.manifest import LocalManifestStore
from api.app import create_app
from api.auth import create_api_key
from api.context import ApiSettings
from audit.auditor import AuditOptions, audit
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.errors import InvalidInput
from node.core.formats.entry import examining_body_registry_code
from node.core.issuer import submission_row
from node.core.rules.certnum import examining_body_of_registry_code
from node.core.rules.scope import parse_scope_document
from node.core.rules.workdays import WorkdayCalendar
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from province.organisations import parse_filing
from tests.contract.conftest import Registry
from tests.node.storage.conftest import blind_index, cipher
from tests.province.helpers import ACTOR, KEY, NOW, ON_TIME, SUITE, salted, sign

NAME = "郑州市示例专项职业能力考核站"
REGISTRY_CODE = examining_body_registry_code(SAMPLE_EXAMINING_BODY, "41")


def filing(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "examining_body",
        "code": SAMPLE_EXAMINING_BODY,
        "name": NAME,
        "scope": [{"occupation_code": "4-03-02-01", "levels": [0]}],
        "keys": [
            {
                "suite": "ed25519",
                "public_key": SUITE.public_key(KEY).hex(),
                "valid_from": KEY_VALID_FROM,
            }
        ],
        **changes,
    }


def refused(obj: dict[str, Any], province: str = "41") -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_filing(obj, province=province)
    return caught.value.field, caught.value.rule


def test_an_examining_body_is_filed_under_its_registry_code() -> None:
    parsed = parse_filing(filing(), province="41")
    assert parsed.code == REGISTRY_CODE == "S160141500100"
    assert parsed.kind == "examining_body" and parsed.category is None
    document = parsed.document("41")
    assert document.to_json()["kind"] == "examining_body"
    assert parse_scope_document(document.to_bytes()) == document
    # The core's reading of the layout agrees with the entry's.
    assert examining_body_of_registry_code(REGISTRY_CODE, "41") == SAMPLE_EXAMINING_BODY
    assert examining_body_of_registry_code(REGISTRY_CODE, "44") is None
    # A skill-level filing's document has no kind key (its bytes are unchanged).
    skill = parse_filing(
        filing(kind=None, code="S000144011001", name="广州市示例职业技能评价中心有限公司")
        | {"scope": [{"occupation_code": "4-03-02-01", "levels": [3]}]},
        province="44",
    )
    assert "kind" not in skill.document("44").to_json()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"code": "1601500"}, ("code", "examining_body.code")),
        ({"code": "16014001"}, ("code", "examining_body.code")),  # position 5 is not 5
        ({"code": 16015001}, ("code", "examining_body.code")),
        ({"kind": "branch"}, ("kind", "filing.kind")),
        (
            {"scope": [{"occupation_code": "4-03-02-01", "levels": [3]}]},
            ("scope[0].levels", "scope.ungraded"),
        ),
        (
            {"scope": [{"occupation_code": "4-03-02-01", "levels": [0, 3]}]},
            ("scope[0].levels", "level.range"),
        ),
        ({"name": "中国示例专项职业能力考核站"}, None),  # forbidden words: the service's check
    ],
)
def test_examining_body_filing_rules(
    changes: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    if expected is None:
        parse_filing(filing(**changes), province="41")
        return
    assert refused(filing(**changes)) == expected


def test_a_skill_level_filing_is_graded() -> None:
    obj = filing(kind=None, code="S000144011001", name="广州市示例职业技能评价中心有限公司")
    del obj["kind"]
    assert refused(obj, "44") == ("scope[0].levels", "scope.ungraded")


def test_a_scope_document_claiming_the_kind_for_another_code_is_refused() -> None:
    document = parse_filing(filing(), province="41").document("41")
    forged = document.to_bytes().replace(REGISTRY_CODE.encode(), b"S000141011001")
    with pytest.raises(InvalidInput) as caught:
        parse_scope_document(forged)
    assert caught.value.rule == "examining_body.registry_code"


@pytest.fixture
def henan(database: Database, reg: Registry, tmp_path: Path) -> ProvinceNode:
    """A Henan (41) node with nothing filed."""
    return ProvinceNode(
        province="41",
        db=database,
        client=reg.as_(1),
        store=LocalManifestStore(tmp_path / "manifests"),
        cipher=cipher(),
        blind_index=blind_index(),
        batch_size=1,
        max_age_seconds=3600.0,
        calendar=WorkdayCalendar.default(),
        clock=lambda: NOW,
    )


def test_filed_through_the_node_then_its_certificate_is_accepted(henan: ProvinceNode) -> None:
    change = henan.organisations.file(parse_filing(filing(), province="41"), actor=ACTOR)
    assert change.code == REGISTRY_CODE and change.written
    assert henan.client.organisation(REGISTRY_CODE).status == 1
    certificate = sample_certificate(random.Random(2), 2, certificate_type="special_ability")
    s = salted(certificate)
    henan.intake.submit(s, sign(henan, s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
    henan.anchor_all()
    # The auditor fetched and read the examining body's scope document (no scope.* finding).
    report = audit(henan.client, henan.store, AuditOptions(calendar=henan.calendar))
    assert not {k for k in report.kinds() if k.startswith("scope")}


@pytest.fixture
def api(henan: ProvinceNode, database: Database, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(henan, ApiSettings(search_burst=1000, static_dir=tmp_path / "static"))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {create_api_key(database, 'operator', '41')}"
        yield client


def test_filed_through_the_api_then_its_issuer_submits(
    api: TestClient, henan: ProvinceNode, database: Database
) -> None:
    bad = api.post("/v1/organisations", json=filing(code="16014001"))
    assert (bad.status_code, bad.json()["rule"]) == (422, "examining_body.code")
    posted = api.post("/v1/organisations", json=filing())
    assert posted.status_code == 201, posted.text
    assert posted.json()["code"] == REGISTRY_CODE
    with database.transaction() as session:
        record = OrganisationRepository(session).get(REGISTRY_CODE)
        assert record is not None and record.name == NAME
    issuer = create_api_key(database, "issuer", REGISTRY_CODE)
    certificate = sample_certificate(random.Random(4), 4, certificate_type="special_ability")
    s = salted(certificate)
    submitted = api.post(
        "/v1/certificates",
        json=submission_row(s, sign(henan, s)),
        headers={"Authorization": f"Bearer {issuer}"},
    )
    assert submitted.status_code == 201, submitted.text
