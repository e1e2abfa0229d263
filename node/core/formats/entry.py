"""Log entries: what a province appends to its Merkle log (no personal data).

Format pinned in ``docs/FORMATS.md``; the leaf is ``SHA-256(0x00 || JCS(entry))``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

from node.core.canonical import canonical_json_fast
from node.core.certificate import (
    CERTIFICATE_TYPES,
    SKILL_LEVEL,
    SPECIAL_ABILITY,
    UNGRADED_LEVEL,
    Certificate,
)
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader, check_hex
from node.core.merkle import leaf_hash

ENTRY_VERSION = 1
#: Format 2: the attributes carry the committed ``certificate_type`` (docs/FORMATS.md).
ENTRY_VERSION_2 = 2
ENTRY_VERSIONS = (ENTRY_VERSION, ENTRY_VERSION_2)
#: Entry kinds: certificates (issue, correct) and status changes of an earlier certificate.
CERTIFICATE_KINDS = ("issue", "correct")
STATUS_KINDS = ("revoke", "suspend", "reinstate", "delete")
ENTRY_KINDS = CERTIFICATE_KINDS + STATUS_KINDS
SUITES = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")
#: ``signature.signer`` of a correction the province signed to maintain the certificates of a
#: terminated or vanished organisation (seed 002 第十六条: 主体灭失的，由属地人社部门维护).
PROVINCE_SIGNER = "province"
SIGNERS = (PROVINCE_SIGNER,)
#: ``Membership.setMemberKey`` purpose of the province's certificate-maintenance key (Ed25519,
#: 32 bytes); a province-signed signature names it as its ``key_id``.
MAINTENANCE_KEY_PURPOSE = 3

PROVINCE_RE = re.compile(r"[1-8][0-9]")
ORGANISATION_CODE_RE = re.compile(r"[YS][0-9]{12}")
CERTIFICATE_NUMBER_RE = re.compile(r"[YS][0-9]{21}")
#: 专项职业能力证书: 15 digits (豫人社办函〔2020〕41号 四(一)).
SPECIAL_ABILITY_NUMBER_RE = re.compile(r"[0-9]{15}")
#: 职业资格证书: the province configures the exact format; the log accepts this envelope.
QUALIFICATION_NUMBER_RE = re.compile(r"[0-9A-Z]{6,30}")
#: The number pattern of each certificate type (format 2).
NUMBER_PATTERNS: dict[str, re.Pattern[str]] = {
    SKILL_LEVEL: CERTIFICATE_NUMBER_RE,
    SPECIAL_ABILITY: SPECIAL_ABILITY_NUMBER_RE,
    "vocational_qualification": QUALIFICATION_NUMBER_RE,
}
#: Any certificate number of any type.
ANY_NUMBER_RE = re.compile(r"[YS][0-9]{21}|[0-9]{15}|[0-9A-Z]{6,30}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
OCCUPATION_CODE_RE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
WORK_TYPE_CODE_RE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}|--")
MAX_REASON = 65535  # reason codes are uint16 on chain
_MAX_SAFE_INT = 2**53 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class Attributes:
    """The public attributes of a certificate that the auditor needs (scope, deadlines).

    ``certificate_type`` is None in a format-1 entry (whose certificate is ``skill_level``) and
    the committed type in a format-2 entry.
    """

    issue_date: str
    level: int
    occupation_code: str
    work_type_code: str
    certificate_type: str | None = None

    @property
    def type(self) -> str:
        """The certificate type (``skill_level`` for format 1)."""
        return SKILL_LEVEL if self.certificate_type is None else self.certificate_type

    @classmethod
    def of(cls, certificate: Certificate) -> Attributes:
        return cls(
            issue_date=certificate.issue_date,
            level=certificate.level,
            occupation_code=certificate.occupation_code,
            work_type_code=certificate.work_type_code,
            certificate_type=None
            if certificate.certificate_type == SKILL_LEVEL
            else certificate.certificate_type,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """An issuer's signature over the commitment (``docs/FORMATS.md`` "Signatures").

    ``signer`` is None for the organisation's own key (``key_id`` is its key), or
    :data:`PROVINCE_SIGNER` for the province's maintenance key (``key_id`` is
    :data:`MAINTENANCE_KEY_PURPOSE`); it is written into the entry only when set, so entries
    signed by organisations keep their bytes.
    """

    suite: str
    key_id: int
    value: bytes
    signer: str | None = None

    @property
    def by_province(self) -> bool:
        """Whether the province signed (maintenance of a terminated organisation's
        certificates)."""
        return self.signer == PROVINCE_SIGNER

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"suite": self.suite, "key_id": self.key_id}
        if self.signer is not None:
            out["signer"] = self.signer
        out["value"] = self.value.hex()
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class LogEntry:
    """One entry of a province's log."""

    kind: str
    province: str
    organisation_code: str
    certificate_number: str
    commitment: bytes
    links: tuple[bytes, ...] = ()
    reason: int | None = None
    attributes: Attributes | None = None
    signature: Signature | None = None

    def __post_init__(self) -> None:
        _check_entry(self)

    @property
    def version(self) -> int:
        """2 when the attributes carry a certificate type, else 1."""
        a = self.attributes
        return ENTRY_VERSION if a is None or a.certificate_type is None else ENTRY_VERSION_2

    @property
    def certificate_type(self) -> str | None:
        """The certificate type of an issue or correct entry (None for a status entry)."""
        return None if self.attributes is None else self.attributes.type

    def to_json(self) -> dict[str, Any]:
        """Return the entry as its JSON object (the exact shape that is hashed)."""
        return {
            "v": self.version,
            "kind": self.kind,
            "province": self.province,
            "organisation_code": self.organisation_code,
            "certificate_number": self.certificate_number,
            "commitment": self.commitment.hex(),
            "links": [link.hex() for link in self.links],
            "reason": self.reason,
            "attributes": None if self.attributes is None else _attributes_json(self.attributes),
            "signature": None if self.signature is None else self.signature.to_json(),
        }

    def canonical_bytes(self) -> bytes:
        """Return ``JCS(entry)``: the leaf data (:func:`direct_jcs` when it applies)."""
        direct = direct_jcs(self)
        return direct if direct is not None else canonical_json_fast(self.to_json())

    def leaf_hash(self) -> bytes:
        """Return the RFC 9162 leaf hash of the entry."""
        return leaf_hash(self.canonical_bytes())

    @classmethod
    def from_json(cls, value: Mapping[str, Any], path: str = "entry") -> LogEntry:
        """Parse an entry object strictly.

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        r = Reader(value, path)
        r.keys(
            {
                "v",
                "kind",
                "province",
                "organisation_code",
                "certificate_number",
                "commitment",
                "links",
                "reason",
                "attributes",
                "signature",
            }
        )
        version = r.raw("v")
        if version not in ENTRY_VERSIONS or isinstance(version, bool):
            raise InvalidInput(r.at("v"), "entry.version", f"must be one of {ENTRY_VERSIONS}")
        kind = r.string("kind")
        if kind not in ENTRY_KINDS:
            raise InvalidInput(r.at("kind"), "entry.kind", f"must be one of {ENTRY_KINDS}")
        links = tuple(
            check_hex(link, f"{r.at('links')}[{i}]", 32) for i, link in enumerate(r.array("links"))
        )
        attributes = None
        if not r.is_null("attributes"):
            a = r.obj("attributes")
            names = {"issue_date", "level", "occupation_code", "work_type_code"}
            certificate_type = None
            if version == ENTRY_VERSION_2:
                a.keys(names | {"certificate_type"})
                certificate_type = a.string("certificate_type")
                if certificate_type not in CERTIFICATE_TYPES:
                    raise InvalidInput(
                        a.at("certificate_type"),
                        "entry.certificate_type",
                        f"must be one of {CERTIFICATE_TYPES}",
                    )
            else:
                a.keys(names)
            attributes = Attributes(
                issue_date=a.string("issue_date", DATE_RE),
                level=a.integer("level", 0 if certificate_type == SPECIAL_ABILITY else 1, 5),
                occupation_code=a.string("occupation_code", OCCUPATION_CODE_RE),
                work_type_code=a.string("work_type_code", WORK_TYPE_CODE_RE),
                certificate_type=certificate_type,
            )
        elif version != ENTRY_VERSION:
            raise InvalidInput(r.at("v"), "entry.version", "a status entry is version 1")
        signature = None
        if not r.is_null("signature"):
            s = r.obj("signature")
            s.keys({"suite", "key_id", "value"}, optional={"signer"})
            suite = s.string("suite")
            if suite not in SUITES:
                raise InvalidInput(s.at("suite"), "entry.suite", f"must be one of {SUITES}")
            signer = None
            if "signer" in s.value:
                signer = s.string("signer")
                if signer not in SIGNERS:
                    raise InvalidInput(s.at("signer"), "entry.signer", f"must be one of {SIGNERS}")
            signature = Signature(
                suite, s.integer("key_id", 0, 2**32 - 1), s.hex("value"), signer=signer
            )
            if not 1 <= len(signature.value) <= 256:
                raise InvalidInput(s.at("value"), "entry.signature_size", "1-256 bytes")
        reason = None if r.is_null("reason") else r.integer("reason", 0, MAX_REASON)
        try:
            return cls(
                kind=kind,
                province=r.string("province", PROVINCE_RE),
                organisation_code=r.string("organisation_code", ORGANISATION_CODE_RE),
                certificate_number=r.string("certificate_number", ANY_NUMBER_RE),
                commitment=r.hex("commitment", 32),
                links=links,
                reason=reason,
                attributes=attributes,
                signature=signature,
            )
        except InvalidInput as exc:
            if exc.field.startswith(path):
                raise
            raise InvalidInput(f"{path}.{exc.field}", exc.rule, exc.message) from exc


def _attributes_json(a: Attributes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if a.certificate_type is not None:
        out["certificate_type"] = a.certificate_type
    out["issue_date"] = a.issue_date
    out["level"] = a.level
    out["occupation_code"] = a.occupation_code
    out["work_type_code"] = a.work_type_code
    return out


def examining_body_registry_code(examining_body_code: str, province: str) -> str:
    """The 13-character registry code under which a 专项职业能力 examining body is filed.

    The contract keys organisations by 13 characters (class, 4 digits, province, 6 digits); an
    examining body's 8-digit code (豫人社办函〔2020〕41号 二(四): 4-digit area, the digit 5,
    3-digit serial) is placed as ``S`` + area + province + ``5`` + serial + ``00``. Positions
    8-13 of a skill-level organisation code are a site sequence that never starts with 5 in the
    provinces whose rules we model, and the trailing ``00`` keeps the two apart by construction
    in the node's filing (``organisation.registry_code``).
    """
    return "S" + examining_body_code[0:4] + province + examining_body_code[4:8] + "00"


def registry_code_of(certificate: Certificate, province: str) -> str:
    """The code under which ``certificate``'s issuer is filed: its ``organisation_code``, or for
    a special_ability certificate its examining body's registry code in ``province``."""
    if certificate.certificate_type == SPECIAL_ABILITY:
        return examining_body_registry_code(certificate.organisation_code, province)
    return certificate.organisation_code


def examining_body_code_of(registry_code: str) -> str:
    """The 8-digit examining-body code of a registry code made by
    :func:`examining_body_registry_code`."""
    return registry_code[1:5] + registry_code[7:11]


def _safe_int(value: object) -> bool:
    return type(value) is int and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return type(value) is str and pattern.fullmatch(value) is not None


def direct_jcs(entry: LogEntry) -> bytes | None:
    """Return ``JCS(entry)`` formatted directly for the fixed entry shape, or None when a value
    is not of the kind this formatter knows (the caller then uses the general encoder).

    RFC 8785 of an entry is its keys in sorted order (``attributes``, ``certificate_number``,
    ``commitment``, ``kind``, ``links``, ``organisation_code``, ``province``, ``reason``,
    ``signature``, ``v``) with no spaces. Every string is checked here, or by the entry's own
    checks, against a pattern of digits, letters and ``-`` (nothing to escape), and every integer
    is a plain safe integer, so each value prints as itself. Several times faster than building
    the JSON object and encoding it, on the intake path's every entry; ``tests/node/
    test_entry_format.py`` holds the two equal.
    """
    a, s = entry.attributes, entry.signature
    if a is None:
        attributes = "null"
    elif (
        _safe_int(a.level)
        and _matches(DATE_RE, a.issue_date)
        and _matches(OCCUPATION_CODE_RE, a.occupation_code)
        and _matches(WORK_TYPE_CODE_RE, a.work_type_code)
    ):
        typed = "" if a.certificate_type is None else f'"certificate_type":"{a.certificate_type}",'
        if a.certificate_type is not None and a.certificate_type not in CERTIFICATE_TYPES:
            return None
        attributes = (
            f'{{{typed}"issue_date":"{a.issue_date}","level":{a.level},'
            f'"occupation_code":"{a.occupation_code}","work_type_code":"{a.work_type_code}"}}'
        )
    else:
        return None
    if s is None:
        signature = "null"
    elif s.suite in SUITES and _safe_int(s.key_id) and s.signer in (None, *SIGNERS):
        signer = "" if s.signer is None else f'"signer":"{s.signer}",'
        signature = f'{{"key_id":{s.key_id},{signer}"suite":"{s.suite}","value":"{s.value.hex()}"}}'
    else:
        return None
    if entry.reason is None:
        reason = "null"
    elif _safe_int(entry.reason):
        reason = str(entry.reason)
    else:
        return None
    links = ",".join(f'"{link.hex()}"' for link in entry.links)
    # kind, province, organisation code and certificate number: checked by _check_entry.
    return (
        f'{{"attributes":{attributes},"certificate_number":"{entry.certificate_number}",'
        f'"commitment":"{entry.commitment.hex()}","kind":"{entry.kind}","links":[{links}],'
        f'"organisation_code":"{entry.organisation_code}","province":"{entry.province}",'
        f'"reason":{reason},"signature":{signature},"v":{entry.version}}}'
    ).encode("ascii")


def _check_number(entry: LogEntry) -> None:
    """The certificate number against the organisation code and province, by type."""
    a = entry.attributes
    certificate_type = SKILL_LEVEL if a is None else a.type
    number = entry.certificate_number
    if a is not None and a.certificate_type is not None:
        if a.certificate_type not in CERTIFICATE_TYPES:
            raise InvalidInput(
                "attributes.certificate_type",
                "entry.certificate_type",
                f"must be one of {CERTIFICATE_TYPES}",
            )
        lowest = UNGRADED_LEVEL if certificate_type == SPECIAL_ABILITY else 1
        highest = UNGRADED_LEVEL if certificate_type == SPECIAL_ABILITY else 5
        if not lowest <= a.level <= highest:
            raise InvalidInput(
                "attributes.level",
                "entry.level",
                "a special_ability certificate is not graded (level 0)"
                if certificate_type == SPECIAL_ABILITY
                else "must be a skill level 1-5",
            )
    if entry.organisation_code[5:7] != entry.province:
        raise InvalidInput(
            "province", "entry.province", "must equal positions 6-7 of the organisation code"
        )
    if a is None:
        # A status entry names a certificate of any type; its number is checked by shape.
        if not ANY_NUMBER_RE.fullmatch(number):
            raise InvalidInput("certificate_number", "entry.certificate_number", "bad shape")
        if CERTIFICATE_NUMBER_RE.fullmatch(number) and number[:13] != entry.organisation_code:
            raise InvalidInput(
                "certificate_number",
                "entry.issuer",
                "positions 1-13 must equal the organisation code",
            )
        return
    if not NUMBER_PATTERNS[certificate_type].fullmatch(number):
        raise InvalidInput(
            "certificate_number",
            "entry.certificate_number",
            "22 characters"
            if certificate_type == SKILL_LEVEL
            else f"not a {certificate_type} certificate number",
        )
    if certificate_type == SKILL_LEVEL and number[:13] != entry.organisation_code:
        raise InvalidInput(
            "certificate_number",
            "entry.issuer",
            "positions 1-13 must equal the organisation code",
        )
    if certificate_type == SPECIAL_ABILITY and entry.organisation_code != (
        examining_body_registry_code(number[2:10], entry.province)
    ):
        raise InvalidInput(
            "certificate_number",
            "entry.issuer",
            "positions 3-10 must be the examining body filed under the organisation code",
        )


def _check_date(text: str) -> None:
    """An issue date is a day of the proleptic Gregorian calendar from 0001-01-01, written
    YYYY-MM-DD (a text of that shape such as 2025-02-30 or 0000-01-01 is not one)."""
    try:
        valid = DATE_RE.fullmatch(text) is not None and bool(datetime.date.fromisoformat(text))
    except ValueError:
        valid = False
    if not valid:
        raise InvalidInput(
            "attributes.issue_date", "entry.issue_date", f"{text!r} is not a calendar date"
        )


def _check_entry(entry: LogEntry) -> None:
    """Check the per-kind rules of the entry table in ``docs/FORMATS.md``."""
    if entry.kind not in ENTRY_KINDS:
        raise InvalidInput("kind", "entry.kind", f"must be one of {ENTRY_KINDS}")
    if not PROVINCE_RE.fullmatch(entry.province):
        raise InvalidInput("province", "entry.province", "must be a two-digit province code")
    if not ORGANISATION_CODE_RE.fullmatch(entry.organisation_code):
        raise InvalidInput("organisation_code", "entry.organisation_code", "must be 13 characters")
    _check_number(entry)
    if len(entry.commitment) != 32 or any(len(link) != 32 for link in entry.links):
        raise InvalidInput("commitment", "entry.hash_size", "hashes must be 32 bytes")
    if entry.reason is not None and not 0 <= entry.reason <= MAX_REASON:
        raise InvalidInput("reason", "entry.reason", f"must be 0-{MAX_REASON}")
    if entry.kind in CERTIFICATE_KINDS:
        if entry.attributes is None or entry.signature is None:
            raise InvalidInput(
                "attributes" if entry.attributes is None else "signature",
                "entry.certificate_fields",
                f"a {entry.kind} entry needs attributes and a signature",
            )
        expected_links = 1 if entry.kind == "correct" else 0
        if len(entry.links) != expected_links:
            raise InvalidInput(
                "links", "entry.links", f"a {entry.kind} entry has {expected_links} link(s)"
            )
        if entry.kind == "correct" and entry.reason is None:
            raise InvalidInput("reason", "entry.reason", "a correction needs a reason code")
        signature = entry.signature
        if signature.signer is not None:
            if signature.signer not in SIGNERS:
                raise InvalidInput("signature.signer", "entry.signer", f"one of {SIGNERS}")
            if entry.kind != "correct" or signature.key_id != MAINTENANCE_KEY_PURPOSE:
                raise InvalidInput(
                    "signature.signer",
                    "entry.province_signature",
                    "the province signs only corrections, with its maintenance key "
                    f"(key_id {MAINTENANCE_KEY_PURPOSE}; seed 002 第十六条)",
                )
        _check_date(entry.attributes.issue_date)
    else:
        if entry.attributes is not None or entry.signature is not None:
            raise InvalidInput(
                "attributes", "entry.status_fields", f"a {entry.kind} entry has no attributes"
            )
        if entry.links:
            raise InvalidInput("links", "entry.links", f"a {entry.kind} entry has no links")
        if entry.reason is None:
            raise InvalidInput("reason", "entry.reason", f"a {entry.kind} entry needs a reason")
