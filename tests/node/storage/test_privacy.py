"""PersonalDataCipher and BlindIndex: round trips, binding, rotation, both profiles, no leaks."""

from __future__ import annotations

import hmac

import gmalglib
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.crypto.privacy import (
    BlindIndex,
    DecryptionError,
    PersonalDataCipher,
    normalise_id_number,
    normalise_name,
)
from node.core.errors import InvalidInput, StorageError

PROFILES = {"aes-256-gcm": 32, "sm4-gcm": 16}
SECRET = "张三丰 110101199003074518".encode()


def _cipher(profile: str, keys: dict[str, int], current: str) -> PersonalDataCipher:
    size = PROFILES[profile]
    return PersonalDataCipher(
        {kid: bytes([seed]) * size for kid, seed in keys.items()}, current, profile=profile
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_round_trip_and_context_binding(profile: str) -> None:
    c = _cipher(profile, {"k1": 1}, "k1")
    blob = c.encrypt(SECRET, b"certificates.record\x00row-1")
    assert SECRET not in blob
    assert c.decrypt(blob, b"certificates.record\x00row-1") == SECRET
    assert c.key_id_of(blob) == "k1"
    with pytest.raises(DecryptionError):
        c.decrypt(blob, b"certificates.record\x00row-2")


@pytest.mark.parametrize("profile", PROFILES)
def test_nonces_differ(profile: str) -> None:
    c = _cipher(profile, {"k1": 1}, "k1")
    assert c.encrypt(SECRET, b"x") != c.encrypt(SECRET, b"x")


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), bit=st.integers(0, 7))
def test_any_flipped_bit_fails(profile: str, position: int, bit: int) -> None:
    c = _cipher(profile, {"k1": 1}, "k1")
    blob = bytearray(c.encrypt(SECRET, b"ctx"))
    blob[position % len(blob)] ^= 1 << bit
    with pytest.raises(DecryptionError) as info:
        c.decrypt(bytes(blob), b"ctx")
    assert "张" not in str(info.value) and "1101" not in str(info.value)


def test_relabelled_key_id_fails() -> None:
    """The header (with the key id) is authenticated: pointing a blob at another key fails."""
    c = _cipher("aes-256-gcm", {"k1": 1, "k2": 1}, "k1")  # same key bytes under two ids
    blob = c.encrypt(SECRET, b"ctx")
    relabelled = blob.replace(b"k1", b"k2", 1)
    with pytest.raises(DecryptionError):
        c.decrypt(relabelled, b"ctx")


@pytest.mark.parametrize("profile", PROFILES)
def test_key_rotation(profile: str) -> None:
    old = _cipher(profile, {"k1": 1}, "k1")
    both = _cipher(profile, {"k1": 1, "k2": 2}, "k2")
    new_only = _cipher(profile, {"k2": 2}, "k2")
    blob = old.encrypt(SECRET, b"ctx")
    assert both.decrypt(blob, b"ctx") == SECRET
    assert both.needs_rotation(blob)
    rotated = both.reencrypt(blob, b"ctx")
    assert both.key_id_of(rotated) == "k2" and not both.needs_rotation(rotated)
    assert new_only.decrypt(rotated, b"ctx") == SECRET
    with pytest.raises(DecryptionError, match="'k1' is not configured"):
        new_only.decrypt(blob, b"ctx")


def test_profiles_do_not_mix() -> None:
    blob = _cipher("aes-256-gcm", {"k1": 1}, "k1").encrypt(SECRET, b"ctx")
    with pytest.raises(DecryptionError):
        _cipher("sm4-gcm", {"k1": 1}, "k1").decrypt(blob, b"ctx")


def test_configuration_errors() -> None:
    with pytest.raises(InvalidInput, match=r"privacy\.key_size"):
        PersonalDataCipher({"k1": bytes(16)}, "k1")
    with pytest.raises(InvalidInput, match=r"privacy\.key_size"):
        PersonalDataCipher({"k1": bytes(32)}, "k1", profile="sm4-gcm")
    with pytest.raises(InvalidInput, match=r"privacy\.key_id"):
        PersonalDataCipher({"k1": bytes(32)}, "k2")
    with pytest.raises(InvalidInput, match=r"privacy\.key_id"):
        PersonalDataCipher({"bad id": bytes(32)}, "bad id")
    with pytest.raises(InvalidInput, match=r"privacy\.profile"):
        PersonalDataCipher({"k1": bytes(32)}, "k1", profile="des")
    with pytest.raises(InvalidInput, match=r"privacy\.key_size"):
        BlindIndex(bytes(16))


def test_reprs_hide_keys() -> None:
    key = bytes(range(32))
    c = PersonalDataCipher({"k1": key}, "k1")
    b = BlindIndex(key)
    for text in (repr(c), str(c), repr(b)):
        assert key.hex() not in text and repr(key) not in text
    assert "k1" in repr(c)


def test_decryption_error_is_storage_error() -> None:
    assert issubclass(DecryptionError, StorageError)


def test_sm4_matches_gmalglib() -> None:
    """The SM4 behind the 国密 profile (OpenSSL via cryptography) is the same permutation as
    gmalglib's, and the GB/T 32907 example: key = plaintext = 0123456789abcdeffedcba9876543210."""
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    expected = bytes.fromhex("681edf34d206965e86b3e94f536e4246")
    ours = Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(key)
    assert ours == expected == gmalglib.sm4_encrypt(key, key)


def test_sm3_blind_index_is_hmac_sm3() -> None:
    key = bytes(range(32))
    idx = BlindIndex(key, profile="sm4-gcm")
    data = b"certreg/v1/blind-index/id_number\x00" + b"11010119900307451X"
    assert idx.id_number("11010119900307451x") == hmac.new(key, data, "sm3").digest()


def test_blind_index_normalises() -> None:
    idx = BlindIndex(bytes(32))
    full_width = "１１０１０１１９９００３０７４５１Ｘ"
    assert idx.id_number(" 11010119900307451x ") == idx.id_number(full_width)
    assert idx.holder_name(" 张三 ") == idx.holder_name("张三")
    assert idx.holder_name("john  smith") == idx.holder_name("JOHN SMITH")
    assert idx.holder_name("阿卜杜·热合曼") != idx.holder_name("阿卜杜热合曼")
    # Columns are separated: the same text gives different values.
    assert idx.holder_name("X1") != idx.id_number("X1")
    # Keys matter.
    assert BlindIndex(bytes(32)).id_number("1") != BlindIndex(bytes([1]) * 32).id_number("1")
    assert normalise_name("\u3000李\u3000四\u3000") == "李 四"
    assert normalise_id_number("1101 0119 9003 0745 1x") == "11010119900307451X"
