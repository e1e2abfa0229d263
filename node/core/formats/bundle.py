"""The holder's portable bundle (``application/vnd.certreg.bundle+json; v=1``).

Format pinned in ``docs/FORMATS.md`` and ``schemas/bundle.schema.json``. Parsing is strict: a
bundle with an unknown key, a wrong type or a malformed value is refused, never half-read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from node.core.certificate import FIELD_NAMES, FieldValue
from node.core.errors import InvalidInput
from node.core.formats.commitment import Disclosed, FieldProof, Redacted, SaltedCertificate
from node.core.formats.entry import PROVINCE_RE, LogEntry
from node.core.formats.jsonfmt import Reader, check_hex, hex0x
from node.core.formats.snapshot import MAX_INDEX, Network

BUNDLE_TYPE = "certreg.bundle"
BUNDLE_VERSION = 1
MEDIA_TYPE = "application/vnd.certreg.bundle+json; v=1"
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
)
#: The fields a holder may redact.
REDACTABLE_FIELDS = tuple(name for name in FIELD_NAMES if name not in ENTRY_MIRRORED_FIELDS)


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

    def to_json(self) -> dict[str, Any]:
        """Return the bundle's JSON object."""
        fields: dict[str, Any] = {}
        for name in FIELD_NAMES:
            proof = self.certificate.fields[name]
            if isinstance(proof, Disclosed):
                fields[name] = {"value": proof.value, "salt": proof.salt.hex()}
            else:
                fields[name] = {"hash": proof.hash.hex()}
        return {
            "type": BUNDLE_TYPE,
            "version": BUNDLE_VERSION,
            "network": self.network.to_json(),
            "fields": fields,
            "entry": self.entry.to_json(),
            "proof": self.proof.to_json(),
            "anchor": self.anchor.to_json(),
        }

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
        r.keys({"type", "version", "network", "fields", "entry", "proof", "anchor"})
        if r.raw("type") != BUNDLE_TYPE:
            raise InvalidInput(r.at("type"), "bundle.type", f"must be {BUNDLE_TYPE!r}")
        if r.raw("version") != BUNDLE_VERSION or isinstance(r.raw("version"), bool):
            raise InvalidInput(r.at("version"), "bundle.version", "unsupported version")
        f = r.obj("fields")
        f.keys(set(FIELD_NAMES))
        proofs: dict[str, FieldProof] = {}
        for name in FIELD_NAMES:
            proofs[name] = _field_proof(f.obj(name), name)
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
        return cls(
            network=Network.from_json(r.obj("network")),
            certificate=SaltedCertificate(proofs),
            entry=LogEntry.from_json(r.raw("entry"), "bundle.entry"),
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
        )


def _field_proof(r: Reader, name: str) -> FieldProof:
    if "hash" in r.value:
        r.keys({"hash"})
        return Redacted(r.hex("hash", 32))
    r.keys({"value", "salt"})
    value: FieldValue
    if name == "level":
        value = r.integer("value", 1, 5)
    else:
        value = r.string("value")
        if len(value) > 200:
            raise InvalidInput(r.at("value"), "schema.max_length", "at most 200 characters")
    return Disclosed(value, r.hex("salt", 32))
