"""The issuer's side of intake: salt and sign a certificate, and write it as a submission row
(docs/INTAKE.md). Used by assessment organisations' tooling, the demo data and the tests.

The row carries personal data (it is what the organisation uploads to its province over a
protected channel); nothing here logs it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from node.core.certificate import Certificate
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.commitment import Disclosed, SaltedCertificate, salt_certificate
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE, PROVINCE_SIGNER, Signature
from node.core.formats.snapshot import Network


def sign_certificate(
    certificate: Certificate,
    network: Network,
    *,
    suite: str,
    private_key: bytes,
    key_id: int,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> tuple[SaltedCertificate, Signature]:
    """Salt every field (fresh 32-byte salts) and sign the commitment for ``network``
    (``signing_message(chain_id, contract, commitment)``, docs/FORMATS.md "Signatures")."""
    salted = salt_certificate(certificate, random_bytes)
    signer = get_suite(suite)
    message = signing_message(network.chain_id, network.contract, salted.commitment())
    return salted, Signature(suite, key_id, signer.sign(private_key, message))


def sign_as_province(private_key: bytes, network: Network, commitment: bytes) -> Signature:
    """The province's signature of a corrected certificate it maintains (seed 002 第十六条):
    Ed25519 by its maintenance key (``setMemberKey`` purpose 3) over the same message an
    organisation signs, marked ``signer`` ``province``."""
    message = signing_message(network.chain_id, network.contract, commitment)
    value = get_suite("ed25519").sign(private_key, message)
    return Signature("ed25519", MAINTENANCE_KEY_PURPOSE, value, signer=PROVINCE_SIGNER)


def submission_row(
    salted: SaltedCertificate, signature: Signature, *, late_reason: int | None = None
) -> dict[str, Any]:
    """The JSON Lines object of one signed certificate (column names of docs/INTAKE.md).

    Raises:
        InvalidInput: a field is redacted (an issuer submits the full record).
    """
    row: dict[str, Any] = {}
    salts: dict[str, str] = {}
    for name in salted.names:
        proof = salted.fields[name]
        if not isinstance(proof, Disclosed):
            raise InvalidInput(name, "commitment.redacted", "a submission needs every field")
        row[name] = proof.value
        salts[name] = proof.salt.hex()
    row["signature_suite"] = signature.suite
    row["key_id"] = signature.key_id
    row["signature"] = signature.value.hex()
    row["salts"] = salts
    if late_reason is not None:
        row["late_reason"] = late_reason
    return row


def submission_line(
    salted: SaltedCertificate, signature: Signature, *, late_reason: int | None = None
) -> str:
    """:func:`submission_row` as one line of JSON Lines (UTF-8 text, newline-terminated)."""
    row = submission_row(salted, signature, late_reason=late_reason)
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
