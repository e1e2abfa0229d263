"""Province logs: append-only checkpoints with on-chain RFC 9162 consistency checks."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import pytest

from anchor.errors import CheckpointNotFound
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
    txs = {3: first.tx}
    for index, (m, n) in enumerate(pairwise(sizes), start=1):
        result = c.anchor(n, _root(n), consistency_proof(m, LEAVES[:n]), f"cid-{n}")
        assert result.index == index and result.tx is not None
        txs[n] = result.tx
    assert c.checkpoint_count(44) == len(sizes)
    assert c.checkpoint_count(41) == 0
    # Checkpoint i comes from its event: size, root and CID from the data, block, time and
    # transaction from the log.
    for index, n in enumerate(sizes):
        cp = c.checkpoint(44, index)
        assert (cp.province, cp.index, cp.size, cp.root) == (44, index, n, _root(n))
        assert cp.manifest_cid == (CID if n == 3 else f"cid-{n}")
        assert cp.transaction_hash == txs[n].transaction_hash
        assert cp.block_number == txs[n].block_number
        block = reg.chain.w3.eth.get_block(cp.block_number)
        assert cp.timestamp == block["timestamp"]
    latest = c.latest_checkpoint(44)
    assert latest == c.checkpoint(44, 6)
    assert (latest.index, latest.size, latest.root) == (6, 40, _root(40))
    assert latest.transaction_hash == txs[40].transaction_hash
    assert c.latest_checkpoint(41) is None
    for n in sizes:
        assert c.is_anchored(44, n, _root(n))
        assert c.root_at(44, n) == _root(n)
        assert c.find_checkpoint(44, n, _root(n)) == (True, sizes.index(n))
    assert not c.is_anchored(44, 5, _root(5))
    assert c.root_at(44, 5) is None
    assert not c.is_anchored(44, 7, _root(8))
    assert c.find_checkpoint(44, 7, _root(8)) == (False, 0)
    assert not c.is_anchored(41, 7, _root(7))
    assert not c.is_anchored(44, 5, b"\x00" * 32)
    for province, index in ((44, 7), (44, -1), (41, 0)):
        with pytest.raises(CheckpointNotFound) as info:
            c.checkpoint(province, index)
        assert (info.value.province, info.value.index) == (province, index)
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


def test_retry_after_later_checkpoints_is_idempotent(reg: Registry) -> None:
    c = reg.as_(0)
    c.anchor(2, _root(2), [], CID)
    c.anchor(5, _root(5), consistency_proof(2, LEAVES[:5]), CID)
    c.anchor(9, _root(9), consistency_proof(5, LEAVES[:9]), CID)
    # The contract sees a shrinking checkpoint; the client finds it anchored, at index 1.
    reverts(
        "ProvinceLogsShrinkingCheckpoint",
        lambda: c.write("anchor", 5, _root(5), [], CID),
        anchoredSize=9,
        newSize=5,
    )
    again = c.anchor(5, _root(5), consistency_proof(2, LEAVES[:5]), CID)
    assert (again.index, again.tx) == (1, None)
    # A smaller size that was never anchored stays an error.
    reverts("ProvinceLogsShrinkingCheckpoint", lambda: c.anchor(4, _root(4), [], CID), newSize=4)
    assert c.checkpoint_count(44) == 3


def test_anchoring_writes_one_new_slot(reg: Registry) -> None:
    # Storage grows by one slot per checkpoint (its root under its size), seen in the gas: a
    # 1-hash anchoring measures 61,684 (21,000 intrinsic, 22,100 for the new slot, three cold
    # reads, the head update, calldata, one node hash, the event); a second new slot per
    # checkpoint would add 20,000.
    c = reg.as_(0)
    c.anchor(2, _root(2), [], CID)
    second = c.anchor(4, _root(4), consistency_proof(2, LEAVES[:4]), CID)
    assert second.tx is not None
    assert 55_000 < second.tx.gas_used < 70_000


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


def test_audit_statements_name_an_anchored_checkpoint(reg: Registry) -> None:
    """``publishAuditStatement``: any member's operator, about any province's anchored
    checkpoint, with a non-zero hash and a CID of 1-128 bytes; the event carries it all."""
    c, henan = reg.as_(0), reg.as_(1)
    digest = b"\x42" * 32

    def by_henan(province: int, index: int, content: bytes = digest, cid: str = CID) -> Any:
        return lambda: henan.publish_audit_statement(province, index, content, cid)

    reverts("ProvinceLogsUnknownCheckpoint", by_henan(44, 0), province=44, index=0)
    c.anchor(2, _root(2), [], CID)
    c.anchor(6, _root(6), consistency_proof(2, LEAVES[:6]), CID)
    start = c.block_number() + 1
    henan.publish_audit_statement(44, 1, digest, "Q" * 128)
    c.publish_audit_statement(44, 0, digest, "Q")
    reverts("ProvinceLogsUnknownCheckpoint", by_henan(44, 2), province=44, index=2)
    reverts("ProvinceLogsUnknownCheckpoint", by_henan(41, 0), province=41, index=0)
    for content, cid in ((b"\x00" * 32, CID), (digest, ""), (digest, "Q" * 129)):
        reverts("ProvinceLogsInvalidAuditStatement", by_henan(44, 1, content, cid))
    reverts(
        "MembershipNotOperator",
        lambda: reg.as_(7).publish_audit_statement(44, 1, digest, CID),
        account=reg.chain.accounts[7],
    )
    events = list(c.iter_events(start, names=["AuditStatementPublished"]))
    assert [
        (e.args["auditor"], e.args["province"], e.args["checkpointIndex"], e.args["cid"])
        for e in events
    ] == [(reg.chain.accounts[1], 44, 1, "Q" * 128), (reg.chain.accounts[0], 44, 0, "Q")]
    assert all(bytes(e.args["contentHash"]) == digest for e in events)


def test_a_checkpoint_sent_twice_into_one_block_is_anchored_once(reg: Registry) -> None:
    """Two transactions anchoring the same checkpoint land in one block (a worker's resend and
    its original re-broadcast after a partition healed): the second reverts as already
    anchored, which the client reads from the state after the block and returns the
    checkpoint's index, as for any idempotent retry."""
    import threading

    if reg.chain.name == "memory":
        pytest.skip("needs a chain that can hold transactions for one block (anvil)")
    client = reg.as_(0)  # one nonce counter: the two transactions take consecutive nonces
    reg.chain.rpc("evm_setAutomine", [False])
    results: list[object] = []
    try:
        threads = [
            threading.Thread(target=lambda: results.append(client.anchor(2, _root(2), [], CID)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while int(reg.chain.rpc("txpool_status", [])["pending"], 16) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        reg.chain.rpc("evm_mine", [])
        for thread in threads:
            thread.join(timeout=30)
    finally:
        reg.chain.rpc("evm_setAutomine", [True])
    assert sorted(r.index for r in results) == [0, 0]  # type: ignore[attr-defined]
    assert sorted(r.tx is None for r in results) == [False, True]  # type: ignore[attr-defined]
    assert client.checkpoint_count(44) == 1
