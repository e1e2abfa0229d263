"""The exhaustive Merkle vectors (tests/vectors/merkle.json) against node/core/merkle.py.

Every inclusion proof and every consistency proof of the trees up to 64 leaves, valid and
mutated (scripts/vectors_merkle.py); the contract and the JavaScript verifier run the same file.
"""

from __future__ import annotations

from node.core.errors import VerificationError
from node.core.merkle import verify_consistency, verify_inclusion
from tests.merkle_cases import consistency_cases, inclusion_cases, load


def _accepts_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerificationError:
        return False
    return True


def _accepts_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> bool:
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except VerificationError:
        return False
    return True


def test_the_file_is_exhaustive() -> None:
    data = load()
    assert [(i, n) for i, n, _ in data["inclusion"]] == [
        (i, n) for n in range(1, 65) for i in range(n)
    ]
    assert [(m, n) for m, n, _ in data["consistency"]] == [
        (m, n) for n in range(2, 65) for m in range(1, n)
    ]
    ops = {op for *_, op, _a, _b, _w in data["inclusion_mutations"]}
    assert ops == set(data["ops"])
    # Every proof node of every valid case is flipped once.
    flips = sum(1 for m in data["consistency_mutations"] if m[1] == "flip")
    assert flips == sum(len(refs) for _, _, refs in data["consistency"])


def test_inclusion_vectors() -> None:
    wrong = [
        case.label
        for case in inclusion_cases()
        if _accepts_inclusion(case.leaf, case.index, case.size, case.proof, case.root) != case.want
    ]
    assert wrong == []


def test_consistency_vectors() -> None:
    wrong = [
        case.label
        for case in consistency_cases()
        if _accepts_consistency(case.size1, case.size2, case.proof, case.root1, case.root2)
        != case.want
    ]
    assert wrong == []


def test_some_mutants_are_valid_by_the_rfc() -> None:
    # The tree size is not bound into the root: a proof for (0, 3) proves (0, 4) against the
    # root of 3 leaves. The file records such cases as valid, and every verifier must agree.
    accepted = [c for c in inclusion_cases() if c.want and "size" in c.label.split()]
    assert any(c.index == 0 and c.size == 4 and len(c.proof) == 2 for c in accepted)
