"""tests/vectors/hostile.json against the Python core (the browser's verifier runs the same file,
tests/web/vectors.mjs): hostile bundle and snapshot texts are MALFORMED with the named rule."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from node.core.errors import InvalidInput
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.verify import verify_bundle_text
from tests.conftest import OUR_VECTORS, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import vectors_hostile

HOSTILE = json.loads((OUR_VECTORS / "hostile.json").read_text(encoding="utf-8"))
BUNDLES = json.loads((OUR_VECTORS / "bundles.json").read_text(encoding="utf-8"))
TRUST = SnapshotTrustSource(Snapshot.from_json(BUNDLES["snapshots"]["main"]))


@pytest.mark.parametrize("case", HOSTILE["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_hostile_vector(case: dict[str, Any]) -> None:
    text = vectors_hostile.text_of(case["pieces"])
    if case["kind"] == "bundle_text":
        result = verify_bundle_text(text, TRUST, at=vectors_hostile.AT)
        assert result.code.value == case["result"]
        assert f"[{case['rule']}]" in result.checks[0].detail
    else:
        with pytest.raises(InvalidInput) as info:
            Snapshot.from_text(text)
        assert info.value.rule == case["rule"]


def test_hostile_vectors_cover_every_bound() -> None:
    rules = {case["rule"] for case in HOSTILE["tests"]}
    assert {
        "json.depth",
        "json.duplicate_key",
        "json.number",
        "json.surrogate",
        "compact.base64",
        "compact.trailing",
        "compact.cbor",
    } <= rules


def test_committed_hostile_vectors_equal_a_fresh_build() -> None:
    assert json.loads(json.dumps(vectors_hostile.build())) == HOSTILE
