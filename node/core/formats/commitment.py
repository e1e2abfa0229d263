"""Salted field hashes, the certificate commitment and selective disclosure.

Pinned in ``docs/FORMATS.md``:

- field hash ``SHA-256(0x02 || salt || JCS([field_path, value]))`` with a fresh 32-byte salt,
- commitment ``SHA-256(0x03 || field hashes sorted bytewise)`` over all twelve fields.

Redacting a field replaces its value and salt by its field hash, so a holder can hide the ID
number (or any field) and the commitment, and hence the issuer's signature and the log entry,
still verify.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping

from node.core.canonical import _ESCAPED, canonical_pair
from node.core.certificate import FIELD_NAMES, FIELD_NAMES_V2, TYPE_FIELD, Certificate, FieldValue
from node.core.errors import InvalidInput

FIELD_HASH_PREFIX = b"\x02"
COMMITMENT_PREFIX = b"\x03"
SALT_SIZE = 32
HASH_SIZE = 32

RandomBytes = Callable[[int], bytes]

_sha256 = hashlib.sha256
#: ``["field_path","`` of every field, the start of its JCS pair.
_PAIR_OPENINGS = {name: f'["{name}","'.encode() for name in FIELD_NAMES_V2}


def field_hash(field_path: str, value: FieldValue, salt: bytes) -> bytes:
    """Return ``SHA-256(0x02 || salt || JCS([field_path, value]))``.

    Raises:
        InvalidInput: the salt is not 32 bytes or the value is not canonicalisable.
    """
    if len(salt) != SALT_SIZE:
        raise InvalidInput(field_path, "commitment.salt_size", "salt must be 32 bytes")
    return hashlib.sha256(FIELD_HASH_PREFIX + salt + canonical_pair(field_path, value)).digest()


def commitment_of(field_hashes: Iterable[bytes]) -> bytes:
    """Return ``SHA-256(0x03 || sorted field hashes)``.

    Raises:
        InvalidInput: a field hash is not 32 bytes.
    """
    hashes = sorted(field_hashes)
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise InvalidInput("fields", "commitment.hash_size", "field hash must be 32 bytes")
    return hashlib.sha256(COMMITMENT_PREFIX + b"".join(hashes)).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class Disclosed:
    """A field shown with its value and salt."""

    value: FieldValue
    salt: bytes

    def __repr__(self) -> str:
        return "Disclosed(...)"  # values may be personal data


@dataclasses.dataclass(frozen=True, slots=True)
class Redacted:
    """A field hidden behind its field hash."""

    hash: bytes


FieldProof = Disclosed | Redacted


@dataclasses.dataclass(frozen=True, slots=True)
class SaltedCertificate:
    """Every committed field, each disclosed (value and salt) or redacted (field hash).

    Format 1 commits the twelve fields, format 2 also ``certificate_type``.
    """

    fields: Mapping[str, FieldProof]

    @property
    def version(self) -> int:
        return 2 if TYPE_FIELD in self.fields else 1

    @property
    def names(self) -> tuple[str, ...]:
        return FIELD_NAMES_V2 if TYPE_FIELD in self.fields else FIELD_NAMES

    def __post_init__(self) -> None:
        names = self.names
        missing = [name for name in names if name not in self.fields]
        if missing:
            raise InvalidInput(missing[0], "commitment.field_missing", "field is missing")
        unknown = sorted(set(self.fields) - set(names))
        if unknown:
            raise InvalidInput(unknown[0], "commitment.field_unknown", "unknown field")

    def field_hashes(self) -> dict[str, bytes]:
        """Return each field's hash, computing it for disclosed fields."""
        out: dict[str, bytes] = {}
        fields = self.fields
        for name in self.names:
            proof = fields[name]
            if isinstance(proof, Disclosed):
                value, salt = proof.value, proof.salt
                # The common case inline (what field_hash and canonical_pair do for a string
                # with nothing to escape, ``["name","value"]``; field names need no escaping).
                if type(value) is str and len(salt) == SALT_SIZE and _ESCAPED.search(value) is None:
                    try:
                        encoded = value.encode()
                    except UnicodeEncodeError:
                        pass
                    else:
                        out[name] = _sha256(
                            FIELD_HASH_PREFIX + salt + _PAIR_OPENINGS[name] + encoded + b'"]'
                        ).digest()
                        continue
                out[name] = field_hash(name, value, salt)
            else:
                if len(proof.hash) != HASH_SIZE:
                    raise InvalidInput(name, "commitment.hash_size", "field hash must be 32 bytes")
                out[name] = proof.hash
        return out

    def commitment(self) -> bytes:
        """Return the commitment over all twelve fields."""
        return commitment_of(self.field_hashes().values())

    def redact(self, *names: str) -> SaltedCertificate:
        """Return a copy with the named fields redacted.

        Raises:
            InvalidInput: a name is not a certificate field.
        """
        for name in names:
            if name not in self.names:
                raise InvalidInput(name, "commitment.field_unknown", "unknown field")
        hashes = self.field_hashes()
        return SaltedCertificate(
            {
                name: Redacted(hashes[name]) if name in names else self.fields[name]
                for name in self.names
            }
        )

    def disclosed_values(self) -> dict[str, FieldValue]:
        """Return the values of the disclosed fields."""
        return {
            name: proof.value for name, proof in self.fields.items() if isinstance(proof, Disclosed)
        }

    def certificate(self) -> Certificate:
        """Return the full certificate.

        Raises:
            InvalidInput: a field is redacted.
        """
        return Certificate.from_fields({name: self._disclosed(name).value for name in self.names})

    def _disclosed(self, name: str) -> Disclosed:
        proof = self.fields[name]
        if not isinstance(proof, Disclosed):
            raise InvalidInput(name, "commitment.redacted", "field is redacted")
        return proof


def salt_certificate(
    certificate: Certificate, random_bytes: RandomBytes = os.urandom
) -> SaltedCertificate:
    """Draw a fresh 256-bit salt for every field of ``certificate``.

    ``random_bytes`` is ``os.urandom`` in production; tests and vectors pass a seeded source.
    """
    values = certificate.fields()
    return SaltedCertificate(
        {name: Disclosed(value, random_bytes(SALT_SIZE)) for name, value in values.items()}
    )
