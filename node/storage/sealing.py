"""The encrypted personal-data record of a certificate: its plaintext encoding (versions 1 and
2), the associated data binding it to its commitment, and the protected columns
(:func:`seal_record`) a new certificate row stores. No personal data leaves here in clear.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from node.core.canonical import json_encoder
from node.core.certificate import FIELD_NAMES, FIELD_NAMES_V2, Certificate, FieldValue
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput, StorageError
from node.core.formats.commitment import SALT_SIZE, Disclosed, SaltedCertificate


def record_context(commitment: bytes) -> bytes:
    """Associated data of a certificate's encrypted record: the table, column and commitment."""
    return b"certificates.record\x00" + commitment


#: First byte of a version 2 record plaintext (a version 1 record is JSON and starts with ``{``).
_RECORD_V2 = b"\x02"

#: Version 3: as version 2 with thirteen fields (format 2 certificates commit ``certificate_type``).
_RECORD_V3 = b"\x03"


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``.
_compact_json = json_encoder(ensure_ascii=False, separators=(",", ":"))


def encode_record(salted: SaltedCertificate) -> bytes:
    """Return the plaintext of an encrypted record: every field's value and salt.

    Version 2 (written since migration 0004's release): the byte ``0x02``, the twelve 32-byte
    salts in :data:`~node.core.certificate.FIELD_NAMES` order, then the values as a compact JSON
    array in the same order (UTF-8). About 560 bytes where version 1 (a JSON object with the
    salts in hex, still read) took about 1,250: the record is the largest column a certificate
    writes (docs/STORAGE.md "Personal data"). Version 3: the byte ``0x03`` and the same with
    the thirteen fields of a format 2 certificate (``certificate_type`` last).

    Raises:
        InvalidInput: a field is redacted (the node keeps full records only).
    """
    fields = salted.fields
    salts = []
    values: list[FieldValue] = []
    names = salted.names
    for name in names:
        proof = fields[name]
        if type(proof) is not Disclosed or len(proof.salt) != SALT_SIZE:
            raise InvalidInput(name, "storage.redacted", "the node stores full records only")
        salts.append(proof.salt)
        values.append(proof.value)
    text = _compact_json(values)
    prefix = _RECORD_V2 if names == FIELD_NAMES else _RECORD_V3
    return prefix + b"".join(salts) + text.encode()


def decode_record(data: bytes) -> SaltedCertificate:
    """Parse what :func:`encode_record` wrote (version 2, or version 1 of older rows).

    Raises:
        StorageError: the plaintext is not a record of a known version.
    """
    try:
        if data[:1] in (_RECORD_V2, _RECORD_V3):
            names = FIELD_NAMES if data[:1] == _RECORD_V2 else FIELD_NAMES_V2
            size = SALT_SIZE * len(names)
            salts = data[1 : 1 + size]
            values = json.loads(data[1 + size :])
            if len(salts) != size or not isinstance(values, list):
                raise ValueError("shape")
            fields = {
                name: Disclosed(value, salts[i * SALT_SIZE : (i + 1) * SALT_SIZE])
                for i, (name, value) in enumerate(zip(names, values, strict=True))
            }
        else:
            value = json.loads(data)
            if value["v"] != 1:
                raise ValueError("version")
            fields = {
                name: Disclosed(pair[0], bytes.fromhex(pair[1]))
                for name, pair in value["fields"].items()
            }
        salted = SaltedCertificate(fields)
    except (ValueError, KeyError, TypeError, IndexError, InvalidInput) as exc:
        raise StorageError("stored certificate record is malformed") from exc
    for proof in salted.fields.values():
        if not isinstance(proof, Disclosed) or len(proof.salt) != SALT_SIZE:
            raise StorageError("stored certificate record is malformed")
    return salted


class SealedRecord(NamedTuple):
    """The protected columns of a certificate row (:func:`seal_record`): no personal data in
    clear. Bulk intake computes them in its worker processes."""

    record: bytes
    """The full salted record, encrypted (:class:`~node.core.crypto.privacy.PersonalDataCipher`)."""
    record_key_id: str
    holder_name_index: bytes
    id_number_index: bytes


def seal_record(
    cipher: PersonalDataCipher,
    index: BlindIndex,
    salted: SaltedCertificate,
    commitment: bytes,
    certificate: Certificate,
) -> SealedRecord:
    """Encrypt ``salted`` (bound to its commitment) under the current key and compute the blind
    indexes of holder name and ID number; ``certificate`` is ``salted.certificate()``.

    Raises:
        InvalidInput: a field is redacted (the node keeps full records only).
    """
    return SealedRecord(
        cipher.encrypt(encode_record(salted), record_context(commitment)),
        cipher.current_key_id,
        index.holder_name(certificate.holder_name),
        index.id_number(certificate.id_number),
    )


__all__ = [
    "SealedRecord",
    "decode_record",
    "encode_record",
    "record_context",
    "seal_record",
]
