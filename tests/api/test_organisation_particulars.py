"""The public organisation list (issue #17, item 8): address, contact, filing number and
filing period of each filing (中就培函〔2020〕16号 (三), after 人社鉴发〔2019〕3号; Henan
豫人社办函〔2020〕51号 (三): 备案期限), and mergers with the merged-into link kept in the
filing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_api_key
from api.context import ApiSettings
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_ORGANISATION_NAME
from node.core.errors import InvalidInput
from node.storage import Database
from province.node import ProvinceNode
from province.organisations import parse_filing
from tests.contract.conftest import Registry
from tests.province.helpers import ACTOR, KEY, ON_TIME, ORG, SCOPE, SUITE, make_node, salted, sign
from tests.province.helpers import certificate as sample

OTHER = "S000144011002"
THIRD = "S000144011003"
PARTICULARS = {
    "address": "广州市天河区示例路 1 号",
    "contact": "020-12345678",
    "filing_number": "粤备 2025-001",
    "filing_period": {"from": "2025-01-01", "until": "2027-12-31"},
}


def filing(code: str = ORG, **changes: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": SAMPLE_ORGANISATION_NAME if code == ORG else "广州市另一示例评价中心",
        "scope": SCOPE,
        "keys": [
            {
                "suite": "ed25519",
                "public_key": SUITE.public_key(KEY).hex(),
                "valid_from": KEY_VALID_FROM,
            }
        ],
        **changes,
    }


@pytest.fixture
def node(database: Database, reg: Registry, tmp_path: Path) -> ProvinceNode:
    return make_node(database, reg.as_(0), tmp_path)


@pytest.fixture
def client(node: ProvinceNode, database: Database, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(node, ApiSettings(search_burst=1000, static_dir=tmp_path / "static"))
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {create_api_key(database, 'operator', '44')}"
        yield c


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    body = client.get("/v1/organisations").json()
    return {o["code"]: o for o in body["organisations"]}


def test_the_public_list_shows_the_particulars_of_the_filing(client: TestClient) -> None:
    assert client.post("/v1/organisations", json=filing(**PARTICULARS)).status_code == 201
    assert client.post("/v1/organisations", json=filing(OTHER)).status_code == 201
    orgs = listed(client)
    shown = orgs[ORG]
    assert shown["address"] == PARTICULARS["address"]
    assert shown["contact"] == "020-12345678"
    assert shown["filing_number"] == "粤备 2025-001"
    assert shown["filing_period"] == {"from": "2025-01-01", "until": "2027-12-31"}
    assert shown["merged_into"] is None
    # A filing without particulars lists them as null; the keys are always there.
    assert {orgs[OTHER][k] for k in ("address", "contact", "filing_number")} == {None}
    assert orgs[OTHER]["filing_period"] is None
    assert client.get(f"/v1/organisations/{ORG}").json()["filing_number"] == "粤备 2025-001"


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"address": ""}, "address", "filing.particular"),
        ({"contact": " 020 "}, "contact", "filing.particular"),
        ({"filing_number": "x" * 201}, "filing_number", "filing.particular"),
        ({"address": "a\nb"}, "address", "filing.particular"),
        ({"filing_period": {"from": "2025-13-01"}}, "filing_period.from", "filing.period"),
        (
            {"filing_period": {"from": "2025-01-01", "until": "2024-01-01"}},
            "filing_period.until",
            "filing.period",
        ),
        ({"filing_period": {"until": "2027-01-01"}}, "filing_period", "filing.period"),
        ({"filing_period": "2025-2027"}, "filing_period", "filing.period"),
    ],
)
def test_bad_particulars_are_refused(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filing(filing(**changes))
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_a_merger_retires_the_code_and_keeps_the_link(
    client: TestClient, node: ProvinceNode
) -> None:
    for code in (ORG, OTHER, THIRD):
        assert client.post("/v1/organisations", json=filing(code)).status_code == 201

    def merge(code: str, into: str) -> Any:
        return client.post(f"/v1/organisations/{code}/merge", json={"into": into})

    assert merge(ORG, ORG).json()["rule"] == "merge.self"
    assert merge(ORG, "S000144011009").json()["rule"] == "merge.into_unknown"
    done = merge(ORG, OTHER)
    assert done.status_code == 200, done.text
    orgs = listed(client)
    assert orgs[ORG]["status"] == "terminated" and orgs[ORG]["merged_into"] == OTHER
    assert node.client.organisation(ORG).status != 1  # no longer active on chain
    assert merge(ORG, OTHER).status_code == 200  # a repeat changes nothing
    # The merged-away code issues nothing more.
    s = salted(sample(1))
    with pytest.raises(InvalidInput) as caught:
        node.intake.submit(s, sign(node, s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
    assert caught.value.rule == "organisation.not_active"
    # Nothing merges into a terminated organisation, and a merged one stays merged.
    assert merge(OTHER, ORG).json()["rule"] == "merge.into_not_active"
    with pytest.raises(InvalidInput) as again:
        node.organisations.merge(ORG, into=THIRD, actor=ACTOR)
    assert again.value.rule == "merge.already"
