"""The committed signature vectors agree with the implementation and with a fresh build."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from gmalglib.sm2 import SM2
from gmalglib.sm3 import SM3

from node.core.crypto.signatures import SUITE_NAMES, get_suite, signing_message
from node.core.errors import VerificationError
from scripts.vectors_signatures import build
from tests.conftest import OUR_VECTORS

VECTORS_FILE = OUR_VECTORS / "signatures.json"


def _load() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return document


DOCUMENT = _load()
TESTS: list[dict[str, Any]] = DOCUMENT["tests"]


def _by_comment(suite: str, comment: str) -> dict[str, Any]:
    (test,) = [t for t in TESTS if t["suite"] == suite and t["comment"] == comment]
    return test


def _bytes(test: dict[str, Any], key: str) -> bytes:
    return bytes.fromhex(test["input"][key])


def test_document_shape() -> None:
    assert set(DOCUMENT) == {"algorithm", "version", "notes", "tests"}
    assert (DOCUMENT["algorithm"], DOCUMENT["version"]) == ("certreg-signatures", 1)
    assert [t["id"] for t in TESTS] == list(range(1, len(TESTS) + 1))
    for test in TESTS:
        assert set(test) == {"id", "comment", "suite", "input", "result"}
        assert set(test["input"]) == {
            "public_key",
            "chain_id",
            "contract",
            "commitment",
            "message",
            "signature",
        }
        assert test["result"] in ("valid", "invalid")
    for name in SUITE_NAMES:
        results = {t["result"] for t in TESTS if t["suite"] == name}
        assert results == {"valid", "invalid"}


@pytest.mark.parametrize("test", TESTS, ids=lambda t: f"{t['id']}-{t['suite']}")
def test_vector_agrees_with_implementation(test: dict[str, Any]) -> None:
    suite = get_suite(test["suite"])
    message = _bytes(test, "message")
    expected_message = signing_message(
        test["input"]["chain_id"], _bytes(test, "contract"), _bytes(test, "commitment")
    )
    if "message modified" not in test["comment"]:
        assert message == expected_message
    try:
        suite.verify(_bytes(test, "public_key"), message, _bytes(test, "signature"))
        verified = message == expected_message
    except VerificationError:
        verified = False
    assert verified == (test["result"] == "valid"), test["comment"]


def test_committed_file_equals_a_fresh_build() -> None:
    # Ed25519 and RFC 6979 ECDSA are deterministic; SM2 vectors are too, because the builder
    # signs with a nonce derived from key and message. So the whole file regenerates.
    fresh = build()
    for name in ("ed25519", "ecdsa-secp256k1"):
        assert [t for t in fresh["tests"] if t["suite"] == name] == [
            t for t in TESTS if t["suite"] == name
        ]
    assert fresh == DOCUMENT


def test_fresh_sm2_signatures_verify_for_committed_sm2_keys() -> None:
    # Randomised SM2 signing (the production path) against the committed public key.
    valid = _by_comment("sm2-sm3", "valid signature, key A")
    suite = get_suite("sm2-sm3")
    private_key = suite.generate_private_key(bytes(range(32)))
    assert suite.public_key(private_key) == _bytes(valid, "public_key")
    message = _bytes(valid, "message")
    suite.verify(_bytes(valid, "public_key"), message, suite.sign(private_key, message))


# The invalid vectors below must fail for the stated reason only: each signature is valid under
# the deviating rule, so an implementation that follows that rule would wrongly accept it.


def test_high_s_vector_is_valid_apart_from_the_low_s_rule() -> None:
    test = _by_comment("ecdsa-secp256k1", "high s (n - s) of a valid signature")
    signature = _bytes(test, "signature")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), _bytes(test, "public_key"))
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.verify(encode_dss_signature(r, s), _bytes(test, "message"), ec.ECDSA(hashes.SHA256()))


def test_sm2_other_user_id_vector_is_valid_with_that_user_id() -> None:
    test = _by_comment(
        "sm2-sm3", "Z computed with user ID ALICE123@YAHOO.COM instead of 1234567812345678"
    )
    verifier = SM2(pk=_bytes(test, "public_key"), uid=b"ALICE123@YAHOO.COM")
    assert verifier.verify(_bytes(test, "message"), _bytes(test, "signature"))


def test_sm2_no_z_vector_is_valid_over_plain_sm3() -> None:
    test = _by_comment("sm2-sm3", "signature over SM3(message) without Z")
    verifier = SM2(pk=_bytes(test, "public_key"))
    digest = SM3(_bytes(test, "message")).digest()
    assert verifier.verify_digest(digest, _bytes(test, "signature"))


def test_unprefixed_vector_is_valid_over_the_bare_commitment() -> None:
    for name in SUITE_NAMES:
        test = _by_comment(name, "message modified: commitment signed without the domain prefix")
        bare = _bytes(test, "message")[len(b"certreg/v1/commitment") :]
        if name == "sm2-sm3":
            assert SM2(pk=_bytes(test, "public_key")).verify(bare, _bytes(test, "signature"))
        else:
            # Deterministic suites: re-signing the bare bytes reproduces the vector's signature.
            suite = get_suite(name)
            key = suite.generate_private_key(bytes(range(32)))
            assert suite.sign(key, bare) == _bytes(test, "signature")
