"""The compact QR form: round trip, QR capacity, and refusal of damaged text."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.dev.sample import make_sample
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle, InclusionProof
from node.core.formats.compact import QR_CAPACITY_M, decode_compact, encode_compact


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_round_trip_is_identical(suite: str) -> None:
    sample = make_sample(3, suite)
    for bundle in (sample.bundle, sample.redacted):
        text = encode_compact(bundle)
        assert text.startswith("CR1:")
        assert decode_compact(text) == bundle
        assert decode_compact(text).to_json() == bundle.to_json()


def _worst_case(suite: str) -> Bundle:
    """Every field disclosed, long Chinese names and a 24-hash proof (a log of ~16 million)."""
    sample = make_sample(4, suite)
    bundle = sample.bundle
    proof = InclusionProof(
        leaf_index=2**24 - 5,
        tree_size=2**24,
        hashes=tuple(os.urandom(32) for _ in range(24)),
    )
    anchor = dataclasses.replace(
        bundle.anchor, tree_size=2**24, checkpoint_index=99_999, block_number=123_456_789
    )
    return dataclasses.replace(bundle, proof=proof, anchor=anchor)


@pytest.mark.parametrize("suite", SUITE_NAMES)
def test_full_bundle_with_24_hash_proof_fits_a_qr_code_at_level_m(suite: str) -> None:
    bundle = _worst_case(suite)
    assert len(bundle.proof.hashes) == 24
    assert all(bundle.certificate.disclosed_values())
    text = encode_compact(bundle)
    assert len(text.encode("ascii")) <= QR_CAPACITY_M, len(text)
    assert decode_compact(text) == bundle


@settings(max_examples=100, deadline=None)
@given(position=st.integers(min_value=4), replacement=st.sampled_from("AbZ09-_"))
def test_damaged_text_is_refused_or_decodes_to_another_bundle(
    position: int, replacement: str
) -> None:
    bundle = make_sample(5).bundle
    text = encode_compact(bundle)
    position = 4 + position % (len(text) - 4)
    damaged = text[:position] + replacement + text[position + 1 :]
    if damaged == text:
        return
    try:
        decoded = decode_compact(damaged)
    except InvalidInput as exc:
        assert exc.field.startswith(("compact", "bundle"))
    else:
        # Some flips survive DEFLATE and CBOR; the verifier must then catch the change.
        assert decoded != bundle


@pytest.mark.parametrize(
    "text",
    ["", "CR2:abc", "CR1:", "CR1:####", "CR1:" + "A" * 40_000, "CR1:q1YqSi0uTc1RslIqzy/KSQEA"],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        decode_compact(text)
