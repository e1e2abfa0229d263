"""Trust roots, signed snapshots, cosigned bundles and disputes (node/core/formats/trust.py,
node/core/verify.py): the shared vectors of tests/vectors/trust.json, and what they do not show
(the compact form with cosignatures in a QR code, version 1 snapshots unchanged, the deadline
rules with the carried calendar)."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any

import pytest

from certreg.dev.sample import make_sample
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import InvalidInput
from node.core.formats.compact import QR_CAPACITY_M, decode_compact, encode_compact
from node.core.formats.snapshot import Snapshot, SnapshotCalendar, SnapshotTrustSource
from node.core.formats.trust import ProvinceSignature, TrustRootFile, Witness
from node.core.merkle import root_from_inclusion
from node.core.rules.disputes import deadline_dispute, number_dispute
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import ResultCode, verify_bundle_text
from tests.node.core.test_compact import _worst_case
from tests.vector_outcomes import PINNED, assert_same_outcome

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "vectors" / "trust.json").read_text("utf-8")
)


def _root_file(name: str) -> TrustRootFile:
    return TrustRootFile.from_json(VECTORS["trust_roots"][name])


@pytest.mark.parametrize("case", VECTORS["root_tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_trust_root_vectors(case: dict[str, Any]) -> None:
    chain = _root_file(case["file"])
    pinned = None
    if case["pinned"] is not None:
        name, index = case["pinned"]
        pinned = _root_file(name).roots[index].body
    if case["result"] == "valid":
        assert chain.verify(pinned).serial == case["serial"]
    else:
        with pytest.raises(InvalidInput) as caught:
            chain.verify(pinned)
        assert caught.value.rule == case["rule"]


@pytest.mark.parametrize("case", VECTORS["tests"], ids=lambda c: f"{c['id']}-{c['comment']}")
def test_bundle_vectors_with_a_trust_root(case: dict[str, Any]) -> None:
    given = case["input"]
    text = given["compact"] if "compact" in given else json.dumps(given["bundle"])
    name = given["snapshot"]
    trust = (
        None
        if name is None
        else SnapshotTrustSource(Snapshot.from_json(VECTORS["snapshots"][name]))
    )
    root = _root_file("chain").verify() if given["root"] else None
    result = verify_bundle_text(text, trust, at=given["at"], root=root, max_age=given["max_age"])
    assert_same_outcome(result, case)
    assert [d.kind for d in result.disputes] == case["disputes"]
    assert set(PINNED) <= set(case)


def test_the_vectors_cover_the_new_codes() -> None:
    codes = {case["result"] for case in VECTORS["tests"]}
    assert {"VALID", "UNTRUSTED_SNAPSHOT", "STALE", "DISPUTED", "WRONG_NETWORK"} <= codes


def test_snapshots_round_trip_and_version_1_is_written_as_before() -> None:
    for name, value in VECTORS["snapshots"].items():
        snapshot = Snapshot.from_json(value)
        assert snapshot.to_json() == value, name
    version_1 = Snapshot.from_json(VECTORS["snapshots"]["version-1"])
    assert version_1.version == 1
    assert set(version_1.to_json()) == {
        "type", "version", "network", "block", "members", "organisations", "checkpoints",
        "statuses",
    }  # fmt: skip
    assert "history" not in version_1.to_json()["organisations"][0]


def test_a_version_2_snapshot_refuses_a_key_it_does_not_know() -> None:
    value = dict(VECTORS["snapshots"]["signed"])
    value["extra"] = 1
    with pytest.raises(InvalidInput) as caught:
        Snapshot.from_json(value)
    assert caught.value.rule == "schema.unknown_key"


def _witnessed(suite: str, cosigners: int) -> Any:
    bundle = _worst_case(suite)
    root = root_from_inclusion(
        bundle.entry.leaf_hash(),
        bundle.proof.leaf_index,
        bundle.proof.tree_size,
        bundle.proof.hashes,
    )
    signatures = tuple(ProvinceSignature(f"{11 + i}", os.urandom(64)) for i in range(cosigners))
    return dataclasses.replace(
        bundle,
        anchor=dataclasses.replace(bundle.anchor, root=root),
        witness=Witness(1_900_000_000, 2**24 - 100, signatures),
    )


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_a_cosigned_bundle_with_24_hash_proof_fits_a_qr_code_at_level_m(suite: str) -> None:
    bundle = _witnessed(suite, 2)  # the threshold of the three founding members
    text = encode_compact(bundle)
    assert len(text.encode("ascii")) <= QR_CAPACITY_M, len(text)
    assert decode_compact(text) == bundle


def test_a_cosigned_bundle_whose_values_disagree_is_not_written_compactly() -> None:
    bundle = _witnessed("ed25519", 2)
    bad = dataclasses.replace(bundle, anchor=dataclasses.replace(bundle.anchor, root=b"\x01" * 32))
    with pytest.raises(InvalidInput) as caught:
        encode_compact(bad)
    assert caught.value.rule == "compact.inconsistent"


def test_a_cosigned_bundle_is_untrusted_without_a_trust_root_or_snapshot() -> None:
    with pytest.raises(ValueError):
        verify_bundle_text("{}", None, at=0)


def test_number_and_deadline_rules() -> None:
    assert number_dispute("S000144011001253000013", "2025-06-18", 3) is None
    found = number_dispute("S000144011001243000013", "2025-06-18", 3)
    assert found is not None and found.kind == "entry.number_mismatch"
    calendar = SnapshotCalendar.of(WorkdayCalendar.default())
    # 2025-06-18 + 30 working days is 2025-07-30; a day later needs a late-upload reason.
    at = int(datetime.datetime(2025, 7, 31, 2, tzinfo=datetime.UTC).timestamp())
    late, _ = deadline_dispute("2025-06-18", at, None, calendar)
    assert late is not None and late.kind == "deadline.late"
    assert deadline_dispute("2025-06-18", at, 601, calendar)[0] is None
    reason, _ = deadline_dispute("2025-06-18", at, 106, calendar)
    assert reason is not None and reason.kind == "deadline.late_reason"
    not_judged, note = deadline_dispute("2025-06-18", at, None, None)
    assert not_judged is None and "not judged" in note
    early = int(datetime.datetime(2025, 6, 17, 2, tzinfo=datetime.UTC).timestamp())
    after, _ = deadline_dispute("2025-06-18", early, None, calendar)
    assert after is not None and after.kind == "deadline.issue_after_anchor"


def test_version_1_results_are_unchanged_without_a_trust_root() -> None:
    sample = make_sample(11, "ed25519")
    result = verify_bundle_text(
        json.dumps(sample.bundle.to_json()),
        SnapshotTrustSource(sample.snapshot),
        at=1_900_000_000,
    )
    # Issued 2025-06-18, anchored 2026-01-01: a version 1 snapshot judges no rule.
    assert result.code is ResultCode.VALID
    assert [c.name for c in result.checks if c.passed is not True] == []


def test_the_trust_root_schema_accepts_the_vectors_and_is_closed() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(
        (Path(__file__).resolve().parents[3] / "schemas" / "trust-root.schema.json").read_text(
            "utf-8"
        )
    )
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for name, value in VECTORS["trust_roots"].items():
        assert list(validator.iter_errors(value)) == [], name
    bad = copy.deepcopy(VECTORS["trust_roots"]["chain"])
    bad["roots"][0]["root"]["extra"] = 1
    assert not validator.is_valid(bad)
