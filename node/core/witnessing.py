"""What a witness keeps of a province log and how it checks the next checkpoint against it
(docs/FORMATS.md "Witness statements").

A witness does not keep the log: it keeps the tree it last witnessed as its size, root and
*right edge* (the hashes of the complete subtrees of RFC 9162 §2.1.1 that the size decomposes
into, left to right: one per set bit of the size, at most 63). That is enough to append the
leaves of the next checkpoints' manifests, to compute the new root, and to compute the RFC 9162
§2.1.4.1 consistency proof from the witnessed size to the new one (every node of that proof is
an edge node of the old tree or a subtree of the new leaves), which is then verified by
§2.1.4.2 like any proof (:func:`node.core.merkle.verify_consistency`).

A witness statement is published (IPFS, the API) as a :class:`StatementDocument`: the witness,
its kind (``cosignature`` or ``refusal``), the checkpoint statement
(:class:`node.core.formats.trust.CheckpointStatement`), for a refusal the rule and detail, and the
signature over :meth:`CheckpointStatement.message` or :meth:`Refusal.message`; its CID is the
CIDv0 of its canonical bytes (RFC 8785), so anyone recomputes it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from node.core import safejson
from node.core.canonical import canonical_json
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.jsonfmt import Reader
from node.core.formats.trust import (
    PROVINCE_RE,
    CheckpointStatement,
    ProvinceSignature,
    Refusal,
    WitnessKey,
)
from node.core.merkle import EMPTY_ROOT, HASH_SIZE, MerkleLog, NodeId, verify_consistency

STATEMENT_TYPE: Final = "certreg.witness-statement"
STATEMENT_VERSION: Final = 1
KINDS: Final = ("cosignature", "refusal")
#: A published statement document larger than this is refused (``json.size``).
MAX_STATEMENT_BYTES: Final = 16 * 1024


def edge_ids(size: int) -> list[NodeId]:
    """The complete subtrees ``size`` leaves decompose into, left to right."""
    return [
        (level, (size >> level) - 1)
        for level in reversed(range(size.bit_length()))
        if size >> level & 1
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class WitnessedTree:
    """A tree a witness witnessed: size, root and right edge (:func:`edge_ids` order)."""

    size: int
    root: bytes
    edge: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if len(self.edge) != self.size.bit_count() or any(len(h) != HASH_SIZE for h in self.edge):
            raise VerificationError(f"a right edge of size {self.size} has the wrong hashes")

    def edge_bytes(self) -> bytes:
        return b"".join(self.edge)

    @classmethod
    def from_edge_bytes(cls, size: int, root: bytes, data: bytes) -> WitnessedTree:
        """The tree from stored edge bytes; its root must be the one the edge gives.

        Raises:
            VerificationError: the bytes are not that size's edge, or give another root.
        """
        if len(data) != HASH_SIZE * size.bit_count():
            raise VerificationError(f"a right edge of size {size} has the wrong length")
        edge = tuple(data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE))
        tree = cls(size, root, edge)
        if _log(tree).root() != root:
            raise VerificationError("the stored right edge does not give the stored root")
        return tree


#: Before the first checkpoint.
EMPTY_TREE = WitnessedTree(0, EMPTY_ROOT, ())


class _EdgeStore:
    """A :class:`node.core.merkle.NodeStore` holding a right edge and what is appended."""

    def __init__(self, tree: WitnessedTree) -> None:
        self._nodes: dict[NodeId, bytes] = dict(zip(edge_ids(tree.size), tree.edge, strict=True))
        self._size = tree.size

    def get_size(self) -> int:
        return self._size

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        try:
            return [self._nodes[node_id] for node_id in ids]
        except KeyError as exc:  # pragma: no cover - every proof node is held (module doc)
            raise VerificationError(f"node {exc.args[0]} is not on the witnessed edge") from exc

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]], new_size: int) -> None:
        self._nodes.update(nodes)
        self._size = new_size


def _log(tree: WitnessedTree) -> MerkleLog:
    return MerkleLog(_EdgeStore(tree))


@dataclasses.dataclass(frozen=True, slots=True)
class Extension:
    """The tree after appending leaves, and the consistency proof from the old one."""

    tree: WitnessedTree
    proof: tuple[bytes, ...]


def extend(tree: WitnessedTree, leaf_hashes: Sequence[bytes]) -> Extension:
    """Append ``leaf_hashes`` to the witnessed ``tree``: the new tree (size, root, edge) and
    the RFC 9162 consistency proof from ``tree`` to it, checked by §2.1.4.2 (none from size 0).

    Raises:
        VerificationError: no leaves, or the proof does not verify (cannot happen for a
            well-formed edge; the check is the witness's evidence).
    """
    if not leaf_hashes:
        raise VerificationError("a checkpoint must add entries")
    store = _EdgeStore(tree)
    log = MerkleLog(store)
    log.append_many(leaf_hashes)
    size = log.size
    root = log.root()
    proof: tuple[bytes, ...] = ()
    if tree.size:
        proof = tuple(log.consistency_proof(tree.size, size))
        verify_consistency(tree.size, size, proof, tree.root, root)
    edge = tuple(store.get_nodes(edge_ids(size)))
    return Extension(WitnessedTree(size, root, edge), proof)


@dataclasses.dataclass(frozen=True, slots=True)
class StatementDocument:
    """A member's signed statement about one checkpoint: a cosignature, or a refusal with the
    rule (a ``witness.*`` id) the checkpoint broke and what the witness saw."""

    witness: str
    statement: CheckpointStatement
    signature: bytes
    #: None for a cosignature.
    refusal: Refusal | None = None

    @property
    def kind(self) -> str:
        return "cosignature" if self.refusal is None else "refusal"

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return self.statement.message() if self.refusal is None else self.refusal.message()

    def verify(self, keys: Mapping[str, WitnessKey | None]) -> bool:
        """Whether the witness's key among ``keys`` verifies the signature (never raises)."""
        key = keys.get(self.witness)
        return key is not None and key.verify(self.message(), self.signature)

    def as_signature(self) -> ProvinceSignature:
        return ProvinceSignature(self.witness, self.signature)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": STATEMENT_TYPE,
            "version": STATEMENT_VERSION,
            "witness": self.witness,
            "kind": self.kind,
            "statement": self.statement.to_json(),
            "signature": self.signature.hex(),
        }
        if self.refusal is not None:
            out["rule"] = self.refusal.rule
            out["detail"] = self.refusal.detail
        return out

    def to_bytes(self) -> bytes:
        """The published bytes: ``JCS(document)``."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, value: Any, path: str = "statement") -> StatementDocument:
        """Parse a statement document strictly (the signature is not checked: :meth:`verify`).

        Raises:
            InvalidInput: ``witness.document`` or the schema rule broken, naming the path.
        """
        r = Reader(value, path)
        r.keys({"type", "version", "witness", "kind", "statement", "signature"}, {"rule", "detail"})
        if r.raw("type") != STATEMENT_TYPE or r.raw("version") != STATEMENT_VERSION:
            raise InvalidInput(r.at("type"), "witness.document", "not a version 1 statement")
        kind = r.raw("kind")
        if kind not in KINDS or (kind == "refusal") != ("rule" in r.value):
            raise InvalidInput(
                r.at("kind"), "witness.document", "cosignature, or refusal with its rule"
            )
        signature = r.hex("signature")
        if not 1 <= len(signature) <= 128:
            raise InvalidInput(r.at("signature"), "schema.hex_size", "1-128 bytes")
        statement = CheckpointStatement.from_json(r.raw("statement"), r.at("statement"))
        refusal = None
        if kind == "refusal":
            refusal = Refusal.from_json(
                {"statement": r.raw("statement"), "rule": r.raw("rule"), "detail": r.raw("detail")},
                path,
            )
        return cls(r.string("witness", PROVINCE_RE), statement, signature, refusal)

    @classmethod
    def from_bytes(cls, data: bytes) -> StatementDocument:
        """Read published bytes: bounded JSON, strict.

        Raises:
            InvalidInput: ``witness.document``, ``json.*`` or a schema rule.
        """
        return cls.from_json(
            safejson.loads(data, "statement", max_bytes=MAX_STATEMENT_BYTES, rule="witness.json")
        )


__all__ = [
    "EMPTY_TREE",
    "KINDS",
    "STATEMENT_TYPE",
    "Extension",
    "StatementDocument",
    "WitnessedTree",
    "edge_ids",
    "extend",
]
