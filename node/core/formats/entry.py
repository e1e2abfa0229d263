"""Log entries: what a province appends to its Merkle log (no personal data).

Format pinned in ``docs/FORMATS.md``; the leaf is ``SHA-256(0x00 || JCS(entry))``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from node.core.canonical import canonical_json_fast
from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader, check_hex
from node.core.merkle import leaf_hash

ENTRY_VERSION = 1
#: Entry kinds: certificates (issue, correct) and status changes of an earlier certificate.
CERTIFICATE_KINDS = ("issue", "correct")
STATUS_KINDS = ("revoke", "suspend", "reinstate", "delete")
ENTRY_KINDS = CERTIFICATE_KINDS + STATUS_KINDS
SUITES = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")

PROVINCE_RE = re.compile(r"[1-8][0-9]")
ORGANISATION_CODE_RE = re.compile(r"[YS][0-9]{12}")
CERTIFICATE_NUMBER_RE = re.compile(r"[YS][0-9]{21}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
OCCUPATION_CODE_RE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
WORK_TYPE_CODE_RE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}|--")
MAX_REASON = 65535  # reason codes are uint16 on chain
_MAX_SAFE_INT = 2**53 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class Attributes:
    """The public attributes of a certificate that the auditor needs (scope, deadlines)."""

    issue_date: str
    level: int
    occupation_code: str
    work_type_code: str

    @classmethod
    def of(cls, certificate: Certificate) -> Attributes:
        return cls(
            issue_date=certificate.issue_date,
            level=certificate.level,
            occupation_code=certificate.occupation_code,
            work_type_code=certificate.work_type_code,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """An issuer's signature over the commitment (``docs/FORMATS.md`` "Signatures")."""

    suite: str
    key_id: int
    value: bytes


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

    def to_json(self) -> dict[str, Any]:
        """Return the entry as its JSON object (the exact shape that is hashed)."""
        return {
            "v": ENTRY_VERSION,
            "kind": self.kind,
            "province": self.province,
            "organisation_code": self.organisation_code,
            "certificate_number": self.certificate_number,
            "commitment": self.commitment.hex(),
            "links": [link.hex() for link in self.links],
            "reason": self.reason,
            "attributes": None
            if self.attributes is None
            else {
                "issue_date": self.attributes.issue_date,
                "level": self.attributes.level,
                "occupation_code": self.attributes.occupation_code,
                "work_type_code": self.attributes.work_type_code,
            },
            "signature": None
            if self.signature is None
            else {
                "suite": self.signature.suite,
                "key_id": self.signature.key_id,
                "value": self.signature.value.hex(),
            },
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
        if r.raw("v") != ENTRY_VERSION or isinstance(r.raw("v"), bool):
            raise InvalidInput(r.at("v"), "entry.version", f"must be {ENTRY_VERSION}")
        kind = r.string("kind")
        if kind not in ENTRY_KINDS:
            raise InvalidInput(r.at("kind"), "entry.kind", f"must be one of {ENTRY_KINDS}")
        links = tuple(
            check_hex(link, f"{r.at('links')}[{i}]", 32) for i, link in enumerate(r.array("links"))
        )
        attributes = None
        if not r.is_null("attributes"):
            a = r.obj("attributes")
            a.keys({"issue_date", "level", "occupation_code", "work_type_code"})
            attributes = Attributes(
                issue_date=a.string("issue_date", DATE_RE),
                level=a.integer("level", 1, 5),
                occupation_code=a.string("occupation_code", OCCUPATION_CODE_RE),
                work_type_code=a.string("work_type_code", WORK_TYPE_CODE_RE),
            )
        signature = None
        if not r.is_null("signature"):
            s = r.obj("signature")
            s.keys({"suite", "key_id", "value"})
            suite = s.string("suite")
            if suite not in SUITES:
                raise InvalidInput(s.at("suite"), "entry.suite", f"must be one of {SUITES}")
            signature = Signature(suite, s.integer("key_id", 0, 2**32 - 1), s.hex("value"))
            if not 1 <= len(signature.value) <= 256:
                raise InvalidInput(s.at("value"), "entry.signature_size", "1-256 bytes")
        reason = None if r.is_null("reason") else r.integer("reason", 0, MAX_REASON)
        try:
            return cls(
                kind=kind,
                province=r.string("province", PROVINCE_RE),
                organisation_code=r.string("organisation_code", ORGANISATION_CODE_RE),
                certificate_number=r.string("certificate_number", CERTIFICATE_NUMBER_RE),
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
        attributes = (
            f'{{"issue_date":"{a.issue_date}","level":{a.level},'
            f'"occupation_code":"{a.occupation_code}","work_type_code":"{a.work_type_code}"}}'
        )
    else:
        return None
    if s is None:
        signature = "null"
    elif s.suite in SUITES and _safe_int(s.key_id):
        signature = f'{{"key_id":{s.key_id},"suite":"{s.suite}","value":"{s.value.hex()}"}}'
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
        f'"reason":{reason},"signature":{signature},"v":{ENTRY_VERSION}}}'
    ).encode("ascii")


def _check_entry(entry: LogEntry) -> None:
    """Check the per-kind rules of the entry table in ``docs/FORMATS.md``."""
    if entry.kind not in ENTRY_KINDS:
        raise InvalidInput("kind", "entry.kind", f"must be one of {ENTRY_KINDS}")
    if not PROVINCE_RE.fullmatch(entry.province):
        raise InvalidInput("province", "entry.province", "must be a two-digit province code")
    if not ORGANISATION_CODE_RE.fullmatch(entry.organisation_code):
        raise InvalidInput("organisation_code", "entry.organisation_code", "must be 13 characters")
    if not CERTIFICATE_NUMBER_RE.fullmatch(entry.certificate_number):
        raise InvalidInput("certificate_number", "entry.certificate_number", "22 characters")
    if entry.certificate_number[:13] != entry.organisation_code:
        raise InvalidInput(
            "certificate_number",
            "entry.issuer",
            "positions 1-13 must equal the organisation code",
        )
    if entry.certificate_number[5:7] != entry.province:
        raise InvalidInput(
            "province", "entry.province", "must equal positions 6-7 of the certificate number"
        )
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
    else:
        if entry.attributes is not None or entry.signature is not None:
            raise InvalidInput(
                "attributes", "entry.status_fields", f"a {entry.kind} entry has no attributes"
            )
        if entry.links:
            raise InvalidInput("links", "entry.links", f"a {entry.kind} entry has no links")
        if entry.reason is None:
            raise InvalidInput("reason", "entry.reason", f"a {entry.kind} entry needs a reason")
