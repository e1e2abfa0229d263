"""The contract's verifyInclusion / verifyConsistency agree with every file of the shared
Merkle conformance corpus (tests/vectors/tlog), on both backends, as eth_call (nothing mined).

ABI encoding: the contract takes ``bytes32``. A vector value of another length (the corpus's
"wrong leaf", "garbage" and "don't care" values) is right-padded with zeros to 32 bytes, which
is what an ABI encoder does with a short ``bytes32``; every such vector still has to give the
corpus's answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import RegistryClient
from tests.conftest import TLOG_VECTORS
from tests.contract.conftest import Chain


def _files(kind: str) -> list[Path]:
    return sorted((TLOG_VECTORS / kind).rglob("*.json"))


def _b32(text: str | None) -> bytes:
    raw = base64.b64decode(text or "")
    assert len(raw) <= 32
    return raw.ljust(32, b"\x00")


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_corpus_is_present() -> None:
    # 98 + 98 files at the time of writing; a missing corpus must fail, not pass vacuously.
    assert len(_files("inclusion")) >= 90
    assert len(_files("consistency")) >= 90


@pytest.fixture(scope="module")
def client(chain: Chain) -> RegistryClient:
    return chain.client(chain.deploy().address, 0)


def test_inclusion_vectors(client: RegistryClient) -> None:
    disagreements = []
    for path in _files("inclusion"):
        v = _load(path)
        got = client.verify_inclusion(
            _b32(v["leafHash"]),
            v["leafIdx"],
            v["treeSize"],
            [_b32(p) for p in v["proof"] or []],
            _b32(v["root"]),
        )
        if got == v["wantErr"]:
            disagreements.append(path.relative_to(TLOG_VECTORS))
    assert disagreements == []


def test_consistency_vectors(client: RegistryClient) -> None:
    disagreements = []
    for path in _files("consistency"):
        v = _load(path)
        got = client.verify_consistency(
            v["size1"],
            v["size2"],
            _b32(v["root1"]),
            _b32(v["root2"]),
            [_b32(p) for p in v["proof"] or []],
        )
        if got == v["wantErr"]:
            disagreements.append(path.relative_to(TLOG_VECTORS))
    assert disagreements == []


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_zero_hashes_never_verify(client: RegistryClient) -> None:
    # A zero leaf hash or root is a missing hash (MerkleVerifier.sol): refused even where the
    # proof computes, so each check stands alone (a zero leaf under a non-zero root, a zero
    # first root under a non-zero second one).
    zero, b, c = bytes(32), hashlib.sha256(b"b").digest(), hashlib.sha256(b"c").digest()
    assert client.verify_inclusion(b, 0, 2, [c], _node(b, c))
    assert not client.verify_inclusion(zero, 0, 2, [c], _node(zero, c))
    assert not client.verify_inclusion(zero, 0, 1, [], zero)
    assert client.verify_consistency(1, 2, b, _node(b, c), [c])
    assert not client.verify_consistency(1, 2, zero, _node(zero, c), [c])
    assert not client.verify_consistency(1, 2, b, zero, [c])
    assert not client.verify_consistency(2, 2, zero, zero, [])
