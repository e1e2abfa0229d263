"""Membership and majority governance: propose, approve, execute, expiry, access rules."""

from __future__ import annotations

import pytest

from anchor.chain import RegistryClient
from tests.contract.conftest import Chain, Registry
from tests.contract.helpers import reverts

ADMIT, REMOVE, REPLACE = 1, 2, 3
WEEK = 7 * 24 * 3600


def test_founders_are_members(reg: Registry) -> None:
    c = reg.as_(0)
    accounts = reg.chain.accounts
    assert sorted(c.members()) == [41, 43, 44]
    assert c.is_member(44) and not c.is_member(45)
    assert c.operators_of(44) == [accounts[0], accounts[3]]
    assert c.province_of(accounts[1]) == 41
    assert c.province_of(accounts[7]) == 0
    assert c.proposal_count() == 0


@pytest.mark.parametrize(
    ("founders", "error"),
    [
        (((99, 0),), "MembershipInvalidProvince"),
        (((10, 0),), "MembershipInvalidProvince"),
        (((44, 0), (41, 0)), "MembershipOperatorTaken"),
        ((), "MembershipInvalidOperators"),
    ],
)
def test_constructor_rejects_bad_founders(
    chain: Chain, founders: tuple[tuple[int, int], ...], error: str
) -> None:
    reverts(error, lambda: chain.deploy(founders))


def test_constructor_rejects_zero_operator(chain: Chain) -> None:
    with pytest.raises(Exception) as info:
        RegistryClient.deploy(
            chain.w3, [(44, "0x" + "00" * 20)], sender=chain.accounts[0], artifact=chain.artifact
        )
    assert getattr(info.value, "name", None) == "MembershipInvalidOperators"


def test_admit_needs_majority(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44, p41 = reg.as_(0), reg.as_(1)
    pid = p44.propose(ADMIT, 45, [accounts[6]])
    proposal = p44.proposal(pid)
    assert (proposal.kind, proposal.province, proposal.operators) == (ADMIT, 45, (accounts[6],))
    assert proposal.proposer_province == 44 and not proposal.executed
    assert p44.has_approved(pid, 44) and not p44.has_approved(pid, 41)
    # One approval of three members is not a majority.
    reverts(
        "MembershipInsufficientApprovals",
        lambda: p44.execute(pid),
        id=pid,
        approvals=1,
        members=3,
    )
    result = p41.approve(pid)
    assert [e.name for e in result.events] == ["ProposalApproved"]
    executed = p41.execute(pid)
    assert [e.name for e in executed.events] == ["ProposalExecuted", "MemberAdmitted"]
    assert executed.events[1].args == {"province": 45, "operators": [accounts[6]]}
    assert p44.is_member(45) and p44.province_of(accounts[6]) == 45
    assert p44.proposal(pid).executed
    # The new member acts at once.
    reg.as_(6).anchor(1, b"\x07" * 32, [], "cid")


def test_double_approval_and_reexecution_are_refused(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44 = reg.as_(0)
    pid = p44.propose(ADMIT, 45, [accounts[6]])
    # A second operator of the same member cannot approve again for it.
    reverts("MembershipAlreadyApproved", lambda: reg.as_(3).approve(pid), id=pid, province=44)
    reverts("MembershipAlreadyApproved", lambda: p44.approve(pid), id=pid, province=44)
    reg.as_(2).approve(pid)
    p44.execute(pid)
    reverts("MembershipProposalAlreadyExecuted", lambda: p44.execute(pid))
    reverts("MembershipProposalAlreadyExecuted", lambda: reg.as_(1).approve(pid))


def test_expired_proposal_cannot_be_approved_or_executed(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44 = reg.as_(0)
    pid = p44.propose(ADMIT, 45, [accounts[6]])
    reg.as_(1).approve(pid)
    reg.chain.advance_time(WEEK + 1)
    reverts("MembershipProposalExpired", lambda: p44.execute(pid), id=pid)
    reverts("MembershipProposalExpired", lambda: reg.as_(2).approve(pid), id=pid)


def test_remove_member(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44 = reg.as_(0)
    pid = p44.propose(REMOVE, 43, [])
    reg.as_(1).approve(pid)
    events = p44.execute(pid).events
    assert [e.name for e in events] == ["ProposalExecuted", "MemberRemoved"]
    assert sorted(p44.members()) == [41, 44]
    assert p44.operators_of(43) == [] and p44.province_of(accounts[2]) == 0
    # The removed province's operator is no longer an operator of anything.
    reverts("MembershipNotOperator", lambda: reg.as_(2).anchor(1, b"\x01" * 32, [], "cid"))
    reverts("MembershipNotOperator", lambda: reg.as_(2).set_status(43, b"\x01" * 32, 1))


def test_replace_operators(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44 = reg.as_(0)
    pid = p44.propose(REPLACE, 41, [accounts[7], accounts[8]])
    reg.as_(2).approve(pid)
    events = p44.execute(pid).events
    assert events[-1].name == "OperatorsReplaced"
    assert p44.operators_of(41) == [accounts[7], accounts[8]]
    assert p44.province_of(accounts[1]) == 0 and p44.province_of(accounts[8]) == 41
    reverts("MembershipNotOperator", lambda: reg.as_(1).set_status(41, b"\x01" * 32, 1))
    reg.as_(8).set_status(41, b"\x01" * 32, 1)


def test_majority_counts_current_members_only(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44, p41, p43 = reg.as_(0), reg.as_(1), reg.as_(2)
    admit = p44.propose(ADMIT, 45, [accounts[6]])
    p41.approve(admit)
    p44.execute(admit)  # Four members now: 44, 41, 43, 45.
    pid = p44.propose(REMOVE, 43, [])
    p41.approve(pid)
    # Two of four is not more than half.
    reverts("MembershipInsufficientApprovals", lambda: p44.execute(pid), approvals=2, members=4)
    reg.as_(6).approve(pid)
    p43.execute(pid)
    assert sorted(p44.members()) == [41, 44, 45]


@pytest.mark.parametrize(
    ("kind", "province", "ops", "error"),
    [
        (ADMIT, 44, [9], "MembershipAlreadyMember"),
        (ADMIT, 99, [9], "MembershipInvalidProvince"),
        (ADMIT, 45, [], "MembershipInvalidOperators"),
        (ADMIT, 45, [9, 9], "MembershipInvalidOperators"),
        (ADMIT, 45, [1], "MembershipOperatorTaken"),
        (REMOVE, 45, [], "MembershipNotMember"),
        (REMOVE, 41, [9], "MembershipInvalidOperators"),
        (REPLACE, 45, [9], "MembershipNotMember"),
        (REPLACE, 41, [0], "MembershipOperatorTaken"),
        (7, 45, [9], "MembershipInvalidProposalKind"),
    ],
)
def test_invalid_proposals(
    reg: Registry, kind: int, province: int, ops: list[int], error: str
) -> None:
    accounts = reg.chain.accounts
    reverts(error, lambda: reg.as_(0).propose(kind, province, [accounts[i] for i in ops]))


def test_last_member_cannot_be_removed(chain: Chain) -> None:
    solo = chain.client(chain.deploy(((44, 0),)).address, 0)
    reverts("MembershipLastMember", lambda: solo.propose(REMOVE, 44, []), province=44)


def test_non_members_cannot_govern(reg: Registry) -> None:
    outsider = reg.as_(7)
    pid = reg.as_(0).propose(ADMIT, 45, [reg.chain.accounts[6]])
    for call in (
        lambda: outsider.propose(ADMIT, 46, [reg.chain.accounts[8]]),
        lambda: outsider.approve(pid),
        lambda: outsider.execute(pid),
    ):
        reverts("MembershipNotOperator", call, account=reg.chain.accounts[7])


def test_unknown_proposal(reg: Registry) -> None:
    reverts("MembershipUnknownProposal", lambda: reg.as_(0).approve(5), id=5)
    reverts("MembershipUnknownProposal", lambda: reg.as_(0).proposal(5), id=5)


def test_valid_province_table(reg: Registry) -> None:
    fn = reg.as_(0).contract.functions.isValidProvince
    valid = {*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)}
    valid |= {*range(61, 67), 71, 81, 82}
    got = {p for p in range(0, 100) if fn(p).call()}
    assert got == valid
