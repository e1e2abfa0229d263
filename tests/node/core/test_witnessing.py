"""The witness's right edge (node/core/witnessing.py): appending a checkpoint's leaves to the
edge of the tree witnessed gives the same root and the same RFC 9162 consistency proof as the
whole log, and statement documents round-trip and verify."""

from __future__ import annotations

import random

import pytest

from node.core.crypto.signatures import get_suite
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.network import Network
from node.core.formats.trust import CheckpointStatement, Refusal, WitnessKey
from node.core.merkle import MerkleLog, verify_consistency
from node.core.witnessing import EMPTY_TREE, StatementDocument, WitnessedTree, extend

ED25519 = get_suite("ed25519")


@pytest.mark.parametrize("seed", range(40))
def test_the_edge_extends_like_the_whole_log(seed: int) -> None:
    rng = random.Random(seed)
    full = MerkleLog()
    tree = EMPTY_TREE
    for _ in range(6):
        leaves = [rng.randbytes(32) for _ in range(rng.randint(1, 70))]
        old_size, old_root = full.size, full.root()
        full.append_many(leaves)
        extension = extend(tree, leaves)
        assert extension.tree.root == full.root() and extension.tree.size == full.size
        if old_size:
            assert list(extension.proof) == full.consistency_proof(old_size)
            verify_consistency(old_size, full.size, extension.proof, old_root, full.root())
        else:
            assert extension.proof == ()
        # What the database keeps reads back to the same tree.
        tree = WitnessedTree.from_edge_bytes(
            extension.tree.size, extension.tree.root, extension.tree.edge_bytes()
        )
        assert len(tree.edge) == tree.size.bit_count()


def test_a_stored_edge_must_give_its_root() -> None:
    extension = extend(EMPTY_TREE, [bytes([i]) * 32 for i in range(5)])
    data = extension.tree.edge_bytes()
    with pytest.raises(VerificationError):
        WitnessedTree.from_edge_bytes(5, bytes(32), data)
    with pytest.raises(VerificationError):
        WitnessedTree.from_edge_bytes(7, extension.tree.root, data)
    with pytest.raises(VerificationError):
        extend(extension.tree, [])


def statement() -> CheckpointStatement:
    return CheckpointStatement(
        network=Network(1, bytes(20)), province="44", index=1, previous_size=3, tree_size=5,
        root=bytes([7]) * 32, block_number=9, transaction_hash=bytes([8]) * 32, timestamp=1,
    )  # fmt: skip


def test_statement_documents_round_trip_and_verify() -> None:
    private = ED25519.generate_private_key(bytes(32))
    keys = {"41": WitnessKey("ed25519", ED25519.public_key(private))}
    cosigned = StatementDocument("41", statement(), ED25519.sign(private, statement().message()))
    refusal = Refusal(statement(), "witness.inconsistent", "gives another root")
    refused = StatementDocument(
        "41", statement(), ED25519.sign(private, refusal.message()), refusal
    )
    for document in (cosigned, refused):
        again = StatementDocument.from_bytes(document.to_bytes())
        assert again == document and again.verify(keys)
        assert not again.verify({"41": None}) and not again.verify({})
    # A cosignature is not a refusal: the signature covers the kind.
    swapped = StatementDocument("41", statement(), refused.signature)
    assert not swapped.verify(keys)
    value = cosigned.to_json()
    with pytest.raises(InvalidInput) as raised:
        StatementDocument.from_json({**value, "kind": "refusal"})
    assert raised.value.rule == "witness.document"
    with pytest.raises(InvalidInput):
        StatementDocument.from_json({**refused.to_json(), "rule": "other.rule"})
