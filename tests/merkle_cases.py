"""Read tests/vectors/merkle.json into concrete cases (the Python and contract tests share this).

A transcription of the file's notes, independent of the builder (scripts/vectors_merkle.py): a
case is ``(label, args, want)`` with ``args`` as the Python verifier takes them, ``(leaf, index,
size, proof, root)`` for inclusion and ``(size1, size2, proof, root1, root2)`` for consistency.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from tests.conftest import OUR_VECTORS


class InclusionCase(NamedTuple):
    label: str
    leaf: bytes
    index: int
    size: int
    proof: list[bytes]
    root: bytes
    want: bool


class ConsistencyCase(NamedTuple):
    label: str
    size1: int
    size2: int
    proof: list[bytes]
    root1: bytes
    root2: bytes
    want: bool


@functools.cache
def load() -> dict[str, Any]:
    return dict(json.loads((OUR_VECTORS / "merkle.json").read_text(encoding="utf-8")))


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _mutate(
    op: str, a: int, b: int, first: bytes, x: int, n: int, proof: list[bytes], last: bytes
) -> tuple[bytes, int, int, list[bytes], bytes]:
    nodes = _nodes()
    proof = list(proof)
    match op:
        case "flip":
            proof[a] = _flip(proof[a], b)
        case "flip-leaf":
            first = _flip(first, b)
        case "flip-root":
            last = _flip(last, b)
        case "index":
            x += a
        case "size":
            n += a
        case "drop-last":
            proof = proof[:-1]
        case "drop-first":
            proof = proof[1:]
        case "append":
            proof = [*proof, nodes[a]]
        case "prepend":
            proof = [nodes[a], *proof]
        case "swap":
            proof[a], proof[a + 1] = proof[a + 1], proof[a]
        case _:
            raise AssertionError(f"unknown mutation {op}")
    return first, x, n, proof, last


@functools.cache
def _nodes() -> list[bytes]:
    return [bytes.fromhex(h) for h in load()["nodes"]]


def inclusion_cases() -> Iterator[InclusionCase]:
    data, nodes = load(), _nodes()
    leaves = [bytes.fromhex(h) for h in data["leaves"]]
    roots = [bytes.fromhex(h) for h in data["roots"]]
    valid = [(i, n, [nodes[r] for r in refs]) for i, n, refs in data["inclusion"]]
    for i, n, proof in valid:
        yield InclusionCase(f"inclusion {i}/{n}", leaves[i], i, n, proof, roots[n - 1], True)
    for case, op, a, b, want in data["inclusion_mutations"]:
        i, n, proof = valid[case]
        leaf, index, size, changed, root = _mutate(op, a, b, leaves[i], i, n, proof, roots[n - 1])
        label = f"inclusion {i}/{n} {op} {a} {b}"
        yield InclusionCase(label, leaf, index, size, changed, root, bool(want))


def consistency_cases() -> Iterator[ConsistencyCase]:
    data, nodes = load(), _nodes()
    roots = [bytes.fromhex(h) for h in data["roots"]]
    valid = [(m, n, [nodes[r] for r in refs]) for m, n, refs in data["consistency"]]
    for m, n, proof in valid:
        yield ConsistencyCase(
            f"consistency {m}->{n}", m, n, proof, roots[m - 1], roots[n - 1], True
        )
    for case, op, a, b, want in data["consistency_mutations"]:
        m, n, proof = valid[case]
        root1, s1, s2, changed, root2 = _mutate(op, a, b, roots[m - 1], m, n, proof, roots[n - 1])
        label = f"consistency {m}->{n} {op} {a} {b}"
        yield ConsistencyCase(label, s1, s2, changed, root1, root2, bool(want))
