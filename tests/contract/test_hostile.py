"""One transaction cannot brick a log, and a removed member's approvals stay void (issue
"Hostile input and contention": found with a stolen operator key on the local consortium)."""

from __future__ import annotations

import hashlib

from anchor.chain import RegistryClient
from anchor.registry import DEFAULT_MAX_CHECKPOINT_GROWTH
from certreg.bench.contract import uniform_consistency_proof, uniform_root
from node.core.merkle import leaf_hash, node_hash, verify_consistency
from tests.contract.conftest import Chain, Registry
from tests.contract.helpers import reverts

ADMIT, REMOVE, REPLACE, SET_GROWTH = 1, 2, 3, 4
TOP = 2**64 - 1


def forged_checkpoint(old_root: bytes) -> tuple[bytes, list[bytes]]:
    """A made-up checkpoint of 2^64 - 1 entries extending the one-entry tree ``old_root``: its
    consistency proof is leaf 0's audit path of invented sibling hashes, and the root follows
    from them. The proof is valid: it shows that the old tree is a prefix, not that the new
    entries exist."""
    proof = [hashlib.sha256(b"invented %d" % i).digest() for i in range(64)]
    root = old_root
    for sibling in proof:
        root = node_hash(root, sibling)
    verify_consistency(1, TOP, proof, old_root, root)  # raises if it were not valid
    return root, proof


def deploy(chain: Chain, growth: int) -> RegistryClient:
    founders = [(44, chain.accounts[0]), (41, chain.accounts[1]), (43, chain.accounts[2])]
    client, _ = RegistryClient.deploy(
        chain.w3,
        founders,
        sender=chain.accounts[0],
        artifact=chain.artifact,
        max_checkpoint_growth=growth,
    )
    return client


def test_the_forged_checkpoint_is_what_an_unbounded_log_accepted(chain: Chain) -> None:
    # The attack as found: with no bound (the largest uint64) the forged checkpoint is accepted
    # and every later real checkpoint is refused.
    snap = chain.snapshot()
    try:
        p44 = chain.client(deploy(chain, TOP).address, 0)
        first = leaf_hash(b"entry 0")
        p44.anchor(1, first, [], "cid")
        root, proof = forged_checkpoint(first)
        p44.anchor(TOP, root, proof, "cid")
        real = node_hash(first, leaf_hash(b"entry 1"))
        reverts("ProvinceLogsShrinkingCheckpoint", lambda: p44.anchor(2, real, [], "cid"))
    finally:
        chain.revert(snap)


def test_checkpoint_of_2_64_minus_1_is_refused(reg: Registry) -> None:
    p44 = reg.as_(0)
    assert p44.max_checkpoint_growth() == DEFAULT_MAX_CHECKPOINT_GROWTH
    first = leaf_hash(b"entry 0")
    p44.anchor(1, first, [], "cid")
    root, proof = forged_checkpoint(first)
    reverts(
        "ProvinceLogsGrowthTooLarge",
        lambda: p44.anchor(TOP, root, proof, "cid"),
        province=44,
        anchoredSize=1,
        newSize=TOP,
        maxGrowth=DEFAULT_MAX_CHECKPOINT_GROWTH,
    )
    # The log is untouched: the real next checkpoint goes on.
    second = leaf_hash(b"entry 1")
    p44.anchor(2, node_hash(first, second), [second], "cid")
    assert p44.latest_checkpoint(44).size == 2


def test_growth_bound_is_exact_for_first_and_later_checkpoints(chain: Chain) -> None:
    snap = chain.snapshot()
    try:
        p44 = chain.client(deploy(chain, 10).address, 0)
        reverts(
            "ProvinceLogsGrowthTooLarge",
            lambda: p44.anchor(11, uniform_root(11), [], "cid"),
            anchoredSize=0,
            newSize=11,
            maxGrowth=10,
        )
        p44.anchor(10, uniform_root(10), [], "cid")
        reverts(
            "ProvinceLogsGrowthTooLarge",
            lambda: p44.anchor(21, uniform_root(21), uniform_consistency_proof(10, 21), "cid"),
        )
        p44.anchor(20, uniform_root(20), uniform_consistency_proof(10, 20), "cid")
    finally:
        chain.revert(snap)


def test_a_zero_bound_is_refused_at_deployment(chain: Chain) -> None:
    reverts("ProvinceLogsInvalidMaxGrowth", lambda: deploy(chain, 0), growth=0)


def test_growth_is_changed_only_by_governance(reg: Registry) -> None:
    p44, p41 = reg.as_(0), reg.as_(1)
    # Not through propose (no value), not to 0, not by a non-member.
    reverts("MembershipInvalidProposalKind", lambda: p44.propose(SET_GROWTH, 44, []), kind=4)
    reverts("ProvinceLogsInvalidMaxGrowth", lambda: p44.propose_max_checkpoint_growth(0))
    reverts("MembershipNotOperator", lambda: reg.as_(7).propose_max_checkpoint_growth(5))
    pid = p44.propose_max_checkpoint_growth(5)
    assert p44.proposal(pid).kind == SET_GROWTH and p44.proposal_value(pid) == 5
    reverts("MembershipInsufficientApprovals", lambda: p44.execute(pid))
    p41.approve(pid)
    events = p41.execute(pid).events
    assert [e.name for e in events] == ["ProposalExecuted", "MaxCheckpointGrowthSet"]
    assert p44.max_checkpoint_growth() == 5
    reverts("ProvinceLogsGrowthTooLarge", lambda: p44.anchor(6, uniform_root(6), [], "cid"))
    p44.anchor(5, uniform_root(5), [], "cid")


def test_readmitted_members_old_approval_is_not_counted(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44, p41, p43 = reg.as_(0), reg.as_(1), reg.as_(2)
    admit45 = p44.propose(ADMIT, 45, [accounts[6]])
    p41.approve(admit45)
    p44.execute(admit45)
    p45 = reg.as_(6)
    # Four members; a proposal 44 makes and 43 approves.
    target = p44.propose(REPLACE, 41, [accounts[7]])
    p43.approve(target)
    # 43 is removed, then admitted again (with the same operator).
    remove43 = p44.propose(REMOVE, 43, [])
    p41.approve(remove43)
    p45.approve(remove43)
    p44.execute(remove43)
    assert not p44.has_approved(target, 43)
    readmit = p44.propose(ADMIT, 43, [accounts[2]])
    p41.approve(readmit)
    p44.execute(readmit)
    assert sorted(p44.members()) == [41, 43, 44, 45]
    # Its approval from before the removal is void: 44 and 45 are two of four, not a majority.
    assert not p44.has_approved(target, 43)
    p45.approve(target)
    reverts(
        "MembershipInsufficientApprovals",
        lambda: p44.execute(target),
        approvals=2,
        members=4,
    )
    # It may approve again in its new membership, and then the proposal passes.
    p43.approve(target)
    assert p44.has_approved(target, 43)
    p44.execute(target)
    assert p44.operators_of(41) == [accounts[7]]
