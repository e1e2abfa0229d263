"""The Merkle log against the RFC 9162 conformance corpus, a reference tree and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.errors import InvalidInput, VerificationError
from node.core.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    MerkleLog,
    NodeId,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import TLOG_VECTORS


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _vector_files(kind: str) -> list[Path]:
    files = sorted((TLOG_VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors found under {TLOG_VECTORS}"
    return files


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "path", _vector_files("inclusion"), ids=lambda p: str(p.relative_to(TLOG_VECTORS))
)
def test_inclusion_vectors(path: Path) -> None:
    case = _load(path)
    args = (
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize(
    "path", _vector_files("consistency"), ids=lambda p: str(p.relative_to(TLOG_VECTORS))
)
def test_consistency_vectors(path: Path) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        [_b64(p) for p in case["proof"] or []],
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# A deliberately naive reference: RFC 9162 §2.1.1-§2.1.4.1 as written, by recursion.
def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _log(leaves: list[bytes]) -> MerkleLog:
    log = MerkleLog()
    for expected, leaf in enumerate(leaves):
        assert log.append(leaf) == expected
    return log


def test_empty_log_root_is_hash_of_empty_string() -> None:
    assert MerkleLog().root() == hashlib.sha256(b"").digest()


def test_known_root_of_rfc6962_test_tree() -> None:
    # The 8-leaf tree of the RFC 6962 test data (certificate-transparency-go / transparency-dev).
    data = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    log = _log([leaf_hash(d) for d in data])
    assert log.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert log.root(1).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


def test_matches_reference_for_every_size_index_and_pair() -> None:
    leaves = _leaves(33)
    log = _log(leaves)
    for size in range(0, 34):
        assert log.root(size) == _mth(leaves[:size])
        for index in range(size):
            assert log.inclusion_proof(index, size) == _path(index, leaves[:size])
        for size1 in range(1, size + 1):
            expected = [] if size1 == size else _subproof(size1, leaves[:size], True)
            assert log.consistency_proof(size1, size) == expected


def test_append_many_equals_single_appends() -> None:
    leaves = _leaves(100)
    batched = MerkleLog()
    assert batched.append_many(leaves[:37]) == list(range(37))
    assert batched.append_many(leaves[37:]) == list(range(37, 100))
    assert batched.root() == _log(leaves).root()


class _CountingStore(MemoryNodeStore):
    """A memory store that remembers every node read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[NodeId] = []

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        self.reads.extend(ids)
        return super().get_nodes(ids)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_batches_of_any_size_give_every_root_of_single_appends(batches: list[int]) -> None:
    leaves = _leaves(sum(batches))
    reference = _log(leaves)
    store = _CountingStore()
    log = MerkleLog(store)
    done = 0
    appends_read: list[NodeId] = []
    for count in batches:
        store.reads.clear()
        assert log.append_many(leaves[done : done + count]) == list(range(done, done + count))
        appends_read += store.reads
        done += count
        assert log.root() == reference.root(done)
    # No stored node is read twice by the appends.
    assert len(appends_read) == len(set(appends_read))


def test_one_append_reads_only_the_subtrees_it_completes() -> None:
    # Issue #19 item 3: reading the whole right edge of the tree before each single append
    # made `certreg bench core` appends about half as fast as the code before.
    store = _CountingStore()
    log = MerkleLog(store)
    for size in range(300):
        store.reads.clear()
        log.append(leaf_hash(size.to_bytes(4, "big")))
        trailing_ones = (size ^ (size + 1)).bit_length() - 1
        assert store.reads == [(level, (size >> level) - 1) for level in range(trailing_ones)]


def test_append_refuses_wrong_hash_length_and_writes_nothing() -> None:
    log = _log(_leaves(3))
    with pytest.raises(InvalidInput) as err:
        log.append_many([leaf_hash(b"ok"), b"short"])
    assert err.value.field == "leaf_hash"
    assert log.size == 3


def test_out_of_range_requests_are_refused() -> None:
    log = _log(_leaves(5))
    # Each refusal names the field and the rule (and the numbers, for people).
    for call, field, rule, words in (
        (lambda: log.root(6), "size", "merkle.size_range", "size 6 is outside the log (size 5)"),
        (lambda: log.root(-1), "size", "merkle.size_range", "size -1 is outside"),
        (lambda: log.inclusion_proof(5, 5), "index", "merkle.index_range", "leaf index 5"),
        (lambda: log.inclusion_proof(-1), "index", "merkle.index_range", "outside size 5"),
        (lambda: log.inclusion_proof(0, 6), "size", "merkle.size_range", "size 6"),
        (lambda: log.consistency_proof(4, 6), "size2", "merkle.size_range", "size 6"),
        (lambda: log.consistency_proof(5, 4), "size1", "merkle.size_range", "between 0 and 4"),
        (lambda: log.consistency_proof(-1, 4), "size1", "merkle.size_range", "size1 -1"),
        (lambda: log.consistency_proof(0, 5), "size1", "merkle.size_range", "from size 0"),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert (err.value.field, err.value.rule) == (field, rule)
        assert words in str(err.value)
    assert log.consistency_proof(5, 5) == []
    assert log.consistency_proof(0, 0) == []
    assert log.root(0) == EMPTY_ROOT and log.root() == log.root(5)


def test_wrong_hash_lengths_fail_verification() -> None:
    log = _log(_leaves(4))
    proof = log.inclusion_proof(1, 4)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(b"x")[:31], 1, 4, proof, log.root())
    with pytest.raises(VerificationError):
        verify_inclusion(_leaves(4)[1], 1, 4, [*proof[:-1], proof[-1] + b"\x00"], log.root())


def _flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=300))
def test_property_inclusion_proofs_verify_and_mutations_fail(
    data: st.DataObject, size: int
) -> None:
    leaves = _leaves(size)
    log = _log(leaves)
    tree_size = data.draw(st.integers(min_value=1, max_value=size))
    index = data.draw(st.integers(min_value=0, max_value=tree_size - 1))
    root = log.root(tree_size)
    proof = log.inclusion_proof(index, tree_size)
    verify_inclusion(leaves[index], index, tree_size, proof, root)

    bit = data.draw(st.integers(min_value=0, max_value=255))
    with pytest.raises(VerificationError):
        verify_inclusion(_flip(leaves[index], bit), index, tree_size, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[index], index, tree_size, proof, _flip(root, bit))
    if proof:
        which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bad = [*proof]
        bad[which] = _flip(bad[which], bit)
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], index, tree_size, bad, root)
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], index, tree_size, proof[:-1], root)
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[index], index, tree_size, [*proof, root], root)
    other_index = data.draw(st.integers(min_value=0, max_value=tree_size))
    if other_index != index:
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], other_index, tree_size, proof, root)
    # A size whose path has another length must fail (sizes with the same path shape and the
    # same root are bound by the checkpoint, not by the proof: RFC 9162 §2.1.3.2).
    other_size = data.draw(st.integers(min_value=index + 1, max_value=size))
    if len(_path(index, leaves[:other_size])) != len(proof):
        with pytest.raises(VerificationError):
            verify_inclusion(leaves[index], index, other_size, proof, root)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), size=st.integers(min_value=2, max_value=300))
def test_property_consistency_proofs_verify_and_mutations_fail(
    data: st.DataObject, size: int
) -> None:
    log = _log(_leaves(size))
    size2 = data.draw(st.integers(min_value=2, max_value=size))
    size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1))
    root1, root2 = log.root(size1), log.root(size2)
    proof = log.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)

    bit = data.draw(st.integers(min_value=0, max_value=255))
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, proof, _flip(root1, bit), root2)
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, proof, root1, _flip(root2, bit))
    which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bad = [*proof]
    bad[which] = _flip(bad[which], bit)
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, bad, root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, proof[:-1], root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, [*proof, root2], root1, root2)
    wrong1 = data.draw(st.integers(min_value=1, max_value=size2 - 1))
    if wrong1 != size1 and len(_subproof(wrong1, _leaves(size2), True)) != len(proof):
        with pytest.raises(VerificationError):
            verify_consistency(wrong1, size2, proof, root1, root2)


def test_forked_log_is_not_consistent() -> None:
    # Regression: a province that rewrites an entry must not be able to prove consistency.
    honest = _log(_leaves(10))
    forked_leaves = _leaves(10)
    forked_leaves[3] = leaf_hash(b"rewritten")
    forked = _log(forked_leaves)
    with pytest.raises(VerificationError):
        verify_consistency(5, 10, forked.consistency_proof(5, 10), honest.root(5), forked.root())


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((bytes(31), 0, 1, [], bytes(32)), "leaf hash must be a 32-byte hash"),
        ((b"a" * 32, 0, 1, [], bytes(31)), "root must be a 32-byte hash"),
        ((b"a" * 32, 0, 2, [bytes(33)], bytes(32)), "proof node must be a 32-byte hash"),
        ((b"a" * 32, -1, 2, [b"b" * 32], _node(b"a" * 32, b"b" * 32)), "index and tree size"),
        ((b"a" * 32, 0, -2, [b"b" * 32], _node(b"a" * 32, b"b" * 32)), "index and tree size"),
    ],
)
def test_inclusion_refuses_each_argument_by_name(args: tuple[Any, ...], message: str) -> None:
    # The proofs are otherwise valid (a 32-byte value in place of the bad one verifies), so a
    # refusal can only come from the argument's own check.
    with pytest.raises(VerificationError, match=f"^{message}"):
        verify_inclusion(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 2, [b"c" * 32], b"b" * 32, _node(b"b" * 32, b"c" * 32)), "tree sizes must not be"),
        ((1, -2, [b"c" * 32], b"b" * 32, _node(b"b" * 32, b"c" * 32)), "tree sizes must not be"),
        ((1, 2, [b"c" * 32], bytes(31), _node(b"b" * 32, b"c" * 32)), "root1 must be a 32-byte"),
        ((1, 2, [b"c" * 32], b"b" * 32, bytes(33)), "root2 must be a 32-byte"),
        ((1, 2, [bytes(31)], b"b" * 32, b"d" * 32), "proof node must be a 32-byte"),
    ],
)
def test_consistency_refuses_each_argument_by_name(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(VerificationError, match=f"^{message}"):
        verify_consistency(*args)


def test_argument_cases_verify_when_valid() -> None:
    a, b, c = b"a" * 32, b"b" * 32, b"c" * 32
    verify_inclusion(a, 0, 2, [b], _node(a, b))
    verify_consistency(1, 2, [c], b, _node(b, c))
