"""The auditor's lean reader of manifest entries.

A manifest's entries must be exactly their canonical text (RFC 8785, docs/FORMATS.md "Log
entries" and "Manifests"), so the common entry — one that ``LogEntry.from_json`` accepts — has
one possible spelling. :data:`ENTRY_TEXT` is that spelling as one regular expression: a match
*is* the strict check of types, patterns and key order, and its groups are the fields. Anything
the expression does not match, or that breaks a per-kind rule of
``node.core.formats.entry._check_entry`` (docs/FORMATS.md entry table), goes down the strict path —
``json`` decoding, the canonical re-encoding check and
:meth:`node.core.formats.entry.LogEntry.from_json` — which raises the exact
:class:`~node.core.errors.InvalidInput` it always did. So the lean path accepts a subset of what
the strict path accepts and never refuses anything itself: the auditor's findings are the same
(``tests/audit/test_audit_parse.py`` checks both on valid and malformed entries).

Why: parsing with ``json`` then ``LogEntry.from_json`` then re-encoding to check the canonical
form cost ~40 µs of the ~65 µs the auditor's main process spent per entry (docs/AUDIT.md);
the match costs a few µs. ``node/core/formats/entry.py`` belongs to the node, so the lean reader
lives here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Final, NamedTuple

from node.core.errors import InvalidInput
from node.core.formats.entry import CERTIFICATE_KINDS, MAX_REASON, Attributes, LogEntry, Signature

_HEX64 = "[0-9a-f]{64}"

#: The canonical text of an entry ``LogEntry.from_json`` accepts with at most one link (keys
#: sorted: attributes, certificate_number, commitment, kind, links, organisation_code,
#: province, reason, signature, v). Patterns are those of ``node/core/formats/entry.py``.
ENTRY_TEXT: Final = re.compile(
    r'\{"attributes":(?:null|\{"issue_date":"([0-9]{4}-[0-9]{2}-[0-9]{2})","level":([1-5]),'
    r'"occupation_code":"([0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2})",'
    r'"work_type_code":"([0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}|--)"\}),'
    r'"certificate_number":"([YS][0-9]{21})",'
    rf'"commitment":"({_HEX64})",'
    r'"kind":"(issue|correct|revoke|suspend|reinstate|delete)",'
    rf'"links":\[(?:"({_HEX64})")?\],'
    r'"organisation_code":"([YS][0-9]{12})",'
    r'"province":"([1-8][0-9])",'
    r'"reason":(null|0|[1-9][0-9]{0,4}),'
    r'"signature":(?:null|\{"key_id":(0|[1-9][0-9]{0,9}),'
    r'"suite":"(ed25519|ecdsa-secp256k1|sm2-sm3)","value":"((?:[0-9a-f]{2}){1,256})"\}),'
    r'"v":1\}'
)
_MAX_KEY_ID: Final = 2**32 - 1
_DECODER: Final = json.JSONDecoder()


class EntryAttributes(NamedTuple):
    """``node.core.formats.entry.Attributes`` as a tuple (cheaper to build; fits
    ``ScopeSubject``)."""

    issue_date: str
    level: int
    occupation_code: str
    work_type_code: str
    certificate_type: str | None = None
    """None in a version 1 entry (a skill_level certificate); the committed type in v2."""


class EntrySignature(NamedTuple):
    """``node.core.formats.entry.Signature`` as a tuple."""

    suite: str
    key_id: int
    value: bytes
    signer: str | None = None
    """``province`` for the province's maintenance signature (seed 002 第十六条)."""


class AuditEntry(NamedTuple):
    """One parsed log entry: the fields of :class:`node.core.formats.entry.LogEntry`, already
    checked."""

    kind: str
    province: str
    organisation_code: str
    certificate_number: str
    commitment: bytes
    links: tuple[bytes, ...]
    reason: int | None
    attributes: EntryAttributes | None
    signature: EntrySignature | None


def canonical_text(value: object) -> str:
    """RFC 8785 text of a plain ASCII JSON value without floats: ``json.dumps`` with sorted
    keys and no spaces equals JCS for such values
    (``node.core.canonical.canonical_json_fast``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _lean(match: re.Match[str]) -> AuditEntry | None:
    """The entry of a matched text, or None when a rule beyond the expression's (value
    ranges, issuer and province positions, per-kind fields) is broken: the strict path then
    says which."""
    (date, level, occupation, work_type, number, commitment, kind, link, code, province) = (
        match.group(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    )
    reason_text, key_id, suite, value = match.group(11, 12, 13, 14)
    if number[:13] != code or number[5:7] != province:
        return None
    reason = None if reason_text == "null" else int(reason_text)
    if reason is not None and reason > MAX_REASON:
        return None
    if kind in CERTIFICATE_KINDS:
        if date is None or suite is None or (link is not None) != (kind == "correct"):
            return None
        if kind == "correct" and reason is None:
            return None
        key = int(key_id)
        if key > _MAX_KEY_ID:
            return None
        return AuditEntry(
            kind,
            province,
            code,
            number,
            bytes.fromhex(commitment),
            () if link is None else (bytes.fromhex(link),),
            reason,
            EntryAttributes(date, int(level), occupation, work_type),
            EntrySignature(suite, key, bytes.fromhex(value)),
        )
    if date is not None or suite is not None or link is not None or reason is None:
        return None
    return AuditEntry(
        kind, province, code, number, bytes.fromhex(commitment), (), reason, None, None
    )


def of_log_entry(entry: LogEntry) -> AuditEntry:
    """The :class:`AuditEntry` of a :class:`LogEntry`."""
    a, s = entry.attributes, entry.signature
    return AuditEntry(
        entry.kind,
        entry.province,
        entry.organisation_code,
        entry.certificate_number,
        entry.commitment,
        entry.links,
        entry.reason,
        None
        if a is None
        else EntryAttributes(
            a.issue_date, a.level, a.occupation_code, a.work_type_code, a.certificate_type
        ),
        None if s is None else EntrySignature(s.suite, s.key_id, s.value, s.signer),
    )


def to_log_entry(entry: AuditEntry) -> LogEntry:
    """The :class:`LogEntry` of an :class:`AuditEntry` (for code that takes one)."""
    a, s = entry.attributes, entry.signature
    return LogEntry(
        kind=entry.kind,
        province=entry.province,
        organisation_code=entry.organisation_code,
        certificate_number=entry.certificate_number,
        commitment=entry.commitment,
        links=entry.links,
        reason=entry.reason,
        attributes=None if a is None else Attributes(*a),
        signature=None if s is None else Signature(*s),
    )


def _strict(text: str, pos: int, path: str) -> tuple[str, AuditEntry, int]:
    """The strict path: decode, check canonical, ``LogEntry.from_json`` (its errors)."""
    try:
        value, stop = _DECODER.raw_decode(text, pos)
    except ValueError as exc:
        raise InvalidInput(path, "manifest.json", "not a JSON value") from exc
    piece = text[pos:stop]
    if not isinstance(value, dict) or canonical_text(value) != piece:
        raise InvalidInput(path, "manifest.canonical", "not in canonical form")
    return piece, of_log_entry(LogEntry.from_json(value, path)), stop


def read_entry(text: str, pos: int, index: int) -> tuple[str, AuditEntry, int]:
    """Read the entry that starts at ``text[pos]``: (its canonical text, the entry, the
    position after it).

    Raises:
        InvalidInput: at ``manifest.entries[index]…`` — ``manifest.json``,
            ``manifest.canonical`` or any rule of ``LogEntry.from_json``.
    """
    match = ENTRY_TEXT.match(text, pos)
    if match is not None:
        entry = _lean(match)
        if entry is not None:
            return match.group(), entry, match.end()
    return _strict(text, pos, f"manifest.entries[{index}]")


def read_entries(text: str, start: int, end: int) -> Iterator[tuple[str, AuditEntry]]:
    """The entries of ``text[start:end]`` (the body of a manifest's ``entries`` array), one
    at a time, each as (canonical text, entry).

    Raises:
        InvalidInput: as :func:`read_entry`; ``manifest.entries`` / ``manifest.canonical``
            when the separators are wrong.
    """
    pos, index = start, 0
    while pos < end:
        piece, entry, stop = read_entry(text, pos, index)
        if stop > end:
            raise InvalidInput("manifest.entries", "manifest.canonical", "not in canonical form")
        yield piece, entry
        index += 1
        if stop == end:
            return
        if text[stop] != "," or stop + 1 == end:
            raise InvalidInput("manifest.entries", "manifest.canonical", "not in canonical form")
        pos = stop + 1


__all__ = [
    "ENTRY_TEXT",
    "AuditEntry",
    "EntryAttributes",
    "EntrySignature",
    "canonical_text",
    "of_log_entry",
    "read_entries",
    "read_entry",
    "to_log_entry",
]
