"""The boundary bundle vectors (tests/vectors/bundle-boundaries.json) against node/core/verify.py:
each comparison with a time or a bound on both sides of its edge, with the result code, the
reason and every computed hash (the JavaScript verifier must give the same: tests/web)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.verify import verify_bundle_text
from tests.conftest import OUR_VECTORS
from tests.vector_outcomes import PINNED, assert_same_outcome

BOUNDARIES: dict[str, Any] = json.loads(
    (OUR_VECTORS / "bundle-boundaries.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", BOUNDARIES["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_boundary_vectors(case: dict[str, Any]) -> None:
    given = case["input"]
    raw = BOUNDARIES["bundles"][given["bundle"]]
    text = raw if isinstance(raw, str) else json.dumps(raw)
    trust = SnapshotTrustSource(Snapshot.from_json(BOUNDARIES["snapshots"][given["snapshot"]]))
    result = verify_bundle_text(text, trust, at=given["at"])
    assert_same_outcome(result, case)
    assert set(PINNED) <= set(case)  # every key pinned


def test_each_edge_is_tried_on_both_sides() -> None:
    comments = {case["comment"]: case["result"] for case in BOUNDARIES["tests"]}
    assert comments["revoked stamped 0 s after the verification time"] == "REVOKED"
    assert comments["revoked stamped 1 s after the verification time"] == "VALID"
    assert comments["verified at the checkpoint's own time"] == "VALID"
    assert comments["verified 1 s before the checkpoint"] == "NOT_ANCHORED"
    for day in ("2024-02-29", "2025-12-31", "2026-01-01"):
        assert comments[f"issued {day}: valid_until = day start"] == "KEY_NOT_VALID_AT_TIME"
        assert comments[f"issued {day}: valid_until = day start + 1"] == "VALID"
        assert comments[f"issued {day}: valid_from = day end"] == "KEY_NOT_VALID_AT_TIME"
        assert comments[f"issued {day}: valid_from = day end - 1"] == "VALID"
    assert comments["block number 2^53 - 1"] == "VALID"
    assert comments["block number 2^53"] == "MALFORMED"
