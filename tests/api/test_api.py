"""The HTTP API end to end over a real province node (SQLite and PostgreSQL × the in-process
EVM and anvil): every endpoint, every role rule with its refusals, problem+json, two-of-three,
masking, size limits, rate limits, bulk jobs, the VC export and verification."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anchor.member_keys import set_member_key
from api.app import create_app
from api.auth import revoke_api_key
from api.context import ApiSettings
from api.vc import bundle_from_credential
from node.core.certificate import Certificate
from node.core.formats.bundle import Bundle
from node.core.formats.commitment import Disclosed
from node.core.formats.compact import decode_compact
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE
from node.core.issuer import sign_as_province, submission_row
from node.core.merkle import verify_consistency, verify_inclusion
from node.core.rules.ids import explain
from node.storage import Database
from tests.api.conftest import Api, make_api
from tests.api.helpers import genuine_but_late, holder, row
from tests.contract.conftest import Registry
from tests.province.helpers import KEY, ORG, SUITE, certificate, salted

PROBLEM = "application/problem+json"


def refused(response: object, status: int, field: str | None, rule: str) -> None:
    """The response is a problem+json with this status, field and rule, explaining the rule in
    Chinese and English from the rule-id catalogue."""
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert (body["status"], body["field"], body["rule"]) == (status, field, rule), body
    assert set(body) == {"type", "title", "status", "detail", "field", "rule", "explanation"}
    entry = explain(rule)
    assert body["explanation"] == {"zh": entry.zh, "en": entry.en, "source": entry.source}


def commitment(api: Api, i: int = 0) -> str:
    return api.issued[i].commitment.hex()


# -- public reads ------------------------------------------------------------------------------


def test_log_reads_checkpoints_and_proofs(api: Api) -> None:
    c = api.client
    status = c.get("/v1/status").json()
    assert (status["province"], status["log_size"], status["anchored_size"]) == ("44", 3, 3)
    assert (status["log_state"], status["log_state_reason"]) == ("ok", None)

    listed = c.get("/v1/checkpoints").json()
    assert listed["total"] == 1 and listed["checkpoints"][0]["tree_size"] == 3
    one = c.get("/v1/checkpoints/0").json()
    assert one == listed["checkpoints"][0] and one["state"] == "confirmed"
    refused(c.get("/v1/checkpoints/7"), 404, "index", "checkpoint.unknown")

    root = bytes.fromhex(one["root"])
    proof = c.get("/v1/proofs/inclusion", params={"commitment": commitment(api, 1)}).json()
    assert (proof["leaf_index"], proof["tree_size"], proof["root"]) == (1, 3, one["root"])
    verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]), 1, 3, [bytes.fromhex(h) for h in proof["hashes"]], root
    )
    by_index = c.get("/v1/proofs/inclusion", params={"leaf_index": 1, "tree_size": 3}).json()
    assert by_index == proof
    refused(
        c.get("/v1/proofs/inclusion", params={"leaf_index": 5, "tree_size": 3}),
        422,
        "index",
        "merkle.index_range",
    )
    refused(c.get("/v1/proofs/inclusion"), 422, "leaf_index", "proof.target")

    # A second checkpoint, then a consistency proof between the two.
    api.client.post("/v1/certificates", json=row(api.node, 4), headers=api.auth("issuer"))
    anchored = c.post("/v1/checkpoints", headers=api.auth("operator")).json()["anchored"]
    assert anchored["index"] == 1 and anchored["tree_size"] == 4
    assert c.post("/v1/checkpoints", headers=api.auth("operator")).json() == {"anchored": None}
    cons = c.get("/v1/proofs/consistency", params={"first": 3, "second": 4}).json()
    verify_consistency(
        3,
        4,
        [bytes.fromhex(h) for h in cons["hashes"]],
        bytes.fromhex(cons["first_root"]),
        bytes.fromhex(cons["second_root"]),
    )
    assert cons["first_root"] == one["root"]
    refused(
        c.get("/v1/proofs/consistency", params={"first": 4, "second": 3}),
        422,
        "first",
        "merkle.size_range",
    )
    refused(
        c.get("/v1/proofs/consistency", params={"first": 3, "second": 9}),
        422,
        "size2",
        "merkle.size_range",
    )


def test_registry_status_and_snapshot_hold_no_personal_data(api: Api) -> None:
    c = api.client
    orgs = c.get("/v1/organisations").json()["organisations"]
    assert [o["code"] for o in orgs] == [ORG]
    one = c.get(f"/v1/organisations/{ORG}").json()
    assert one["keys"][0]["public_key"] == SUITE.public_key(KEY).hex()
    refused(c.get("/v1/organisations/S000144099999"), 404, "code", "organisation.unknown")

    status = c.get(f"/v1/certificates/{commitment(api)}/status").json()
    assert status["status"] == "active" and status["checkpoint_index"] == 0
    refused(c.get(f"/v1/certificates/{'00' * 32}/status"), 404, "commitment", "certificate.unknown")
    refused(c.get("/v1/certificates/xyz/status"), 422, "commitment", "commitment.hex")

    snapshot = c.get("/v1/snapshot").json()
    assert snapshot["block"]["number"] >= 1 and ORG in json.dumps(snapshot)

    texts = [json.dumps(orgs), json.dumps(status), json.dumps(snapshot)]
    texts += [c.get("/v1/checkpoints").text, c.get("/v1/status").text]
    for serial in (1, 2, 3):
        person = holder(serial)
        for text in texts:
            assert person.holder_name not in text and person.id_number not in text


# -- search and the holder's bundle ------------------------------------------------------------


def test_search_needs_two_of_three_and_masks_the_id_number(api: Api) -> None:
    person = holder(2)
    c = api.client
    for params in (
        {"certificate_number": person.certificate_number, "name": person.holder_name},
        {"name": person.holder_name, "id_number": person.id_number},
        {"certificate_number": person.certificate_number, "id_number": person.id_number},
    ):
        [match] = c.get("/v1/certificates/search", params=params).json()["matches"]
        shown = match["certificate"]
        assert match["status"] == "active"
        assert shown["certificate_number"] == person.certificate_number
        masked = person.id_number[:4] + "*" * 10 + person.id_number[-4:]
        assert shown["id_number"] == masked
        assert person.id_number not in json.dumps(match)
    for alone in (
        {"certificate_number": person.certificate_number},
        {"name": person.holder_name},
        {"id_number": person.id_number},
        {"name": person.holder_name, "id_number": "  "},
    ):
        refused(c.get("/v1/certificates/search", params=alone), 422, "query", "query.two_of_three")
    wrong = {"certificate_number": person.certificate_number, "name": "某某某"}
    nothing = {"matches": [], "asked": ["44"], "unanswered": {}}
    assert c.get("/v1/certificates/search", params=wrong).json() == nothing


def test_suspended_certificate_shows_its_status_only(api: Api) -> None:
    person = holder(1)
    api.client.post(
        f"/v1/certificates/{commitment(api)}/suspend",
        json={"reason": 206},
        headers=api.auth("operator"),
    ).raise_for_status()
    query = {"certificate_number": person.certificate_number, "name": person.holder_name}
    [match] = api.client.get("/v1/certificates/search", params=query).json()["matches"]
    assert match["status"] == "suspended" and "certificate" not in match
    refused(
        api.client.get("/v1/holder/bundle", params=three_fields(person)),
        404,
        "query",
        "certificate.unknown",
    )


def test_search_is_rate_limited(database: Database, reg: Registry, tmp_path: Path) -> None:
    settings = ApiSettings(search_rate=0.01, search_burst=2, static_dir=tmp_path)
    for api in make_api(database, reg, tmp_path, settings):
        person = holder(1)
        query = {"certificate_number": person.certificate_number, "name": person.holder_name}
        for _ in range(2):
            assert api.client.get("/v1/certificates/search", params=query).status_code == 200
        limited = api.client.get("/v1/certificates/search", params=query)
        refused(limited, 429, None, "rate.limited")
        assert int(limited.headers["Retry-After"]) >= 1
        # The holder's bundle shares the bucket.
        refused(
            api.client.get("/v1/holder/bundle", params=three_fields(person)),
            429,
            None,
            "rate.limited",
        )
        # Public reads other than the two-of-three are not limited.
        assert api.client.get("/v1/status").status_code == 200


def three_fields(person: Certificate) -> dict[str, str]:
    """The holder's query: certificate number, name and ID number."""
    return {
        "certificate_number": person.certificate_number,
        "name": person.holder_name,
        "id_number": person.id_number,
    }


def test_holder_reads_need_all_three_fields_and_two_reveal_nothing(api: Api) -> None:
    """Regression: two of three (both printed on the paper certificate) gave anyone the full
    bundle, with the unmasked ID number and every salt."""
    person = holder(3)
    full = three_fields(person)
    salted = api.node.bundles.bundle(api.issued[2].commitment).certificate
    salts = [p.salt.hex().encode() for p in salted.fields.values() if isinstance(p, Disclosed)]
    secrets = [person.id_number.encode(), *salts]
    for path in ("/v1/holder/bundle", "/v1/holder/pdf"):
        for missing in full:
            two = {k: v for k, v in full.items() if k != missing}
            for fmt in ("json", "compact", "vc"):
                got = api.client.get(path, params={**two, "format": fmt})
                refused(got, 422, missing, "holder.three_fields")
                assert not any(secret in got.content for secret in secrets)
        blank = api.client.get(path, params={**full, "name": " "})
        refused(blank, 422, "name", "holder.three_fields")
    pdf = api.client.get("/v1/holder/pdf", params=full)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bundle = api.client.get("/v1/holder/bundle", params=full)
    assert person.id_number.encode() in bundle.content


def test_no_endpoint_gives_an_unentitled_caller_an_id_number_or_a_salt(api: Api) -> None:
    """Walk every route of the OpenAPI document as each caller that may not see personal data
    in full (no key, a public key, an issuer of another organisation, an operator of another
    province, a partner whose agreement masks the ID number), with two of the three fields
    wherever a route takes them: no response holds an unmasked ID number or a salt."""
    from tests.sharing_data import terms_json

    c = api.client
    made = c.post("/v1/sharing/agreements", json=terms_json(), headers=api.auth("operator"))
    agreement_id = made.json()["id"]
    partner = c.post(
        f"/v1/sharing/agreements/{agreement_id}/keys", json={}, headers=api.auth("operator")
    ).json()["key"]
    secrets: list[bytes] = []
    for i, accepted in enumerate(api.issued):
        secrets.append(holder(i + 1).id_number.encode())
        certificate = api.node.bundles.bundle(accepted.commitment).certificate
        secrets += [
            p.salt.hex().encode() for p in certificate.fields.values() if isinstance(p, Disclosed)
        ]
    person = holder(1)
    values = {
        "commitment": api.issued[0].commitment.hex(),
        "index": "0",
        "code": ORG,
        "key_id": "0",
        "job_id": "0" * 32,
        "agreement_id": agreement_id,
        "action": "suspend",
        "certificate_number": person.certificate_number,
        "name": person.holder_name,
        "leaf_index": "0",
        "first": "1",
        "second": "3",
        "businessCode": "B1",
        "itemCode": "I1",
    }
    callers = {
        "none": {},
        "public": api.auth("public"),
        "other issuer": api.auth("other_issuer"),
        "other province's operator": api.auth("operator41"),
        "masked partner": {"Authorization": f"Bearer {partner}"},
    }
    paths = c.get("/v1/openapi.json").json()["paths"]
    calls = 0
    for template, operations in paths.items():
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        for method, operation in operations.items():
            params = {
                p["name"]: values[p["name"]]
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p["name"] in values
            }
            for who, headers in callers.items():
                got = c.request(method.upper(), path, params=params, headers=headers, json={})
                calls += 1
                assert got.status_code < 500, (method, path, who, got.text)
                leaked = [s for s in secrets if s in got.content]
                assert not leaked, (method, template, who)
    assert calls > 150
    # Walked with two fields, the search did show certificates to the partner and the public.
    assert any(
        m.get("certificate")
        for m in c.get(
            "/v1/certificates/search", params={k: values[k] for k in ("certificate_number", "name")}
        ).json()["matches"]
    )


def test_failed_holder_matches_are_limited_per_certificate_number_per_day(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    now = [1_780_000_000.0]  # 2026-05-28 20:26:40 UTC, 04:26:40 on the 29th in China
    settings = ApiSettings(
        search_burst=1000, holder_failures_per_day=3, clock=lambda: now[0], static_dir=tmp_path
    )
    for api in make_api(database, reg, tmp_path, settings):
        person = holder(1)
        other = holder(2)
        guess = dict(three_fields(person), id_number=other.id_number)
        # Whoever asks (no key, a public key), failures count against the number.
        for headers in ({}, api.auth("public")):
            got = api.client.get("/v1/holder/bundle", params=guess, headers=headers)
            refused(got, 404, "query", "certificate.unknown")
        exhausted = api.client.get("/v1/holder/bundle", params=guess)
        refused(exhausted, 429, "certificate_number", "holder.attempts_exhausted")
        # The rest of the China day (until 16:00 UTC), then the number may be tried again.
        assert int(exhausted.headers["Retry-After"]) == 19 * 3600 + 33 * 60 + 20
        # Exhausted: the right three fields are refused too, so the third cannot be guessed.
        right = api.client.get("/v1/holder/bundle", params=three_fields(person))
        refused(right, 429, "certificate_number", "holder.attempts_exhausted")
        refused(
            api.client.get("/v1/holder/pdf", params=three_fields(person)),
            429,
            "certificate_number",
            "holder.attempts_exhausted",
        )
        # Another certificate number is not affected.
        assert api.client.get("/v1/holder/bundle", params=three_fields(other)).status_code == 200
        now[0] += 19 * 3600 + 33 * 60 + 20
        assert api.client.get("/v1/holder/bundle", params=three_fields(person)).status_code == 200


def test_holder_bundle_in_three_forms_with_the_same_proof(api: Api) -> None:
    person = holder(3)
    query = three_fields(person)
    c = api.client
    as_json = c.get("/v1/holder/bundle", params=query)
    assert as_json.headers["content-type"].startswith("application/vnd.certreg.bundle+json")
    bundle = Bundle.from_json(as_json.json())
    assert bundle.entry.commitment == api.issued[2].commitment
    compact = c.get("/v1/holder/bundle", params={**query, "format": "compact"}).text
    assert compact.startswith("CR1:") and decode_compact(compact) == bundle
    vc = c.get("/v1/holder/bundle", params={**query, "format": "vc"})
    assert vc.headers["content-type"].startswith("application/vc")
    credential = vc.json()
    assert credential["type"] == ["VerifiableCredential", "VocationalSkillCertificate"]
    assert credential["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert credential["credentialSubject"]["holder_name"] == person.holder_name
    assert credential["proof"]["bundle"]["proof"] == as_json.json()["proof"]
    assert credential["proof"]["bundle"]["anchor"] == as_json.json()["anchor"]
    assert bundle_from_credential(credential) == bundle
    # The proof the credential carries verifies like the bundle.
    verdict = c.post("/v1/verify", json=credential["proof"]["bundle"]).json()
    assert genuine_but_late(verdict)
    # A subject that differs from the bundle it carries is refused.
    forged = dict(credential, credentialSubject={**credential["credentialSubject"], "level": 1})
    with pytest.raises(Exception, match=r"vc\.subject"):
        bundle_from_credential(forged)


# -- bundles by commitment: role rules ----------------------------------------------------------


def test_bundle_by_commitment_role_rules(api: Api) -> None:
    path = f"/v1/certificates/{commitment(api)}/bundle"
    c = api.client
    for role in ("operator", "issuer"):
        got = c.get(path, headers=api.auth(role))
        assert got.status_code == 200 and got.json()["entry"]["commitment"] == commitment(api)
    refused(c.get(path, headers=api.auth("other_issuer")), 403, "commitment", "auth.organisation")
    refused(c.get(path, headers=api.auth("operator41")), 403, "commitment", "auth.province")
    refused(c.get(path, headers=api.auth("auditor")), 403, "authorization", "auth.role")
    refused(c.get(path, headers=api.auth("public")), 403, "authorization", "auth.role")
    refused(c.get(path), 401, "authorization", "auth.missing")
    bad = {"Authorization": "Bearer crk_" + "A" * 43}
    refused(c.get(path, headers=bad), 401, "authorization", "auth.unknown_key")
    refused(
        c.get(path, headers={"Authorization": "Basic abc"}), 401, "authorization", "auth.scheme"
    )
    compact = c.get(path, params={"format": "compact"}, headers=api.auth("issuer")).text
    assert compact.startswith("CR1:")


# -- writes: certificates ----------------------------------------------------------------------


def test_submit_certificate_role_rules_and_refusals(api: Api) -> None:
    c = api.client
    good = row(api.node, 4)
    refused(c.post("/v1/certificates", json=good), 401, "authorization", "auth.missing")
    for role in ("auditor", "public"):
        refused(
            c.post("/v1/certificates", json=good, headers=api.auth(role)),
            403,
            "authorization",
            "auth.role",
        )
    refused(
        c.post("/v1/certificates", json=good, headers=api.auth("other_issuer")),
        403,
        "organisation_code",
        "auth.organisation",
    )
    refused(
        c.post("/v1/certificates", json=good, headers=api.auth("operator41")),
        403,
        "organisation_code",
        "auth.province",
    )
    assert api.node.status().log_size == 3  # nothing written by the refusals

    tampered = dict(good, holder_name=good["holder_name"] + "某")  # the signature no longer matches
    refused(
        c.post("/v1/certificates", json=tampered, headers=api.auth("issuer")),
        422,
        "signature",
        "signature.invalid",
    )
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    got = c.post("/v1/certificates", json=unsigned, headers=api.auth("issuer"))
    assert got.status_code == 422 and got.json()["rule"].startswith("intake.")
    assert api.node.status().log_size == 3

    accepted = c.post("/v1/certificates", json=good, headers=api.auth("issuer"))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["log_index"] == 3
    refused(
        c.post("/v1/certificates", json=good, headers=api.auth("operator")),
        422,
        "certificate_number",
        "serial.duplicate",
    )
    assert c.post(
        "/v1/certificates", json=row(api.node, 5), headers=api.auth("operator")
    ).is_success


def _wait(api: Api, job: str, key: str = "issuer") -> dict[str, object]:
    for _ in range(200):
        state = api.client.get(f"/v1/jobs/{job}", headers=api.auth(key)).json()
        if state["state"] in ("done", "failed"):
            return dict(state)
        import time

        time.sleep(0.05)
    raise AssertionError("job did not finish")


def tampered_row(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the holder name changed after signing: the signature no longer matches."""
    return dict(values, holder_name=values["holder_name"] + "某")


def test_bulk_upload_job_progress_and_per_row_results(api: Api) -> None:
    rows = [
        row(api.node, 4),
        tampered_row(row(api.node, 5)),
        row(api.node, 6),
    ]
    rows[2] = dict(rows[2], organisation_code="S000144011002")
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    c = api.client
    started = c.post(
        "/v1/certificates/bulk",
        content=body.encode(),
        headers={**api.auth("issuer"), "content-type": "application/x-ndjson"},
    )
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/v1/jobs/{started.json()['id']}"
    assert started.json()["total"] == 3
    job = _wait(api, started.json()["id"])
    assert (job["state"], job["processed"], job["accepted"], job["refused"]) == ("done", 3, 1, 2)
    results = job["results"]
    assert isinstance(results, list)
    assert results[0]["row"] == 1 and results[0]["log_index"] == 3
    assert (results[1]["row"], results[1]["field"], results[1]["rule"]) == (
        2,
        "signature",
        "signature.invalid",
    )
    assert (results[2]["field"], results[2]["rule"]) == ("organisation_code", "auth.organisation")
    text = json.dumps(job, ensure_ascii=False)
    for serial in (4, 5, 6):
        assert holder(serial).holder_name not in text and holder(serial).id_number not in text

    # Who reads a job: its submitter, its province's operators, auditors.
    path = f"/v1/jobs/{job['id']}"
    for key in ("operator", "auditor"):
        assert c.get(path, headers=api.auth(key)).status_code == 200
    refused(c.get(path, headers=api.auth("other_issuer")), 403, "authorization", "auth.job")
    refused(c.get(path, headers=api.auth("operator41")), 403, "authorization", "auth.job")
    refused(c.get(path), 401, "authorization", "auth.missing")
    refused(c.get("/v1/jobs/nope", headers=api.auth("auditor")), 404, "job_id", "job.unknown")
    refused(
        c.post("/v1/certificates/bulk", content=body.encode(), headers=api.auth("auditor")),
        403,
        "authorization",
        "auth.role",
    )


def test_atomic_bulk_upload_takes_all_or_nothing(api: Api) -> None:
    rows = [row(api.node, 7), tampered_row(row(api.node, 8))]
    header = list(rows[0])
    csv_lines = [",".join(header)]
    for r in rows:
        cells = [json.dumps(r[k]) if isinstance(r[k], dict) else str(r[k]) for k in header]
        csv_lines.append(",".join('"' + v.replace('"', '""') + '"' for v in cells))
    body = ("\n".join(csv_lines) + "\n").encode()
    started = api.client.post(
        "/v1/certificates/bulk",
        params={"mode": "atomic"},
        content=body,
        headers={**api.auth("operator"), "content-type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    job = _wait(api, started.json()["id"], "operator")
    assert job["state"] == "failed" and job["accepted"] == 0
    assert job["results"] == [
        {
            "row": 3,
            "field": "signature",
            "rule": "signature.invalid",
            "message": job["results"][0]["message"],  # type: ignore[index]
        }
    ]
    assert api.node.status().log_size == 3
    # The same file without the bad row goes through whole.
    body = ("\n".join(csv_lines[:2]) + "\n").encode()
    again = api.client.post(
        "/v1/certificates/bulk?mode=atomic&format=csv", content=body, headers=api.auth("operator")
    )
    assert _wait(api, again.json()["id"], "operator")["accepted"] == 1


# -- writes: lifecycle and verification --------------------------------------------------------


def test_lifecycle_role_rules_and_verification_results(api: Api) -> None:
    c = api.client
    target = commitment(api)
    path = f"/v1/certificates/{target}"
    bundle = c.get(f"{path}/bundle", headers=api.auth("issuer")).json()
    compact = c.get(f"{path}/bundle", params={"format": "compact"}, headers=api.auth("issuer")).text

    assert genuine_but_late(c.post("/v1/verify", json=bundle).json())
    verdict = c.post("/v1/verify", content=compact, headers={"content-type": "text/plain"}).json()
    assert genuine_but_late(verdict) and verdict["hashes"]["commitment"] == target
    names = [ch["name"] for ch in verdict["checks"]]
    assert names[:4] == ["format", "network", "trust", "commitment"]
    tampered = json.loads(json.dumps(bundle))
    tampered["fields"]["occupation_name"]["value"] = "电工（伪）"
    assert c.post("/v1/verify", json=tampered).json()["result"] == "TAMPERED"
    assert c.post("/v1/verify", content=b"CR1:xyz").json()["result"] == "MALFORMED"
    refused(c.post("/v1/verify", content=b"\xff\xfe"), 422, "body", "verify.encoding")

    body = {"reason": 206}
    refused(c.post(f"{path}/suspend", json=body), 401, "authorization", "auth.missing")
    refused(
        c.post(f"{path}/suspend", json=body, headers=api.auth("other_issuer")),
        403,
        "commitment",
        "auth.organisation",
    )
    refused(
        c.post(f"{path}/suspend", json=body, headers=api.auth("operator41")),
        403,
        "commitment",
        "auth.province",
    )
    refused(
        c.post(f"{path}/suspend", json=body, headers=api.auth("auditor")),
        403,
        "authorization",
        "auth.role",
    )
    refused(
        c.post(f"{path}/suspend", json={"reason": 101}, headers=api.auth("issuer")),
        422,
        "reason",
        "reason.not_for_action",
    )
    done = c.post(f"{path}/suspend", json=body, headers=api.auth("issuer")).json()
    assert (done["kind"], done["status"]) == ("suspend", "suspended")
    c.post("/v1/checkpoints", headers=api.auth("operator")).raise_for_status()
    assert c.post("/v1/verify", json=bundle).json()["result"] == "SUSPENDED"

    refused(
        c.post(f"{path}/reinstate", json={"reason": 301}, headers=api.auth("issuer")),
        403,
        "authorization",
        "auth.role",
    )
    assert c.post(
        f"{path}/reinstate", json={"reason": 301}, headers=api.auth("operator")
    ).is_success
    revoked = c.post(f"{path}/revoke", json={"reason": 101}, headers=api.auth("issuer")).json()
    assert revoked["status"] == "revoked"
    refused(
        c.post(f"{path}/revoke", json={"reason": 101}, headers=api.auth("operator")),
        422,
        "status",
        "certificate.final",
    )
    c.post("/v1/checkpoints", headers=api.auth("operator")).raise_for_status()
    assert c.post("/v1/verify", json=bundle).json()["result"] == "REVOKED"
    assert c.post("/v1/verify", content=compact).json()["result"] == "REVOKED"
    refused(
        c.post(f"/v1/certificates/{'00' * 32}/revoke", json=body, headers=api.auth("operator")),
        404,
        "commitment",
        "certificate.unknown",
    )
    refused(
        c.post("/v1/checkpoints", headers=api.auth("issuer")), 403, "authorization", "auth.role"
    )
    refused(
        c.post("/v1/checkpoints", headers=api.auth("operator41")),
        403,
        "authorization",
        "auth.province",
    )


def test_correction_is_confirmed_by_an_operator(api: Api) -> None:
    c = api.client
    person = holder(2)
    fixed = row(api.node, 2, holder_name=person.holder_name + "明")
    body = {"row": fixed, "reason": 401, "requested_by": "org:clerk"}
    path = f"/v1/certificates/{commitment(api, 1)}/correct"
    refused(c.post(path, json=body, headers=api.auth("issuer")), 403, "authorization", "auth.role")
    refused(
        c.post(path, json=dict(body, reason=403), headers=api.auth("operator")),
        422,
        "reason",
        "correct.reason_mismatch",
    )
    done = c.post(path, json=body, headers=api.auth("operator"))
    assert done.status_code == 201, done.text
    assert done.json()["supersedes"] == commitment(api, 1)
    old = c.get(f"/v1/certificates/{commitment(api, 1)}/status").json()
    assert (old["status"], old["superseded_by"]) == ("superseded", done.json()["commitment"])


def test_province_corrects_a_terminated_organisations_certificate(api: Api) -> None:
    """``by_province`` (中就培发〔2022〕1号 art. 16): the row is signed by the province's
    maintenance key; refused while the organisation is active and without the flag once it is
    terminated; the corrected version verifies."""
    c = api.client
    maintenance = SUITE.generate_private_key(b"\x31" * 32)
    set_member_key(api.node.client, MAINTENANCE_KEY_PURPOSE, SUITE.public_key(maintenance))
    s = salted(certificate(3, occupation_name="焊工（省级维护更正）"))
    by_province = submission_row(s, sign_as_province(maintenance, api.node.network, s.commitment()))
    body = {"row": by_province, "reason": 403, "requested_by": "holder request"}
    path = f"/v1/certificates/{commitment(api, 2)}/correct"
    refused(
        c.post(path, json=dict(body, by_province=True), headers=api.auth("operator")),
        422,
        "organisation_code",
        "maintenance.organisation_active",
    )
    api.node.organisations.terminate(ORG, actor="op:44")
    refused(
        c.post(path, json=dict(body, row=row(api.node, 3, occupation_name="焊工（更正）")),
               headers=api.auth("operator")),
        422,
        "signature",
        "maintenance.province_required",
    )  # fmt: skip
    done = c.post(path, json=dict(body, by_province=True), headers=api.auth("operator"))
    assert done.status_code == 201, done.text
    c.post("/v1/checkpoints", headers=api.auth("operator")).raise_for_status()
    bundle = api.node.bundles.bundle(bytes.fromhex(done.json()["commitment"]))
    assert bundle.entry.signature is not None and bundle.entry.signature.by_province
    # A correction: the deadlines apply to issue entries only.
    assert c.post("/v1/verify", json=bundle.to_json()).json()["result"] == "VALID"


# -- writes: organisations ---------------------------------------------------------------------


def test_organisation_writes_are_for_the_province_operator(api: Api) -> None:
    c = api.client
    new_key = SUITE.public_key(SUITE.generate_private_key(b"\x07" * 32)).hex()
    filing = {
        "code": "S000144011003",
        "name": "广州市另一评价中心",
        "scope": [{"occupation_code": "6-20-01-01", "levels": [4, 5]}],
        "keys": [{"suite": "ed25519", "public_key": new_key, "valid_from": "2025-01-01"}],
    }
    for role, status, field, rule in (
        ("issuer", 403, "authorization", "auth.role"),
        ("auditor", 403, "authorization", "auth.role"),
        ("operator41", 403, "authorization", "auth.province"),
    ):
        refused(
            c.post("/v1/organisations", json=filing, headers=api.auth(role)), status, field, rule
        )
    refused(c.post("/v1/organisations", json=filing), 401, "authorization", "auth.missing")
    refused(
        c.post(
            "/v1/organisations",
            json=dict(filing, code="S000141011003"),
            headers=api.auth("operator"),
        ),
        422,
        "code",
        "organisation.province_node",
    )
    filed = c.post("/v1/organisations", json=filing, headers=api.auth("operator"))
    assert filed.status_code == 201, filed.text
    assert filed.json()["action"] == "organisation.file" and filed.json()["transactions"]
    assert c.get("/v1/organisations/S000144011003").json()["status"] == "active"

    base = "/v1/organisations/S000144011003"
    refused(
        c.post(f"{base}/suspend", headers=api.auth("issuer")), 403, "authorization", "auth.role"
    )
    assert c.post(f"{base}/suspend", json={"note": "检查"}, headers=api.auth("operator")).is_success
    assert c.get(base).json()["status"] == "suspended"
    assert c.post(f"{base}/reactivate", headers=api.auth("operator")).is_success
    rotated = c.post(
        f"{base}/keys",
        json={"suite": "ed25519", "public_key": "ab" * 32, "effective_at": "2026-01-01"},
        headers=api.auth("operator"),
    )
    assert rotated.status_code == 201, rotated.text
    assert [k["key_id"] for k in c.get(base).json()["keys"]] == [0, 1]
    refused(
        c.post(
            f"{base}/keys",
            json={"suite": "ed25519", "public_key": "zz", "effective_at": 0},
            headers=api.auth("operator"),
        ),
        422,
        "public_key",
        "key.public_key",
    )
    revoked = c.post(
        f"{base}/keys/1/revoke", json={"effective_at": "2026-02-01"}, headers=api.auth("operator")
    )
    assert revoked.is_success, revoked.text
    assert c.post(f"{base}/terminate", headers=api.auth("operator")).is_success
    assert c.get(base).json()["status"] == "terminated"
    refused(
        c.post("/v1/organisations/S000144099999/suspend", headers=api.auth("operator")),
        404,
        "code",
        "organisation.unknown",
    )


# -- size limits, problem+json, access logs ----------------------------------------------------


def test_size_limits(database: Database, reg: Registry, tmp_path: Path) -> None:
    settings = ApiSettings(max_body_bytes=2048, max_bulk_bytes=4096, static_dir=tmp_path)
    for api in make_api(database, reg, tmp_path, settings):
        c = api.client
        refused(c.post("/v1/verify", content=b"x" * 3000), 413, "body", "request.too_large")

        def chunks() -> object:
            for _ in range(10):
                yield b"y" * 500

        refused(c.post("/v1/verify", content=chunks()), 413, "body", "request.too_large")
        refused(
            c.post("/v1/certificates/bulk", content=b"z" * 5000, headers=api.auth("issuer")),
            413,
            "body",
            "request.too_large",
        )
        assert c.post("/v1/verify", content=b"x" * 1000).json()["result"] == "MALFORMED"


def test_access_log_has_path_templates_and_no_personal_data(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    person = holder(1)
    with caplog.at_level(logging.INFO, logger="api.access"):
        query = {"name": person.holder_name, "id_number": person.id_number}
        api.client.get("/v1/certificates/search", params=query)
        api.client.get(f"/v1/certificates/{commitment(api)}/bundle", headers=api.auth("issuer"))
        api.client.get("/nowhere")
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "api.access"]
    assert records[0] == {
        "method": "GET",
        "path": "/v1/certificates/search",
        "status": 200,
        "duration_ms": records[0]["duration_ms"],
        "role": "public",
    }
    assert records[1]["path"] == "/v1/certificates/{commitment}/bundle"
    assert records[1]["role"] == "issuer"
    assert records[2]["path"] == "(unmatched)" and records[2]["status"] == 404
    everything = caplog.text
    assert person.holder_name not in everything and person.id_number not in everything
    assert commitment(api) not in json.dumps(records)


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    refused(api.client.get("/v1/nothing"), 404, None, "http.404")
    refused(api.client.delete("/v1/status"), 405, None, "http.405")
    got = api.client.post("/v1/certificates/search")
    assert got.status_code == 405
    bad = api.client.post(
        f"/v1/certificates/{commitment(api)}/suspend",
        json={"reason": "x"},
        headers=api.auth("operator"),
    )
    refused(bad, 422, "reason", "request.int_parsing")


def test_web_page_and_static_files(database: Database, reg: Registry, tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>certreg</title>", "utf-8")
    (static / "app.js").write_text("1", "utf-8")
    for api in make_api(database, reg, tmp_path, ApiSettings(static_dir=static)):
        page = api.client.get("/")
        assert page.status_code == 200 and "certreg" in page.text
        assert str(page.url).endswith("/static/index.html")  # relative asset paths resolve
        assert api.client.get("/static/app.js").text == "1"
        spec = api.client.get("/v1/openapi.json").json()
        assert "/v1/certificates/search" in spec["paths"]


def test_the_node_serves_and_pins_its_trust_root(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    """``certreg serve --trust-root``: the page's ``trust-root.json`` and ``POST /v1/verify``
    checked against the network's root (the node vouches for its own reading of the chain)."""
    from anchor.trust_roots import assemble, publish_checkpoint_key, root_body_from_chain, sign_root
    from node.core.crypto.signatures import get_suite

    ed = get_suite("ed25519")
    keys = {p: ed.generate_private_key(f"api witness {p}".encode().ljust(32, b".")) for p in "13"}
    for digit, account in (("1", 1), ("3", 2)):
        publish_checkpoint_key(reg.as_(account), "ed25519", ed.public_key(keys[digit]))
    body = root_body_from_chain(reg.as_(0))
    document = assemble(body, [sign_root(body, f"4{d}", "ed25519", k) for d, k in keys.items()])
    path = tmp_path / "trust-root.json"
    path.write_text(json.dumps(document.to_json()), encoding="ascii")
    settings = ApiSettings(search_burst=1000, static_dir=tmp_path / "static", trust_root=path)
    for api in make_api(database, reg, tmp_path, settings):
        c = api.client
        assert c.get("/static/trust-root.json").json() == document.to_json()
        bundle = c.get(f"/v1/certificates/{commitment(api)}/bundle", headers=api.auth("issuer"))
        verdict = c.post("/v1/verify", json=bundle.json()).json()
        assert genuine_but_late(verdict) and verdict["basis"] == "chain"
        trust = next(ch for ch in verdict["checks"] if ch["name"] == "trust")
        assert trust["detail"] == "read from the chain by this node"
        other = bundle.json()
        other["network"]["chain_id"] += 1
        assert c.post("/v1/verify", json=other).json()["result"] == "WRONG_NETWORK"


def test_create_app_twice_on_one_node_is_independent(api: Api) -> None:
    other = create_app(api.node, ApiSettings(search_burst=1))
    assert other.state.context.search_limiter.burst == 1
    assert dataclasses.is_dataclass(ApiSettings())


# -- end to end on both chains, and the caches of immutable responses ------------------------------


def test_write_anchor_fetch_status_change_and_verify_on_each_chain(
    api: Api, reg: Registry, tmp_path: Path
) -> None:
    """The whole path over HTTP, on the in-process EVM and on a real anvil (``reg``): issue by
    POST, anchor, fetch the bundle and the proof (a second fetch from the caches, the same
    bytes), revoke, anchor again, verify. The cached bundle stays right after the status change
    (statuses are not in a bundle); a revoked key is refused at once (keys are not cached)."""
    c = api.client
    ctx = c.app.state.context  # type: ignore[attr-defined]
    issued = c.post("/v1/certificates", json=row(api.node, 4), headers=api.auth("issuer"))
    assert issued.status_code == 201, issued.text
    target = issued.json()["commitment"]
    path = f"/v1/certificates/{target}/bundle"
    refused(c.get(path, headers=api.auth("issuer")), 422, "commitment", "bundle.not_anchored")

    anchored = c.post("/v1/checkpoints", headers=api.auth("operator")).json()["anchored"]
    assert (anchored["index"], anchored["tree_size"]) == (1, 4)
    root = bytes.fromhex(anchored["root"])
    assert reg.as_(0).is_anchored(44, 4, root)  # on the chain under test, not only in the DB

    first = c.get(path, headers=api.auth("issuer"))
    hits = ctx.bundle_cache.hits
    again = c.get(path, headers=api.auth("operator"))
    assert ctx.bundle_cache.hits == hits + 1 and again.content == first.content
    bundle = Bundle.from_json(first.json())
    assert (bundle.anchor.checkpoint_index, bundle.proof.tree_size) == (1, 4)

    proof = c.get("/v1/proofs/inclusion", params={"commitment": target})
    assert proof.headers["content-type"] == "application/json"
    body = proof.json()
    assert (body["leaf_index"], body["tree_size"], body["root"]) == (3, 4, anchored["root"])
    assert [bytes.fromhex(h) for h in body["hashes"]] == list(bundle.proof.hashes)
    verify_inclusion(
        bytes.fromhex(body["leaf_hash"]), 3, 4, [bytes.fromhex(h) for h in body["hashes"]], root
    )
    hits = ctx.proof_cache.hits
    assert c.get("/v1/proofs/inclusion", params={"leaf_index": 3, "tree_size": 4}).content == (
        proof.content
    )
    assert ctx.proof_cache.hits == hits + 1
    assert genuine_but_late(c.post("/v1/verify", content=first.content).json())

    revoked = c.post(
        f"/v1/certificates/{target}/revoke", json={"reason": 101}, headers=api.auth("issuer")
    )
    assert revoked.json()["status"] == "revoked", revoked.text
    c.post("/v1/checkpoints", headers=api.auth("operator")).raise_for_status()
    assert c.post("/v1/verify", content=first.content).json()["result"] == "REVOKED"
    assert c.get(f"/v1/certificates/{target}/status").json()["status"] == "revoked"
    # The bundle still points at its first checkpoint: the same bytes, cached or not.
    assert c.get(path, headers=api.auth("issuer")).content == first.content
    uncached = create_app(api.node, ApiSettings(cache_entries=0, static_dir=tmp_path))
    with TestClient(uncached) as fresh:
        assert fresh.get(path, headers=api.auth("issuer")).content == first.content
        assert fresh.get("/v1/proofs/inclusion", params={"commitment": target}).json() != body
    # The default size moved with the new checkpoint: a new proof, not the cached one.
    later = c.get("/v1/proofs/inclusion", params={"commitment": target}).json()
    assert (later["leaf_index"], later["tree_size"]) == (3, 5)
    refused(
        c.get("/v1/proofs/inclusion", params={"leaf_index": 3, "tree_size": 9}),
        422,
        "size",
        "merkle.size_range",
    )

    assert revoke_api_key(api.node.db, api.keys["issuer"])
    refused(c.get(path, headers=api.auth("issuer")), 401, "authorization", "auth.unknown_key")
