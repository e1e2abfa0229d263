"""The committed certificate-number and ID-number vectors agree with the implementation."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from node.core.errors import InvalidInput
from node.core.rules import certnum
from node.core.rules.certnum import parse_certificate_number, parse_special_ability_number
from node.core.rules.idnumber import validate_id_number
from scripts import vectors_certnum
from tests.conftest import OUR_VECTORS

CERTIFICATE_NUMBERS = OUR_VECTORS / "certificate-numbers.json"
ID_NUMBERS = OUR_VECTORS / "id-numbers.json"


def _load(path: Any) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        document: dict[str, Any] = json.load(f)
    return document


CERT_DOC = _load(CERTIFICATE_NUMBERS)
ID_DOC = _load(ID_NUMBERS)


def test_committed_certificate_vectors_equal_a_fresh_build() -> None:
    text = CERTIFICATE_NUMBERS.read_text(encoding="utf-8")
    assert text == vectors_certnum.render(vectors_certnum.build())


def test_committed_id_vectors_equal_a_fresh_build() -> None:
    text = ID_NUMBERS.read_text(encoding="utf-8")
    assert text == vectors_certnum.render(vectors_certnum.build_id_numbers())


@pytest.mark.parametrize("doc", [CERT_DOC, ID_DOC], ids=["certificate", "id"])
def test_document_shape(doc: dict[str, Any]) -> None:
    assert set(doc) == {"algorithm", "version", "notes", "tests"}
    assert doc["version"] == 1
    assert [t["id"] for t in doc["tests"]] == list(range(1, len(doc["tests"]) + 1))
    keys = {(t.get("kind"), json.dumps(t["input"], ensure_ascii=False)) for t in doc["tests"]}
    assert len(keys) == len(doc["tests"]), "every input is tested once per kind"
    for test in doc["tests"]:
        assert test["result"] in {"valid", "invalid"}
        assert test["comment"]
        assert ("rule" in test) == (test["result"] == "invalid")


@pytest.mark.parametrize("test", CERT_DOC["tests"], ids=lambda t: f"cert-{t['id']}")
def test_certificate_number_vector(test: dict[str, Any]) -> None:
    text = test["input"]
    parse = parse_certificate_number if test["kind"] == "national" else parse_special_ability_number
    if test["result"] == "valid":
        parsed = parse(text)
        assert parsed.as_dict() == test["expected"]
        assert parsed.format() == text
    else:
        with pytest.raises(InvalidInput) as caught:
            parse(text)
        assert caught.value.field == "certificate_number"
        assert caught.value.rule == test["rule"]


def test_certificate_vectors_cover_every_parse_rule() -> None:
    parse_rules = {
        rule
        for rule in certnum.RULES
        if not rule.startswith("organisation_code.")
        and ".matches_" not in rule
        and not rule.endswith(".issue_year")
    }
    covered = {t["rule"] for t in CERT_DOC["tests"] if t["result"] == "invalid"}
    assert covered == parse_rules


def test_certificate_vectors_cover_each_refinement() -> None:
    schemes = {
        (t["expected"]["refinement"] or {}).get("scheme")
        for t in CERT_DOC["tests"]
        if t["result"] == "valid" and t["kind"] == "national"
    }
    assert schemes == {None, "guangdong", "henan"}
    assert any(
        t["expected"]["refinement"] and t["expected"]["refinement"].get("technical_school")
        for t in CERT_DOC["tests"]
        if t["result"] == "valid" and t["kind"] == "national"
    )
    assert any(t["kind"] == "special_ability" and t["result"] == "valid" for t in CERT_DOC["tests"])


@pytest.mark.parametrize("test", ID_DOC["tests"], ids=lambda t: f"id-{t['id']}")
def test_id_number_vector(test: dict[str, Any]) -> None:
    given = test["input"]
    today = None if given["today"] is None else datetime.date.fromisoformat(given["today"])
    if test["result"] == "valid":
        validate_id_number(given["id_type"], given["id_number"], today=today)
    else:
        with pytest.raises(InvalidInput) as caught:
            validate_id_number(given["id_type"], given["id_number"], today=today)
        assert caught.value.field == test["field"]
        assert caught.value.rule == test["rule"]
        if given["id_number"]:
            assert given["id_number"] not in str(caught.value)


def test_id_vectors_cover_every_id_type() -> None:
    from node.core.rules.codes import ID_TYPES

    valid_types = {t["input"]["id_type"] for t in ID_DOC["tests"] if t["result"] == "valid"}
    invalid_types = {
        t["input"]["id_type"]
        for t in ID_DOC["tests"]
        if t["result"] == "invalid" and t["field"] == "id_number"
    }
    assert valid_types == set(ID_TYPES)
    assert invalid_types == set(ID_TYPES)
