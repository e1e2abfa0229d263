"""Governance through ``anchor.governance`` (what ``certreg consortium`` and ``/v1/consortium``
use), on the in-process EVM and a real anvil: the kinds table against the contract, a full
vote, member keys, and each refusal as a specific rule."""

from __future__ import annotations

import pytest

from anchor.governance import (
    KEY_PURPOSES,
    KINDS_BY_NAME,
    PROPOSAL_KINDS,
    Governance,
    proposal_kind,
)
from node.core.errors import InvalidInput
from tests.contract.conftest import Chain, Registry

WEEK = 7 * 24 * 3600


def _constants(chain: Chain, prefix: str) -> dict[str, int]:
    """The contract's ``prefix*`` constants (name → value), read from the artifact's ABI and
    called."""
    client = Registry(chain, chain.deploy().address).as_(0)
    names = [
        item["name"]
        for item in chain.artifact.abi
        if item.get("type") == "function"
        and item.get("stateMutability") in ("view", "pure")
        and not item.get("inputs")
        and str(item.get("name", "")).startswith(prefix)
    ]
    return {name: int(getattr(client.contract.functions, name)().call()) for name in names}


def test_every_proposal_kind_of_the_contract_is_in_the_table(chain: Chain) -> None:
    """A kind added to the contract needs a row in PROPOSAL_KINDS (the CLI and API read it)."""
    constants = _constants(chain, "PROPOSAL_")
    constants.pop("PROPOSAL_LIFETIME", None)  # a duration, not a kind
    assert constants == {k.constant: k.number for k in PROPOSAL_KINDS}
    purposes = _constants(chain, "KEY_PURPOSE_")
    # The checkpoint (2) and maintenance (3) purposes have no contract constant: setMemberKey
    # takes any purpose.
    assert purposes == {p.constant: p.number for p in KEY_PURPOSES if p.constant}
    assert [p.number for p in KEY_PURPOSES if not p.constant] == [2, 3]


def test_a_vote_admits_a_province(reg: Registry) -> None:
    accounts = reg.chain.accounts
    g44, g41 = Governance(reg.as_(0)), Governance(reg.as_(1))
    view = g44.propose("admit", "11", [accounts[6].lower()])
    assert view.to_json() == {
        "id": 0,
        "kind": "admit",
        "kind_number": 1,
        "province": "11",
        "operators": [accounts[6]],
        "proposer_province": "44",
        "expires_at": view.proposal.expires_at,
        "executed": False,
        "approvals": ["44"],
        "members": 3,
        "needed": 2,
        "state": "open",
    }
    with pytest.raises(InvalidInput) as refused:
        g44.execute(0)
    assert refused.value.rule == "consortium.refused"
    assert "MembershipInsufficientApprovals" in refused.value.message
    assert g41.approve(0).state == "ready"
    with pytest.raises(InvalidInput) as twice:
        g41.approve(0)
    assert "MembershipAlreadyApproved" in twice.value.message
    done = Governance(reg.as_(2)).execute(0)
    assert done.state == "executed" and done.proposal.executed
    assert reg.as_(0).is_member(11) and reg.as_(0).operators_of(11) == [accounts[6]]
    assert [v.proposal.id for v in g44.proposals()] == [0]
    assert g44.proposals(open_only=True) == []
    # The new member votes from now on: four members, a majority is three.
    second = Governance(reg.as_(6)).propose("remove", "43")
    assert (second.members, second.needed, second.approvals) == (4, 3, (11,))


def test_replacing_operators_withdraws_keys(reg: Registry) -> None:
    accounts = reg.chain.accounts
    g43 = Governance(reg.as_(2))
    g43.set_key("node-api", b"\x05" * 32)
    [member] = [m for m in g43.members() if m["province"] == "43"]
    assert member == {"province": "43", "operators": [accounts[2]], "keys": {"node-api": "05" * 32}}
    view = Governance(reg.as_(0)).propose("replace-operators", "43", [accounts[7]])
    Governance(reg.as_(1)).approve(view.proposal.id)
    Governance(reg.as_(1)).execute(view.proposal.id)
    [member] = [m for m in g43.members() if m["province"] == "43"]
    assert member == {"province": "43", "operators": [accounts[7]], "keys": {}}
    with pytest.raises(InvalidInput) as stolen:  # the old key no longer acts for 43
        g43.set_key("node-api", b"\x06" * 32)
    assert stolen.value.rule == "consortium.refused"
    assert "MembershipNotOperator" in stolen.value.message


def test_a_checkpoint_key_is_an_ed25519_or_sm2_public_key(reg: Registry) -> None:
    g41 = Governance(reg.as_(1))
    for bad in (b"\x05" * 31, b"\x05" * 65):  # SM2 is 04||x||y
        with pytest.raises(InvalidInput) as refused:
            g41.set_key("checkpoint", bad)
        assert refused.value.rule == "trust_root.key"
    g41.set_key("checkpoint", b"\x05" * 32)
    [member] = [m for m in g41.members() if m["province"] == "41"]
    assert member["keys"] == {"checkpoint": "05" * 32}
    g41.set_key("checkpoint", b"")  # withdrawn
    [member] = [m for m in g41.members() if m["province"] == "41"]
    assert member["keys"] == {}


def test_an_expired_proposal_shows_as_expired(reg: Registry) -> None:
    g44 = Governance(reg.as_(0))
    view = g44.propose("remove", "43")
    reg.chain.advance_time(WEEK + 1)
    assert g44.proposal(view.proposal.id).state == "expired"
    with pytest.raises(InvalidInput) as late:
        Governance(reg.as_(1)).approve(view.proposal.id)
    assert "MembershipProposalExpired" in late.value.message


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        (lambda g: g.propose("elect", "11", []), "consortium.kind"),
        (lambda g: g.propose("admit", "1", ["0x" + "11" * 20]), "consortium.province"),
        (lambda g: g.propose("admit", "11", []), "consortium.operators"),
        (lambda g: g.propose("admit", "11", ["0x12"]), "consortium.operators"),
        (lambda g: g.propose("admit", "11", ["0x" + "11" * 20] * 2), "consortium.operators"),
        (lambda g: g.propose("remove", "43", ["0x" + "11" * 20]), "consortium.operators"),
        (lambda g: g.propose("admit", "44", ["0x" + "11" * 20]), "consortium.refused"),
        (lambda g: g.approve(5), "consortium.proposal"),
        (lambda g: g.set_key("mail", b""), "consortium.purpose"),
        (lambda g: g.set_key("node-api", b"\x01" * 31), "member_key.length"),
    ],
)
def test_refusals_name_their_rule(reg: Registry, call: object, rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        call(Governance(reg.as_(0)))  # type: ignore[operator]
    assert refused.value.rule == rule
    assert reg.as_(0).proposal_count() == 0


def test_kinds_by_name_and_number() -> None:
    assert proposal_kind("replace-operators") is KINDS_BY_NAME["replace-operators"]
    assert proposal_kind(2).name == "remove" and proposal_kind("1").name == "admit"
