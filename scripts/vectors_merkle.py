"""Build the exhaustive Merkle conformance vectors (``tests/vectors/merkle.json``).

Every inclusion proof of every leaf ``i < n`` and every consistency proof ``1 <= m < n`` for the
trees of ``n <= 64`` leaves, each valid and with mutations: one bit flipped in each proof node, in
the leaf hash and in the roots; an index or a size off by one; the proof truncated at either end,
with an extra node at either end and with two neighbouring nodes swapped. The expected answer of
every case is what the Python verifier (``node/core/merkle.py``) says, so the file also records
the mutants that RFC 9162 accepts (a proof for ``(0, 3)`` also proves ``(0, 4)`` against the same
root: the tree size is not bound into the root).

Layout (compact, to keep the file small; every hash once):

* ``leaves[i]``: the leaf hash of leaf ``i``; ``roots[n - 1]``: the root of the first ``n`` leaves;
  ``nodes``: every other hash a proof uses, referenced by position.
* ``inclusion``: ``[i, n, [node refs]]``; ``consistency``: ``[m, n, [node refs]]``.
* ``inclusion_mutations`` / ``consistency_mutations``: ``[case, op, a, b, want]`` where ``case``
  is a position in the list above, ``want`` is 1 (verifies) or 0 (refused) and ``op`` is one of
  :data:`OPS`. A flipped bit ``b`` is bit ``b % 8`` (value ``1 << (b % 8)``) of byte ``b // 8``.

Every implementation applies the mutation with the same few lines (tests/node/core,
tests/contract, tests/web/vectors.mjs) and must give ``want``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from typing import Any

from node.core.errors import VerificationError
from node.core.merkle import MerkleLog, leaf_hash, verify_consistency, verify_inclusion

MAX_SIZE = 64

#: Mutation operators, ``a`` and ``b`` their arguments (0 where unused).
OPS: dict[str, str] = {
    "flip": "flip bit b of proof node a",
    "flip-leaf": "flip bit b of the leaf hash (inclusion) or of root1 (consistency)",
    "flip-root": "flip bit b of the root (inclusion) or of root2 (consistency)",
    "index": "add a to the leaf index (inclusion) or to size1 (consistency)",
    "size": "add a to the tree size (inclusion) or to size2 (consistency)",
    "drop-last": "remove the last proof node",
    "drop-first": "remove the first proof node",
    "append": "append nodes[a] to the proof",
    "prepend": "put nodes[a] in front of the proof",
    "swap": "swap proof nodes a and a + 1",
}


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def apply(
    op: str,
    a: int,
    b: int,
    first: bytes,
    number1: int,
    number2: int,
    proof: list[bytes],
    last: bytes,
    nodes: Sequence[bytes],
) -> tuple[bytes, int, int, list[bytes], bytes]:
    """Apply one mutation to ``(leaf or root1, index or size1, size or size2, proof, root or
    root2)``; the reference every other implementation mirrors."""
    proof = list(proof)
    if op == "flip":
        proof[a] = _flip(proof[a], b)
    elif op == "flip-leaf":
        first = _flip(first, b)
    elif op == "flip-root":
        last = _flip(last, b)
    elif op == "index":
        number1 += a
    elif op == "size":
        number2 += a
    elif op == "drop-last":
        proof.pop()
    elif op == "drop-first":
        proof.pop(0)
    elif op == "append":
        proof.append(nodes[a])
    elif op == "prepend":
        proof.insert(0, nodes[a])
    elif op == "swap":
        proof[a], proof[a + 1] = proof[a + 1], proof[a]
    else:
        raise ValueError(f"unknown mutation {op}")
    return first, number1, number2, proof, last


def _verifies(check: Callable[[], None]) -> int:
    try:
        check()
    except VerificationError:
        return 0
    return 1


def build() -> dict[str, Any]:
    rng = random.Random(20261204)
    leaves = [leaf_hash(b"certreg merkle vector %d" % i) for i in range(MAX_SIZE)]
    log = MerkleLog()
    log.append_many(leaves)
    roots = [log.root(n) for n in range(1, MAX_SIZE + 1)]
    nodes: list[bytes] = []
    refs: dict[bytes, int] = {}

    def ref(value: bytes) -> int:
        if value not in refs:
            refs[value] = len(nodes)
            nodes.append(value)
        return refs[value]

    # Hashes that appear in no tree: what an attacker appends.
    strangers = [ref(hashlib.sha256(b"stranger %d" % k).digest()) for k in range(4)]

    def mutations(
        cases: list[list[Any]],
        check: Callable[[bytes, int, int, list[bytes], bytes], None],
        ends: Callable[[int, int], tuple[bytes, bytes]],
    ) -> list[list[Any]]:
        out: list[list[Any]] = []
        for position, (x, n, proof_refs) in enumerate(cases):
            proof = [nodes[r] for r in proof_refs]
            first, last = ends(x, n)
            ops: list[tuple[str, int, int]] = [
                ("flip", k, rng.randrange(256)) for k in range(len(proof))
            ]
            ops += [("flip-leaf", 0, rng.randrange(256)), ("flip-root", 0, rng.randrange(256))]
            ops += [("index", d, 0) for d in (-1, 1) if x + d >= 0]
            ops += [("size", d, 0) for d in (-1, 1)]
            if proof:
                ops += [("drop-last", 0, 0), ("drop-first", 0, 0)]
            # An extra node: a stranger, or a hash of the same tree (a plausible wrong proof).
            ops += [("append", rng.choice(strangers), 0)]
            ops += [("prepend", ref(rng.choice(leaves[:n])), 0)]
            if len(proof) >= 2:
                ops += [("swap", rng.randrange(len(proof) - 1), 0)]
            for op, a, b in ops:
                args = apply(op, a, b, first, x, n, proof, last, nodes)
                want = _verifies(lambda args=args: check(*args))  # type: ignore[misc]
                out.append([position, op, a, b, want])
        return out

    inclusion = [
        [i, n, [ref(h) for h in log.inclusion_proof(i, n)]]
        for n in range(1, MAX_SIZE + 1)
        for i in range(n)
    ]
    consistency = [
        [m, n, [ref(h) for h in log.consistency_proof(m, n)]]
        for n in range(2, MAX_SIZE + 1)
        for m in range(1, n)
    ]
    for i, n, proof_refs in inclusion:
        verify_inclusion(leaves[i], i, n, [nodes[r] for r in proof_refs], roots[n - 1])
    for m, n, proof_refs in consistency:
        verify_consistency(m, n, [nodes[r] for r in proof_refs], roots[m - 1], roots[n - 1])

    def check_inclusion(leaf: bytes, i: int, n: int, proof: list[bytes], root: bytes) -> None:
        verify_inclusion(leaf, i, n, proof, root)

    def check_consistency(root1: bytes, m: int, n: int, proof: list[bytes], root2: bytes) -> None:
        verify_consistency(m, n, proof, root1, root2)

    inclusion_mutations = mutations(
        inclusion, check_inclusion, lambda i, n: (leaves[i], roots[n - 1])
    )
    consistency_mutations = mutations(
        consistency, check_consistency, lambda m, n: (roots[m - 1], roots[n - 1])
    )
    return {
        "algorithm": "rfc9162-merkle",
        "version": 1,
        "notes": (
            "Every inclusion proof (i < n) and consistency proof (1 <= m < n) for n <= 64, valid "
            "and mutated. leaves[i] is leaf i's hash, roots[n-1] the root of n leaves, proofs and "
            "mutations refer to nodes[] by position. A mutation [case, op, a, b, want] changes "
            "one valid case: flip (bit b of proof node a), flip-leaf (bit b of the leaf hash, or "
            "of root1), flip-root (bit b of the root, or of root2), index (+a to the index, or to "
            "size1), size (+a to the size, or to size2), drop-last, drop-first, append (nodes[a] "
            "at the end), prepend (nodes[a] in front), swap (nodes a and a+1). Bit b is the value "
            "1 << (b % 8) of byte b // 8. want is 1 when the Python verifier accepts, else 0."
        ),
        "ops": OPS,
        "max_size": MAX_SIZE,
        "leaves": [h.hex() for h in leaves],
        "roots": [h.hex() for h in roots],
        "nodes": [h.hex() for h in nodes],
        "inclusion": inclusion,
        "consistency": consistency,
        "inclusion_mutations": inclusion_mutations,
        "consistency_mutations": consistency_mutations,
    }
