"""Who sees what (data guide arts. 18-22, docs/SHARING.md) over a real node: the search's views
by role, superseded and withdrawn certificates, sharing partners within and outside their
agreement's period, quota, provinces and fields, the access log with the five fields and its
anchored head, traffic flags, and the holder's redacted bundle, one-time code and access log.

Runs on SQLite with the in-process EVM and on PostgreSQL with anvil (the other two pairings
add nothing these tests could catch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchor.manifest import Manifest
from audit.auditor import AuditOptions, audit
from node.core.formats.access import parse_export
from node.core.formats.bundle import Bundle
from node.core.formats.commitment import Disclosed, Redacted
from node.core.sharing import TrafficThresholds
from node.storage import Database
from tests.api.conftest import Api, make_api
from tests.api.helpers import genuine_but_late, holder, row
from tests.api.test_api import refused, three_fields
from tests.contract.conftest import Registry
from tests.sharing_data import terms_json

PAIRS = {("sqlite", "memory"), ("postgresql", "anvil")}
FIVE = {
    "orgName": "示例人力资源服务平台有限公司",
    "username": "张经办",
    "itemName": "入职技能核验",
    "itemCode": "JY-0001",
    "businessCode": "BJ-2025-000042",
}


@pytest.fixture
def api(database: Database, reg: Registry, tmp_path: Path, backend: str) -> Iterator[Api]:
    if (backend, reg.chain.name) not in PAIRS:
        pytest.skip("sharing runs on SQLite + in-process EVM and PostgreSQL + anvil")
    yield from make_api(database, reg, tmp_path)


def agreement(api: Api, **changes: Any) -> tuple[str, str]:
    """Record an agreement through the API as Guangdong's operator; return its id and a
    partner key bound to it."""
    made = api.client.post(
        "/v1/sharing/agreements", json=terms_json(**changes), headers=api.auth("operator")
    )
    assert made.status_code == 201, made.text
    agreement_id = made.json()["id"]
    key = api.client.post(
        f"/v1/sharing/agreements/{agreement_id}/keys",
        json={"label": "platform"},
        headers=api.auth("operator"),
    )
    assert key.status_code == 201, key.text
    return agreement_id, key.json()["key"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def search(api: Api, params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return api.client.get("/v1/certificates/search", params=params, headers=headers or {})


# -- views by role ---------------------------------------------------------------------------


def test_search_views_by_role(api: Api) -> None:
    person = holder(2)
    query = {"certificate_number": person.certificate_number, "name": person.holder_name}
    masked = person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    cases = {
        None: (person.holder_name, masked),
        "public": (person.holder_name, masked),
        "other_issuer": (person.holder_name, masked),
        "operator41": (person.holder_name, masked),
        "issuer": (person.holder_name, person.id_number),
        "operator": (person.holder_name, person.id_number),
        "auditor": (person.holder_name, person.id_number),
    }
    for role, (name, id_number) in cases.items():
        got = search(api, query, None if role is None else api.auth(role))
        assert got.status_code == 200, got.text
        [match] = got.json()["matches"]
        assert (match["certificate"]["holder_name"], match["certificate"]["id_number"]) == (
            name,
            id_number,
        ), role
        assert match["province"] == "44" and "salt" not in got.text


def test_partner_sees_what_its_agreement_gives(api: Api) -> None:
    person = holder(1)
    query = {"certificate_number": person.certificate_number, "id_number": person.id_number}
    _, names_only = agreement(api)  # holder_name in full, ID number masked
    _, nothing = agreement(api, fields=[])
    _, everything = agreement(api, fields=["holder_name", "id_number"])
    _, status_only = agreement(api, operations=["status"])
    masked = person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    expected = {
        names_only: (person.holder_name, masked),
        nothing: (person.holder_name[0] + "*" * (len(person.holder_name) - 1), masked),
        everything: (person.holder_name, person.id_number),
    }
    for key, (name, id_number) in expected.items():
        [match] = search(api, {**query, **FIVE}, bearer(key)).json()["matches"]
        shown = match["certificate"]
        assert (shown["holder_name"], shown["id_number"]) == (name, id_number)
    [match] = search(api, {**query, **FIVE}, bearer(status_only)).json()["matches"]
    assert match["status"] == "active" and "certificate" not in match
    # A partner's query names its business and matter (the national platform's practice).
    for missing, rule in (
        ("businessCode", "access.business_code"),
        ("itemCode", "access.item_code"),
    ):
        params = {k: v for k, v in {**query, **FIVE}.items() if k != missing}
        refused(search(api, params, bearer(names_only)), 422, missing, rule)


def test_partner_outside_its_period_quota_provinces_or_purpose(api: Api) -> None:
    person = holder(1)
    query = {"certificate_number": person.certificate_number, "name": person.holder_name, **FIVE}
    # The node's clock is 2025-06-20 (tests/province/helpers.py NOW).
    _, later = agreement(api, starts_at="2025-07-01T00:00:00+08:00")
    refused(search(api, query, bearer(later)), 403, "agreement", "sharing.period")
    _, past = agreement(
        api, starts_at="2024-01-01T00:00:00+08:00", ends_at="2025-06-01T00:00:00+08:00"
    )
    refused(search(api, query, bearer(past)), 403, "agreement", "sharing.period")
    refused(
        search(api, {**query, "UseFor": "营销"}, bearer(later)), 403, "agreement", "sharing.period"
    )
    _, henan_only = agreement(api, provinces=["41"])
    got = search(api, query, bearer(henan_only)).json()
    assert got["matches"] == [] and got["unanswered"] == {"44": "refused:sharing.province"}
    agreement_id, small = agreement(api, daily_quota=2)
    for _ in range(2):
        assert search(api, query, bearer(small)).status_code == 200
    over = search(api, query, bearer(small))
    refused(over, 429, "agreement", "sharing.quota")
    assert int(over.headers["Retry-After"]) == 14 * 3600  # NOW is 10:00 in Beijing
    _, wrong_purpose = agreement(api)
    refused(
        search(api, {**query, "UseFor": "营销"}, bearer(wrong_purpose)),
        403,
        "UseFor",
        "sharing.purpose",
    )
    # Ending the agreement revokes its key at once and records the deletion instruction.
    ended = api.client.post(
        f"/v1/sharing/agreements/{agreement_id}/end",
        json={"reason": "合作终止"},
        headers=api.auth("operator"),
    ).json()
    assert ended["state"] == "ended" and ended["keys_revoked"] == 1
    assert "Delete" in ended["deletion_instruction"]
    refused(search(api, query, bearer(small)), 401, "authorization", "auth.unknown_key")
    refused(
        api.client.post(
            f"/v1/sharing/agreements/{agreement_id}/keys", json={}, headers=api.auth("operator")
        ),
        422,
        "scope",
        "auth.agreement",
    )


def test_only_operators_manage_agreements(api: Api) -> None:
    agreement_id, key = agreement(api)
    c = api.client
    for role in ("issuer", "public", "operator41"):
        refused(
            c.post("/v1/sharing/agreements", json=terms_json(), headers=api.auth(role)),
            403,
            "authorization",
            "auth.role" if role != "operator41" else "auth.province",
        )
    refused(c.get("/v1/sharing/agreements"), 401, "authorization", "auth.missing")
    assert c.get("/v1/sharing/agreements", headers=api.auth("auditor")).status_code == 200
    # A partner reads its own agreement, not another's or the list.
    assert c.get(f"/v1/sharing/agreements/{agreement_id}", headers=bearer(key)).status_code == 200
    other, _ = agreement(api)
    refused(
        c.get(f"/v1/sharing/agreements/{other}", headers=bearer(key)),
        403,
        "authorization",
        "auth.role",
    )
    refused(
        c.post(
            "/v1/sharing/agreements",
            json=terms_json(credit_code="91410100MA12345670"),
            headers=api.auth("operator"),
        ),
        422,
        "agreement.credit_code",
        "uscc.check",
    )
    refused(
        c.get("/v1/sharing/agreements/44-999999", headers=api.auth("operator")),
        404,
        "agreement",
        "sharing.unknown",
    )


# -- superseded and withdrawn certificates ------------------------------------------------------


def test_search_shows_superseded_revoked_and_suspended_versions_without_personal_data(
    api: Api,
) -> None:
    c = api.client
    person = holder(2)
    old = api.issued[1].commitment.hex()
    fixed = row(api.node, 2, holder_name=person.holder_name + "明")
    corrected = c.post(
        f"/v1/certificates/{old}/correct",
        json={"row": fixed, "reason": 401, "requested_by": "S000144011001:clerk"},
        headers=api.auth("operator"),
    )
    assert corrected.status_code == 201, corrected.text
    new = corrected.json()["commitment"]
    query = {"certificate_number": person.certificate_number, "id_number": person.id_number}
    matches = {m["commitment"]: m for m in search(api, query).json()["matches"]}
    assert set(matches) == {old, new}
    assert matches[old] == {
        "province": "44",
        "certificate_number": person.certificate_number,
        "commitment": old,
        "status": "superseded",
        "superseded_by": new,
    }
    assert matches[new]["certificate"]["holder_name"] == person.holder_name + "明"
    # The holder of the old paper (old name and number) is told it was superseded, not nothing.
    [only] = search(api, {**query, "name": person.holder_name, "id_number": ""}).json()["matches"]
    assert only["status"] == "superseded" and only["superseded_by"] == new
    # Revoked and suspended: the status only.
    for i, action, reason in ((0, "revoke", 106), (2, "suspend", 206)):
        c.post(
            f"/v1/certificates/{api.issued[i].commitment.hex()}/{action}",
            json={"reason": reason},
            headers=api.auth("operator"),
        ).raise_for_status()
        who = holder(i + 1)
        got = search(api, three_fields(who)).json()["matches"]
        assert [set(m) for m in got] == [{"province", "certificate_number", "commitment", "status"}]
        assert who.holder_name not in json.dumps(got)


# -- the access log -----------------------------------------------------------------------------


def test_access_log_records_the_five_fields_and_its_anchored_head_verifies(api: Api) -> None:
    person = holder(3)
    agreement_id, key = agreement(api)
    query = {"certificate_number": person.certificate_number, "name": person.holder_name}
    search(api, {**query, **FIVE, "UseFor": "招聘核验"}, bearer(key)).raise_for_status()
    search(api, query).raise_for_status()
    target = api.issued[2].commitment
    reads = api.node.access.about([target])
    assert [r["operation"] for r in reads] == ["search", "partner_query"]
    partner = reads[1]
    assert {k: partner[k] for k in FIVE} == {**FIVE, "orgName": "示例人力资源服务平台有限公司"}
    assert (partner["agreement"], partner["purpose"], partner["role"]) == (
        agreement_id,
        "招聘核验",
        "partner",
    )
    # The records hold no personal data of the holder.
    with api.node.db.transaction() as session:
        from node.storage.access_log import AccessLog

        texts = [t for _, t, _ in AccessLog(session, "44").rows()]
    assert texts and not any(person.holder_name in t or person.id_number in t for t in texts)
    # A new checkpoint's manifest carries the head; the log checks against it.
    api.client.post("/v1/certificates", json=row(api.node, 4), headers=api.auth("issuer"))
    anchored = api.client.post("/v1/checkpoints", headers=api.auth("operator")).json()["anchored"]
    manifest = Manifest.from_bytes(api.node.store.get(anchored["manifest_cid"]))
    head = api.client.get("/v1/access-log/head").json()
    assert manifest.version == 2 and manifest.access_log is not None
    assert manifest.access_log.count == head["count"] >= 2
    assert manifest.access_log.head.hex() == head["head"]
    assert api.node.access.verify() == []
    # The auditor, given the export (hashes only), proves no record was dropped.
    export = api.client.get("/v1/access-log/export", headers=api.auth("auditor"))
    assert person.holder_name not in export.text
    hashes = parse_export(export.text.splitlines())
    client = api.node.client
    clean = audit(client, api.node.store, AuditOptions(access_logs={"44": hashes}))
    assert "access_log.mismatch" not in clean.kinds()
    dropped = audit(
        client, api.node.store, AuditOptions(access_logs={"44": hashes[:1] + hashes[2:]})
    )
    assert "access_log.mismatch" in dropped.kinds()


def test_traffic_report_flags_a_harvesting_partner(api: Api) -> None:
    api.node.sharing.thresholds = TrafficThresholds(min_queries=10)
    steady_id, steady = agreement(api)
    harvest_id, harvester = agreement(api)
    person = holder(1)
    for _ in range(12):  # one applicant checked again and again: found every time
        search(api, {**three_fields(person), **FIVE}, bearer(steady)).raise_for_status()
    for i in range(12):  # ever new names with a number: mostly misses
        guess = {"certificate_number": person.certificate_number, "name": f"王{i}号", **FIVE}
        search(api, guess, bearer(harvester)).raise_for_status()
    got = api.client.get("/v1/sharing/report", params={"days": 1}, headers=api.auth("operator"))
    partners = {p["agreement"]: p for p in got.json()["partners"]}
    assert not partners[steady_id]["flagged"]
    [day] = partners[harvest_id]["days"]
    assert (day["queries"], day["misses"], day["distinct_names"]) == (12, 12, 12)
    assert day["flags"] == ["harvest.misses", "harvest.distinct_names"]
    assert partners[harvest_id]["flagged"]
    refused(
        api.client.get("/v1/sharing/report", headers=bearer(harvester)),
        403,
        "authorization",
        "auth.role",
    )


# -- the holder -----------------------------------------------------------------------------------


def test_holder_redacted_bundle_code_and_access_log(api: Api) -> None:
    c = api.client
    person = holder(3)
    full = three_fields(person)
    redacted = c.get("/v1/holder/bundle", params={**full, "disclose": "occupation_name"})
    bundle = Bundle.from_json(redacted.json())
    assert isinstance(bundle.certificate.fields["holder_name"], Redacted)
    assert isinstance(bundle.certificate.fields["id_number"], Redacted)
    assert isinstance(bundle.certificate.fields["occupation_name"], Disclosed)
    assert person.holder_name.encode() not in redacted.content
    assert person.id_number.encode() not in redacted.content
    assert genuine_but_late(c.post("/v1/verify", json=redacted.json()).json())
    refused(
        c.get("/v1/holder/bundle", params={**full, "disclose": "salt"}),
        422,
        "disclose",
        "bundle.disclose",
    )
    # A one-time code from the issuer: the bundle once, without the ID number.
    path = f"/v1/certificates/{api.issued[2].commitment.hex()}/holder-code"
    refused(
        c.post(path, json={}, headers=api.auth("other_issuer")),
        403,
        "commitment",
        "auth.organisation",
    )
    made = c.post(path, json={"ttl_days": 2}, headers=api.auth("issuer"))
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert made.json()["certificate_number"] == person.certificate_number
    with_code = c.get("/v1/holder/bundle", params={"code": code.lower().replace("-", " ")})
    assert with_code.status_code == 200 and person.id_number.encode() in with_code.content
    refused(c.get("/v1/holder/bundle", params={"code": code}), 422, "code", "holder.code_unknown")
    refused(c.get("/v1/holder/pdf", params={"code": "not-a-code"}), 422, "code", "holder.code")
    # Who read it: the holder sees the partner's read with its purpose and five fields.
    _, key = agreement(api)
    search(api, {**full, **FIVE, "UseFor": "招聘核验"}, bearer(key)).raise_for_status()
    reads = c.get("/v1/holder/access-log", params=full).json()["reads"]
    partner = [r for r in reads if r["role"] == "partner"]
    assert partner and partner[0]["businessCode"] == FIVE["businessCode"]
    assert partner[0]["purpose"] == "招聘核验" and partner[0]["result"] == "found"
    assert {r["operation"] for r in reads} >= {"holder_bundle", "partner_query"}
    assert "key_id" not in json.dumps(reads)
    for two in ({k: v for k, v in full.items() if k != "name"},):
        refused(c.get("/v1/holder/access-log", params=two), 422, "name", "holder.three_fields")


def test_holder_of_another_provinces_certificate_is_sent_there(api: Api) -> None:
    number = "S000141000007" + "25" + "3" + "000001"
    refused(
        api.client.get(
            "/v1/holder/bundle",
            params={"certificate_number": number, "name": "某", "id_number": "1"},
        ),
        404,
        "certificate_number",
        "holder.other_province",
    )


def test_failed_matches_survive_a_new_app_on_the_same_database(api: Api, tmp_path: Path) -> None:
    """Regression: the count was in one process's memory; several API processes (and a
    restart) each got their own five tries."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.context import ApiSettings

    person = holder(1)
    guess = dict(three_fields(person), id_number=holder(2).id_number)
    for _ in range(3):
        refused(
            api.client.get("/v1/holder/bundle", params=guess), 404, "query", "certificate.unknown"
        )
    settings = ApiSettings(search_burst=1000, static_dir=tmp_path, holder_failures_per_day=5)
    with TestClient(create_app(api.node, settings)) as second:
        for _ in range(1):
            refused(
                second.get("/v1/holder/bundle", params=guess), 404, "query", "certificate.unknown"
            )
        refused(
            second.get("/v1/holder/bundle", params=guess),
            429,
            "certificate_number",
            "holder.attempts_exhausted",
        )
