"""The time vectors (tests/vectors/time.json) against the Python core: the day arithmetic of
key validity, the special_ability term and the time texts of details (the JavaScript verifier
must give the same: tests/web/vectors.mjs, group ``time``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.core.time import day_bounds
from node.core.verify import describe_time, expiry_of
from tests.conftest import OUR_VECTORS

VECTORS: dict[str, Any] = json.loads((OUR_VECTORS / "time.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["day_bounds"], ids=lambda c: c["day"])
def test_day_bounds(case: dict[str, Any]) -> None:
    if case["bounds"] is None:
        with pytest.raises(ValueError):
            day_bounds(case["day"])
    else:
        assert list(day_bounds(case["day"])) == case["bounds"]
        assert case["bounds"][1] - case["bounds"][0] == 86_400


@pytest.mark.parametrize("case", VECTORS["expiry"], ids=lambda c: f"{c['type']}-{c['issue_date']}")
def test_expiry(case: dict[str, Any]) -> None:
    assert expiry_of(case["type"], case["issue_date"]) == case["expires"]


@pytest.mark.parametrize("case", VECTORS["describe_time"], ids=lambda c: str(c["seconds"]))
def test_describe_time(case: dict[str, Any]) -> None:
    assert describe_time(case["seconds"]) == case["text"]


def test_the_vectors_reach_each_edge() -> None:
    refused = {c["day"] for c in VECTORS["day_bounds"] if c["bounds"] is None}
    assert {"2025-02-29", "2025-02-30", "0000-01-01", "2100-02-29", "2025-13-01"} <= refused
    assert {"0001-01-01", "2024-02-29", "9999-12-31"}.isdisjoint(refused)
    leap = {c["issue_date"]: c["expires"] for c in VECTORS["expiry"] if c["type"] != "skill_level"}
    # Issued 29 February 2024: expires at 00:00 CST of 1 March 2029.
    assert leap["2024-02-29"] == day_bounds("2029-03-01")[0]
    texts = {c["seconds"]: c["text"] for c in VECTORS["describe_time"]}
    assert texts[0] == "1970-01-01 08:00 (UTC+8)" and texts[-1] == "unix time -1"
