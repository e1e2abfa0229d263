"""Signature suites: published examples, properties, domain separation and malformed input."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.core.crypto.signatures import (
    SIGNING_DOMAIN,
    SUITE_IDS,
    SUITE_NAMES,
    Sm2Sm3Suite,
    get_suite,
    get_suite_by_id,
    signing_message,
)
from node.core.errors import InvalidInput, VerificationError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
ED25519_P = 2**255 - 19

CONTRACT = bytes(range(20))
COMMITMENT = bytes(range(32, 64))

# One fixed key per suite, so property tests do not pay for key generation.
KEYS = {name: get_suite(name).generate_private_key(bytes([7]) * 32) for name in SUITE_NAMES}
PUBLIC_KEYS = {name: get_suite(name).public_key(KEYS[name]) for name in SUITE_NAMES}

suite_names = st.sampled_from(SUITE_NAMES)
chain_ids = st.integers(min_value=0, max_value=2**256 - 1)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- signing_message ---------------------------------------------------------------------------


def test_signing_message_layout() -> None:
    message = signing_message(31337, CONTRACT, COMMITMENT)
    assert message == (
        b"certreg/v1/commitment" + (31337).to_bytes(32, "big") + CONTRACT + COMMITMENT
    )
    assert len(message) == len(SIGNING_DOMAIN) + 32 + 20 + 32 == 105


@pytest.mark.parametrize(
    ("chain_id", "contract", "commitment", "field", "rule"),
    [
        (-1, CONTRACT, COMMITMENT, "chain_id", "signature.chain_id_range"),
        (2**256, CONTRACT, COMMITMENT, "chain_id", "signature.chain_id_range"),
        (True, CONTRACT, COMMITMENT, "chain_id", "signature.chain_id_type"),
        ("1", CONTRACT, COMMITMENT, "chain_id", "signature.chain_id_type"),
        (1, CONTRACT[:-1], COMMITMENT, "contract", "signature.contract_length"),
        (1, CONTRACT + b"\x00", COMMITMENT, "contract", "signature.contract_length"),
        (1, CONTRACT.hex(), COMMITMENT, "contract", "signature.contract_length"),
        (1, CONTRACT, COMMITMENT[:-1], "commitment", "signature.commitment_length"),
        (1, CONTRACT, COMMITMENT + b"\x00", "commitment", "signature.commitment_length"),
    ],
)
def test_signing_message_rejects_bad_input(
    chain_id: object, contract: object, commitment: object, field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        signing_message(chain_id, contract, commitment)  # type: ignore[arg-type]
    assert (info.value.field, info.value.rule) == (field, rule)


# --- registry ----------------------------------------------------------------------------------


def test_suites_match_the_pinned_table() -> None:
    assert SUITE_IDS == {"ed25519": 1, "ecdsa-secp256k1": 2, "sm2-sm3": 3}
    expected = {"ed25519": (32, 64), "ecdsa-secp256k1": (33, 64), "sm2-sm3": (65, 64)}
    for name in SUITE_NAMES:
        suite = get_suite(name)
        assert suite.name == name
        assert suite.suite_id == SUITE_IDS[name]
        assert get_suite_by_id(SUITE_IDS[name]) is suite
        assert (suite.public_key_length, suite.signature_length) == expected[name]
        assert len(PUBLIC_KEYS[name]) == suite.public_key_length


@pytest.mark.parametrize("name", ["", "ED25519", "ecdsa-p256", "sm2", None, 1])
def test_unknown_suite_name(name: object) -> None:
    with pytest.raises(InvalidInput) as info:
        get_suite(name)  # type: ignore[arg-type]
    assert (info.value.field, info.value.rule) == ("suite", "signature.suite_unknown")


@pytest.mark.parametrize("suite_id", [0, 4, -1, True, "1", None])
def test_unknown_suite_id(suite_id: object) -> None:
    with pytest.raises(InvalidInput) as info:
        get_suite_by_id(suite_id)  # type: ignore[arg-type]
    assert info.value.rule == "signature.suite_unknown"


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITE_NAMES)
def test_key_generation_is_deterministic_from_a_seed(name: str) -> None:
    suite = get_suite(name)
    assert suite.generate_private_key(bytes([7]) * 32) == KEYS[name]
    assert suite.generate_private_key(bytes([8]) * 32) != KEYS[name]
    random_key = suite.generate_private_key()
    assert len(random_key) == 32
    assert random_key != suite.generate_private_key()
    suite.verify(suite.public_key(random_key), b"m", suite.sign(random_key, b"m"))


def test_seeded_keys_differ_across_suites() -> None:
    assert len(set(KEYS.values())) == len(SUITE_NAMES)


@pytest.mark.parametrize("name", SUITE_NAMES)
@pytest.mark.parametrize("seed", [b"", bytes(31), bytes(33), "00" * 32])
def test_bad_seed(name: str, seed: object) -> None:
    with pytest.raises(InvalidInput) as info:
        get_suite(name).generate_private_key(seed)  # type: ignore[arg-type]
    assert info.value.rule == "signature.seed_length"


@pytest.mark.parametrize(
    ("name", "private_key"),
    [
        ("ed25519", bytes(31)),
        ("ed25519", bytes(33)),
        ("ecdsa-secp256k1", bytes(32)),
        ("ecdsa-secp256k1", SECP256K1_N.to_bytes(32, "big")),
        ("ecdsa-secp256k1", bytes(31)),
        ("sm2-sm3", bytes(32)),
        ("sm2-sm3", (SM2_N - 1).to_bytes(32, "big")),
        ("sm2-sm3", SM2_N.to_bytes(32, "big")),
        ("sm2-sm3", b"\x01" * 33),
    ],
)
def test_bad_private_key(name: str, private_key: bytes) -> None:
    suite = get_suite(name)
    with pytest.raises(InvalidInput) as info:
        suite.public_key(private_key)
    assert info.value.rule == "signature.private_key_invalid"
    with pytest.raises(InvalidInput) as info:
        suite.sign(private_key, b"m")
    assert info.value.rule == "signature.private_key_invalid"


# --- published examples ------------------------------------------------------------------------


def test_ed25519_rfc8032_test_1() -> None:
    # RFC 8032 §7.1, TEST 1 (empty message).
    private_key = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public_key = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    suite = get_suite("ed25519")
    assert suite.public_key(private_key) == public_key
    assert suite.sign(private_key, b"") == signature
    suite.verify(public_key, b"", signature)


# GM/T 0003.5-2012 (GB/T 32918.5-2017) Annex A signature example on the recommended curve,
# with the default user ID 1234567812345678.
SM2_EXAMPLE_D = bytes.fromhex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
SM2_EXAMPLE_PUBLIC = bytes.fromhex(
    "04"
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
SM2_EXAMPLE_K = bytes.fromhex("59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21")
SM2_EXAMPLE_SIGNATURE = bytes.fromhex(
    "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
)


def test_sm2_gmt0003_example() -> None:
    suite = Sm2Sm3Suite()
    assert suite.public_key(SM2_EXAMPLE_D) == SM2_EXAMPLE_PUBLIC
    signature = suite.sign_with_nonce(SM2_EXAMPLE_D, b"message digest", SM2_EXAMPLE_K)
    assert signature == SM2_EXAMPLE_SIGNATURE
    suite.verify(SM2_EXAMPLE_PUBLIC, b"message digest", SM2_EXAMPLE_SIGNATURE)
    with pytest.raises(VerificationError):
        suite.verify(SM2_EXAMPLE_PUBLIC, b"message digesT", SM2_EXAMPLE_SIGNATURE)


@pytest.mark.parametrize("nonce", [bytes(32), SM2_N.to_bytes(32, "big"), bytes(31), b"\xff" * 32])
def test_sm2_sign_with_nonce_rejects_bad_nonce(nonce: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        Sm2Sm3Suite().sign_with_nonce(SM2_EXAMPLE_D, b"m", nonce)
    assert info.value.rule == "signature.nonce_invalid"


def test_sm2_signing_uses_a_fresh_nonce() -> None:
    suite = get_suite("sm2-sm3")
    first = suite.sign(KEYS["sm2-sm3"], b"m")
    second = suite.sign(KEYS["sm2-sm3"], b"m")
    assert first != second
    suite.verify(PUBLIC_KEYS["sm2-sm3"], b"m", first)
    suite.verify(PUBLIC_KEYS["sm2-sm3"], b"m", second)


# --- secp256k1: RFC 6979, low s, and OpenSSL interoperability ------------------------------------


@given(message=st.binary(max_size=200))
@PROPERTY_SETTINGS
def test_secp256k1_is_deterministic_low_s_and_openssl_compatible(message: bytes) -> None:
    suite = get_suite("ecdsa-secp256k1")
    signature = suite.sign(KEYS["ecdsa-secp256k1"], message)
    assert signature == suite.sign(KEYS["ecdsa-secp256k1"], message)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    assert s <= SECP256K1_N // 2
    # pyca/cryptography (OpenSSL) verifies the same signature over SHA-256 of the message.
    openssl_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256K1(), PUBLIC_KEYS["ecdsa-secp256k1"]
    )
    openssl_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    # The high-s twin is mathematically valid (OpenSSL accepts it) but must be rejected.
    high = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big")
    openssl_key.verify(encode_dss_signature(r, SECP256K1_N - s), message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(VerificationError, match="high s"):
        suite.verify(PUBLIC_KEYS["ecdsa-secp256k1"], message, high)


def test_secp256k1_verifies_openssl_signatures() -> None:
    private = ec.derive_private_key(int.from_bytes(KEYS["ecdsa-secp256k1"], "big"), ec.SECP256K1())
    for index in range(20):
        message = b"openssl %d" % index
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
        s = min(s, SECP256K1_N - s)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        get_suite("ecdsa-secp256k1").verify(PUBLIC_KEYS["ecdsa-secp256k1"], message, signature)


# --- properties --------------------------------------------------------------------------------


@given(name=suite_names, message=st.binary(max_size=300))
@PROPERTY_SETTINGS
def test_sign_verify_round_trip(name: str, message: bytes) -> None:
    suite = get_suite(name)
    signature = suite.sign(KEYS[name], message)
    assert len(signature) == suite.signature_length
    suite.verify(PUBLIC_KEYS[name], message, signature)


@given(name=suite_names, message=st.binary(max_size=120), data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_flipped_bit_fails(name: str, message: bytes, data: st.DataObject) -> None:
    suite = get_suite(name)
    signature = suite.sign(KEYS[name], message)
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(signature) - 1))
    with pytest.raises(VerificationError):
        suite.verify(PUBLIC_KEYS[name], message, _flip(signature, bit))
    if message:
        bit = data.draw(st.integers(min_value=0, max_value=8 * len(message) - 1))
        with pytest.raises(VerificationError):
            suite.verify(PUBLIC_KEYS[name], _flip(message, bit), signature)
    public_key = PUBLIC_KEYS[name]
    bit = data.draw(st.integers(min_value=0, max_value=8 * len(public_key) - 1))
    with pytest.raises(VerificationError):
        suite.verify(_flip(public_key, bit), message, signature)


@given(
    name=suite_names,
    chain_a=chain_ids,
    chain_b=chain_ids,
    contract_a=st.binary(min_size=20, max_size=20),
    contract_b=st.binary(min_size=20, max_size=20),
    commitment=st.binary(min_size=32, max_size=32),
)
@PROPERTY_SETTINGS
def test_domain_separation(
    name: str,
    chain_a: int,
    chain_b: int,
    contract_a: bytes,
    contract_b: bytes,
    commitment: bytes,
) -> None:
    suite = get_suite(name)
    signature = suite.sign(KEYS[name], signing_message(chain_a, contract_a, commitment))
    for chain, contract in ((chain_b, contract_a), (chain_a, contract_b), (chain_b, contract_b)):
        if (chain, contract) == (chain_a, contract_a):
            continue
        with pytest.raises(VerificationError):
            suite.verify(PUBLIC_KEYS[name], signing_message(chain, contract, commitment), signature)


@given(name=suite_names, public_key=st.binary(max_size=70), signature=st.binary(max_size=70))
@PROPERTY_SETTINGS
def test_verify_of_garbage_raises_verification_error(
    name: str, public_key: bytes, signature: bytes
) -> None:
    with pytest.raises(VerificationError):
        get_suite(name).verify(public_key, b"message", signature)


@pytest.mark.parametrize("name", SUITE_NAMES)
@pytest.mark.parametrize(
    "kind", ["short_key", "long_key", "short_sig", "long_sig", "zero_sig", "str_key", "str_sig"]
)
def test_malformed_input_raises_verification_error(name: str, kind: str) -> None:
    suite = get_suite(name)
    message = b"message"
    public_key: object = PUBLIC_KEYS[name]
    signature: object = suite.sign(KEYS[name], message)
    assert isinstance(public_key, bytes)
    assert isinstance(signature, bytes)
    if kind == "short_key":
        public_key = public_key[:-1]
    elif kind == "long_key":
        public_key = public_key + b"\x00"
    elif kind == "short_sig":
        signature = signature[:-1]
    elif kind == "long_sig":
        signature = signature + b"\x00"
    elif kind == "zero_sig":
        signature = bytes(64)
    elif kind == "str_key":
        public_key = public_key.hex()
    else:
        signature = signature.hex()
    with pytest.raises(VerificationError):
        suite.verify(public_key, message, signature)  # type: ignore[arg-type]


# --- Ed25519 small-order public keys -----------------------------------------------------------


def _edwards_add(p1: tuple[int, int], p2: tuple[int, int], d: int, p: int) -> tuple[int, int]:
    # RFC 8032 §5.1.4, affine form of the addition law on -x^2 + y^2 = 1 + d x^2 y^2.
    (x1, y1), (x2, y2) = p1, p2
    t = d * x1 * x2 * y1 * y2 % p
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, p) % p
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, p) % p
    return x3, y3


def _ed25519_decode_x(y: int) -> list[int]:
    p = ED25519_P
    d = -121665 * pow(121666, -1, p) % p
    u, v = (y * y - 1) % p, (d * y * y + 1) % p
    x2 = u * pow(v, -1, p) % p
    x = pow(x2, (p + 3) // 8, p)
    if x * x % p != x2:
        x = x * pow(2, (p - 1) // 4, p) % p
    assert x * x % p == x2
    return sorted({x, (p - x) % p})


def test_ed25519_small_order_keys_are_rejected() -> None:
    from node.core.crypto.signatures import _ED25519_SMALL_ORDER_YS

    p = ED25519_P
    d = -121665 * pow(121666, -1, p) % p
    points = [(x, y) for y in _ED25519_SMALL_ORDER_YS for x in _ed25519_decode_x(y)]
    assert len(points) == 8
    for point in points:
        # Each has order dividing 8.
        acc = point
        for _ in range(3):
            acc = _edwards_add(acc, acc, d, p)
        assert acc == (0, 1)
    identity_signature = bytes([1]) + bytes(31) + bytes(32)
    suite = get_suite("ed25519")
    for y in _ED25519_SMALL_ORDER_YS:
        encodings = [y.to_bytes(32, "little"), (y | 1 << 255).to_bytes(32, "little")]
        if y + p < 2**255:
            encodings.append((y + p).to_bytes(32, "little"))
        for encoding in encodings:
            with pytest.raises(VerificationError):
                suite.verify(encoding, b"any message", identity_signature)


def test_ed25519_rejects_non_canonical_s() -> None:
    suite = get_suite("ed25519")
    signature = suite.sign(KEYS["ed25519"], b"m")
    s = int.from_bytes(signature[32:], "little") + 2**252 + 0x14DEF9DEA2F79CD65812631A5CF5D3ED
    with pytest.raises(VerificationError, match="S is not reduced"):
        suite.verify(PUBLIC_KEYS["ed25519"], b"m", signature[:32] + s.to_bytes(32, "little"))
