"""The auditor's lean entry reader (``audit/parse.py``) against the strict one it
replaces: ``json`` decoding, the canonical-form check and ``LogEntry.from_json``. On valid
entries of every kind it must give the same fields (by its lean path); on malformed ones it
must refuse with the same field and rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from anchor.manifest import build_manifest
from audit.log import read_manifest
from audit.parse import ENTRY_TEXT, AuditEntry, of_log_entry, read_entry
from node.core.errors import InvalidInput
from node.core.formats.entry import Attributes, LogEntry, Signature

PATH = "manifest.entries[3]"
NUMBER = "S000144011001244000007"
ISSUE: dict[str, Any] = {
    "v": 1,
    "kind": "issue",
    "province": "44",
    "organisation_code": "S000144011001",
    "certificate_number": NUMBER,
    "commitment": "ab" * 32,
    "links": [],
    "reason": None,
    "attributes": {
        "issue_date": "2024-03-05",
        "level": 4,
        "occupation_code": "6-18-01-01",
        "work_type_code": "6-18-01-01-02",
    },
    "signature": {"suite": "ed25519", "key_id": 0, "value": "cd" * 64},
}


def text_of(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reference(text: str) -> AuditEntry | tuple[str, str]:
    """What the auditor did before the lean reader: the entry, or (field, rule)."""
    try:
        value, stop = json.JSONDecoder().raw_decode(text, 0)
        if stop != len(text):
            return ("trailing", "trailing")
        if not isinstance(value, dict) or text_of(value) != text:
            raise InvalidInput(PATH, "manifest.canonical", "not in canonical form")
        return of_log_entry(LogEntry.from_json(value, PATH))
    except ValueError:
        return (PATH, "manifest.json")
    except InvalidInput as exc:
        return (exc.field, exc.rule)


def lean(text: str) -> AuditEntry | tuple[str, str]:
    try:
        piece, entry, stop = read_entry(text, 0, 3)
    except InvalidInput as exc:
        return (exc.field, exc.rule)
    if stop != len(text):
        return ("trailing", "trailing")
    assert piece == text
    return entry


def valid_entries() -> list[dict[str, Any]]:
    """Valid entries of every kind, suite and optional field."""
    out = [copy.deepcopy(ISSUE)]
    late = copy.deepcopy(ISSUE)
    late["reason"] = 602
    late["attributes"]["work_type_code"] = "--"
    out.append(late)
    for suite, size in (("ecdsa-secp256k1", 64), ("sm2-sm3", 64), ("ed25519", 1)):
        other = copy.deepcopy(ISSUE)
        other["signature"] = {"suite": suite, "key_id": 2**32 - 1, "value": "0f" * size}
        out.append(other)
    big = copy.deepcopy(ISSUE)
    big["signature"]["value"] = "ee" * 256
    big["attributes"]["level"] = 1
    out.append(big)
    correct = copy.deepcopy(ISSUE)
    correct.update(kind="correct", links=["12" * 32], reason=403)
    out.append(correct)
    for kind, reason in (("revoke", 101), ("suspend", 0), ("reinstate", 301), ("delete", 65535)):
        status = copy.deepcopy(ISSUE)
        status.update(kind=kind, reason=reason, attributes=None, signature=None)
        out.append(status)
    yclass = copy.deepcopy(ISSUE)
    yclass["organisation_code"] = "Y000144011001"
    yclass["certificate_number"] = "Y" + NUMBER[1:]
    out.append(yclass)
    return out


BAD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.0,
    "",
    "x",
    [],
    {},
    65536,
    2**32,
    "AB" * 32,
    "ab" * 31,
    "ab" * 33,
    "abc",
    "2024-3-05",
    "6-18-01-1",
    "S00014401100",
    "99",
    "45",
    "S000144011002",
    "ed448",
    ["ab" * 32, "cd" * 32],
    ["zz" * 32],
    "ee" * 257,
    6,
    2,
)


def malformed_objects() -> Iterator[dict[str, Any]]:
    """Each valid entry with one key removed, added or given a bad value, at both levels."""
    for entry in valid_entries():
        for key in list(entry):
            removed = copy.deepcopy(entry)
            del removed[key]
            yield removed
            for bad in BAD_VALUES:
                changed = copy.deepcopy(entry)
                changed[key] = bad
                yield changed
        for inner in ("attributes", "signature"):
            if entry[inner] is None:
                continue
            for key in list(entry[inner]):
                removed = copy.deepcopy(entry)
                del removed[inner][key]
                yield removed
                for bad in BAD_VALUES:
                    changed = copy.deepcopy(entry)
                    changed[inner][key] = bad
                    yield changed
            extra = copy.deepcopy(entry)
            extra[inner]["extra"] = 1
            yield extra
        extra = copy.deepcopy(entry)
        extra["extra"] = 1
        yield extra


def malformed_texts() -> Iterator[str]:
    """Texts that are not the canonical spelling of a valid entry."""
    text = text_of(ISSUE)
    yield text.replace(":", ": ", 1)  # a space
    yield text.replace('"44"', '"\\u0034\\u0034"')  # an escape
    yield json.dumps(ISSUE, separators=(",", ":"))  # keys not sorted
    yield text[:-1]  # cut
    yield text.replace('"v":1', '"v":1.0')
    yield text.replace('"level":4', '"level":04')
    yield text.replace('"level":4', '"level":4e0')
    yield "[" + text + "]"
    yield "null"
    yield '"entry"'
    yield text.replace('"v":1}', '"v":1,"v":1}')  # a duplicate key


@pytest.mark.parametrize("value", valid_entries(), ids=lambda v: f"{v['kind']}")
def test_valid_entries_take_the_lean_path_and_agree(value: dict[str, Any]) -> None:
    text = text_of(value)
    assert ENTRY_TEXT.fullmatch(text), "a valid entry must not need the strict path"
    got, expected = lean(text), reference(text)
    assert isinstance(expected, AuditEntry)
    assert got == expected


def test_every_malformed_entry_is_refused_alike() -> None:
    checked = refused = 0
    for value in malformed_objects():
        text = text_of(value)
        got, expected = lean(text), reference(text)
        assert got == expected, text
        checked += 1
        refused += isinstance(expected, tuple)
    for text in malformed_texts():
        assert lean(text) == reference(text), text
        assert isinstance(reference(text), tuple)
    assert checked > 3_000
    assert refused > 2_500  # most mutants are refused; the rest are valid and must agree


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (
            {"certificate_number": "S000144011002244000007"},
            "entry.certificate_number",
            "entry.issuer",
        ),
        ({"province": "45"}, "entry.province", "entry.province"),
        ({"kind": "correct"}, "entry.links", "entry.links"),
        ({"links": ["12" * 32]}, "entry.links", "entry.links"),
        ({"kind": "revoke", "reason": 101}, "entry.attributes", "entry.status_fields"),
        ({"reason": 65536}, f"{PATH}.reason", "schema.range"),
        ({"v": 3}, f"{PATH}.v", "entry.version"),
    ],
)
def test_rules_beyond_the_pattern_fall_back_to_the_strict_refusal(
    change: dict[str, Any], field: str, rule: str
) -> None:
    value = {**copy.deepcopy(ISSUE), **change}
    got = lean(text_of(value))
    assert got == reference(text_of(value))
    assert isinstance(got, tuple)
    assert got[1] == rule
    assert got[0] in (field, f"{PATH}.{field.split('.', 1)[1]}")


def test_manifest_reader_gives_the_entries_and_names_the_bad_one() -> None:
    entries = [
        LogEntry(
            kind="issue",
            province="44",
            organisation_code="S000144011001",
            certificate_number=f"S00014401100124400000{i}",
            commitment=bytes([i]) * 32,
            attributes=Attributes("2024-03-05", 4, "6-18-01-01", "--"),
            signature=Signature("ed25519", 0, b"\x01" * 64),
        )
        for i in range(1, 4)
    ]
    data = build_manifest("44", 0, 0, 3, b"\x00" * 32, entries).to_bytes()
    _, read = read_manifest(data)
    assert [entry for _, entry in read] == [of_log_entry(e) for e in entries]
    bad = data.replace(b'"level":4', b'"level":9', 2)
    _, read = read_manifest(bad)
    with pytest.raises(InvalidInput) as info:
        list(read)
    assert (info.value.field, info.value.rule) == (
        "manifest.entries[0].attributes.level",
        "schema.range",
    )
