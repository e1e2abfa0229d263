"""The offline verifier: every result code, fail-closed behaviour, and mutation coverage."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from certreg.dev.sample import SampleSet, make_sample
from node.core.crypto.signatures import SUITE_NAMES, get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import (
    Network,
    OrganisationKey,
    Snapshot,
    SnapshotTrustSource,
    StatusRecord,
)
from node.core.verify import ResultCode, day_bounds, verify_bundle, verify_bundle_text

AT = 1_900_000_000  # well after the sample's checkpoints


@pytest.fixture(scope="module")
def sample() -> SampleSet:
    return make_sample(1, "ed25519")


def _verify(bundle: Any, snapshot: Snapshot, at: int = AT) -> ResultCode:
    return verify_bundle(bundle, SnapshotTrustSource(snapshot), at=at).code


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_valid_and_redacted_bundles_verify_for_every_suite(suite: str) -> None:
    s = make_sample(2, suite)
    trust = SnapshotTrustSource(s.snapshot)
    result = verify_bundle(s.bundle.to_json(), trust, at=AT)
    assert result.code is ResultCode.VALID, result.to_json()
    assert all(check.passed for check in result.checks)
    assert result.hashes["commitment"] == s.bundle.entry.commitment.hex()
    assert result.hashes["leaf_hash"] == s.bundle.entry.leaf_hash().hex()
    redacted = verify_bundle(s.redacted.to_json(), trust, at=AT)
    assert redacted.code is ResultCode.VALID
    assert "id_number" not in s.redacted.certificate.disclosed_values()
    assert verify_bundle_text(encode_compact(s.bundle), trust, at=AT).code is ResultCode.VALID


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key in value:
            yield from _leaf_paths(value[key], (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    else:
        yield path


def _mutations(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, str(value)]
    if isinstance(value, str):
        swapped = value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
        return [swapped, value + "0", value.upper() if value.upper() != value else value + " "]
    return [0, "x", {}]


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize("which", ["bundle", "redacted"])
def test_changing_any_value_never_verifies(sample: SampleSet, which: str) -> None:
    document = (sample.bundle if which == "bundle" else sample.redacted).to_json()
    assert _verify(document, sample.snapshot) is ResultCode.VALID
    paths = list(_leaf_paths(document))
    assert len(paths) > 50
    for path in paths:
        original = document
        for key in path:
            original = original[key]
        for mutated in _mutations(original):
            code = _verify(_set(document, path, mutated), sample.snapshot)
            assert code is not ResultCode.VALID, (path, mutated)


def test_adding_or_removing_keys_is_malformed(sample: SampleSet) -> None:
    document = sample.bundle.to_json()
    for path in [(), ("fields",), ("entry",), ("proof",), ("anchor",), ("network",)]:
        target = _set(document, (*path, "extra"), 1) if path else {**document, "extra": 1}
        assert _verify(target, sample.snapshot) is ResultCode.MALFORMED, path
    for key in document:
        broken = {k: v for k, v in document.items() if k != key}
        assert _verify(broken, sample.snapshot) is ResultCode.MALFORMED, key


def test_proof_hashes_removed_or_added_are_tampered(sample: SampleSet) -> None:
    document = sample.bundle.to_json()
    hashes = document["proof"]["hashes"]
    assert _verify(_set(document, ("proof", "hashes"), hashes[:-1]), sample.snapshot) is (
        ResultCode.TAMPERED
    )
    extra = [*hashes, hashes[0]]
    assert _verify(_set(document, ("proof", "hashes"), extra), sample.snapshot) is (
        ResultCode.TAMPERED
    )


def test_garbage_is_malformed(sample: SampleSet) -> None:
    trust = SnapshotTrustSource(sample.snapshot)
    for text in ["", "{", "[]", "null", "CR1:!!!", "CR1:AAAA", '{"type": "certreg.bundle"}']:
        result = verify_bundle_text(text, trust, at=AT)
        assert result.code is ResultCode.MALFORMED, text
        assert result.checks[0].passed is False
        assert all(check.passed is None for check in result.checks[1:])


def test_redacting_a_public_field_is_refused(sample: SampleSet) -> None:
    with pytest.raises(InvalidInput):
        sample.bundle.redact("certificate_number")
    document = sample.bundle.to_json()
    field_hash = sample.bundle.certificate.field_hashes()["level"].hex()
    changed = _set(document, ("fields", "level"), {"hash": field_hash})
    assert _verify(changed, sample.snapshot) is ResultCode.MALFORMED


def test_status_entries_are_not_bundles(sample: SampleSet) -> None:
    document = sample.bundle.to_json()
    entry = {**document["entry"], "kind": "revoke", "attributes": None, "signature": None}
    entry["reason"] = 1
    assert _verify(_set(document, ("entry",), entry), sample.snapshot) is ResultCode.MALFORMED


def test_other_network_is_wrong_network(sample: SampleSet) -> None:
    other = dataclasses.replace(
        sample.snapshot, network=Network(1, sample.snapshot.network.contract)
    )
    assert _verify(sample.bundle, other) is ResultCode.WRONG_NETWORK
    other = dataclasses.replace(sample.snapshot, network=Network(31337, b"\x01" * 20))
    assert _verify(sample.bundle, other) is ResultCode.WRONG_NETWORK


def test_unfiled_organisation_is_unknown_issuer(sample: SampleSet) -> None:
    assert _verify(sample.bundle, dataclasses.replace(sample.snapshot, organisations=())) is (
        ResultCode.UNKNOWN_ISSUER
    )
    organisation = dataclasses.replace(sample.snapshot.organisations[0], province="41")
    moved = dataclasses.replace(sample.snapshot, organisations=(organisation,))
    assert _verify(sample.bundle, moved) is ResultCode.UNKNOWN_ISSUER


def _with_keys(snapshot: Snapshot, *keys: OrganisationKey) -> Snapshot:
    organisation = dataclasses.replace(snapshot.organisations[0], keys=keys)
    return dataclasses.replace(snapshot, organisations=(organisation,))


def test_key_validity_is_checked_on_the_issue_date(sample: SampleSet) -> None:
    key = sample.snapshot.organisations[0].keys[0]
    start, end = day_bounds(sample.bundle.entry.attributes.issue_date)  # type: ignore[union-attr]
    cases = {
        "not yet valid": (
            dataclasses.replace(key, valid_from=end),
            ResultCode.KEY_NOT_VALID_AT_TIME,
        ),
        "expired before": (
            dataclasses.replace(key, valid_until=start),
            ResultCode.KEY_NOT_VALID_AT_TIME,
        ),
        "valid from noon": (dataclasses.replace(key, valid_from=start + 43_200), ResultCode.VALID),
        "revoked at noon": (dataclasses.replace(key, valid_until=start + 43_200), ResultCode.VALID),
        "other suite": (
            dataclasses.replace(key, suite="sm2-sm3"),
            ResultCode.KEY_NOT_VALID_AT_TIME,
        ),
        "other key id": (dataclasses.replace(key, key_id=1), ResultCode.KEY_NOT_VALID_AT_TIME),
    }
    for name, (changed, expected) in cases.items():
        assert _verify(sample.bundle, _with_keys(sample.snapshot, changed)) is expected, name


def test_signature_by_another_key_is_tampered(sample: SampleSet) -> None:
    suite = get_suite("ed25519")
    other = suite.public_key(suite.generate_private_key(b"\x07" * 32))
    key = dataclasses.replace(sample.snapshot.organisations[0].keys[0], public_key=other)
    assert _verify(sample.bundle, _with_keys(sample.snapshot, key)) is ResultCode.TAMPERED


def test_resigned_commitment_with_wrong_fields_is_tampered(sample: SampleSet) -> None:
    # A node that changes a field and re-signs with the right key still fails the commitment.
    document = sample.bundle.to_json()
    network = sample.bundle.network
    changed = _set(document, ("fields", "holder_name", "value"), "王五")
    value = get_suite("ed25519").sign(
        sample.private_key,
        signing_message(network.chain_id, network.contract, sample.bundle.entry.commitment),
    )
    changed = _set(changed, ("entry", "signature", "value"), value.hex())
    assert _verify(changed, sample.snapshot) is ResultCode.TAMPERED


def test_missing_or_later_checkpoint_is_not_anchored(sample: SampleSet) -> None:
    earlier = dataclasses.replace(sample.snapshot, checkpoints=sample.snapshot.checkpoints[:1])
    assert _verify(sample.bundle, earlier) is ResultCode.NOT_ANCHORED
    anchored_at = sample.snapshot.checkpoints[-1].timestamp
    assert _verify(sample.bundle, sample.snapshot, at=anchored_at - 1) is ResultCode.NOT_ANCHORED
    assert _verify(sample.bundle, sample.snapshot, at=anchored_at) is ResultCode.VALID


def _status(sample: SampleSet, status: str, timestamp: int, **kw: Any) -> StatusRecord:
    values: dict[str, Any] = {
        "province": "44",
        "commitment": sample.bundle.entry.commitment,
        "status": status,
        "reason": 3,
        "successor": None,
        "block_number": 40,
        "timestamp": timestamp,
        "transaction_hash": b"\x05" * 32,
    }
    values.update(kw)
    return StatusRecord(**values)


def test_status_codes(sample: SampleSet) -> None:
    t = AT - 1000
    cases = [
        ((_status(sample, "revoked", t),), ResultCode.REVOKED),
        ((_status(sample, "suspended", t),), ResultCode.SUSPENDED),
        ((_status(sample, "superseded", t, successor=b"\x09" * 32),), ResultCode.SUPERSEDED),
        ((_status(sample, "suspended", t), _status(sample, "reinstated", t + 1)), ResultCode.VALID),
        # A status written by another province does not touch this province's certificate.
        ((_status(sample, "revoked", t, province="41"),), ResultCode.VALID),
        # A revocation after the verification time is not yet in force.
        ((_status(sample, "revoked", AT + 1),), ResultCode.VALID),
    ]
    for statuses, expected in cases:
        snapshot = dataclasses.replace(sample.snapshot, statuses=statuses)
        assert _verify(sample.bundle, snapshot) is expected, statuses


def test_result_json_carries_code_and_hashes(sample: SampleSet) -> None:
    result = verify_bundle(sample.bundle, SnapshotTrustSource(sample.snapshot), at=AT).to_json()
    assert result["result"] == "VALID"
    assert result["as_of_block"] == sample.snapshot.block.number
    assert {"commitment", "leaf_hash", "root", "field_hashes"} <= set(result["hashes"])


def test_bundle_and_snapshot_json_round_trip(sample: SampleSet) -> None:
    assert Bundle.from_json(sample.bundle.to_json()) == sample.bundle
    assert Snapshot.from_json(sample.snapshot.to_json()) == sample.snapshot


class _Breaking(SnapshotTrustSource):
    """A trust source whose ``method`` raises ``error``: what a broken source does."""

    def __init__(self, snapshot: Snapshot, method: str, error: Exception) -> None:
        super().__init__(snapshot)
        self._method, self._error = method, error

    def organisation(self, code: str) -> Any:
        self._raise("organisation")
        return super().organisation(code)

    def status_history(self, province: str, commitment: bytes) -> Any:
        self._raise("status_history")
        return super().status_history(province, commitment)

    def _raise(self, method: str) -> None:
        if method == self._method:
            raise self._error


@pytest.mark.parametrize(
    ("method", "error", "code", "failed"),
    [
        ("organisation", KeyError("S000144011001"), ResultCode.UNKNOWN_ISSUER, "issuer"),
        ("status_history", ValueError("bad record"), ResultCode.MALFORMED, "status"),
    ],
)
def test_an_unexpected_error_in_a_check_fails_closed(
    sample: SampleSet, method: str, error: Exception, code: ResultCode, failed: str
) -> None:
    # A check that raises fails with the code it yields when it fails (the status check, whose
    # code is its own, with MALFORMED), names the error, and skips the checks after it.
    trust = _Breaking(sample.snapshot, method, error)
    result = verify_bundle(sample.bundle, trust, at=AT)
    assert result.code is code and not result.valid
    names = [check.name for check in result.checks]
    position = names.index(failed)
    assert [c.passed for c in result.checks[:position]] == [True] * position
    assert result.checks[position].passed is False
    assert result.checks[position].detail == f"{type(error).__name__}: {error}"
    assert all(c.passed is None and c.detail == "skipped" for c in result.checks[position + 1 :])
    assert result.to_json()["checks"][position] == {
        "name": failed,
        "passed": False,
        "detail": f"{type(error).__name__}: {error}",
    }
