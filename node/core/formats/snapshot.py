"""Snapshots: the consortium contract's state at one block, for offline verification.

Format pinned in ``docs/FORMATS.md`` and ``schemas/snapshot.schema.json``. A
:class:`SnapshotTrustSource` answers the verifier's questions from a snapshot; the chain adapter
provides the same :class:`TrustSource` interface backed by RPC.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader, hex0x

SNAPSHOT_TYPE = "certreg.snapshot"
SNAPSHOT_VERSION = 1
PROVINCE_RE = re.compile(r"[1-8][0-9]")
ORGANISATION_CODE_RE = re.compile(r"[YS][0-9]{12}")
ORGANISATION_STATUSES = ("active", "suspended", "terminated")
CERTIFICATE_STATUSES = ("active", "revoked", "suspended", "superseded", "reinstated")
SUITES = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")
#: The largest tree size, leaf or checkpoint index and key time a bundle or snapshot may carry:
#: 2^53 - 1, the largest integer a JSON number holds exactly in JavaScript, so that the Python
#: and the in-browser verifier read every document alike (no real log or clock comes near it;
#: the chain itself stores uint64).
MAX_INDEX = 2**53 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class Network:
    """Which chain and contract a bundle or snapshot belongs to."""

    chain_id: int
    contract: bytes  # 20 bytes

    def to_json(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "contract": hex0x(self.contract)}

    @classmethod
    def from_json(cls, r: Reader) -> Network:
        r.keys({"chain_id", "contract"})
        return cls(r.integer("chain_id", 1), r.hex0x("contract", 20))


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationKey:
    key_id: int
    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int  # 0: open-ended

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "suite": self.suite,
            "public_key": self.public_key.hex(),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Organisation:
    code: str
    province: str
    status: str
    scope_hash: bytes
    keys: tuple[OrganisationKey, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "province": self.province,
            "status": self.status,
            "scope_hash": self.scope_hash.hex(),
            "keys": [key.to_json() for key in self.keys],
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    province: str
    index: int
    tree_size: int
    root: bytes
    block_number: int
    timestamp: int
    manifest_cid: str
    transaction_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "index": self.index,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "block_number": self.block_number,
            "timestamp": self.timestamp,
            "manifest_cid": self.manifest_cid,
            "transaction_hash": hex0x(self.transaction_hash),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class StatusRecord:
    province: str
    commitment: bytes
    status: str
    reason: int
    successor: bytes | None
    block_number: int
    timestamp: int
    transaction_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "commitment": self.commitment.hex(),
            "status": self.status,
            "reason": self.reason,
            "successor": None if self.successor is None else self.successor.hex(),
            "block_number": self.block_number,
            "timestamp": self.timestamp,
            "transaction_hash": hex0x(self.transaction_hash),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    province: str
    operators: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {"province": self.province, "operators": [hex0x(op) for op in self.operators]}


@dataclasses.dataclass(frozen=True, slots=True)
class BlockRef:
    number: int
    hash: bytes
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "hash": hex0x(self.hash), "timestamp": self.timestamp}


class TrustSource(Protocol):
    """What the verifier asks of the chain (or of a snapshot of it)."""

    @property
    def network(self) -> Network: ...

    @property
    def block(self) -> BlockRef: ...

    def organisation(self, code: str) -> Organisation | None:
        """Return the filed organisation with this code, or None."""
        ...

    def checkpoint(self, province: str, index: int) -> Checkpoint | None:
        """Return checkpoint ``index`` of the province's log, or None."""
        ...

    def status_history(self, province: str, commitment: bytes) -> Sequence[StatusRecord]:
        """Return the status records of a certificate under this province, in chain order."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """The contract's state at ``block``."""

    network: Network
    block: BlockRef
    members: tuple[Member, ...]
    organisations: tuple[Organisation, ...]
    checkpoints: tuple[Checkpoint, ...]
    statuses: tuple[StatusRecord, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot's JSON object."""
        return {
            "type": SNAPSHOT_TYPE,
            "version": SNAPSHOT_VERSION,
            "network": self.network.to_json(),
            "block": self.block.to_json(),
            "members": [m.to_json() for m in self.members],
            "organisations": [o.to_json() for o in self.organisations],
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "statuses": [s.to_json() for s in self.statuses],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Snapshot:
        """Parse a snapshot strictly.

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        r = Reader(value, "snapshot")
        r.keys(
            {
                "type",
                "version",
                "network",
                "block",
                "members",
                "organisations",
                "checkpoints",
                "statuses",
            }
        )
        if r.raw("type") != SNAPSHOT_TYPE:
            raise InvalidInput(r.at("type"), "snapshot.type", f"must be {SNAPSHOT_TYPE!r}")
        if r.raw("version") != SNAPSHOT_VERSION or isinstance(r.raw("version"), bool):
            raise InvalidInput(r.at("version"), "snapshot.version", "unsupported version")
        b = r.obj("block")
        b.keys({"number", "hash", "timestamp"})
        block = BlockRef(b.integer("number"), b.hex0x("hash", 32), b.integer("timestamp"))
        many = 10**8
        return cls(
            network=Network.from_json(r.obj("network")),
            block=block,
            members=tuple(
                _member(Reader(m, f"snapshot.members[{i}]"))
                for i, m in enumerate(r.array("members", 1000))
            ),
            organisations=tuple(
                _organisation(Reader(o, f"snapshot.organisations[{i}]"))
                for i, o in enumerate(r.array("organisations", many))
            ),
            checkpoints=tuple(
                _checkpoint(Reader(c, f"snapshot.checkpoints[{i}]"))
                for i, c in enumerate(r.array("checkpoints", many))
            ),
            statuses=tuple(
                _status(Reader(s, f"snapshot.statuses[{i}]"))
                for i, s in enumerate(r.array("statuses", many))
            ),
        )


def _member(r: Reader) -> Member:
    r.keys({"province", "operators"})
    operators = []
    for i, op in enumerate(r.array("operators", 100)):
        holder = Reader({"op": op}, f"{r.at('operators')}[{i}]")
        operators.append(holder.hex0x("op", 20))
    return Member(r.string("province", PROVINCE_RE), tuple(operators))


def _organisation(r: Reader) -> Organisation:
    r.keys({"code", "province", "status", "scope_hash", "keys"})
    status = r.string("status")
    if status not in ORGANISATION_STATUSES:
        raise InvalidInput(r.at("status"), "snapshot.organisation_status", "unknown status")
    keys = []
    for i, k in enumerate(r.array("keys", 1000)):
        kr = Reader(k, f"{r.at('keys')}[{i}]")
        kr.keys({"key_id", "suite", "public_key", "valid_from", "valid_until"})
        suite = kr.string("suite")
        if suite not in SUITES:
            raise InvalidInput(kr.at("suite"), "snapshot.suite", f"must be one of {SUITES}")
        keys.append(
            OrganisationKey(
                key_id=kr.integer("key_id", 0, 2**32 - 1),
                suite=suite,
                public_key=kr.hex("public_key"),
                valid_from=kr.integer("valid_from", 0, MAX_INDEX),
                valid_until=kr.integer("valid_until", 0, MAX_INDEX),
            )
        )
    return Organisation(
        code=r.string("code", ORGANISATION_CODE_RE),
        province=r.string("province", PROVINCE_RE),
        status=status,
        scope_hash=r.hex("scope_hash", 32),
        keys=tuple(keys),
    )


def _checkpoint(r: Reader) -> Checkpoint:
    r.keys(
        {
            "province",
            "index",
            "tree_size",
            "root",
            "block_number",
            "timestamp",
            "manifest_cid",
            "transaction_hash",
        }
    )
    return Checkpoint(
        province=r.string("province", PROVINCE_RE),
        index=r.integer("index", 0, MAX_INDEX),
        tree_size=r.integer("tree_size", 1, MAX_INDEX),
        root=r.hex("root", 32),
        block_number=r.integer("block_number"),
        timestamp=r.integer("timestamp"),
        manifest_cid=r.string("manifest_cid"),
        transaction_hash=r.hex0x("transaction_hash", 32),
    )


def _status(r: Reader) -> StatusRecord:
    r.keys(
        {
            "province",
            "commitment",
            "status",
            "reason",
            "successor",
            "block_number",
            "timestamp",
            "transaction_hash",
        }
    )
    status = r.string("status")
    if status not in CERTIFICATE_STATUSES:
        raise InvalidInput(r.at("status"), "snapshot.certificate_status", "unknown status")
    return StatusRecord(
        province=r.string("province", PROVINCE_RE),
        commitment=r.hex("commitment", 32),
        status=status,
        reason=r.integer("reason", 0, 65535),
        successor=None if r.is_null("successor") else r.hex("successor", 32),
        block_number=r.integer("block_number"),
        timestamp=r.integer("timestamp"),
        transaction_hash=r.hex0x("transaction_hash", 32),
    )


class SnapshotTrustSource:
    """A :class:`TrustSource` answering from a snapshot, fully offline ("as of block B")."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._organisations = {o.code: o for o in snapshot.organisations}
        self._checkpoints = {(c.province, c.index): c for c in snapshot.checkpoints}
        self._statuses: dict[tuple[str, bytes], list[StatusRecord]] = {}
        for record in snapshot.statuses:
            self._statuses.setdefault((record.province, record.commitment), []).append(record)

    @property
    def network(self) -> Network:
        return self._snapshot.network

    @property
    def block(self) -> BlockRef:
        return self._snapshot.block

    def organisation(self, code: str) -> Organisation | None:
        return self._organisations.get(code)

    def checkpoint(self, province: str, index: int) -> Checkpoint | None:
        return self._checkpoints.get((province, index))

    def status_history(self, province: str, commitment: bytes) -> Sequence[StatusRecord]:
        return self._statuses.get((province, commitment), [])
