"""The bounded JSON reader (node/core/safejson.py): each bound, its rule id, and that valid JSON
reads exactly as the standard parser reads it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from node.core import safejson
from node.core.errors import InvalidInput


def refused(data: str | bytes, **limits: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        safejson.loads(data, "doc", **limits)
    assert info.value.field == "doc"
    return info.value


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, -3e2, true, false, null, "x"], "b": {"c": "[[[{{{"}}',
        '"\\ud83d\\ude00 and \\\\ud800 (an escaped backslash, not an escape)"',
        "[" * 32 + "]" * 32,
        "1" * 80,
        '{"k": "\\"[\\\\"}',
        "[]",
    ],
)
def test_valid_json_reads_as_the_standard_parser_reads_it(text: str) -> None:
    assert safejson.loads(text) == json.loads(text)
    assert safejson.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("[" * 33 + "]" * 33, "json.depth"),
        ("[" * 200_000, "json.depth"),
        ('{"a":' * 33 + "1" + "}" * 33, "json.depth"),
        ('{"a": 1, "a": 1}', "json.duplicate_key"),
        ('[{"x": {"a": 1, "b": 2, "a": 3}}]', "json.duplicate_key"),
        ("1" * 81, "json.number"),
        ("-" + "1" * 81, "json.number"),
        ("7" * 4301, "json.number"),
        ("1." + "0" * 80, "json.number"),
        ('"\\ud800"', "json.surrogate"),
        ('["ok", "\\udfff"]', "json.surrogate"),
        ('{"\\udbff": 1}', "json.surrogate"),
        ('"\\ud800\\ud800"', "json.surrogate"),
        ("[NaN]", "json.syntax"),
        ("-Infinity", "json.syntax"),
        ("{", "json.syntax"),
        ("", "json.syntax"),
    ],
)
def test_each_bound_has_its_rule(text: str, rule: str) -> None:
    assert refused(text).rule == rule


def test_size_counts_utf8_bytes() -> None:
    assert safejson.loads('"' + "中" * 10 + '"', max_bytes=32) == "中" * 10
    assert refused('"' + "中" * 11 + '"', max_bytes=32).rule == "json.size"
    assert refused(b"[" + b"1," * 20 + b"1]", max_bytes=16).rule == "json.size"


def test_bytes_must_be_utf8_and_a_format_names_its_rule() -> None:
    assert refused(b'"\xff"').rule == "json.syntax"
    with pytest.raises(InvalidInput) as info:
        safejson.loads(b"{nope", "bundle", rule="bundle.json")
    assert info.value.rule == "bundle.json"


def test_a_duplicate_key_is_kept_out_of_the_message() -> None:
    error = refused('{"张三": 1, "张三": 2}')
    assert isinstance(error, safejson.DuplicateKey) and error.key == "张三"
    assert "张三" not in str(error)


def test_depth_is_counted_outside_strings_only() -> None:
    assert safejson.nesting_depth('["[[[[", {"a": "]]]}"}]') == 2
    assert safejson.nesting_depth('"\\"[[["') == 0


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 200_000,  # no closing quote: once took time quadratic in its length
        '"' + '\\"' * 200_000 + "\\",
        '["' * 100_000,
        "[" * 500_000,
    ],
)
def test_hostile_text_is_refused_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    refused(text)
    assert time.perf_counter() - started < 2.0
