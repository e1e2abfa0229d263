"""The verifier: checks a bundle against a trust source at a given time, failing closed.

Order of checks and result codes are pinned in ``docs/FORMATS.md``. Every value of a bundle is
covered: the fields by the commitment, the commitment and the public attributes by the entry,
the entry by its leaf hash and inclusion proof, the anchor reference by the checkpoint the trust
source holds, the network by the trust source's network. Any disagreement is a failure.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any

from node.core.certificate import SPECIAL_ABILITY, SPECIAL_ABILITY_VALID_YEARS, TYPE_FIELD
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, RegistryError, VerificationError
from node.core.formats.bundle import ENTRY_MIRRORED_FIELDS, Bundle
from node.core.formats.commitment import Disclosed, commitment_of
from node.core.formats.compact import parse_bundle_text
from node.core.formats.entry import CERTIFICATE_KINDS, examining_body_code_of
from node.core.formats.snapshot import Organisation, OrganisationKey, TrustSource
from node.core.merkle import verify_inclusion
from node.core.time import CHINA_STANDARD_TIME, day_bounds

__all__ = [
    "CHINA_STANDARD_TIME",
    "Check",
    "ResultCode",
    "VerificationResult",
    "day_bounds",
    "expiry_of",
    "key_valid_on",
    "verify_bundle",
    "verify_bundle_text",
]


class ResultCode(enum.StrEnum):
    VALID = "VALID"
    TAMPERED = "TAMPERED"
    NOT_ANCHORED = "NOT_ANCHORED"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    KEY_NOT_VALID_AT_TIME = "KEY_NOT_VALID_AT_TIME"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    SUPERSEDED = "SUPERSEDED"
    WRONG_NETWORK = "WRONG_NETWORK"
    MALFORMED = "MALFORMED"
    EXPIRED = "EXPIRED"


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome; ``passed`` is None when an earlier failure skipped it."""

    name: str
    passed: bool | None
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class VerificationResult:
    """The result code, each check's outcome and the hashes the verifier computed.

    ``reason`` is the reason code of the status record that made the result ``REVOKED``,
    ``SUSPENDED`` or ``SUPERSEDED`` (node/core/rules/reasons.py), None otherwise.
    """

    code: ResultCode
    checks: tuple[Check, ...]
    hashes: Mapping[str, Any]
    as_of_block: int | None = None
    reason: int | None = None

    @property
    def valid(self) -> bool:
        return self.code is ResultCode.VALID

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.code.value,
            "valid": self.valid,
            "as_of_block": self.as_of_block,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "hashes": dict(self.hashes),
        }


#: The checks, in order, with the code each one yields when it fails.
CHECKS: tuple[tuple[str, ResultCode], ...] = (
    ("format", ResultCode.MALFORMED),
    ("network", ResultCode.WRONG_NETWORK),
    ("commitment", ResultCode.TAMPERED),
    ("issuer", ResultCode.UNKNOWN_ISSUER),
    ("key", ResultCode.KEY_NOT_VALID_AT_TIME),
    ("signature", ResultCode.TAMPERED),
    ("inclusion", ResultCode.TAMPERED),
    ("anchor", ResultCode.NOT_ANCHORED),
    ("status", ResultCode.VALID),  # the status check sets its own code
    ("validity", ResultCode.EXPIRED),
)


class _Failed(Exception):
    def __init__(self, detail: str, code: ResultCode | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def key_valid_on(key: OrganisationKey, date_text: str) -> bool:
    """Whether the key's validity ``[valid_from, valid_until)`` meets the day (UTC+8).

    On a rotation day both the old and the new key are accepted (``docs/FORMATS.md``).
    """
    start, end = day_bounds(date_text)
    return key.valid_from < end and (key.valid_until == 0 or key.valid_until > start)


def expiry_of(certificate_type: str, issue_date: str) -> int | None:
    """The unix time at which a certificate stops being valid, or None when it has no term.

    A special_ability certificate is valid for 5 years from its issue date (劳社厅发〔2006〕29号
    三: "自颁发之日起有效期为5年"): it expires at 00:00 China Standard Time of the same month
    and day five years later (1 March for an issue on 29 February), so the last valid moment
    is 23:59:59 of the day before. The other types have no term.
    """
    if certificate_type != SPECIAL_ABILITY:
        return None
    issued = datetime.date.fromisoformat(issue_date)
    year = issued.year + SPECIAL_ABILITY_VALID_YEARS
    try:
        anniversary = issued.replace(year=year)
    except ValueError:  # 29 February -> 1 March
        anniversary = datetime.date(year, 3, 1)
    return day_bounds(anniversary)[0]


def verify_bundle_text(text: str, trust: TrustSource, *, at: int) -> VerificationResult:
    """Verify a bundle given as JSON text or compact QR text (see :func:`verify_bundle`)."""
    try:
        raw = parse_bundle_text(text)
    except InvalidInput as exc:
        checks = [Check("format", False, str(exc))]
        checks += [Check(name, None, "skipped") for name, _ in CHECKS[1:]]
        return VerificationResult(ResultCode.MALFORMED, tuple(checks), {}, trust.block.number)
    return verify_bundle(raw, trust, at=at)


def verify_bundle(
    bundle: Mapping[str, Any] | Bundle, trust: TrustSource, *, at: int
) -> VerificationResult:
    """Verify a bundle (parsed or as its JSON object) against ``trust`` at unix time ``at``.

    Never raises for a bad bundle: every failure becomes a result code (fail closed).
    """
    return _Verification(bundle, trust, at).run()


class _Verification:
    """One verification run: the checks of :data:`CHECKS` as methods, in order."""

    bundle: Bundle
    organisation: Organisation
    key: OrganisationKey

    def __init__(self, raw: Mapping[str, Any] | Bundle, trust: TrustSource, at: int) -> None:
        self.raw = raw
        self.trust = trust
        self.at = at
        self.hashes: dict[str, Any] = {}
        self.reason: int | None = None

    def run(self) -> VerificationResult:
        outcomes: list[Check] = []
        code = ResultCode.VALID
        failed = False
        for name, fail_code in CHECKS:
            if failed:
                outcomes.append(Check(name, None, "skipped"))
                continue
            try:
                detail = getattr(self, f"check_{name}")()
                outcomes.append(Check(name, True, detail))
            except _Failed as exc:
                outcomes.append(Check(name, False, exc.detail))
                code = exc.code or fail_code
                failed = True
            except (RegistryError, ValueError, TypeError, KeyError) as exc:
                # Fail closed on anything unexpected inside a check.
                outcomes.append(Check(name, False, f"{type(exc).__name__}: {exc}"))
                code = fail_code if fail_code is not ResultCode.VALID else ResultCode.MALFORMED
                failed = True
        return VerificationResult(
            code, tuple(outcomes), self.hashes, self.trust.block.number, self.reason
        )

    def check_format(self) -> str:
        raw = self.raw
        try:
            bundle = raw if isinstance(raw, Bundle) else Bundle.from_json(raw)
        except InvalidInput as exc:
            raise _Failed(str(exc)) from exc
        if bundle.entry.kind not in CERTIFICATE_KINDS:
            raise _Failed("bundle.entry.kind: a bundle carries an issue or correct entry")
        if bundle.entry.version != bundle.version:
            raise _Failed(
                f"bundle.entry.v: a version {bundle.version} bundle has a v{bundle.version} entry"
            )
        for name in ENTRY_MIRRORED_FIELDS:
            if name not in bundle.certificate.fields:
                continue  # format 1 commits no type
            if not isinstance(bundle.certificate.fields[name], Disclosed):
                raise _Failed(f"bundle.fields.{name}: public field must be disclosed")
        self.bundle = bundle
        return f"bundle v{bundle.version} ({bundle.certificate_type}), {bundle.entry.kind} entry"

    def check_network(self) -> str:
        bundle = self.bundle
        if bundle.network != self.trust.network:
            raise _Failed(
                f"bundle is for chain {bundle.network.chain_id} "
                f"contract 0x{bundle.network.contract.hex()}, "
                f"trust source is chain {self.trust.network.chain_id} "
                f"contract 0x{self.trust.network.contract.hex()}"
            )
        return (
            f"chain {self.trust.network.chain_id}, contract 0x{self.trust.network.contract.hex()}"
        )

    def check_commitment(self) -> str:
        bundle = self.bundle
        field_hashes = bundle.certificate.field_hashes()
        commitment = commitment_of(field_hashes.values())
        self.hashes["field_hashes"] = {name: h.hex() for name, h in field_hashes.items()}
        self.hashes["commitment"] = commitment.hex()
        entry = bundle.entry
        if commitment != entry.commitment:
            raise _Failed(
                f"computed commitment {commitment.hex()} differs from the entry's "
                f"{entry.commitment.hex()}"
            )
        values = bundle.certificate.disclosed_values()
        attributes = entry.attributes
        assert attributes is not None  # certificate kinds always carry attributes
        expected: dict[str, Any] = {
            "certificate_number": entry.certificate_number,
            # A special_ability certificate shows its 8-digit examining-body code.
            "organisation_code": examining_body_code_of(entry.organisation_code)
            if attributes.type == SPECIAL_ABILITY
            else entry.organisation_code,
            "issue_date": attributes.issue_date,
            "level": attributes.level,
            "occupation_code": attributes.occupation_code,
            "work_type_code": attributes.work_type_code,
        }
        if attributes.certificate_type is not None:
            expected[TYPE_FIELD] = attributes.certificate_type
        for name, value in expected.items():
            if values[name] != value:
                raise _Failed(f"field {name} differs from the log entry")
        if bundle.anchor.province != entry.province:
            raise _Failed("anchor province differs from the entry's province")
        return commitment.hex()

    def check_issuer(self) -> str:
        bundle = self.bundle
        entry = bundle.entry
        organisation = self.trust.organisation(entry.organisation_code)
        if organisation is None:
            raise _Failed(f"organisation {entry.organisation_code} is not filed")
        if organisation.province != entry.province:
            raise _Failed(
                f"organisation {entry.organisation_code} is filed by province "
                f"{organisation.province}, not {entry.province}"
            )
        self.organisation = organisation
        return (
            f"{organisation.code} filed by province {organisation.province} ({organisation.status})"
        )

    def check_key(self) -> str:
        bundle = self.bundle
        organisation = self.organisation
        signature = bundle.entry.signature
        attributes = bundle.entry.attributes
        assert signature is not None and attributes is not None
        key = next((k for k in organisation.keys if k.key_id == signature.key_id), None)
        if key is None:
            raise _Failed(f"organisation has no key {signature.key_id}")
        if key.suite != signature.suite:
            raise _Failed(f"key {key.key_id} is {key.suite}, signature is {signature.suite}")
        if not key_valid_on(key, attributes.issue_date):
            raise _Failed(
                f"key {key.key_id} is not valid on the issue date {attributes.issue_date}"
            )
        self.key = key
        return f"key {key.key_id} ({key.suite}) valid on {attributes.issue_date}"

    def check_signature(self) -> str:
        bundle = self.bundle
        key = self.key
        signature = bundle.entry.signature
        assert signature is not None
        message = signing_message(
            bundle.network.chain_id, bundle.network.contract, bundle.entry.commitment
        )
        try:
            get_suite(key.suite).verify(key.public_key, message, signature.value)
        except VerificationError as exc:
            raise _Failed(f"signature does not verify: {exc}") from exc
        return f"{key.suite} signature by key {key.key_id}"

    def check_inclusion(self) -> str:
        bundle = self.bundle
        leaf = bundle.entry.leaf_hash()
        self.hashes["leaf_hash"] = leaf.hex()
        proof, anchor = bundle.proof, bundle.anchor
        if proof.tree_size != anchor.tree_size:
            raise _Failed("proof tree size differs from the anchored tree size")
        try:
            verify_inclusion(leaf, proof.leaf_index, proof.tree_size, proof.hashes, anchor.root)
        except VerificationError as exc:
            raise _Failed(f"inclusion proof fails: {exc}") from exc
        self.hashes["root"] = anchor.root.hex()
        return f"leaf {proof.leaf_index} of {proof.tree_size}"

    def check_anchor(self) -> str:
        bundle = self.bundle
        anchor = bundle.anchor
        checkpoint = self.trust.checkpoint(anchor.province, anchor.checkpoint_index)
        if checkpoint is None:
            raise _Failed(
                f"no checkpoint {anchor.checkpoint_index} of province {anchor.province} "
                f"as of block {self.trust.block.number}"
            )
        mismatches = [
            name
            for name, ours, theirs in (
                ("tree_size", anchor.tree_size, checkpoint.tree_size),
                ("root", anchor.root, checkpoint.root),
                ("block_number", anchor.block_number, checkpoint.block_number),
                ("transaction_hash", anchor.transaction_hash, checkpoint.transaction_hash),
            )
            if ours != theirs
        ]
        if mismatches:
            raise _Failed(f"checkpoint {checkpoint.index} differs in {', '.join(mismatches)}")
        if checkpoint.timestamp > self.at:
            raise _Failed(f"checkpoint was anchored after the verification time {self.at}")
        self.hashes["anchored_root"] = checkpoint.root.hex()
        return f"checkpoint {checkpoint.index} at block {checkpoint.block_number}"

    def check_status(self) -> str:
        bundle = self.bundle
        history = [
            record
            for record in self.trust.status_history(bundle.entry.province, bundle.entry.commitment)
            if record.timestamp <= self.at
        ]
        if not history:
            return "active"
        current = history[-1]
        code = _STATUS_CODES.get(current.status)
        if code is not None:
            detail = f"{current.status} (reason {current.reason}) at block {current.block_number}"
            if current.successor is not None:
                detail += f", successor {current.successor.hex()}"
                self.hashes["successor"] = current.successor.hex()
            self.reason = current.reason
            raise _Failed(detail, code)
        return f"{current.status} at block {current.block_number}"

    def check_validity(self) -> str:
        attributes = self.bundle.entry.attributes
        assert attributes is not None
        expires = expiry_of(attributes.type, attributes.issue_date)
        if expires is None:
            return f"{attributes.type}: no term of validity"
        if self.at >= expires:
            raise _Failed(f"{attributes.type} certificate expired at {expires} (5 years)")
        return f"{attributes.type}: valid until {expires} (5 years)"


_STATUS_CODES = {
    "revoked": ResultCode.REVOKED,
    "suspended": ResultCode.SUSPENDED,
    "superseded": ResultCode.SUPERSEDED,
}
