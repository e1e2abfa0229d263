"""Province logs: append-only checkpoints with on-chain RFC 9162 consistency checks."""

from __future__ import annotations

from itertools import pairwise

from eth_utils.crypto import keccak

from tests.contract.conftest import Registry
from tests.contract.helpers import reverts
from tests.contract.merkle_ref import consistency_proof, inclusion_proof, leaf_hash, mth

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(40)]
CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def _root(n: int) -> bytes:
    return mth(LEAVES[:n])


def test_first_checkpoint_and_extensions(reg: Registry) -> None:
    c = reg.as_(0)
    first = c.anchor(3, _root(3), [], CID)
    assert first.index == 0 and first.tx is not None
    event = first.tx.events[0]
    assert event.name == "CheckpointAnchored"
    assert event.args == {
        "province": 44,
        "index": 0,
        "size": 3,
        "root": _root(3),
        "manifestCid": CID,
    }
    sizes = [3, 4, 7, 8, 16, 17, 40]
    for index, (m, n) in enumerate(pairwise(sizes), start=1):
        result = c.anchor(n, _root(n), consistency_proof(m, LEAVES[:n]), f"cid-{n}")
        assert result.index == index
    assert c.checkpoint_count(44) == len(sizes)
    assert c.checkpoint_count(41) == 0
    cp = c.checkpoint(44, 2)
    assert (cp.size, cp.root) == (7, _root(7))
    assert cp.manifest_digest == keccak(text="cid-7")[:8]
    block = reg.chain.w3.eth.get_block(cp.block_number)
    assert cp.timestamp == block["timestamp"]
    latest = c.latest_checkpoint(44)
    assert latest is not None and (latest.index, latest.size, latest.root) == (6, 40, _root(40))
    assert c.latest_checkpoint(41) is None
    for n in sizes:
        assert c.is_anchored(44, n, _root(n))
        assert c.find_checkpoint(44, n, _root(n)) == (True, sizes.index(n))
    assert not c.is_anchored(44, 5, _root(5))
    assert not c.is_anchored(44, 7, _root(8))
    assert not c.is_anchored(41, 7, _root(7))
    reverts("ProvinceLogsUnknownCheckpoint", lambda: c.checkpoint(44, 7), index=7)
    # Inclusion of a leaf in an anchored checkpoint, checked by the contract.
    proof = inclusion_proof(5, LEAVES[:17])
    assert c.verify_inclusion(LEAVES[5], 5, 17, proof, _root(17))
    assert not c.verify_inclusion(LEAVES[6], 5, 17, proof, _root(17))


def test_each_province_has_its_own_log(reg: Registry) -> None:
    reg.as_(0).anchor(2, _root(2), [], CID)
    reg.as_(1).anchor(5, _root(5), [], CID)
    # A second operator of 44 continues 44's log.
    reg.as_(3).anchor(4, _root(4), consistency_proof(2, LEAVES[:4]), CID)
    c = reg.as_(0)
    assert (c.checkpoint_count(44), c.checkpoint_count(41), c.checkpoint_count(43)) == (2, 1, 0)


def test_invalid_first_checkpoints(reg: Registry) -> None:
    c = reg.as_(0)
    reverts("ProvinceLogsInvalidFirstCheckpoint", lambda: c.anchor(0, _root(1), [], CID), size=0)
    reverts(
        "ProvinceLogsInvalidFirstCheckpoint",
        lambda: c.anchor(4, _root(4), [_root(2)], CID),
        proofLength=1,
    )
    reverts("ProvinceLogsInvalidFirstCheckpoint", lambda: c.anchor(4, b"\x00" * 32, [], CID))


def test_shrinking_checkpoint(reg: Registry) -> None:
    c = reg.as_(0)
    c.anchor(8, _root(8), [], CID)
    reverts(
        "ProvinceLogsShrinkingCheckpoint",
        lambda: c.anchor(7, _root(7), [], CID),
        province=44,
        anchoredSize=8,
        newSize=7,
    )


def test_duplicate_checkpoint_has_its_own_error(reg: Registry) -> None:
    c = reg.as_(0)
    c.anchor(8, _root(8), [], CID)
    # Raw write: the contract refuses with the duplicate error ...
    reverts(
        "ProvinceLogsCheckpointAlreadyAnchored",
        lambda: c.write("anchor", 8, _root(8), [], CID),
        province=44,
        size=8,
        root=_root(8),
    )
    # ... which the client's anchor() turns into an idempotent success.
    again = c.anchor(8, _root(8), [], CID)
    assert again.index == 0 and again.tx is None
    assert c.checkpoint_count(44) == 1


def test_forked_checkpoint_same_size(reg: Registry) -> None:
    c = reg.as_(0)
    c.anchor(8, _root(8), [], CID)
    forked = leaf_hash(b"forked")
    reverts(
        "ProvinceLogsConflictingCheckpoint",
        lambda: c.anchor(8, forked, [], CID),
        anchoredRoot=_root(8),
        newRoot=forked,
    )


def test_root_that_does_not_extend_is_refused(reg: Registry) -> None:
    c = reg.as_(0)
    c.anchor(5, _root(5), [], CID)
    # A rewritten history: same size 9, but entry 2 changed.
    rewritten = list(LEAVES[:9])
    rewritten[2] = leaf_hash(b"backdated")
    proof = consistency_proof(5, rewritten)
    reverts(
        "ProvinceLogsInconsistentCheckpoint",
        lambda: c.anchor(9, mth(rewritten), proof, CID),
        anchoredSize=5,
        newSize=9,
    )
    # The honest proof with a wrong root, and the honest root with a damaged proof.
    good = consistency_proof(5, LEAVES[:9])
    reverts("ProvinceLogsInconsistentCheckpoint", lambda: c.anchor(9, _root(10), good, CID))
    damaged = [good[0][:-1] + bytes([good[0][-1] ^ 1]), *good[1:]]
    reverts("ProvinceLogsInconsistentCheckpoint", lambda: c.anchor(9, _root(9), damaged, CID))
    reverts("ProvinceLogsInconsistentCheckpoint", lambda: c.anchor(9, _root(9), [], CID))
    reverts("ProvinceLogsInconsistentCheckpoint", lambda: c.anchor(9, _root(9), good[:-1], CID))
    c.anchor(9, _root(9), good, CID)


def test_non_member_cannot_anchor(reg: Registry) -> None:
    reverts(
        "MembershipNotOperator",
        lambda: reg.as_(7).anchor(1, _root(1), [], CID),
        account=reg.chain.accounts[7],
    )


def test_anchor_events_replay(reg: Registry) -> None:
    c = reg.as_(0)
    start = c.block_number() + 1
    c.anchor(2, _root(2), [], "a")
    c.anchor(6, _root(6), consistency_proof(2, LEAVES[:6]), "b")
    reg.as_(1).anchor(1, _root(1), [], "c")
    events = list(c.iter_events(start, names=["CheckpointAnchored"], page_size=1))
    assert [(e.args["province"], e.args["index"], e.args["manifestCid"]) for e in events] == [
        (44, 0, "a"),
        (44, 1, "b"),
        (41, 0, "c"),
    ]
    # Paging does not change the result.
    assert list(c.iter_events(start, names=["CheckpointAnchored"])) == events
    assert all(e.block_number >= start for e in events)
