"""The JSON Schemas of the trust documents against the strict Python parsers:
``schemas/snapshot-v2.schema.json`` (a signed snapshot, version 2) and
``schemas/cosignature.schema.json`` (the statement a witness cosigns about a checkpoint).

Every version 2 snapshot of the trust vectors (tests/vectors/trust.json) is valid under the
schema exactly when the parser reads it; a list of mutated documents is refused (or accepted)
by both. As for the other schemas (tests/node/core/test_schemas.py), the parser is
authoritative: the rules a schema cannot express are listed where they matter.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from node.core.errors import InvalidInput
from node.core.formats.snapshot import Snapshot
from node.core.formats.trust import CheckpointStatement

ROOT = Path(__file__).resolve().parents[3]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "trust.json").read_text(encoding="utf-8"))
Doc = dict[str, Any]


@functools.cache
def _validator(name: str) -> Any:
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _both(name: str, parse: Callable[[Any], object], doc: Any) -> tuple[bool, bool]:
    try:
        parse(doc)
        parsed = True
    except InvalidInput:
        parsed = False
    return bool(_validator(name).is_valid(doc)), parsed


SNAPSHOTS_V2 = {k: v for k, v in VECTORS["snapshots"].items() if v["version"] == 2}


def test_the_vectors_hold_version_2_snapshots_of_every_part() -> None:
    assert len(SNAPSHOTS_V2) >= 10
    joined = list(SNAPSHOTS_V2.values())
    assert any(s["audits"] for s in joined) and any(s["scopes"] for s in joined)
    assert any(s["calendar"] for s in joined) and any(s["signatures"] for s in joined)


@pytest.mark.parametrize("name", sorted(SNAPSHOTS_V2))
def test_every_version_2_vector_is_valid_under_the_schema(name: str) -> None:
    doc = SNAPSHOTS_V2[name]
    errors = [e.message for e in _validator("snapshot-v2").iter_errors(doc)]
    assert errors == []
    Snapshot.from_json(doc)


def _base() -> Doc:
    doc: Doc = copy.deepcopy(VECTORS["snapshots"]["audit-finding"])
    return doc


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


SNAPSHOT_REFUSED = [
    ("no time", _delete(("time",))),
    ("time as text", _set(("time",), "1750388400")),
    ("an organisation without its history", _delete(("organisations", 0, "history"))),
    (
        "a history state of an unknown status",
        _set(("organisations", 0, "history", 0, "status"), "x"),
    ),
    ("an unknown key", _set(("extra",), 1)),
    ("version 3", _set(("version",), 3)),
    ("a calendar without years", _set(("calendar",), {})),
    ("a calendar year of text", _set(("calendar", "years", 0, "year"), "2025")),
    ("a calendar year not a boolean", _set(("calendar", "years", 0, "provisional"), 0)),
    ("a scope item of level 6", _set(("scopes", 0, "scope", 0, "levels"), [6])),
    ("a scope item with an unknown key", _set(("scopes", 0, "scope", 0, "x"), 1)),
    ("an uppercase signature", _set(("signatures", 0, "signature"), "AB" * 64)),
    ("a signature by province 9", _set(("signatures", 0, "province"), "9")),
    ("an audit CID of a number", _set(("audits", 0, "cid"), 5)),
    ("a finding kind without a dot", _set(("audits", 0, "statement", "findings", 0, "kind"), "x")),
    ("an audit result misspelt", _set(("audits", 0, "statement", "result"), "finding")),
]

SNAPSHOT_ACCEPTED = [
    ("no calendar", _set(("calendar",), None)),
    ("no signature", _set(("signatures",), [])),
    ("no audit statement", _set(("audits",), [])),
    ("a dated scope item", _set(("scopes", 0, "scope", 0, "effective_from"), "2025-01-01")),
]


@pytest.mark.parametrize(
    ("case", "mutation"), SNAPSHOT_REFUSED, ids=[c for c, _ in SNAPSHOT_REFUSED]
)
def test_snapshot_v2_refused_by_both(case: str, mutation: Callable[[Doc], None]) -> None:
    doc = _base()
    mutation(doc)
    assert _both("snapshot-v2", Snapshot.from_json, doc) == (False, False), case


@pytest.mark.parametrize(
    ("case", "mutation"), SNAPSHOT_ACCEPTED, ids=[c for c, _ in SNAPSHOT_ACCEPTED]
)
def test_snapshot_v2_accepted_by_both(case: str, mutation: Callable[[Doc], None]) -> None:
    doc = _base()
    mutation(doc)
    assert _both("snapshot-v2", Snapshot.from_json, doc) == (True, True), case


def test_a_version_1_snapshot_is_not_version_2() -> None:
    doc = VECTORS["snapshots"]["version-1"]
    assert _both("snapshot-v2", Snapshot.from_json, doc) == (False, True)


STATEMENT: Doc = {
    "network": {"chain_id": 31337, "contract": "0x" + "84" * 20},
    "province": "44",
    "index": 1,
    "previous_size": 6,
    "tree_size": 13,
    "root": "ab" * 32,
    "block_number": 15,
    "transaction_hash": "0x" + "cd" * 32,
    "timestamp": 1750384860,
}

STATEMENT_REFUSED = [
    ("no root", _delete(("root",))),
    ("an unknown key", _set(("extra",), 1)),
    ("a tree of size 0", _set(("tree_size",), 0)),
    ("an uppercase root", _set(("root",), "AB" * 32)),
    ("a transaction hash without 0x", _set(("transaction_hash",), "cd" * 32)),
    ("a negative index", _set(("index",), -1)),
    ("a province of three digits", _set(("province",), "440")),
    ("chain id 0", _set(("network", "chain_id"), 0)),
]


def test_the_cosignature_statement_is_valid_and_matches_the_parser() -> None:
    assert _both("cosignature", lambda d: CheckpointStatement.from_json(d), STATEMENT) == (
        True,
        True,
    )
    assert CheckpointStatement.from_json(STATEMENT).to_json() == STATEMENT


@pytest.mark.parametrize(
    ("case", "mutation"), STATEMENT_REFUSED, ids=[c for c, _ in STATEMENT_REFUSED]
)
def test_cosignature_refused_by_both(case: str, mutation: Callable[[Doc], None]) -> None:
    doc = copy.deepcopy(STATEMENT)
    mutation(doc)
    assert _both("cosignature", CheckpointStatement.from_json, doc) == (False, False), case


def test_what_the_cosignature_schema_cannot_express() -> None:
    """A previous size at or above the tree size: accepted by the schema, refused by the parser."""
    doc = dict(STATEMENT, previous_size=13)
    assert _both("cosignature", CheckpointStatement.from_json, doc) == (True, False)


@pytest.mark.parametrize("name", ["snapshot-v2", "cosignature", "witness-statement"])
def test_every_object_is_closed_and_every_property_described(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    optional = {
        "work_type_code",
        "effective_from",
        "effective_until",
        "maintenance_keys",
        "rule",
        "detail",
    }

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, path
                assert set(node["required"]) == set(node["properties"]) - optional, path
                for key, sub in node["properties"].items():
                    assert sub.get("description"), f"{path}/{key}"
            for key, value in node.items():
                if key not in ("if", "then", "else", "not"):  # conditions, not object types
                    walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}/{i}")

    walk(schema, "#")


SIGNATURE = "ab" * 64
COSIGNATURE_DOC: Doc = {
    "type": "certreg.witness-statement",
    "version": 1,
    "witness": "41",
    "kind": "cosignature",
    "statement": STATEMENT,
    "signature": SIGNATURE,
}
REFUSAL_DOC: Doc = {
    **COSIGNATURE_DOC,
    "kind": "refusal",
    "rule": "witness.inconsistent",
    "detail": "leaf 3 does not give the anchored root",
}

WITNESS_REFUSED = [
    ("a cosignature with a rule", COSIGNATURE_DOC, _set(("rule",), "witness.inconsistent")),
    ("a refusal without its rule", REFUSAL_DOC, _delete(("rule",))),
    ("a refusal of another rule family", REFUSAL_DOC, _set(("rule",), "deadline.late")),
    ("a detail over 500 characters", REFUSAL_DOC, _set(("detail",), "x" * 501)),
    ("another kind", COSIGNATURE_DOC, _set(("kind",), "approval")),
    ("an unknown key", COSIGNATURE_DOC, _set(("extra",), 1)),
    ("a statement without its root", COSIGNATURE_DOC, _delete(("statement", "root"))),
    ("an uppercase signature", COSIGNATURE_DOC, _set(("signature",), "AB" * 64)),
    ("version 2", COSIGNATURE_DOC, _set(("version",), 2)),
]


def _witness_document(doc: Any) -> object:
    from node.core.witnessing import StatementDocument

    return StatementDocument.from_json(doc)


def test_witness_statements_are_valid_and_match_the_parser() -> None:
    from node.core.witnessing import StatementDocument

    for doc in (COSIGNATURE_DOC, REFUSAL_DOC):
        assert _both("witness-statement", _witness_document, doc) == (True, True)
        assert StatementDocument.from_json(doc).to_json() == doc


@pytest.mark.parametrize(
    ("case", "base", "mutation"), WITNESS_REFUSED, ids=[c for c, _, _ in WITNESS_REFUSED]
)
def test_witness_statement_refused_by_both(
    case: str, base: Doc, mutation: Callable[[Doc], None]
) -> None:
    doc = copy.deepcopy(base)
    mutation(doc)
    assert _both("witness-statement", _witness_document, doc) == (False, False), case
