"""What a verifier can trust offline: trust roots, cosigned checkpoints, snapshot signatures
and audit statements (docs/FORMATS.md "Trust roots", "Cosignatures", "Signed snapshots",
"Audit statements"; docs/THREAT-MODEL.md "Trust roots and witnesses").

Every signed statement here is the bytes ``DOMAIN || 0x0A || JCS(body)`` (RFC 8785), signed by a
member province's *checkpoint-signing key*: the key the member published on the contract with
``setMemberKey(2, key)`` (:data:`CHECKPOINT_KEY_PURPOSE`), 32 bytes for Ed25519 or 65 bytes
``04‖x‖y`` for SM2 (the length is the suite tag: :meth:`WitnessKey.from_chain`).

- **Trust root** (``certreg.trust-root`` version 1): the network, every member province with its
  checkpoint-signing key (or none), the threshold (a majority of the members, as the
  contract's governance) and the block the root reflects. Roots form a chain, as in TUF: root
  1 is signed by a threshold of its own keys; root *k*+1 names the digest of root *k* and is
  signed by a threshold of root *k*'s keys *and* a threshold of its own. A verifier that pinned
  an older root follows the chain offline (:meth:`TrustRootFile.verify`).
- **Cosignature** of a checkpoint (:class:`CheckpointStatement`): a member province's statement
  that it witnessed the checkpoint (it extends what it witnessed before, its manifest holds the
  entries that give its root, and every certificate entry in it is signed by a key the
  organisation filed). A **refusal** (:class:`Refusal`) names the rule it broke.
- **Snapshot signature**: over the snapshot's digest and its time (:func:`snapshot_message`).
- **Audit statement** (:class:`AuditStatement`): an auditor's result for one checkpoint, clean or
  with findings by leaf index; referenced on chain by its content hash and CID.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from node.core import safejson
from node.core.canonical import canonical_json
from node.core.crypto.signatures import get_suite
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.jsonfmt import Reader, hex0x
from node.core.formats.network import MAX_INDEX, BlockRef, Network

#: ``memberKey(province, 2)``: the member's checkpoint-signing key (trust roots, cosignatures,
#: snapshot signatures).
CHECKPOINT_KEY_PURPOSE: Final = 2
#: ``memberKey(province, 3)``: the public address of the member's node API (UTF-8, http(s)),
#: where its signatures are collected (``certreg trust-root``, ``certreg snapshot --sign``).
NODE_URL_PURPOSE: Final = 3
#: The suites a checkpoint-signing key may have.
WITNESS_SUITES: Final = ("ed25519", "sm2-sm3")

TRUST_ROOT_TYPE: Final = "certreg.trust-root"
TRUST_ROOT_VERSION: Final = 1
TRUST_ROOT_DOMAIN: Final = "certreg.trust-root.v1"
COSIGNATURE_DOMAIN: Final = "certreg.cosignature.v1"
REFUSAL_DOMAIN: Final = "certreg.witness-refusal.v1"
SNAPSHOT_SIGNATURE_DOMAIN: Final = "certreg.snapshot-signature.v1"
AUDIT_STATEMENT_TYPE: Final = "certreg.audit-statement"
#: A trust-root file larger than this is refused (``json.size``).
MAX_TRUST_ROOT_BYTES: Final = 4 * 1024 * 1024
MAX_MEMBERS: Final = 64
MAX_ROOTS: Final = 10_000
PROVINCE_RE: Final = re.compile(r"[1-8][0-9]")
URL_RE: Final = re.compile(r"https?://[\x21-\x7e]{1,120}")


def threshold_for(member_count: int) -> int:
    """A majority of ``member_count`` members (more than half), as the contract's governance."""
    return member_count // 2 + 1


def signed_bytes(domain: str, body: Mapping[str, Any]) -> bytes:
    """``DOMAIN || 0x0A || JCS(body)``: the bytes every statement's signature covers."""
    return domain.encode("ascii") + b"\n" + canonical_json(dict(body))


def digest_of(domain: str, body: Mapping[str, Any]) -> bytes:
    """SHA-256 of :func:`signed_bytes` (a trust root's digest, a snapshot's digest)."""
    return hashlib.sha256(signed_bytes(domain, body)).digest()


# ---------------------------------------------------------------------------------------------
# Keys and signatures


@dataclasses.dataclass(frozen=True, slots=True)
class WitnessKey:
    """A member's checkpoint-signing public key."""

    suite: str
    public_key: bytes

    @classmethod
    def from_chain(cls, raw: bytes) -> WitnessKey | None:
        """The key of ``memberKey(province, 2)``: 32 bytes are Ed25519, 65 bytes starting with
        0x04 are SM2 (uncompressed point); anything else (none, or another shape) is None."""
        if len(raw) == 32:
            return cls("ed25519", bytes(raw))
        if len(raw) == 65 and raw[0] == 0x04:
            return cls("sm2-sm3", bytes(raw))
        return None

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's over ``message`` (never raises)."""
        try:
            get_suite(self.suite).verify(self.public_key, message, signature)
        except (VerificationError, InvalidInput):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {"suite": self.suite, "public_key": self.public_key.hex()}


def check_witness_key(suite: str, public_key: bytes, field: str = "key") -> WitnessKey:
    """A checkpoint-signing key as the contract would hold it.

    Raises:
        InvalidInput: ``trust_root.key`` (another suite, or not 32 / 65 bytes of its suite).
    """
    key = WitnessKey.from_chain(public_key)
    if key is None or key.suite != suite:
        raise InvalidInput(
            field,
            "trust_root.key",
            "a checkpoint-signing key is Ed25519 (32 bytes) or SM2 (65 bytes, 04||x||y)",
        )
    return key


@dataclasses.dataclass(frozen=True, slots=True)
class ProvinceSignature:
    """One province's signature of a statement."""

    province: str
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {"province": self.province, "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, value: Any, path: str) -> ProvinceSignature:
        r = Reader(value, path)
        r.keys({"province", "signature"})
        signature = r.hex("signature")
        if not 1 <= len(signature) <= 128:
            raise InvalidInput(r.at("signature"), "schema.hex_size", "1-128 bytes")
        return cls(r.string("province", PROVINCE_RE), signature)


def signers(
    message: bytes,
    signatures: Iterable[ProvinceSignature],
    keys: Mapping[str, WitnessKey | None],
) -> set[str]:
    """The provinces of ``keys`` whose key verifies one of ``signatures`` over ``message``
    (each counted once; a signature by a province without a key, or a bad one, counts for
    nothing)."""
    valid: set[str] = set()
    for item in signatures:
        key = keys.get(item.province)
        if key is not None and item.province not in valid and key.verify(message, item.signature):
            valid.add(item.province)
    return valid


def _signatures(r: Reader, key: str, limit: int) -> tuple[ProvinceSignature, ...]:
    return tuple(
        ProvinceSignature.from_json(item, f"{r.at(key)}[{i}]")
        for i, item in enumerate(r.array(key, limit))
    )


# ---------------------------------------------------------------------------------------------
# Trust roots


@dataclasses.dataclass(frozen=True, slots=True)
class RootMember:
    """A member province and its checkpoint-signing key (None: it published none)."""

    province: str
    key: WitnessKey | None

    def to_json(self) -> dict[str, Any]:
        if self.key is None:
            return {"province": self.province, "suite": None, "public_key": None}
        return {"province": self.province, **self.key.to_json()}


@dataclasses.dataclass(frozen=True, slots=True)
class TrustRootBody:
    """The signed part of a trust root."""

    network: Network
    serial: int
    block: BlockRef
    members: tuple[RootMember, ...]
    previous: bytes | None

    @property
    def threshold(self) -> int:
        return threshold_for(len(self.members))

    @property
    def keys(self) -> dict[str, WitnessKey | None]:
        return {m.province: m.key for m in self.members}

    def signable(self) -> bool:
        """Whether enough members have a key to reach the threshold."""
        return sum(m.key is not None for m in self.members) >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network.to_json(),
            "serial": self.serial,
            "block": self.block.to_json(),
            "threshold": self.threshold,
            "members": [m.to_json() for m in self.members],
            "previous": None if self.previous is None else self.previous.hex(),
        }

    def message(self) -> bytes:
        """The bytes each member signs."""
        return signed_bytes(TRUST_ROOT_DOMAIN, self.to_json())

    def digest(self) -> bytes:
        return hashlib.sha256(self.message()).digest()

    @classmethod
    def from_json(cls, value: Any, path: str) -> TrustRootBody:
        r = Reader(value, path)
        r.keys({"network", "serial", "block", "threshold", "members", "previous"})
        b = r.obj("block")
        b.keys({"number", "hash", "timestamp"})
        members: list[RootMember] = []
        for i, item in enumerate(r.array("members", MAX_MEMBERS)):
            m = Reader(item, f"{r.at('members')}[{i}]")
            m.keys({"province", "suite", "public_key"})
            province = m.string("province", PROVINCE_RE)
            if m.is_null("suite") and m.is_null("public_key"):
                members.append(RootMember(province, None))
                continue
            suite = m.string("suite")
            members.append(
                RootMember(
                    province, check_witness_key(suite, m.hex("public_key"), m.at("public_key"))
                )
            )
        provinces = [m.province for m in members]
        if not members or provinces != sorted(set(provinces)):
            raise InvalidInput(
                r.at("members"), "trust_root.members", "members sorted by province, each once"
            )
        body = cls(
            network=Network.from_json(r.obj("network")),
            serial=r.integer("serial", 1),
            block=BlockRef(b.integer("number"), b.hex0x("hash", 32), b.integer("timestamp")),
            members=tuple(members),
            previous=None if r.is_null("previous") else r.hex("previous", 32),
        )
        if (body.previous is None) != (body.serial == 1):
            raise InvalidInput(
                r.at("previous"), "trust_root.chain", "root 1 alone has no previous root"
            )
        if r.integer("threshold", 1) != body.threshold:
            raise InvalidInput(
                r.at("threshold"),
                "trust_root.threshold",
                f"must be {body.threshold}, a majority of {len(members)} members",
            )
        return body


@dataclasses.dataclass(frozen=True, slots=True)
class TrustRoot:
    """A trust root and its signatures."""

    body: TrustRootBody
    signatures: tuple[ProvinceSignature, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.body.to_json(),
            "signatures": [s.to_json() for s in self.signatures],
        }

    @classmethod
    def from_json(cls, value: Any, path: str) -> TrustRoot:
        r = Reader(value, path)
        r.keys({"root", "signatures"})
        return cls(
            TrustRootBody.from_json(r.raw("root"), r.at("root")),
            _signatures(r, "signatures", 2 * MAX_MEMBERS),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class TrustRootFile:
    """``trust-root.json``: the chain of roots, oldest first; the last is the current root."""

    roots: tuple[TrustRoot, ...]

    @property
    def current(self) -> TrustRootBody:
        return self.roots[-1].body

    def to_json(self) -> dict[str, Any]:
        return {
            "type": TRUST_ROOT_TYPE,
            "version": TRUST_ROOT_VERSION,
            "roots": [root.to_json() for root in self.roots],
        }

    @classmethod
    def from_text(cls, data: str | bytes) -> TrustRootFile:
        """Parse a trust-root file (bounded reader, then strictly; no signature is checked:
        :meth:`verify` does that).

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        value = safejson.loads(
            data, "trust_root", max_bytes=MAX_TRUST_ROOT_BYTES, rule="trust_root.json"
        )
        return cls.from_json(value)

    @classmethod
    def from_json(cls, value: Any) -> TrustRootFile:
        r = Reader(value, "trust_root")
        r.keys({"type", "version", "roots"})
        if r.raw("type") != TRUST_ROOT_TYPE:
            raise InvalidInput(r.at("type"), "trust_root.type", f"must be {TRUST_ROOT_TYPE!r}")
        if r.raw("version") != TRUST_ROOT_VERSION or isinstance(r.raw("version"), bool):
            raise InvalidInput(r.at("version"), "trust_root.version", "unsupported version")
        items = r.array("roots", MAX_ROOTS)
        if not items:
            raise InvalidInput(r.at("roots"), "trust_root.chain", "holds no root")
        return cls(
            tuple(
                TrustRoot.from_json(item, f"{r.at('roots')}[{i}]") for i, item in enumerate(items)
            )
        )

    def verify(self, pinned: TrustRootBody | None = None) -> TrustRootBody:
        """Check the chain and return the current root.

        Without ``pinned`` the file's first root is the pinned one (it must be signed by a
        threshold of its own keys). With ``pinned`` (a root the verifier trusted before) the
        chain must hold it, and only the links after it matter: each next root names the
        previous root's digest, has the next serial and the same network, and is signed by a
        threshold of the previous root's keys and a threshold of its own.

        Raises:
            InvalidInput: ``trust_root.pinned``, ``trust_root.chain``, ``trust_root.signatures``.
        """
        start = 0
        if pinned is None:
            first = self.roots[0]
            _check_signed(first, first.body, "trust_root.roots[0]")
        else:
            digest = pinned.digest()
            found = [i for i, root in enumerate(self.roots) if root.body.digest() == digest]
            if not found:
                raise InvalidInput(
                    "trust_root.roots",
                    "trust_root.pinned",
                    f"does not hold the pinned root (serial {pinned.serial})",
                )
            start = found[0]
        for i in range(start + 1, len(self.roots)):
            previous, root = self.roots[i - 1].body, self.roots[i]
            path = f"trust_root.roots[{i}]"
            body = root.body
            if body.previous != previous.digest():
                raise InvalidInput(
                    f"{path}.root.previous", "trust_root.chain", "does not name the root before"
                )
            if body.serial != previous.serial + 1 or body.network != previous.network:
                raise InvalidInput(
                    f"{path}.root",
                    "trust_root.chain",
                    "must have the next serial and the same network as the root before",
                )
            _check_signed(root, previous, path)
            _check_signed(root, body, path)
        return self.current


def _check_signed(root: TrustRoot, by: TrustRootBody, path: str) -> None:
    """Raise unless a threshold of ``by``'s members signed ``root``."""
    valid = signers(root.body.message(), root.signatures, by.keys)
    if len(valid) < by.threshold:
        raise InvalidInput(
            f"{path}.signatures",
            "trust_root.signatures",
            f"{len(valid)} valid signatures of root {by.serial}'s members, {by.threshold} needed",
        )


# ---------------------------------------------------------------------------------------------
# Cosignatures of checkpoints


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointStatement:
    """What a witness cosigns about one anchored checkpoint."""

    network: Network
    province: str
    index: int
    previous_size: int
    tree_size: int
    root: bytes
    block_number: int
    transaction_hash: bytes
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network.to_json(),
            "province": self.province,
            "index": self.index,
            "previous_size": self.previous_size,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "block_number": self.block_number,
            "transaction_hash": hex0x(self.transaction_hash),
            "timestamp": self.timestamp,
        }

    def message(self) -> bytes:
        return signed_bytes(COSIGNATURE_DOMAIN, self.to_json())

    @classmethod
    def from_json(cls, value: Any, path: str = "statement") -> CheckpointStatement:
        r = Reader(value, path)
        r.keys(
            {
                "network",
                "province",
                "index",
                "previous_size",
                "tree_size",
                "root",
                "block_number",
                "transaction_hash",
                "timestamp",
            }
        )
        statement = cls(
            network=Network.from_json(r.obj("network")),
            province=r.string("province", PROVINCE_RE),
            index=r.integer("index", 0, MAX_INDEX),
            previous_size=r.integer("previous_size", 0, MAX_INDEX),
            tree_size=r.integer("tree_size", 1, MAX_INDEX),
            root=r.hex("root", 32),
            block_number=r.integer("block_number"),
            transaction_hash=r.hex0x("transaction_hash", 32),
            timestamp=r.integer("timestamp"),
        )
        if statement.previous_size >= statement.tree_size:
            raise InvalidInput(r.at("previous_size"), "schema.range", "must be below the tree size")
        return statement


@dataclasses.dataclass(frozen=True, slots=True)
class Refusal:
    """A witness's signed refusal to cosign a checkpoint: the rule it broke (a ``witness.*``
    id of the catalogue) and what the witness saw."""

    statement: CheckpointStatement
    rule: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement.to_json(), "rule": self.rule, "detail": self.detail}

    def message(self) -> bytes:
        return signed_bytes(REFUSAL_DOMAIN, self.to_json())

    @classmethod
    def from_json(cls, value: Any, path: str = "refusal") -> Refusal:
        r = Reader(value, path)
        r.keys({"statement", "rule", "detail"})
        detail = r.string("detail")
        if len(detail) > 500:
            raise InvalidInput(r.at("detail"), "schema.max_length", "at most 500 characters")
        return cls(
            CheckpointStatement.from_json(r.raw("statement"), r.at("statement")),
            r.string("rule", re.compile(r"witness\.[a-z_]{1,40}")),
            detail,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Witness:
    """A bundle's witness part: the checkpoint's time and previous size (the rest of the
    cosigned statement is the bundle's own network and anchor) and the cosignatures."""

    timestamp: int
    previous_size: int
    cosignatures: tuple[ProvinceSignature, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "previous_size": self.previous_size,
            "cosignatures": [c.to_json() for c in self.cosignatures],
        }

    @classmethod
    def from_json(cls, value: Any, path: str) -> Witness:
        r = Reader(value, path)
        r.keys({"timestamp", "previous_size", "cosignatures"})
        cosignatures = _signatures(r, "cosignatures", MAX_MEMBERS)
        provinces = [c.province for c in cosignatures]
        if not cosignatures or len(set(provinces)) != len(provinces):
            raise InvalidInput(
                r.at("cosignatures"), "bundle.witness", "one or more, each province once"
            )
        return cls(r.integer("timestamp"), r.integer("previous_size", 0, MAX_INDEX), cosignatures)


# ---------------------------------------------------------------------------------------------
# Snapshot signatures


def snapshot_message(digest: bytes, time: int) -> bytes:
    """The bytes a member signs for a snapshot: its digest and its time."""
    return signed_bytes(SNAPSHOT_SIGNATURE_DOMAIN, {"digest": digest.hex(), "time": time})


# ---------------------------------------------------------------------------------------------
# Audit statements


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFinding:
    """One finding of an audit statement: the leaf, the finding kind, the entry's commitment."""

    leaf_index: int
    kind: str
    commitment: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "kind": self.kind,
            "commitment": self.commitment.hex(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class AuditStatement:
    """An auditor's statement about one checkpoint: clean, or its findings by leaf."""

    network: Network
    province: str
    checkpoint_index: int
    tree_size: int
    root: bytes
    findings: tuple[AuditFinding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "type": AUDIT_STATEMENT_TYPE,
            "version": 1,
            "network": self.network.to_json(),
            "province": self.province,
            "checkpoint_index": self.checkpoint_index,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "result": "clean" if self.clean else "findings",
            "findings": [f.to_json() for f in self.findings],
        }

    def content(self) -> bytes:
        """The canonical bytes published (``JCS``); the chain holds their SHA-256."""
        return canonical_json(self.to_json())

    def content_hash(self) -> bytes:
        return hashlib.sha256(self.content()).digest()

    @classmethod
    def from_json(cls, value: Any, path: str = "statement") -> AuditStatement:
        r = Reader(value, path)
        r.keys(
            {
                "type",
                "version",
                "network",
                "province",
                "checkpoint_index",
                "tree_size",
                "root",
                "result",
                "findings",
            }
        )
        if r.raw("type") != AUDIT_STATEMENT_TYPE or r.raw("version") != 1:
            raise InvalidInput(r.at("type"), "audit_statement.type", "not a version 1 statement")
        findings = []
        for i, item in enumerate(r.array("findings", 100_000)):
            f = Reader(item, f"{r.at('findings')}[{i}]")
            f.keys({"leaf_index", "kind", "commitment"})
            findings.append(
                AuditFinding(
                    f.integer("leaf_index", 0, MAX_INDEX),
                    f.string("kind", re.compile(r"[a-z_]{1,40}\.[a-z_.]{1,80}")),
                    f.hex("commitment", 32),
                )
            )
        statement = cls(
            network=Network.from_json(r.obj("network")),
            province=r.string("province", PROVINCE_RE),
            checkpoint_index=r.integer("checkpoint_index", 0, MAX_INDEX),
            tree_size=r.integer("tree_size", 1, MAX_INDEX),
            root=r.hex("root", 32),
            findings=tuple(findings),
        )
        if r.raw("result") != ("clean" if statement.clean else "findings"):
            raise InvalidInput(
                r.at("result"), "audit_statement.result", "clean exactly when there is no finding"
            )
        return statement


def parse_audit_statement(data: bytes) -> AuditStatement:
    """Read published statement bytes: bounded JSON, strict, and exactly canonical.

    Raises:
        InvalidInput: ``audit_statement.*`` or ``json.*``.
    """
    statement = AuditStatement.from_json(
        safejson.loads(data, "statement", max_bytes=16 * 1024 * 1024, rule="audit_statement.json")
    )
    if statement.content() != data:
        raise InvalidInput("statement", "audit_statement.canonical", "not in canonical form")
    return statement


def check_node_url(url: str) -> str:
    """A node API address as published with purpose 3.

    Raises:
        InvalidInput: ``trust_root.url``.
    """
    if not URL_RE.fullmatch(url):
        raise InvalidInput("url", "trust_root.url", "an http(s) address of at most 128 bytes")
    return url.rstrip("/")


__all__ = [
    "AUDIT_STATEMENT_TYPE",
    "CHECKPOINT_KEY_PURPOSE",
    "NODE_URL_PURPOSE",
    "AuditFinding",
    "AuditStatement",
    "CheckpointStatement",
    "ProvinceSignature",
    "Refusal",
    "RootMember",
    "TrustRoot",
    "TrustRootBody",
    "TrustRootFile",
    "Witness",
    "WitnessKey",
    "check_node_url",
    "check_witness_key",
    "digest_of",
    "parse_audit_statement",
    "signed_bytes",
    "signers",
    "snapshot_message",
    "threshold_for",
]
