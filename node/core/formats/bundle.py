"""The holder's portable bundle (``application/vnd.certreg.bundle+json; v=1``).

Format pinned in ``docs/FORMATS.md`` and ``schemas/bundle.schema.json``. Parsing is strict: a
bundle with an unknown key, a wrong type or a malformed value is refused, never half-read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from node.core.certificate import (
    FIELD_NAMES,
    FIELD_NAMES_V2,
    SKILL_LEVEL,
    TYPE_FIELD,
    FieldValue,
)
from node.core.errors import InvalidInput
from node.core.formats.commitment import Disclosed, FieldProof, Redacted, SaltedCertificate
from node.core.formats.entry import PROVINCE_RE, LogEntry
from node.core.formats.jsonfmt import Reader, check_hex, hex0x
from node.core.formats.snapshot import MAX_INDEX, Network
from node.core.formats.trust import CheckpointStatement, Witness

BUNDLE_TYPE = "certreg.bundle"
BUNDLE_VERSION = 1
#: Format 2 commits ``certificate_type`` (a 13th field) and carries a version 2 entry.
BUNDLE_VERSION_2 = 2
MEDIA_TYPE = "application/vnd.certreg.bundle+json; v=1"
MEDIA_TYPE_2 = "application/vnd.certreg.bundle+json; v=2"
MAX_PROOF_HASHES = 64

#: Fields mirrored in the public log entry. They are public anyway, so a bundle must disclose
#: them: the verifier checks them against the entry, which a redacted field would not allow.
ENTRY_MIRRORED_FIELDS = (
    "certificate_number",
    "organisation_code",
    "issue_date",
    "level",
    "occupation_code",
    "work_type_code",
    TYPE_FIELD,
)
#: The fields a holder may redact.
REDACTABLE_FIELDS = tuple(name for name in FIELD_NAMES if name not in ENTRY_MIRRORED_FIELDS)


def field_names_of(version: int) -> tuple[str, ...]:
    """The committed fields of a bundle of format ``version``."""
    return FIELD_NAMES_V2 if version == BUNDLE_VERSION_2 else FIELD_NAMES


@dataclasses.dataclass(frozen=True, slots=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "hashes": [h.hex() for h in self.hashes],
        }


@dataclasses.dataclass(frozen=True, slots=True)
class AnchorRef:
    """Where the entry's checkpoint was anchored."""

    province: str
    checkpoint_index: int
    tree_size: int
    root: bytes
    block_number: int
    transaction_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "checkpoint_index": self.checkpoint_index,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "block_number": self.block_number,
            "transaction_hash": hex0x(self.transaction_hash),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Bundle:
    """A certificate with its salts, log entry, inclusion proof and anchor reference."""

    network: Network
    certificate: SaltedCertificate
    entry: LogEntry
    proof: InclusionProof
    anchor: AnchorRef
    #: The anchor checkpoint's cosignatures (docs/FORMATS.md "Cosignatures"), or None.
    witness: Witness | None = None

    @property
    def version(self) -> int:
        """2 when the certificate commits its type, else 1."""
        return self.certificate.version

    @property
    def certificate_type(self) -> str:
        """The certificate's type (the entry's; ``skill_level`` for format 1)."""
        a = self.entry.attributes
        return SKILL_LEVEL if a is None else a.type

    @property
    def media_type(self) -> str:
        return MEDIA_TYPE_2 if self.version == BUNDLE_VERSION_2 else MEDIA_TYPE

    def to_json(self) -> dict[str, Any]:
        """Return the bundle's JSON object."""
        fields: dict[str, Any] = {}
        for name in field_names_of(self.version):
            proof = self.certificate.fields[name]
            if isinstance(proof, Disclosed):
                fields[name] = {"value": proof.value, "salt": proof.salt.hex()}
            else:
                fields[name] = {"hash": proof.hash.hex()}
        out = {
            "type": BUNDLE_TYPE,
            "version": self.version,
            "network": self.network.to_json(),
            "fields": fields,
            "entry": self.entry.to_json(),
            "proof": self.proof.to_json(),
            "anchor": self.anchor.to_json(),
        }
        if self.witness is not None:
            out["witness"] = self.witness.to_json()
        return out

    def statement(self) -> CheckpointStatement | None:
        """The statement the witness's cosignatures cover (None without a witness)."""
        if self.witness is None:
            return None
        anchor = self.anchor
        return CheckpointStatement(
            network=self.network,
            province=anchor.province,
            index=anchor.checkpoint_index,
            previous_size=self.witness.previous_size,
            tree_size=anchor.tree_size,
            root=anchor.root,
            block_number=anchor.block_number,
            transaction_hash=anchor.transaction_hash,
            timestamp=self.witness.timestamp,
        )

    def redact(self, *names: str) -> Bundle:
        """Return the bundle with the named fields redacted.

        Raises:
            InvalidInput: a field is unknown or mirrored in the public entry.
        """
        for name in names:
            if name in ENTRY_MIRRORED_FIELDS:
                raise InvalidInput(
                    name, "bundle.redact_public", "public in the log entry; cannot be redacted"
                )
        return dataclasses.replace(self, certificate=self.certificate.redact(*names))

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Bundle:
        """Parse a bundle strictly.

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        r = Reader(value, "bundle")
        r.keys({"type", "version", "network", "fields", "entry", "proof", "anchor"}, {"witness"})
        if r.raw("type") != BUNDLE_TYPE:
            raise InvalidInput(r.at("type"), "bundle.type", f"must be {BUNDLE_TYPE!r}")
        version = r.raw("version")
        if version not in (BUNDLE_VERSION, BUNDLE_VERSION_2) or isinstance(version, bool):
            raise InvalidInput(r.at("version"), "bundle.version", "unsupported version")
        names = field_names_of(version)
        f = r.obj("fields")
        f.keys(set(names))
        proofs: dict[str, FieldProof] = {}
        for name in names:
            proofs[name] = _field_proof(f.obj(name), name, 0 if version == BUNDLE_VERSION_2 else 1)
        p = r.obj("proof")
        p.keys({"leaf_index", "tree_size", "hashes"})
        hashes = tuple(
            check_hex(h, f"{p.at('hashes')}[{i}]", 32)
            for i, h in enumerate(p.array("hashes", MAX_PROOF_HASHES))
        )
        a = r.obj("anchor")
        a.keys(
            {
                "province",
                "checkpoint_index",
                "tree_size",
                "root",
                "block_number",
                "transaction_hash",
            }
        )
        entry = LogEntry.from_json(r.raw("entry"), "bundle.entry")
        if entry.version != version:
            raise InvalidInput(
                "bundle.entry.v",
                "bundle.version",
                f"a version {version} bundle has a v{version} entry",
            )
        return cls(
            network=Network.from_json(r.obj("network")),
            certificate=SaltedCertificate(proofs),
            entry=entry,
            proof=InclusionProof(
                leaf_index=p.integer("leaf_index", 0, MAX_INDEX),
                tree_size=p.integer("tree_size", 1, MAX_INDEX),
                hashes=hashes,
            ),
            anchor=AnchorRef(
                province=a.string("province", PROVINCE_RE),
                checkpoint_index=a.integer("checkpoint_index", 0, MAX_INDEX),
                tree_size=a.integer("tree_size", 1, MAX_INDEX),
                root=a.hex("root", 32),
                block_number=a.integer("block_number"),
                transaction_hash=a.hex0x("transaction_hash", 32),
            ),
            witness=(
                Witness.from_json(r.raw("witness"), r.at("witness"))
                if "witness" in r.value
                else None
            ),
        )


def _field_proof(r: Reader, name: str, lowest_level: int = 1) -> FieldProof:
    if "hash" in r.value:
        r.keys({"hash"})
        return Redacted(r.hex("hash", 32))
    r.keys({"value", "salt"})
    value: FieldValue
    if name == "level":
        value = r.integer("value", lowest_level, 5)
    else:
        value = r.string("value")
        if len(value) > 200:
            raise InvalidInput(r.at("value"), "schema.max_length", "at most 200 characters")
    return Disclosed(value, r.hex("salt", 32))
