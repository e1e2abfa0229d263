"""Our own vectors (tests/vectors/commitments.json and bundles.json) against the implementation."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from node.core.certificate import FIELD_NAMES
from node.core.formats.commitment import (
    Disclosed,
    FieldProof,
    Redacted,
    SaltedCertificate,
    commitment_of,
)
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.verify import verify_bundle_text
from tests.conftest import OUR_VECTORS, ROOT
from tests.vector_outcomes import PINNED, assert_same_outcome

sys.path.insert(0, str(ROOT / "scripts"))
import make_vectors


def _load(name: str) -> dict[str, Any]:
    return json.loads((OUR_VECTORS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


COMMITMENTS = _load("commitments.json")
BUNDLES = _load("bundles.json")
BUNDLES_V2 = _load("bundles-v2.json")
MAINTENANCE = _load("bundles-maintenance.json")


def _salted(fields: dict[str, Any]) -> SaltedCertificate:
    proofs: dict[str, FieldProof] = {}
    for name in FIELD_NAMES:
        item = fields[name]
        if "hash" in item:
            proofs[name] = Redacted(bytes.fromhex(item["hash"]))
        else:
            proofs[name] = Disclosed(item["value"], bytes.fromhex(item["salt"]))
    return SaltedCertificate(proofs)


@pytest.mark.parametrize("case", COMMITMENTS["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_commitment_vectors(case: dict[str, Any]) -> None:
    salted = _salted(case["input"]["fields"])
    hashes = salted.field_hashes()
    computed = commitment_of(hashes.values()).hex()
    if case["result"] == "valid":
        assert {k: v.hex() for k, v in hashes.items()} == case["expected"]["field_hashes"]
        assert computed == case["expected"]["commitment"]
    else:
        assert computed != case["input"]["commitment"]


@pytest.mark.parametrize("case", BUNDLES["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_bundle_vectors(case: dict[str, Any]) -> None:
    given = case["input"]
    text = given["compact"] if "compact" in given else json.dumps(given["bundle"])
    trust = SnapshotTrustSource(Snapshot.from_json(BUNDLES["snapshots"][given["snapshot"]]))
    assert verify_bundle_text(text, trust, at=given["at"]).code.value == case["result"]


@pytest.mark.parametrize("case", BUNDLES_V2["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_bundle_v2_vectors(case: dict[str, Any]) -> None:
    given = case["input"]
    text = given["compact"] if "compact" in given else json.dumps(given["bundle"])
    trust = SnapshotTrustSource(Snapshot.from_json(BUNDLES_V2["snapshots"][given["snapshot"]]))
    assert_same_outcome(verify_bundle_text(text, trust, at=given["at"]), case)
    assert set(PINNED) <= set(case)


@pytest.mark.parametrize("case", MAINTENANCE["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_province_maintenance_vectors(case: dict[str, Any]) -> None:
    """Corrections signed by the province's maintenance key (中就培发〔2022〕1号 art. 16)."""
    given = case["input"]
    text = given["compact"] if "compact" in given else json.dumps(given["bundle"])
    trust = SnapshotTrustSource(Snapshot.from_json(MAINTENANCE["snapshots"][given["snapshot"]]))
    assert verify_bundle_text(text, trust, at=given["at"]).code.value == case["result"]


def test_v2_vectors_cover_every_type_and_the_expiry_boundary() -> None:
    types = {
        t["input"]["bundle"]["entry"]["attributes"].get("certificate_type", "skill_level")
        for t in BUNDLES_V2["tests"]
        if "bundle" in t["input"] and t["result"] == "VALID"
    }
    assert types == {"skill_level", "special_ability", "vocational_qualification"}
    boundary = [
        t for t in BUNDLES_V2["tests"] if "five years" in t["comment"] or "fifth" in t["comment"]
    ]
    assert [t["result"] for t in boundary] == ["VALID", "EXPIRED"]
    assert boundary[1]["input"]["at"] - boundary[0]["input"]["at"] == 1


def test_every_result_code_has_a_bundle_vector() -> None:
    codes = {case["result"] for case in BUNDLES["tests"]}
    assert codes == {
        "VALID",
        "TAMPERED",
        "NOT_ANCHORED",
        "UNKNOWN_ISSUER",
        "KEY_NOT_VALID_AT_TIME",
        "REVOKED",
        "SUSPENDED",
        "SUPERSEDED",
        "WRONG_NETWORK",
        "MALFORMED",
    } | {"EXPIRED"} - {case["result"] for case in BUNDLES_V2["tests"]}


@pytest.mark.parametrize(
    "name",
    [
        "commitments.json",
        "bundles.json",
        "bundles-v2.json",
        "bundles-maintenance.json",
        "merkle.json",
        "bundle-boundaries.json",
        "sm-kat.json",
        "time.json",
    ],
)
def test_committed_vectors_equal_a_fresh_build(name: str) -> None:
    built = make_vectors.builders()[name]()
    assert json.loads(json.dumps(built)) == _load(name)


def test_every_vector_file_has_a_builder() -> None:
    on_disk = {path.name for path in OUR_VECTORS.glob("*.json")}
    assert on_disk == set(make_vectors.builders())
