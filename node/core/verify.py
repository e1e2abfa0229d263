"""The verifier: checks a bundle against a trust source at a given time, failing closed.

Order of checks and result codes are pinned in ``docs/FORMATS.md``. Every value of a bundle is
covered: the fields by the commitment, the commitment and the public attributes by the entry,
the entry by its leaf hash and inclusion proof, the anchor reference by the checkpoint the trust
source holds, the network by the trust source's network. Any disagreement is a failure.

The trust source is a snapshot (or the node's own reading of the chain). Given a trust root
(``node.core.formats.trust``), a snapshot counts only when a threshold of the root's members
signed it (``UNTRUSTED_SNAPSHOT`` otherwise) and, with a maximum age, only while it is fresh
(``STALE``). With a trust root and no snapshot at all, a bundle that carries its checkpoint's
cosignatures is verified *as of the checkpoint's time* (``basis`` ``witnessed``): authentic,
logged and anchored then, with later revocations not known. Last, the verifier re-runs the rules
it can on the public fields and reads the auditors' findings (``DISPUTED``:
``node.core.rules.disputes``).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping
from typing import Any

from node.core.certificate import (
    SKILL_LEVEL,
    SPECIAL_ABILITY,
    SPECIAL_ABILITY_VALID_YEARS,
    TYPE_FIELD,
)
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, RegistryError, VerificationError
from node.core.formats.bundle import ENTRY_MIRRORED_FIELDS, Bundle
from node.core.formats.commitment import Disclosed, commitment_of
from node.core.formats.compact import parse_bundle_text
from node.core.formats.entry import CERTIFICATE_KINDS, examining_body_code_of
from node.core.formats.snapshot import Checkpoint, Organisation, OrganisationKey, TrustSource
from node.core.formats.trust import TrustRootBody, signers
from node.core.merkle import verify_inclusion
from node.core.rules.disputes import Dispute, deadline_dispute, number_dispute, scope_dispute
from node.core.time import CHINA_STANDARD_TIME, day_bounds

__all__ = [
    "CHINA_STANDARD_TIME",
    "Check",
    "ResultCode",
    "VerificationResult",
    "day_bounds",
    "describe_time",
    "expiry_of",
    "key_valid_on",
    "malformed_result",
    "verify_bundle",
    "verify_bundle_text",
]

#: The default maximum age of a snapshot given with a trust root (``certreg verify --max-age``).
DEFAULT_MAX_AGE = 7 * 86_400


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
    UNTRUSTED_SNAPSHOT = "UNTRUSTED_SNAPSHOT"
    STALE = "STALE"
    DISPUTED = "DISPUTED"
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
    ``as_of_time`` is the time the answer holds for (the snapshot's, or for ``basis``
    ``witnessed`` the checkpoint's); ``basis`` says what the answer rests on (``snapshot``, the
    node's own reading of the ``chain``, or the checkpoint's cosignatures: ``witnessed``);
    ``disputes`` say why a result is ``DISPUTED``.
    """

    code: ResultCode
    checks: tuple[Check, ...]
    hashes: Mapping[str, Any]
    as_of_block: int | None = None
    reason: int | None = None
    as_of_time: int | None = None
    basis: str = "snapshot"
    disputes: tuple[Dispute, ...] = ()

    @property
    def valid(self) -> bool:
        return self.code is ResultCode.VALID

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.code.value,
            "valid": self.valid,
            "as_of_block": self.as_of_block,
            "as_of_time": self.as_of_time,
            "basis": self.basis,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "hashes": dict(self.hashes),
            "disputes": [d.to_json() for d in self.disputes],
        }


#: The checks, in order, with the code each one yields when it fails.
CHECKS: tuple[tuple[str, ResultCode], ...] = (
    ("format", ResultCode.MALFORMED),
    ("network", ResultCode.WRONG_NETWORK),
    ("trust", ResultCode.UNTRUSTED_SNAPSHOT),
    ("commitment", ResultCode.TAMPERED),
    ("issuer", ResultCode.UNKNOWN_ISSUER),
    ("key", ResultCode.KEY_NOT_VALID_AT_TIME),
    ("signature", ResultCode.TAMPERED),
    ("inclusion", ResultCode.TAMPERED),
    ("anchor", ResultCode.NOT_ANCHORED),
    ("freshness", ResultCode.STALE),
    ("status", ResultCode.VALID),  # the status check sets its own code
    ("validity", ResultCode.EXPIRED),
    ("rules", ResultCode.DISPUTED),
    ("findings", ResultCode.DISPUTED),
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


#: The last second whose China Standard Time date has a four-digit year (9999-12-31 23:59:59).
LAST_DESCRIBED_TIME = 253402271999


def describe_time(seconds: int) -> str:
    """A unix time as ``YYYY-MM-DD HH:MM`` China Standard Time (``unix time N`` outside years
    1970-9999, which a document may carry up to 2^53 - 1; api/static/js/verify.js alike)."""
    if not 0 <= seconds <= LAST_DESCRIBED_TIME:
        return f"unix time {seconds}"
    moment = datetime.datetime.fromtimestamp(seconds, CHINA_STANDARD_TIME)
    return moment.strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


def malformed_result(detail: str, trust: TrustSource | None) -> VerificationResult:
    """The result for input that is not a bundle at all (``MALFORMED``, every other check
    skipped)."""
    checks = [Check("format", False, detail)]
    checks += [Check(name, None, "skipped") for name, _ in CHECKS[1:]]
    basis = "snapshot" if trust is not None else "witnessed"
    return VerificationResult(
        ResultCode.MALFORMED,
        tuple(checks),
        {},
        None if trust is None else trust.block.number,
        as_of_time=None if trust is None else trust.time,
        basis=basis,
    )


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


def verify_bundle_text(
    text: str,
    trust: TrustSource | None,
    *,
    at: int,
    root: TrustRootBody | None = None,
    max_age: int | None = None,
    vouched: str | None = None,
) -> VerificationResult:
    """Verify a bundle given as JSON text or compact QR text (see :func:`verify_bundle`)."""
    try:
        raw = parse_bundle_text(text)
    except InvalidInput as exc:
        return malformed_result(str(exc), trust)
    return verify_bundle(raw, trust, at=at, root=root, max_age=max_age, vouched=vouched)


def verify_bundle(
    bundle: Mapping[str, Any] | Bundle,
    trust: TrustSource | None,
    *,
    at: int,
    root: TrustRootBody | None = None,
    max_age: int | None = None,
    vouched: str | None = None,
) -> VerificationResult:
    """Verify a bundle (parsed or as its JSON object) against ``trust`` at unix time ``at``.

    ``root``: the verifier's trust root; the snapshot must then be signed by a threshold of its
    members, and with ``trust`` None the bundle's cosignatures stand in for a snapshot.
    ``max_age``: seconds a snapshot stays fresh after its time (None: not judged).
    ``vouched``: the caller vouches for ``trust`` itself (a node verifying against its own
    reading of the chain); the text says how.

    Never raises for a bad bundle: every failure becomes a result code (fail closed).

    Raises:
        ValueError: neither a trust source nor a trust root is given.
    """
    if trust is None and root is None:
        raise ValueError("verify against a trust source, a trust root, or both")
    return _Verification(bundle, trust, at, root, max_age, vouched).run()


class _Verification:
    """One verification run: the checks of :data:`CHECKS` as methods, in order."""

    bundle: Bundle
    organisation: Organisation
    key: OrganisationKey

    def __init__(
        self,
        raw: Mapping[str, Any] | Bundle,
        trust: TrustSource | None,
        at: int,
        root: TrustRootBody | None,
        max_age: int | None,
        vouched: str | None,
    ) -> None:
        self.raw = raw
        self.trust = trust
        self.at = at
        self.root = root
        self.max_age = max_age
        self.vouched = vouched
        self.hashes: dict[str, Any] = {}
        self.reason: int | None = None
        self.disputes: tuple[Dispute, ...] = ()
        self.as_of_block = None if trust is None else trust.block.number
        self.as_of_time = None if trust is None else trust.time
        self.basis = "witnessed" if trust is None else ("chain" if vouched else "snapshot")

    @property
    def witnessed(self) -> bool:
        """Verifying with the trust root and the bundle's cosignatures only."""
        return self.trust is None

    def source(self) -> TrustSource:
        assert self.trust is not None
        return self.trust

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
            code,
            tuple(outcomes),
            self.hashes,
            self.as_of_block,
            self.reason,
            as_of_time=self.as_of_time,
            basis=self.basis,
            disputes=self.disputes,
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
        witness = bundle.witness
        if witness is not None and witness.previous_size >= bundle.anchor.tree_size:
            raise _Failed("bundle.witness.previous_size: must be below the anchored tree size")
        self.bundle = bundle
        cosigned = ", with cosignatures" if witness is not None else ""
        return (
            f"bundle v{bundle.version} ({bundle.certificate_type}), {bundle.entry.kind} entry"
            + (cosigned)
        )

    def check_network(self) -> str:
        bundle = self.bundle
        if self.trust is None:
            assert self.root is not None
            expected = self.root.network
        else:
            expected = self.source().network
        if bundle.network != expected:
            source = "trust root" if self.trust is None else "trust source"
            raise _Failed(
                f"bundle is for {bundle.network.describe()}, {source} is {expected.describe()}"
            )
        if self.root is not None and self.root.network != expected:
            raise _Failed(
                f"the snapshot is of {expected.describe()}, the trust root of "
                f"{self.root.network.describe()}"
            )
        return expected.describe()

    def check_trust(self) -> str:
        root = self.root
        if self.vouched is not None:
            return self.vouched
        if self.trust is None:
            assert root is not None
            statement = self.bundle.statement()
            witness = self.bundle.witness
            if statement is None or witness is None:
                raise _Failed("no snapshot, and the bundle carries no cosignatures")
            valid = signers(statement.message(), witness.cosignatures, root.keys)
            if len(valid) < root.threshold:
                raise _Failed(
                    f"{len(valid)} valid cosignatures of the checkpoint by trust root "
                    f"{root.serial}'s members, {root.threshold} needed"
                )
            self.as_of_block = statement.block_number
            self.as_of_time = statement.timestamp
            return (
                f"checkpoint witnessed by {', '.join(sorted(valid))} "
                f"({len(valid)} of {len(root.members)}, {root.threshold} needed), anchored "
                f"{describe_time(statement.timestamp)}"
            )
        if root is None:
            return "no trust root: the snapshot is taken as given"
        trust = self.source()
        valid = trust.signed_by(root.keys)
        if len(valid) < root.threshold:
            raise _Failed(
                f"the snapshot carries {len(valid)} valid signatures of trust root "
                f"{root.serial}'s members, {root.threshold} needed"
            )
        return (
            f"snapshot signed by {', '.join(sorted(valid))} ({len(valid)} of "
            f"{len(root.members)}, {root.threshold} needed)"
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

    _ATTESTED = "attested by the cosigners (each checked the entry's signature with the filed key)"

    def check_issuer(self) -> str:
        if self.witnessed:
            return self._ATTESTED
        bundle = self.bundle
        entry = bundle.entry
        organisation = self.source().organisation(entry.organisation_code)
        if organisation is None:
            raise _Failed(f"organisation {entry.organisation_code} is not filed")
        if organisation.province != entry.province:
            raise _Failed(
                f"organisation {entry.organisation_code} is filed by province "
                f"{organisation.province}, not {entry.province}"
            )
        self.organisation = organisation
        signature = entry.signature
        assert signature is not None
        if signature.by_province:
            # Seed 002 第十六条: the province maintains the certificates of an organisation that
            # no longer exists; it does not sign for a live one.
            if organisation.status != "terminated":
                raise _Failed(
                    f"the province signed a correction of {organisation.code}, which is "
                    f"{organisation.status}: the province maintains only a terminated "
                    "organisation's certificates"
                )
            return (
                f"{organisation.code} filed by province {organisation.province} (terminated; "
                "certificate maintained by the province)"
            )
        return (
            f"{organisation.code} filed by province {organisation.province} ({organisation.status})"
        )

    def check_key(self) -> str:
        if self.witnessed:
            return self._ATTESTED
        bundle = self.bundle
        organisation = self.organisation
        signature = bundle.entry.signature
        attributes = bundle.entry.attributes
        assert signature is not None and attributes is not None
        if signature.by_province:
            return self._maintenance_key()
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

    def _maintenance_key(self) -> str:
        """The province's maintenance key in force when the province-signed entry was first
        anchored (``Membership.setMemberKey`` purpose 3)."""
        entry = self.bundle.entry
        member = self.source().member(entry.province)
        if member is None or not member.maintenance_keys:
            raise _Failed(f"province {entry.province} published no maintenance key")
        anchored_at, _ = self._anchoring()
        if anchored_at is None:
            raise _Failed("anchoring time unknown: the province's maintenance key is not judged")
        key = member.maintenance_key_at(anchored_at)
        if key is None:
            raise _Failed(
                f"province {entry.province} had no maintenance key when the entry was anchored "
                f"({describe_time(anchored_at)})"
            )
        self.key = key
        return (
            f"province {entry.province}'s maintenance key {key.key_id} ({key.suite}) in force "
            f"when anchored ({describe_time(anchored_at)})"
        )

    def check_signature(self) -> str:
        if self.witnessed:
            return self._ATTESTED
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
        if signature.by_province:
            return f"{key.suite} signature by province {bundle.entry.province}'s maintenance key"
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
        if self.witnessed:
            witness = bundle.witness
            assert witness is not None
            if witness.timestamp > self.at:
                raise _Failed(f"checkpoint was anchored after the verification time {self.at}")
            self.hashes["anchored_root"] = anchor.root.hex()
            return f"checkpoint {anchor.checkpoint_index} at block {anchor.block_number} (cosigned)"
        trust = self.source()
        checkpoint = trust.checkpoint(anchor.province, anchor.checkpoint_index)
        if checkpoint is None:
            raise _Failed(
                f"no checkpoint {anchor.checkpoint_index} of province {anchor.province} "
                f"as of block {trust.block.number}"
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

    def check_freshness(self) -> str:
        if self.witnessed:
            assert self.as_of_time is not None
            return (
                f"as of the checkpoint's time {describe_time(self.as_of_time)}: later "
                "revocations are not known"
            )
        if self.vouched is not None:
            return "read from the chain for this request"
        trust = self.source()
        taken = describe_time(trust.time)
        if self.max_age is None:
            return f"taken {taken} (no maximum age given)"
        age = self.at - trust.time
        if age > self.max_age:
            raise _Failed(
                f"the snapshot was taken {taken}, {age // 3600} h before the verification time; "
                f"the maximum age is {self.max_age // 3600} h"
            )
        return f"taken {taken}, within the maximum age of {self.max_age // 3600} h"

    def check_status(self) -> str:
        bundle = self.bundle
        if self.witnessed:
            return (
                "logged and anchored in the cosigned checkpoint; revocations after it are not "
                "known (verify with a fresh snapshot)"
            )
        history = [
            record
            for record in self.source().status_history(
                bundle.entry.province, bundle.entry.commitment
            )
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

    def _anchoring(self) -> tuple[int | None, Checkpoint | None]:
        """When the entry was first anchored (unix time) and that checkpoint, as far as the
        trust source shows it."""
        bundle = self.bundle
        if self.witnessed:
            witness = bundle.witness
            assert witness is not None
            if bundle.proof.leaf_index >= witness.previous_size:
                return witness.timestamp, None
            return None, None
        first = self.source().first_checkpoint_with(bundle.entry.province, bundle.proof.leaf_index)
        return (None, None) if first is None else (first.timestamp, first)

    def check_rules(self) -> str:
        if not self.witnessed and not self.source().has_history:
            # A version 1 snapshot verifies exactly as before the rules were re-run.
            return "not judged: a version 1 snapshot carries no anchoring history"
        entry = self.bundle.entry
        attributes = entry.attributes
        assert attributes is not None
        if attributes.type != SKILL_LEVEL:
            # The number layout and the deadlines re-run here are those of 职业技能等级证书.
            return f"not judged: the rules re-run are those of skill_level, not {attributes.type}"
        found: list[Dispute] = []
        notes: list[str] = []
        number = number_dispute(entry.certificate_number, attributes.issue_date, attributes.level)
        if number is not None:
            found.append(number)
        anchored_at, checkpoint = self._anchoring()
        calendar = None if self.witnessed else self.source().calendar
        if entry.kind != "issue":
            notes.append("deadlines apply to issue entries")
        elif anchored_at is None:
            notes.append("anchoring time unknown: deadlines not judged")
        else:
            late, judged = deadline_dispute(
                attributes.issue_date, anchored_at, entry.reason, calendar
            )
            if late is not None:
                found.append(late)
            elif judged:
                notes.append(judged)
        if checkpoint is not None and not self.witnessed and self.source().has_history:
            found += self._organisation_rules(checkpoint, notes)
        if found:
            self.disputes += tuple(found)
            raise _Failed("; ".join(f"{d.kind}: {d.detail}" for d in found), ResultCode.DISPUTED)
        return "; ".join(["number carries the issue year and level", *notes])

    def _organisation_rules(self, checkpoint: Checkpoint, notes: list[str]) -> list[Dispute]:
        entry = self.bundle.entry
        attributes = entry.attributes
        assert attributes is not None
        organisation = self.source().organisation(entry.organisation_code)
        when = describe_time(checkpoint.timestamp)
        state = None if organisation is None else organisation.state_at(checkpoint.timestamp)
        if state is None:
            return [
                Dispute(
                    "organisation.unknown",
                    "rules",
                    f"organisation {entry.organisation_code} was not filed when the certificate "
                    f"was anchored ({when})",
                )
            ]
        by_province = entry.signature is not None and entry.signature.by_province
        if by_province and state.status != "terminated":
            return [
                Dispute(
                    "maintenance.organisation_active",
                    "rules",
                    f"the province signed a correction while organisation "
                    f"{entry.organisation_code} was {state.status} ({when}); it maintains only "
                    "a terminated organisation's certificates",
                )
            ]
        if state.status != "active" and not by_province:
            return [
                Dispute(
                    "organisation.not_active",
                    "rules",
                    f"organisation {entry.organisation_code} was {state.status} when the "
                    f"certificate was anchored ({when})",
                )
            ]
        scope = self.source().scope(state.scope_hash)
        if scope is None:
            notes.append("the filed scope is not in the snapshot")
            return []
        outside = scope_dispute(
            attributes.occupation_code,
            attributes.work_type_code,
            attributes.level,
            scope.filed(attributes.issue_date),  # the scope in force on the issue date
        )
        if outside is not None:
            return [outside]
        notes.append("organisation filed, active and in scope when anchored")
        return []

    def check_findings(self) -> str:
        if self.witnessed:
            return "no audit statements without a snapshot"
        entry = self.bundle.entry
        found = [
            Dispute(
                finding.kind,
                "audit",
                f"auditor 0x{record.auditor.hex()} reports {finding.kind} for leaf "
                f"{finding.leaf_index} of checkpoint {record.statement.checkpoint_index}",
                auditor="0x" + record.auditor.hex(),
                checkpoint_index=record.statement.checkpoint_index,
            )
            for record, finding in self.source().findings(
                entry.province, self.bundle.proof.leaf_index
            )
            if finding.commitment == entry.commitment
        ]
        if found:
            self.disputes += tuple(found)
            raise _Failed("; ".join(d.detail for d in found), ResultCode.DISPUTED)
        return "no auditor's finding names this certificate"


_STATUS_CODES = {
    "revoked": ResultCode.REVOKED,
    "suspended": ResultCode.SUSPENDED,
    "superseded": ResultCode.SUPERSEDED,
}
