"""Encryption at rest and blind indexes for personal data (data guide arts. 18-25).

Holder name and ID number are personal information (中就培发〔2022〕1号 art. 18). The node keeps
them, and the salts that commit to them, only as ciphertext; lookups by name or ID number go
through a keyed hash (a *blind index*) so the two-of-three query needs no decryption.

Two profiles, chosen by name:

- ``aes-256-gcm``: AES-256-GCM with 32-byte keys; blind index HMAC-SHA-256.
- ``sm4-gcm`` (国密): SM4-GCM (the GB/T 32907 block cipher in GCM mode, as RFC 8998 uses it)
  with 16-byte keys; blind index HMAC-SM3.

Both ciphers run through pyca ``cryptography`` (OpenSSL), which offers SM4 in GCM mode: an
authenticated mode of the national block cipher, the same construction as the AES profile, so no
home-made encrypt-then-MAC is needed. ``gmalglib`` offers only the raw SM4 block function; the
tests check that both libraries compute the same SM4 permutation.

Ciphertext layout (version 1)::

    0x01 || profile id (1 byte) || len(key id) (1 byte) || key id (ASCII) || nonce (12) || ct||tag

The whole header is part of the associated data together with the caller's context (e.g. the
table, column and row the value belongs to), so a ciphertext moved to another row, or relabelled
with another key id, fails to decrypt. Keys rotate: encryption uses the *current* key, decryption
any configured key found by the id in the header.

Nothing here reads configuration: keys come in as bytes. Exceptions and reprs never contain
plaintext or keys.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node.core.errors import InvalidInput, StorageError

FORMAT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
_AD_PREFIX = b"certreg/v1/personal-data\x00"
_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

#: Cipher profiles: name -> (profile id in the ciphertext header, key size in bytes).
PROFILES: dict[str, tuple[int, int]] = {"aes-256-gcm": (1, 32), "sm4-gcm": (2, 16)}
#: Blind-index hash per cipher profile (the 国密 profile uses SM3 throughout).
INDEX_HASHES: dict[str, str] = {"aes-256-gcm": "sha256", "sm4-gcm": "sm3"}
#: Minimum blind-index key size in bytes.
MIN_INDEX_KEY_SIZE = 32

RandomBytes = Callable[[int], bytes]


class DecryptionError(StorageError):
    """A stored ciphertext could not be decrypted (unknown key, tampered, or moved)."""


@functools.lru_cache(maxsize=64)
def _aesgcm(key: bytes) -> AESGCM:
    # Building the AEAD object sets up the key schedule; intake encrypts one record per
    # certificate with the same key, so the object is kept (keys are few: the configured ones).
    return AESGCM(key)


def _encrypt_raw(profile: str, key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    if profile == "aes-256-gcm":
        return _aesgcm(key).encrypt(nonce, plaintext, ad)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(ad)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return body + encryptor.tag


def _decrypt_raw(profile: str, key: bytes, nonce: bytes, data: bytes, ad: bytes) -> bytes:
    if profile == "aes-256-gcm":
        return _aesgcm(key).decrypt(nonce, data, ad)
    if len(data) < TAG_SIZE:
        raise InvalidTag
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, data[-TAG_SIZE:])).decryptor()
    decryptor.authenticate_additional_data(ad)
    return decryptor.update(data[:-TAG_SIZE]) + decryptor.finalize()


class PersonalDataCipher:
    """Authenticated encryption of personal data with rotating keys.

    ``keys`` maps key ids (1-64 characters ``[A-Za-z0-9._-]``) to raw keys of the profile's size;
    ``current_key_id`` names the key new ciphertexts use. Older keys stay configured so old rows
    still decrypt; :meth:`needs_rotation` and :meth:`reencrypt` move rows to the current key.

    Raises (constructor):
        InvalidInput: unknown profile, bad key id, wrong key size, or current key not configured.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current_key_id: str,
        *,
        profile: str = "aes-256-gcm",
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        if profile not in PROFILES:
            raise InvalidInput("profile", "privacy.profile", f"must be one of {sorted(PROFILES)}")
        profile_id, key_size = PROFILES[profile]
        checked: dict[str, bytes] = {}
        for key_id, key in keys.items():
            if not _KEY_ID_RE.fullmatch(key_id):
                raise InvalidInput("key_id", "privacy.key_id", "1-64 characters [A-Za-z0-9._-]")
            if not isinstance(key, bytes) or len(key) != key_size:
                raise InvalidInput(
                    "key", "privacy.key_size", f"{profile} keys must be {key_size} bytes"
                )
            checked[key_id] = bytes(key)
        if current_key_id not in checked:
            raise InvalidInput("current_key_id", "privacy.key_id", "current key is not configured")
        self._profile = profile
        self._profile_id = profile_id
        self._keys = checked
        self._current = current_key_id
        self._random = random_bytes

    def __repr__(self) -> str:
        return (
            f"PersonalDataCipher(profile={self._profile!r}, current_key_id={self._current!r}, "
            f"key_ids={sorted(self._keys)!r})"
        )

    @property
    def profile(self) -> str:
        """The profile name (``aes-256-gcm`` or ``sm4-gcm``)."""
        return self._profile

    @property
    def current_key_id(self) -> str:
        """The id of the key new ciphertexts are encrypted with."""
        return self._current

    def _header(self, key_id: str) -> bytes:
        raw_id = key_id.encode("ascii")
        return bytes([FORMAT_VERSION, self._profile_id, len(raw_id)]) + raw_id

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt ``plaintext`` with the current key, bound to ``context``.

        ``context`` names where the value lives (e.g. ``b"certificates.record:" + commitment``);
        the same context must be given to :meth:`decrypt`. Returns the versioned ciphertext.
        """
        header = self._header(self._current)
        nonce = self._random(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise InvalidInput("random_bytes", "privacy.nonce", "nonce source gave a bad size")
        body = _encrypt_raw(
            self._profile,
            self._keys[self._current],
            nonce,
            plaintext,
            _AD_PREFIX + header + context,
        )
        return header + nonce + body

    def _parse(self, blob: bytes) -> tuple[str, bytes, bytes, bytes]:
        """Split a ciphertext into key id, header, nonce and body."""
        if len(blob) < 3 or blob[0] != FORMAT_VERSION:
            raise DecryptionError("personal data ciphertext has an unknown format version")
        if blob[1] != self._profile_id:
            raise DecryptionError(
                f"personal data ciphertext is of profile id {blob[1]}, not {self._profile}"
            )
        end = 3 + blob[2]
        try:
            key_id = blob[3:end].decode("ascii")
        except UnicodeDecodeError as exc:
            raise DecryptionError("personal data ciphertext has a malformed key id") from exc
        if len(blob) < end + NONCE_SIZE + TAG_SIZE or not _KEY_ID_RE.fullmatch(key_id):
            raise DecryptionError("personal data ciphertext is truncated or malformed")
        return key_id, blob[:end], blob[end : end + NONCE_SIZE], blob[end + NONCE_SIZE :]

    def key_id_of(self, blob: bytes) -> str:
        """Return the id of the key ``blob`` was encrypted with.

        Raises:
            DecryptionError: the ciphertext is malformed or of another profile.
        """
        return self._parse(blob)[0]

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        """Decrypt a ciphertext made by :meth:`encrypt` with the same ``context``.

        Raises:
            DecryptionError: the key id is not configured, or the ciphertext was altered, moved
                to another context or relabelled. The message names the key id, never data.
        """
        key_id, header, nonce, body = self._parse(blob)
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"personal data key {key_id!r} is not configured")
        try:
            return _decrypt_raw(self._profile, key, nonce, body, _AD_PREFIX + header + context)
        except InvalidTag as exc:
            raise DecryptionError(
                f"personal data ciphertext (key {key_id!r}) failed authentication"
            ) from exc

    def needs_rotation(self, blob: bytes) -> bool:
        """Return whether ``blob`` was encrypted with a key other than the current one."""
        return self.key_id_of(blob) != self._current

    def reencrypt(self, blob: bytes, context: bytes) -> bytes:
        """Return ``blob`` re-encrypted with the current key (same context).

        Raises:
            DecryptionError: as :meth:`decrypt`.
        """
        return self.encrypt(self.decrypt(blob, context), context)


_WHITESPACE = re.compile(r"\s+")


def normalise_name(value: str) -> str:
    """Return the lookup form of a holder name.

    NFKC (full-width letters and spaces become ASCII, compatibility forms fold), trimmed, inner
    whitespace collapsed to one space, upper case (for names in Latin script). The middle dot of
    minority and foreign names (``·``) is kept.
    """
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value).strip()).upper()


def normalise_id_number(value: str) -> str:
    """Return the lookup form of an ID number: NFKC, no whitespace at all, upper case (``x``)."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


class BlindIndex:
    """Keyed hashes of normalised personal values, for equality lookups without decryption.

    ``HMAC(key, "certreg/v1/blind-index/" || column || 0x00 || normalised value)`` with SHA-256
    (profile ``aes-256-gcm``) or SM3 (profile ``sm4-gcm``). The column is part of the input so
    equal strings in different columns do not match. The key is separate from the cipher keys;
    changing it means recomputing the index columns (see ``docs/STORAGE.md``).

    Raises (constructor):
        InvalidInput: unknown profile or a key shorter than 32 bytes.
    """

    def __init__(self, key: bytes, *, profile: str = "aes-256-gcm") -> None:
        if profile not in INDEX_HASHES:
            raise InvalidInput(
                "profile", "privacy.profile", f"must be one of {sorted(INDEX_HASHES)}"
            )
        if not isinstance(key, bytes) or len(key) < MIN_INDEX_KEY_SIZE:
            raise InvalidInput(
                "key", "privacy.key_size", f"index keys must be at least {MIN_INDEX_KEY_SIZE} bytes"
            )
        digest = INDEX_HASHES[profile]
        try:
            hashlib.new(digest)
        except ValueError as exc:  # OpenSSL built without SM3
            raise InvalidInput("profile", "privacy.profile", f"{digest} is not available") from exc
        self._key = bytes(key)
        self._digest = digest
        self._profile = profile

    def __repr__(self) -> str:
        return f"BlindIndex(profile={self._profile!r})"

    def _mac(self, column: str, value: str) -> bytes:
        data = b"certreg/v1/blind-index/" + column.encode() + b"\x00" + value.encode("utf-8")
        return hmac.digest(self._key, data, self._digest)

    def holder_name(self, value: str) -> bytes:
        """Return the 32-byte index value of a holder name (see :func:`normalise_name`)."""
        return self._mac("holder_name", normalise_name(value))

    def id_number(self, value: str) -> bytes:
        """Return the 32-byte index value of an ID number (see :func:`normalise_id_number`)."""
        return self._mac("id_number", normalise_id_number(value))
