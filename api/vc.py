"""A bundle as a W3C Verifiable Credential 2.0.

The credential's subject is the certificate's disclosed fields; its ``proof`` carries the very
bundle (commitment salts, issuer signature, log entry, inclusion proof and anchor reference),
so verifying the credential is verifying that bundle, with the same result codes
(:func:`bundle_from_credential` reads it back). The proof type is certreg's own
(``CertregAnchoredBundle2025``): the Data Integrity cryptosuites sign the credential document,
whereas a certificate is proven by its commitment in an anchored Merkle log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.commitment import Disclosed

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VOCABULARY: Final = "urn:certreg:vocab#"
PROOF_TYPE: Final = "CertregAnchoredBundle2025"
MEDIA_TYPE: Final = "application/vc"


def disclosed_fields(bundle: Bundle) -> dict[str, Any]:
    """The bundle's disclosed field values (redacted ones are left out)."""
    return {
        name: proof.value
        for name, proof in bundle.certificate.fields.items()
        if isinstance(proof, Disclosed)
    }


def credential_of(bundle: Bundle) -> dict[str, Any]:
    """The Verifiable Credential of ``bundle`` (see the module docstring)."""
    entry = bundle.entry
    signature = entry.signature
    key = "" if signature is None else f"#key-{signature.key_id}"
    return {
        "@context": [VC_CONTEXT, {"@vocab": VOCABULARY}],
        "id": f"urn:certreg:certificate:{entry.commitment.hex()}",
        "type": ["VerifiableCredential", "VocationalSkillCertificate"],
        "issuer": f"urn:certreg:organisation:{entry.organisation_code}",
        "validFrom": _valid_from(bundle),
        "credentialSubject": {"type": "CertificateHolder", **disclosed_fields(bundle)},
        "proof": {
            "type": PROOF_TYPE,
            "proofPurpose": "assertionMethod",
            "verificationMethod": f"urn:certreg:organisation:{entry.organisation_code}{key}",
            "bundle": bundle.to_json(),
        },
    }


def _valid_from(bundle: Bundle) -> str:
    issue_date = None if bundle.entry.attributes is None else bundle.entry.attributes.issue_date
    return f"{issue_date}T00:00:00+08:00" if issue_date else "1970-01-01T00:00:00Z"


def bundle_from_credential(credential: Mapping[str, Any]) -> Bundle:
    """The bundle a credential carries, after checking that the subject shows exactly the
    bundle's disclosed values.

    Raises:
        InvalidInput: ``proof`` / ``vc.proof`` (no certreg proof), ``credentialSubject`` /
            ``vc.subject`` (the subject differs from the bundle), or a bundle rule.
    """
    proof = credential.get("proof")
    if not isinstance(proof, Mapping) or proof.get("type") != PROOF_TYPE:
        raise InvalidInput("proof", "vc.proof", f"the credential has no {PROOF_TYPE} proof")
    raw = proof.get("bundle")
    if not isinstance(raw, Mapping):
        raise InvalidInput("proof.bundle", "vc.proof", "the proof carries no bundle")
    bundle = Bundle.from_json(raw)
    subject = credential.get("credentialSubject")
    shown = dict(subject) if isinstance(subject, Mapping) else None
    if shown is None or shown.pop("type", None) != "CertificateHolder":
        raise InvalidInput("credentialSubject", "vc.subject", "not a certificate holder")
    if shown != disclosed_fields(bundle):
        raise InvalidInput(
            "credentialSubject", "vc.subject", "the subject differs from the bundle it carries"
        )
    return bundle
