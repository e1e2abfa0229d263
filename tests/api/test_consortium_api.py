"""``/v1/consortium``: governance through Guangdong's API (its operator account signs), on both
database backends and both chains; the other provinces vote with their own accounts."""

from __future__ import annotations

from anchor.governance import Governance
from tests.api.conftest import Api
from tests.contract.conftest import Registry


def test_a_vote_through_the_api(api: Api, reg: Registry) -> None:
    accounts = reg.chain.accounts
    body = {"kind": "admit", "province": "11", "operators": [accounts[6]]}
    assert api.client.post("/v1/consortium/proposals", json=body).status_code == 401
    refused = api.client.post("/v1/consortium/proposals", json=body, headers=api.auth("issuer"))
    assert refused.status_code == 403 and refused.json()["rule"] == "auth.role"
    other = api.client.post("/v1/consortium/proposals", json=body, headers=api.auth("operator41"))
    assert other.status_code == 403 and other.json()["rule"] == "auth.province"

    made = api.client.post("/v1/consortium/proposals", json=body, headers=api.auth("operator"))
    assert made.status_code == 201, made.text
    proposal = made.json()
    assert (proposal["id"], proposal["kind"], proposal["province"]) == (0, "admit", "11")
    assert (proposal["approvals"], proposal["needed"], proposal["state"]) == (["44"], 2, "open")

    listed = api.client.get("/v1/consortium/proposals", headers=api.auth("auditor"))
    assert listed.status_code == 200 and [p["id"] for p in listed.json()["proposals"]] == [0]
    assert api.client.get("/v1/consortium/proposals").status_code == 401

    early = api.client.post("/v1/consortium/proposals/0/execute", headers=api.auth("operator"))
    assert early.status_code == 409 and early.json()["rule"] == "consortium.refused"
    assert "MembershipInsufficientApprovals" in early.json()["detail"]

    Governance(reg.as_(1)).approve(0)  # Henan votes with its own account
    ready = api.client.get("/v1/consortium/proposals/0", headers=api.auth("public"))
    assert ready.status_code == 200 and ready.json()["state"] == "ready"
    done = api.client.post("/v1/consortium/proposals/0/execute", headers=api.auth("operator"))
    assert done.status_code == 200 and done.json()["state"] == "executed"
    members = api.client.get("/v1/consortium/members", headers=api.auth("auditor")).json()
    assert [m["province"] for m in members["members"]] == ["44", "41", "43", "11"]
    assert api.client.get(
        "/v1/consortium/proposals?open=true", headers=api.auth("auditor")
    ).json() == {"proposals": []}


def test_refusals(api: Api) -> None:
    operator = api.auth("operator")
    unknown = api.client.get("/v1/consortium/proposals/3", headers=operator)
    assert unknown.status_code == 404 and unknown.json()["rule"] == "consortium.proposal"
    approve = api.client.post("/v1/consortium/proposals/3/approve", headers=operator)
    assert approve.status_code == 404 and approve.json()["rule"] == "consortium.proposal"
    for body, rule in (
        ({"kind": "elect", "province": "11", "operators": []}, "consortium.kind"),
        (
            {"kind": "remove", "province": "43", "operators": ["0x" + "12" * 20]},
            "consortium.operators",
        ),
        ({"kind": "admit", "province": "11", "operators": ["nobody"]}, "consortium.operators"),
        (
            {"kind": "admit", "province": "x1", "operators": ["0x" + "12" * 20]},
            "consortium.province",
        ),
        ({"kind": "remove", "operators": []}, "consortium.province"),
        ({"kind": "max-checkpoint-growth"}, "consortium.growth"),
    ):
        reply = api.client.post("/v1/consortium/proposals", json=body, headers=operator)
        assert reply.status_code == 422 and reply.json()["rule"] == rule, reply.text
    member = {"kind": "admit", "province": "41", "operators": ["0x" + "12" * 20]}
    taken = api.client.post("/v1/consortium/proposals", json=member, headers=operator)
    assert taken.status_code == 409 and "MembershipAlreadyMember" in taken.json()["detail"]
    extra = api.client.post(
        "/v1/consortium/proposals",
        json={**member, "note": "x"},
        headers=operator,
    )
    assert extra.status_code == 422


def test_a_growth_proposal_through_the_api(api: Api) -> None:
    """Kind 4 (proposeMaxCheckpointGrowth) concerns the proposer's own province."""
    made = api.client.post(
        "/v1/consortium/proposals",
        json={"kind": "max-checkpoint-growth", "growth": 5000},
        headers=api.auth("operator"),
    )
    assert made.status_code == 201, made.text
    view = made.json()
    assert (view["kind"], view["kind_number"], view["operators"]) == (
        "max-checkpoint-growth",
        4,
        [],
    )
    assert view["province"] == view["proposer_province"]
