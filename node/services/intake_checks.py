"""What both intake paths share (:mod:`node.services.intake` one by one,
:mod:`node.services.intake_batch` a chunk at a time): the outcome types and the checks against
the province's filed organisations and their keys (intake checks 5 and 8)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Literal

from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.entry import Signature
from node.core.formats.snapshot import Network, OrganisationKey
from node.core.rules.scope import PublicAttributes
from node.core.rules.screening import Flag
from node.core.verify import key_valid_on
from node.storage import OrganisationKeyRecord, OrganisationRecord, OrganisationRepository

BulkMode = Literal["atomic", "per_row"]


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """A certificate accepted into the province's store and log (no personal data)."""

    certificate_number: str
    commitment: bytes
    log_index: int
    late_reason: int | None
    working_days: int
    """Working days from the issue date to receipt (data guide art. 10)."""
    warnings: tuple[Flag, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class RowOutcome:
    """The result of one bulk row: ``accepted`` or ``error`` (never both)."""

    row_number: int
    accepted: Accepted | None = None
    error: InvalidInput | None = None

    @property
    def ok(self) -> bool:
        return self.accepted is not None


@dataclasses.dataclass(frozen=True, slots=True)
class BulkResult:
    """What :meth:`IntakeService.submit_bulk` did."""

    mode: BulkMode
    outcomes: tuple[RowOutcome, ...]

    @property
    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def refused(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)


def active_organisation(
    organisations: OrganisationRepository, code: str, province: str
) -> OrganisationRecord:
    """Return the organisation ``code`` when it is filed in ``province`` and active (data guide
    art. 9: only filed organisations issue, within their scope).

    Raises:
        InvalidInput: ``organisation_code`` / ``organisation.unknown`` (not filed in this
            province) or ``organisation.not_active`` (suspended or terminated).
    """
    organisation = organisations.get(code)
    if organisation is None or organisation.province != province:
        raise InvalidInput(
            "organisation_code",
            "organisation.unknown",
            "the organisation is not filed in this province",
        )
    if organisation.status != "active":
        raise InvalidInput(
            "organisation_code",
            "organisation.not_active",
            f"the organisation is {organisation.status}; it may not issue certificates",
        )
    return organisation


def check_issuer_signature(
    organisations: OrganisationRepository,
    organisation: OrganisationRecord,
    signature: Signature,
    certificate: PublicAttributes,
    commitment: bytes,
    network: Network,
    *,
    verified_keys: Collection[bytes] = (),
) -> None:
    """Check that ``signature`` is by a key of ``organisation`` of the signature's suite, valid
    on the certificate's issue date (:func:`node.core.verify.key_valid_on`), over
    ``signing_message(chain_id, contract, commitment)`` (docs/FORMATS.md "Signatures").

    ``verified_keys`` are public keys under which this very signature was already verified over
    this very message (by a worker process of :mod:`node.services.intake_batch`); the cryptographic
    check is skipped for them, every other check is made.

    Raises:
        InvalidInput: ``key_id`` / ``signature.unknown_key``, ``signature_suite`` /
            ``signature.suite_mismatch``, ``key_id`` / ``signature.key_not_valid``,
            ``signature`` / ``signature.invalid``.
    """
    key = issuer_key(organisations, organisation, signature, certificate.issue_date)
    if key.public_key in verified_keys:
        return
    check_key_signature(key, signature, commitment, network)


def issuer_key(
    organisations: OrganisationRepository,
    organisation: OrganisationRecord,
    signature: Signature,
    issue_date: str,
) -> OrganisationKeyRecord:
    """The checks of :func:`check_issuer_signature` before the cryptographic one: the key the
    signature names is the organisation's, of the signature's suite, valid on ``issue_date``;
    return it. The answer depends only on the organisation's keys and on ``(key id, suite,
    issue date)``, so bulk intake asks it once per such triple and chunk.

    Raises:
        InvalidInput: ``key_id`` / ``signature.unknown_key``, ``signature_suite`` /
            ``signature.suite_mismatch``, ``key_id`` / ``signature.key_not_valid``.
    """
    key = next(
        (k for k in organisations.keys(organisation.code) if k.key_id == signature.key_id),
        None,
    )
    if key is None:
        raise InvalidInput(
            "key_id", "signature.unknown_key", "the organisation has no key with this key id"
        )
    if key.suite != signature.suite:
        raise InvalidInput(
            "signature_suite",
            "signature.suite_mismatch",
            "the key with this key id is of another suite",
        )
    filed = OrganisationKey(key.key_id, key.suite, key.public_key, key.valid_from, key.valid_until)
    if not key_valid_on(filed, issue_date):
        raise InvalidInput(
            "key_id",
            "signature.key_not_valid",
            "the key was not valid on the issue date (docs/FORMATS.md, Signatures)",
        )
    return key


def check_key_signature(
    key: OrganisationKeyRecord, signature: Signature, commitment: bytes, network: Network
) -> None:
    """The cryptographic check of :func:`check_issuer_signature`: ``signature`` verifies under
    ``key`` over ``signing_message(chain_id, contract, commitment)``.

    Raises:
        InvalidInput: ``signature`` / ``signature.invalid``.
    """
    message = signing_message(network.chain_id, network.contract, commitment)
    try:
        get_suite(key.suite).verify(key.public_key, message, signature.value)
    except (VerificationError, InvalidInput):
        raise InvalidInput(
            "signature",
            "signature.invalid",
            "the signature does not verify over the commitment with the organisation's key",
        ) from None
