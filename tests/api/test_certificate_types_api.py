"""Format-2 certificates through the API (issue #17, item 1): a 专项职业能力证书 and a
职业资格证书 submitted one at a time (``POST /v1/certificates``) and in a bulk job
(``POST /v1/certificates/bulk``), by their issuer (a 专项 examining body is the issuer filed under
its registry code) or the province's operator; broken rules refused with their rule ids."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_api_key
from api.context import ApiSettings
from node.core.certificate import Certificate
from node.core.issuer import submission_row
from node.storage import Database
from province.node import ProvinceNode
from tests.province.helpers import salted, sign
from tests.province.test_certificate_type_intake import (
    QUALIFICATION_ORG,
    hunan,
    qualification,
    special,
)
from tests.province.test_certificate_types import REGISTRY_CODE, henan

__all__ = ["henan", "hunan"]


class Client:
    def __init__(self, client: TestClient, node: ProvinceNode, keys: dict[str, str]) -> None:
        self.client, self.node, self.keys = client, node, keys

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def row(self, certificate: Certificate) -> dict[str, Any]:
        s = salted(certificate)
        return submission_row(s, sign(self.node, s))

    def wait(self, job: str, role: str) -> dict[str, Any]:
        for _ in range(400):
            state = self.client.get(f"/v1/jobs/{job}", headers=self.auth(role)).json()
            if state["state"] in ("done", "failed"):
                return dict(state)
            time.sleep(0.05)
        raise AssertionError("job did not finish")


def serve(node: ProvinceNode, database: Database, tmp_path: Path, issuer: str) -> Iterator[Client]:
    keys = {
        "operator": create_api_key(database, "operator", node.province),
        "issuer": create_api_key(database, "issuer", issuer),
        "other_issuer": create_api_key(database, "issuer", "S000144011001"),
    }
    app = create_app(node, ApiSettings(search_burst=1000, static_dir=tmp_path / "static"))
    with TestClient(app) as client:
        yield Client(client, node, keys)


@pytest.fixture
def henan_api(henan: ProvinceNode, database: Database, tmp_path: Path) -> Iterator[Client]:
    yield from serve(henan, database, tmp_path, REGISTRY_CODE)


@pytest.fixture
def hunan_api(hunan: ProvinceNode, database: Database, tmp_path: Path) -> Iterator[Client]:
    yield from serve(hunan, database, tmp_path, QUALIFICATION_ORG)


def refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body.get("field"), body.get("rule")


def test_one_special_ability_certificate(henan_api: Client) -> None:
    c = henan_api
    posted = c.client.post("/v1/certificates", json=c.row(special(2)), headers=c.auth("issuer"))
    assert posted.status_code == 201, posted.text
    assert posted.json()["certificate_number"] == "251601500100002"
    c.node.anchor_all()
    assert c.node.bundles.bundle(bytes.fromhex(posted.json()["commitment"])).version == 2
    # Its rules, with their rule ids.
    bad = c.client.post(
        "/v1/certificates", json=c.row(special(4, level=3)), headers=c.auth("operator")
    )
    assert refusal(bad) == (422, "level", "level.ungraded")
    row = c.row(special(6))
    row["certificate_type"] = "专项能力"
    assert refusal(c.client.post("/v1/certificates", json=row, headers=c.auth("issuer"))) == (
        422,
        "certificate_type",
        "intake.certificate_type",
    )
    # Another organisation's issuer key may not write the examining body's certificates.
    assert refusal(
        c.client.post("/v1/certificates", json=c.row(special(6)), headers=c.auth("other_issuer"))
    ) == (403, "organisation_code", "auth.organisation")


def test_one_vocational_qualification_certificate(hunan_api: Client) -> None:
    c = hunan_api
    posted = c.client.post(
        "/v1/certificates", json=c.row(qualification(1)), headers=c.auth("issuer")
    )
    assert posted.status_code == 201, posted.text
    number = "2544" + qualification(3).certificate_number[4:]
    bad = c.client.post(
        "/v1/certificates",
        json=c.row(qualification(3, certificate_number=number)),
        headers=c.auth("issuer"),
    )
    assert refusal(bad) == (422, "certificate_number", "qualnum.format")


def test_bulk_job_of_special_ability_certificates_in_csv(henan_api: Client) -> None:
    c = henan_api
    rows = [c.row(special(2)), c.row(special(4, level=3)), c.row(special(6))]
    header = list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["证书类型" if h == "certificate_type" else h for h in header])
    for r in rows:
        cells = [json.dumps(r[k]) if isinstance(r[k], dict) else str(r[k]) for k in header]
        cells[header.index("certificate_type")] = "专项职业能力证书"
        cells[header.index("level")] = "不划分等级" if r["level"] == 0 else str(r["level"])
        writer.writerow(cells)
    started = c.client.post(
        "/v1/certificates/bulk",
        content=out.getvalue().encode(),
        headers={**c.auth("issuer"), "content-type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    job = c.wait(started.json()["id"], "issuer")
    assert (job["state"], job["accepted"], job["refused"]) == ("done", 2, 1)
    results = job["results"]
    assert [r.get("rule") for r in results] == [None, "level.ungraded", None]
    assert results[2]["certificate_number"] == "251601500100006"


def test_bulk_job_of_vocational_qualification_certificates(hunan_api: Client) -> None:
    c = hunan_api
    number = "2544" + qualification(3).certificate_number[4:]
    rows = [
        c.row(qualification(1)),
        c.row(qualification(3, certificate_number=number)),
        c.row(qualification(5)),
    ]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    started = c.client.post(
        "/v1/certificates/bulk",
        content=body.encode(),
        headers={**c.auth("operator"), "content-type": "application/x-ndjson"},
    )
    assert started.status_code == 202, started.text
    job = c.wait(started.json()["id"], "operator")
    assert (job["state"], job["accepted"], job["refused"]) == ("done", 2, 1)
    assert [r.get("rule") for r in job["results"]] == [None, "qualnum.format", None]
