"""Commitments, canonical encoding and selective disclosure."""

from __future__ import annotations

import random

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from certreg.dev.sample import sample_certificate
from node.core.canonical import canonical_json, canonical_json_fast, canonical_pair
from node.core.certificate import FIELD_NAMES, Certificate
from node.core.errors import InvalidInput
from node.core.formats.commitment import (
    Disclosed,
    Redacted,
    SaltedCertificate,
    commitment_of,
    field_hash,
    salt_certificate,
)


def _salted(seed: int = 1) -> SaltedCertificate:
    rng = random.Random(seed)
    return salt_certificate(sample_certificate(rng, 7), rng.randbytes)


@settings(max_examples=300)
@given(name=st.text(), value=st.one_of(st.text(), st.integers(-(2**53) + 1, 2**53 - 1)))
def test_canonical_pair_equals_rfc8785(name: str, value: str | int) -> None:
    try:
        expected = rfc8785.dumps([name, value])
    except rfc8785.CanonicalizationError:
        with pytest.raises(InvalidInput):
            canonical_pair(name, value)
        return
    assert canonical_pair(name, value) == expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"])), children, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(value=json_values)
def test_canonical_encoding_round_trips(value: object) -> None:
    import json

    encoded = canonical_json(value)
    assert canonical_json(json.loads(encoded)) == encoded


def test_field_hash_is_pinned() -> None:
    # SHA-256(0x02 || salt || JCS(["level", 3])) with an all-0x11 salt, computed by hand.
    import hashlib

    salt = b"\x11" * 32
    expected = hashlib.sha256(b"\x02" + salt + b'["level",3]').digest()
    assert field_hash("level", 3, salt) == expected


def test_commitment_sorts_field_hashes() -> None:
    hashes = [bytes([i]) * 32 for i in (3, 1, 2)]
    assert commitment_of(hashes) == commitment_of(sorted(hashes))


def test_every_field_is_committed() -> None:
    salted = _salted()
    assert len(salted.field_hashes()) == len(FIELD_NAMES) == 12


def test_salts_are_fresh_and_256_bit() -> None:
    certificate = sample_certificate(random.Random(1), 1)
    a, b = salt_certificate(certificate), salt_certificate(certificate)
    for name in FIELD_NAMES:
        first, second = a.fields[name], b.fields[name]
        assert isinstance(first, Disclosed) and isinstance(second, Disclosed)
        assert len(first.salt) == 32 and first.salt != second.salt
    assert a.commitment() != b.commitment()


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_redacting_any_field_keeps_the_commitment(name: str) -> None:
    salted = _salted()
    redacted = salted.redact(name)
    assert isinstance(redacted.fields[name], Redacted)
    assert redacted.commitment() == salted.commitment()
    assert name not in redacted.disclosed_values()


def test_redacting_everything_keeps_the_commitment() -> None:
    salted = _salted()
    assert salted.redact(*FIELD_NAMES).commitment() == salted.commitment()


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_changing_any_value_or_salt_breaks_the_commitment(name: str) -> None:
    salted = _salted()
    original = salted.commitment()
    proof = salted.fields[name]
    assert isinstance(proof, Disclosed)
    new_value = proof.value + 1 if isinstance(proof.value, int) else proof.value + "x"
    changed = dict(salted.fields)
    changed[name] = Disclosed(new_value, proof.salt)
    assert SaltedCertificate(changed).commitment() != original
    changed[name] = Disclosed(proof.value, bytes([proof.salt[0] ^ 1]) + proof.salt[1:])
    assert SaltedCertificate(changed).commitment() != original
    changed[name] = Redacted(bytes(32))
    assert SaltedCertificate(changed).commitment() != original


def test_swapping_field_names_breaks_the_commitment() -> None:
    salted = _salted()
    changed = dict(salted.fields)
    changed["holder_name"], changed["organisation_name"] = (
        salted.fields["organisation_name"],
        salted.fields["holder_name"],
    )
    assert SaltedCertificate(changed).commitment() != salted.commitment()


def test_missing_or_unknown_fields_are_refused() -> None:
    fields = dict(_salted().fields)
    del fields["id_number"]
    with pytest.raises(InvalidInput) as err:
        SaltedCertificate(fields)
    assert err.value.field == "id_number"
    fields = dict(_salted().fields)
    fields["nickname"] = Redacted(bytes(32))
    with pytest.raises(InvalidInput) as err:
        SaltedCertificate(fields)
    assert err.value.field == "nickname"


def test_short_salt_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        field_hash("holder_name", "x", b"short")
    assert err.value.rule == "commitment.salt_size"


def test_certificate_repr_hides_personal_data() -> None:
    certificate = sample_certificate(random.Random(5), 1)
    text = repr(certificate) + repr(salt_certificate(certificate))
    assert certificate.holder_name not in text
    assert certificate.id_number not in text


def test_certificate_from_fields_checks_shape() -> None:
    good = sample_certificate(random.Random(5), 1).fields()
    assert Certificate.from_fields(good).fields() == good
    with pytest.raises(InvalidInput) as err:
        Certificate.from_fields({**good, "level": "3"})
    assert (err.value.field, err.value.rule) == ("level", "schema.type")
    missing = dict(good)
    del missing["issue_date"]
    with pytest.raises(InvalidInput) as err:
        Certificate.from_fields(missing)
    assert (err.value.field, err.value.rule) == ("issue_date", "schema.required")


ascii_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(alphabet=st.characters(max_codepoint=127)),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127)), children, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=300)
@given(value=st.one_of(ascii_json, json_values))
def test_fast_canonical_json_equals_rfc8785(value: object) -> None:
    assert canonical_json_fast(value) == rfc8785.dumps(value)
