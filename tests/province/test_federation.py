"""Queries across provinces (互通) over three real uvicorn-served province APIs on loopback:
Henan answers a Guangdong query by number and by name + ID number, for the public and for a
sharing partner, says clearly when Guangdong is down, and Guangdong applies its own rules and
writes its own access log. The signed requests are refused when unsigned, signed by another
key, replayed or stale."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from anchor.member_keys import NODE_API, set_member_key
from province.federation import QUERY_PATH, Federation
from tests.api.helpers import holder
from tests.province.federation_nodes import Consortium, start_consortium
from tests.sharing_data import terms_json

FIVE = {
    "orgName": "x",
    "username": "李经办",
    "itemName": "入职核验",
    "itemCode": "I-7",
    "businessCode": "B-2025-7",
}


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    found = start_consortium(tmp_path_factory.mktemp("federation"))
    try:
        yield found
    finally:
        found.close()


def reads_of(consortium: Consortium, code: str) -> list[dict[str, Any]]:
    """Every access record of a province, oldest first."""
    from node.storage.access_log import AccessLog

    province = consortium[code]
    with province.node.db.transaction() as session:
        return [json.loads(t) for _, t, _ in AccessLog(session, code).rows()]


def partner_key(consortium: Consortium, **changes: Any) -> tuple[str, str]:
    """A Henan agreement of an employer platform and its partner key."""
    henan = consortium["41"]
    agreement = henan.node.sharing.add(_terms(**changes), actor="operator:41")
    from api.auth import create_api_key

    return agreement.id, create_api_key(henan.node.db, "partner", agreement.id)


def _terms(**changes: Any) -> Any:
    from node.core.sharing import parse_terms

    return parse_terms(terms_json(**changes))


def test_henan_answers_a_guangdong_query_by_number_and_by_name_and_id(
    consortium: Consortium,
) -> None:
    person = holder(1)
    henan = consortium["41"]
    before = len(reads_of(consortium, "44"))
    by_number = henan.get(
        "/v1/certificates/search",
        {"certificate_number": person.certificate_number, "name": person.holder_name},
    ).json()
    assert by_number["asked"] == ["44"] and by_number["unanswered"] == {}
    [match] = by_number["matches"]
    assert match["province"] == "44" and match["status"] == "active"
    assert (
        match["certificate"]["id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    )
    assert person.id_number not in json.dumps(by_number)
    by_name = henan.get(
        "/v1/certificates/search", {"name": person.holder_name, "id_number": person.id_number}
    ).json()
    assert by_name["asked"] == ["41", "43", "44"] and by_name["unanswered"] == {}
    assert [m["commitment"] for m in by_name["matches"]] == [match["commitment"]]
    # Guangdong recorded both reads as its own, with Henan as the way in; Henan recorded them
    # too, as the searches its caller made.
    guangdong = reads_of(consortium, "44")[before:]
    assert [(r["operation"], r["requester"]["via"], r["result"]) for r in guangdong] == [
        ("federated_search", "41", "found"),
        ("federated_search", "41", "found"),
    ]
    assert reads_of(consortium, "43")[-1]["result"] == "not_found"  # Hunan was asked too
    henan_reads = reads_of(consortium, "41")[-2:]
    assert [r["operation"] for r in henan_reads] == ["search", "search"]
    assert henan_reads[0]["commitments"] == [match["commitment"]]


def test_a_henan_partner_queries_guangdong_under_its_agreement(consortium: Consortium) -> None:
    person = holder(2)
    henan = consortium["41"]
    agreement_id, key = partner_key(consortium)
    for query in (
        {"certificate_number": person.certificate_number, "id_number": person.id_number},
        {"name": person.holder_name, "id_number": person.id_number},
    ):
        got = henan.get("/v1/certificates/search", {**query, **FIVE}, key=key)
        assert got.status_code == 200, got.text
        [match] = got.json()["matches"]
        shown = match["certificate"]
        assert shown["holder_name"] == person.holder_name  # the agreement gives names
        assert shown["id_number"] != person.id_number  # and masks ID numbers
    # Guangdong checked the forwarded agreement itself and logged the partner's five fields.
    [*_, last] = reads_of(consortium, "44")
    assert last["operation"] == "federated_query" and last["agreement"] == agreement_id
    assert last["audit"]["businessCode"] == FIVE["businessCode"]
    assert last["audit"]["orgName"] == "示例人力资源服务平台有限公司"
    assert last["requester"] == {
        "role": "partner",
        "key_id": last["requester"]["key_id"],
        "scope": agreement_id,
        "via": "41",
    }
    # An agreement that does not cover Guangdong: Henan does not even ask it.
    before = len(reads_of(consortium, "44"))
    _, henan_only = partner_key(consortium, provinces=["41", "43"])
    got = henan.get(
        "/v1/certificates/search",
        {"certificate_number": person.certificate_number, "name": person.holder_name, **FIVE},
        key=henan_only,
    ).json()
    assert got["matches"] == [] and got["unanswered"] == {"44": "refused:sharing.province"}
    assert len(reads_of(consortium, "44")) == before


def test_henan_says_clearly_when_guangdong_is_down(consortium: Consortium) -> None:
    person = holder(3)
    henan, guangdong = consortium["41"], consortium["44"]
    guangdong.server.stop()
    try:
        started = time.monotonic()
        got = henan.get(
            "/v1/certificates/search",
            {"certificate_number": person.certificate_number, "name": person.holder_name},
        )
        assert got.status_code == 200
        assert got.json() == {"matches": [], "asked": ["44"], "unanswered": {"44": "unreachable"}}
        by_name = henan.get(
            "/v1/certificates/search", {"name": person.holder_name, "id_number": person.id_number}
        ).json()
        assert by_name["unanswered"] == {"44": "unreachable"} and by_name["matches"] == []
        assert time.monotonic() - started < 5
    finally:
        guangdong.server.start()
    assert (
        henan.get(
            "/v1/certificates/search",
            {"certificate_number": person.certificate_number, "name": person.holder_name},
        ).json()["unanswered"]
        == {}
    )


def _signed(federation: Federation, body: bytes, **override: str) -> dict[str, str]:
    headers = federation.headers("POST", QUERY_PATH, body)
    headers.update(override)
    return headers


def test_signed_requests_are_checked(consortium: Consortium) -> None:
    guangdong, henan = consortium["44"], consortium["41"]
    url = guangdong.url + QUERY_PATH
    person = holder(1)
    body = json.dumps(
        {
            "query": {"certificate_number": person.certificate_number, "name": person.holder_name},
            "requester": {"role": "public", "key_id": None, "scope": ""},
            "agreement": None,
            "audit": {},
        }
    ).encode()
    fed = henan.node.federation
    assert fed is not None

    def post(headers: dict[str, str], data: bytes = body) -> requests.Response:
        return requests.post(url, data=data, headers=headers, timeout=10)

    def rule(reply: requests.Response) -> tuple[int, str]:
        return reply.status_code, reply.json()["rule"]

    assert rule(post({"Content-Type": "application/json"})) == (422, "federation.headers")
    good = _signed(fed, body)
    assert post(good).status_code == 200
    assert rule(post(good)) == (401, "federation.replay")
    # Another key than the one Henan published; a body other than the one signed.
    impostor = Federation("41", secrets.token_bytes(32), {}, fed.client)
    assert rule(post(_signed(impostor, body))) == (401, "federation.signature")
    assert rule(post(_signed(fed, body), body + b" ")) == (401, "federation.signature")
    # Too old; a province with no key on the contract.
    late = Federation(
        "41", consortium.secrets["41"], {}, fed.client, clock=lambda: time.time() - 600
    )
    assert rule(post(_signed(late, body))) == (422, "federation.stale")
    nobody = Federation("45", secrets.token_bytes(32), {}, fed.client)
    assert rule(post(_signed(nobody, body))) == (401, "federation.unknown_province")


def test_guangdong_applies_its_own_rules_to_a_forwarded_agreement(consortium: Consortium) -> None:
    guangdong, henan = consortium["44"], consortium["41"]
    fed = henan.node.federation
    assert fed is not None
    person = holder(1)
    agreement = henan.node.sharing.add(_terms(provinces=["41"]), actor="operator:41")
    body = {
        "query": {"certificate_number": person.certificate_number, "name": person.holder_name},
        "requester": {"role": "partner", "key_id": 9, "scope": agreement.id},
        "agreement": agreement.to_json(),
        "audit": FIVE,
    }
    answer = fed.ask(["44"], body)["44"]
    assert answer.reason == "refused:sharing.province"
    last = reads_of(consortium, "44")[-1]
    assert (last["result"], last["rule"], last["agreement"]) == (
        "refused",
        "sharing.province",
        agreement.id,
    )
    # An agreement Henan forwards as another province's is refused too.
    forged = {
        **body,
        "agreement": {
            **agreement.to_json(),
            "id": "43-000001",
            "province": "43",
            "provinces": ["44"],
        },
    }
    assert fed.ask(["44"], forged)["44"].reason == "refused:sharing.agreement_id"
    assert reads_of(consortium, "44")[-1]["rule"] == "sharing.agreement_id"
    assert guangdong.code == "44"


def test_a_rotated_key_is_taken_at_once(consortium: Consortium) -> None:
    henan = consortium["41"]
    old = henan.node.federation
    assert old is not None
    person = holder(2)
    query = {"certificate_number": person.certificate_number, "name": person.holder_name}
    assert henan.get("/v1/certificates/search", query).json()["unanswered"] == {}
    # Henan's node gets a new key; Guangdong's cached old one fails once, then it reads again.
    new = Federation("41", secrets.token_bytes(32), old.peers, old.client, timeout=1.5)
    set_member_key(old.client, NODE_API, new.public_key)
    henan.node.federation = new
    try:
        assert henan.get("/v1/certificates/search", query).json()["unanswered"] == {}
    finally:
        set_member_key(old.client, NODE_API, old.public_key)
        henan.node.federation = old
        new.close()


def test_a_province_that_does_not_answer_in_time_is_named(consortium: Consortium) -> None:
    import socket

    fed = consortium["41"].node.federation
    assert fed is not None
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        saved = fed.peers["43"]
        fed.peers["43"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        try:
            started = time.monotonic()
            answers = fed.ask(["43", "44"], {"query": {}, "requester": {"role": "public"}})
            waited = time.monotonic() - started
        finally:
            fed.peers["43"] = saved
    assert answers["43"].reason == "timeout" and fed.timeout <= waited < fed.timeout + 1.5
    assert answers["44"].reason == "refused:query.two_of_three"  # asked in parallel


def test_cli_search_works_from_any_province(
    consortium: Consortium, capsys: pytest.CaptureFixture[str]
) -> None:
    from certreg.cli import main

    person = holder(3)
    for code in ("41", "43", "44"):
        status = main(
            [
                "search",
                "--api",
                consortium[code].url,
                "--certificate-number",
                person.certificate_number,
                "--name",
                person.holder_name,
                "--json",
            ]
        )
        got = json.loads(capsys.readouterr().out)
        assert status == 0 and got["matches"][0]["province"] == "44", code
    status = main(
        [
            "search",
            "--api",
            consortium["43"].url,
            "--name",
            person.holder_name,
            "--id-number",
            person.id_number,
        ]
    )
    text = capsys.readouterr().out
    assert status == 0 and f"44  {person.certificate_number}  active" in text
    assert person.id_number not in text
    status = main(["search", "--api", consortium["43"].url, "--name", person.holder_name])
    assert status == 1 and "query.two_of_three" in capsys.readouterr().err
