"""Signature suites behind one interface.

Issuers sign certificate commitments off-chain with one of three suites (``docs/FORMATS.md``,
section "Signatures"):

========================  ====  ===================  ==============  ===========================
suite                     id    public key           signature       hash
========================  ====  ===================  ==============  ===========================
``ed25519``               1     32 bytes (RFC 8032)  64 bytes        Ed25519 itself
``ecdsa-secp256k1``       2     33 (SEC1 compressed) 64 ``r||s``     SHA-256; low-s enforced
``sm2-sm3``               3     65 (``04||x||y``)    64 ``r||s``     SM3 with Z, default user ID
========================  ====  ===================  ==============  ===========================

Every suite signs the domain-separated bytes of :func:`signing_message`. ``verify`` raises
:class:`~node.core.errors.VerificationError` on any failure (wrong lengths, invalid points,
non-canonical scalars, a bad signature) and never returns ``False``. Malformed private keys,
seeds and suite names raise :class:`~node.core.errors.InvalidInput`.

Pure code: no I/O. Fresh randomness is drawn only by ``generate_private_key()`` without a seed
and by SM2 signing (GB/T 32918.2 §6.1 step A3 draws a random ``k``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from coincurve import PrivateKey as _Secp256k1PrivateKey
from coincurve import PublicKey as _Secp256k1PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from gmalglib.sm2 import SM2 as _SM2
from nacl.exceptions import BadSignatureError as _NaclBadSignature
from nacl.exceptions import CryptoError as _NaclCryptoError
from nacl.signing import VerifyKey as _NaclVerifyKey

from node.core.errors import InvalidInput, VerificationError

#: The suite names, in on-chain id order.
SUITE_NAMES: tuple[str, ...] = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")

#: On-chain suite ids (the contract stores the id, bundles and snapshots the name).
SUITE_IDS: dict[str, int] = {"ed25519": 1, "ecdsa-secp256k1": 2, "sm2-sm3": 3}

#: Domain-separation prefix of every signed message (FORMATS.md, "Signatures").
SIGNING_DOMAIN = b"certreg/v1/commitment"

CHAIN_ID_LENGTH = 32
CONTRACT_LENGTH = 20
COMMITMENT_LENGTH = 32
SEED_LENGTH = 32
PRIVATE_KEY_LENGTH = 32

#: GM/T 0009 default user ID used in Z (GB/T 32918.2 §5.5).
SM2_USER_ID = b"1234567812345678"

# Group orders. secp256k1: SEC 2 §2.4.1; SM2: GB/T 32918.5 (recommended curve); Ed25519: the
# prime order L of the base point (RFC 8032 §5.1).
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_ED25519_L = 2**252 + 0x14DEF9DEA2F79CD65812631A5CF5D3ED
_ED25519_P = 2**255 - 19


def signing_message(chain_id: int, contract: bytes, commitment: bytes) -> bytes:
    """Return the bytes every suite signs for ``commitment`` on one registry deployment.

    ``b"certreg/v1/commitment" || chain_id (32-byte big-endian) || contract (20 bytes) ||
    commitment (32 bytes)``, so a signature made for one chain or contract never verifies for
    another (FORMATS.md, "Signatures").

    Raises:
        InvalidInput: ``chain_id`` is not an integer in ``[0, 2**256)``, or ``contract`` /
            ``commitment`` are not bytes of the pinned length.
    """
    if isinstance(chain_id, bool) or not isinstance(chain_id, int):
        raise InvalidInput("chain_id", "signature.chain_id_type", "chain id must be an integer")
    if not 0 <= chain_id < 2 ** (8 * CHAIN_ID_LENGTH):
        raise InvalidInput(
            "chain_id", "signature.chain_id_range", "chain id must be in [0, 2**256)"
        )
    if not isinstance(contract, bytes) or len(contract) != CONTRACT_LENGTH:
        raise InvalidInput(
            "contract", "signature.contract_length", "contract address must be 20 bytes"
        )
    if not isinstance(commitment, bytes) or len(commitment) != COMMITMENT_LENGTH:
        raise InvalidInput(
            "commitment", "signature.commitment_length", "commitment must be 32 bytes"
        )
    return SIGNING_DOMAIN + chain_id.to_bytes(CHAIN_ID_LENGTH, "big") + contract + commitment


class SignatureSuite(Protocol):
    """One signature algorithm with its pinned key and signature encodings."""

    name: str
    suite_id: int
    public_key_length: int
    signature_length: int

    def generate_private_key(self, seed: bytes | None = None) -> bytes:
        """Return a new 32-byte private key: random, or derived from a 32-byte ``seed``."""
        ...

    def public_key(self, private_key: bytes) -> bytes:
        """Return the encoded public key of ``private_key``."""
        ...

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Return the encoded signature of ``message``."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Return ``None`` if ``signature`` is valid; raise ``VerificationError`` otherwise."""
        ...


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes) or len(seed) != SEED_LENGTH:
        raise InvalidInput("seed", "signature.seed_length", "seed must be 32 bytes")


def _derive_scalar(suite: str, seed: bytes, low: int, high: int) -> int:
    """Return a scalar in ``[low, high]`` derived from ``seed`` by rejection sampling.

    Candidates are ``SHA-256("certreg/v1/keygen/" || suite || 0x00 || seed || counter)`` read
    big-endian, with a 4-byte big-endian ``counter`` from 0; the first one in range is taken,
    so the result is uniform and identical across implementations.
    """
    _check_seed(seed)
    prefix = b"certreg/v1/keygen/" + suite.encode("ascii") + b"\x00" + seed
    counter = 0
    while True:
        digest = hashlib.sha256(prefix + counter.to_bytes(4, "big")).digest()
        candidate = int.from_bytes(digest, "big")
        if low <= candidate <= high:
            return candidate
        counter += 1


def _check_lengths(suite: str, public_key: bytes, signature: bytes, pk_len: int) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != pk_len:
        raise VerificationError(f"{suite}: public key must be {pk_len} bytes")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise VerificationError(f"{suite}: signature must be 64 bytes")


def _check_message(message: bytes) -> None:
    if not isinstance(message, bytes):
        raise InvalidInput("message", "signature.message_type", "message must be bytes")


def _sqrt_mod_p25519(a: int) -> int:
    """Return a square root of ``a`` modulo 2**255 - 19 (RFC 8032 §5.1.3 step 3)."""
    p = _ED25519_P
    root = pow(a, (p + 3) // 8, p)
    if root * root % p != a % p:
        root = root * pow(2, (p - 1) // 4, p) % p
    if root * root % p != a % p:
        raise ValueError("not a square")
    return root


def _ed25519_small_order_ys() -> frozenset[int]:
    """Return the y-coordinates of the eight points of small order on edwards25519.

    The identity (y = 1), the point of order 2 (y = -1), the two of order 4 (y = 0) and the four
    of order 8, which satisfy x = ±sqrt(-1)·y, hence 2y² = 1 - d·y⁴ (from -x² + y² = 1 + d·x²y²),
    i.e. y² = (-1 ± sqrt(1 + d)) / d; only one sign gives a square.
    """
    p = _ED25519_P
    d = -121665 * pow(121666, -1, p) % p
    ys = {1, p - 1, 0}
    root = _sqrt_mod_p25519((1 + d) % p)
    d_inv = pow(d, -1, p)
    for y_squared in ((-1 + root) * d_inv % p, (-1 - root) * d_inv % p):
        try:
            y = _sqrt_mod_p25519(y_squared)
        except ValueError:
            continue
        ys.update({y, p - y})
    return frozenset(ys)


# Computed once; a handful of modular exponentiations.
_ED25519_SMALL_ORDER_YS = _ed25519_small_order_ys()


class Ed25519Suite:
    """Ed25519 (RFC 8032): keys and signing with pyca/cryptography (OpenSSL), verification with
    PyNaCl (libsodium), which verifies about 1.6 times as fast on this machine (63 against
    ~100 µs), the node's costliest step per certificate (docs/NODE-BENCH.md).

    ``verify`` rejects public keys of small order (OpenSSL would accept the identity point, for
    which ``R = identity, S = 0`` verifies every message) and ``S >= L`` (RFC 8032 §5.1.7
    step 1) itself, then asks libsodium, which also refuses a non-canonical public key and an
    ``R`` of small order. No honest signer produces either, and what libsodium accepts OpenSSL
    accepts too, so verifiers built on either (the browser's, an auditor's) agree on every
    signature this registry stores; the shared vectors hold both to the same answers.
    """

    name: str = "ed25519"
    suite_id: int = 1
    public_key_length: int = 32
    signature_length: int = 64

    def generate_private_key(self, seed: bytes | None = None) -> bytes:
        """Return a 32-byte Ed25519 private key (the RFC 8032 seed).

        With ``seed`` it is ``SHA-256("certreg/v1/keygen/ed25519" || 0x00 || seed || 0^4)``.

        Raises:
            InvalidInput: ``seed`` is not 32 bytes.
        """
        if seed is None:
            return Ed25519PrivateKey.generate().private_bytes_raw()
        return _derive_scalar(self.name, seed, 0, 2**256 - 1).to_bytes(32, "big")

    def _private(self, private_key: bytes) -> Ed25519PrivateKey:
        if not isinstance(private_key, bytes) or len(private_key) != PRIVATE_KEY_LENGTH:
            raise InvalidInput(
                "private_key", "signature.private_key_invalid", "private key must be 32 bytes"
            )
        return Ed25519PrivateKey.from_private_bytes(private_key)

    def public_key(self, private_key: bytes) -> bytes:
        """Return the 32-byte public key.

        Raises:
            InvalidInput: ``private_key`` is not 32 bytes.
        """
        return self._private(private_key).public_key().public_bytes_raw()

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message`` (deterministic).

        Raises:
            InvalidInput: ``private_key`` is not 32 bytes or ``message`` is not bytes.
        """
        _check_message(message)
        return self._private(private_key).sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Return ``None`` if ``signature`` is a valid signature of ``message``.

        Raises:
            VerificationError: wrong lengths, a small-order public key, ``S >= L``, or a
                signature that does not verify.
        """
        _check_lengths(self.name, public_key, signature, self.public_key_length)
        y = int.from_bytes(public_key, "little") & ((1 << 255) - 1)
        if y % _ED25519_P in _ED25519_SMALL_ORDER_YS:
            raise VerificationError("ed25519: public key has small order")
        if int.from_bytes(signature[32:], "little") >= _ED25519_L:
            raise VerificationError("ed25519: S is not reduced modulo L")
        if not isinstance(message, bytes):
            raise VerificationError("ed25519: message must be bytes")
        try:
            _NaclVerifyKey(public_key).verify(message, signature)
        except (_NaclBadSignature, _NaclCryptoError, ValueError) as exc:
            raise VerificationError("ed25519: signature does not verify") from exc


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class EcdsaSecp256k1Suite:
    """ECDSA over secp256k1 and SHA-256 with coincurve (libsecp256k1).

    Signatures are deterministic (RFC 6979), encoded ``r || s`` (32 bytes each, big-endian) with
    ``s <= n/2``; ``verify`` rejects high ``s`` (BIP 62's low-s rule) so signatures are not
    malleable.
    """

    name: str = "ecdsa-secp256k1"
    suite_id: int = 2
    public_key_length: int = 33
    signature_length: int = 64

    def generate_private_key(self, seed: bytes | None = None) -> bytes:
        """Return a 32-byte big-endian scalar in ``[1, n-1]``.

        Raises:
            InvalidInput: ``seed`` is not 32 bytes.
        """
        if seed is None:
            return bytes(_Secp256k1PrivateKey().secret)
        return _derive_scalar(self.name, seed, 1, _SECP256K1_N - 1).to_bytes(32, "big")

    def _private(self, private_key: bytes) -> _Secp256k1PrivateKey:
        if (
            not isinstance(private_key, bytes)
            or len(private_key) != PRIVATE_KEY_LENGTH
            or not 1 <= int.from_bytes(private_key, "big") < _SECP256K1_N
        ):
            raise InvalidInput(
                "private_key",
                "signature.private_key_invalid",
                "private key must be a 32-byte scalar in [1, n-1]",
            )
        return _Secp256k1PrivateKey(private_key)

    def public_key(self, private_key: bytes) -> bytes:
        """Return the 33-byte SEC1 compressed public key.

        Raises:
            InvalidInput: ``private_key`` is not a valid scalar.
        """
        return bytes(self._private(private_key).public_key.format(compressed=True))

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Return ``r || s`` for ECDSA over ``SHA-256(message)``; deterministic, low ``s``.

        Raises:
            InvalidInput: ``private_key`` is not a valid scalar or ``message`` is not bytes.
        """
        _check_message(message)
        der = self._private(private_key).sign(message, hasher=_sha256)
        r, s = decode_dss_signature(der)
        # libsecp256k1 always produces a normalised (low) s; enforce it rather than assume it.
        if s > _SECP256K1_N // 2:
            s = _SECP256K1_N - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Return ``None`` if ``signature`` is a valid low-s signature of ``message``.

        Raises:
            VerificationError: wrong lengths, a public key that is not a compressed curve
                point, ``r`` or ``s`` outside ``[1, n-1]``, high ``s``, or a signature that does
                not verify.
        """
        _check_lengths(self.name, public_key, signature, self.public_key_length)
        if public_key[0] not in (0x02, 0x03):
            raise VerificationError("ecdsa-secp256k1: public key must be SEC1 compressed")
        if not isinstance(message, bytes):
            raise VerificationError("ecdsa-secp256k1: message must be bytes")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (1 <= r < _SECP256K1_N and 1 <= s < _SECP256K1_N):
            raise VerificationError("ecdsa-secp256k1: r or s out of range")
        if s > _SECP256K1_N // 2:
            raise VerificationError("ecdsa-secp256k1: high s")
        try:
            key = _Secp256k1PublicKey(public_key)
        except ValueError as exc:
            raise VerificationError("ecdsa-secp256k1: public key is not a curve point") from exc
        if not key.verify(encode_dss_signature(r, s), message, hasher=_sha256):
            raise VerificationError("ecdsa-secp256k1: signature does not verify")


class Sm2Sm3Suite:
    """SM2 signatures with SM3 (GB/T 32918.2, GM/T 0003.2) with gmalglib.

    ``Z`` is computed with the default user ID ``1234567812345678`` (GM/T 0009). Signing draws
    a fresh random ``k`` (GB/T 32918.2 §6.1 step A3), so two signatures of one message differ;
    :meth:`sign_with_nonce` exists for test vectors only.
    """

    name: str = "sm2-sm3"
    suite_id: int = 3
    public_key_length: int = 65
    signature_length: int = 64

    def generate_private_key(self, seed: bytes | None = None) -> bytes:
        """Return a 32-byte big-endian scalar in ``[1, n-2]`` (GB/T 32918.1 §6.1).

        Raises:
            InvalidInput: ``seed`` is not 32 bytes.
        """
        if seed is None:
            private_key, _ = _SM2(uid=SM2_USER_ID).generate_keypair()
            return bytes(private_key)
        return _derive_scalar(self.name, seed, 1, _SM2_N - 2).to_bytes(32, "big")

    def _check_private(self, private_key: bytes) -> None:
        # d = n - 1 is excluded: signing needs (1 + d) invertible modulo n.
        if (
            not isinstance(private_key, bytes)
            or len(private_key) != PRIVATE_KEY_LENGTH
            or not 1 <= int.from_bytes(private_key, "big") <= _SM2_N - 2
        ):
            raise InvalidInput(
                "private_key",
                "signature.private_key_invalid",
                "private key must be a 32-byte scalar in [1, n-2]",
            )

    def public_key(self, private_key: bytes) -> bytes:
        """Return the 65-byte uncompressed public key ``04 || x || y``.

        Raises:
            InvalidInput: ``private_key`` is not a valid scalar.
        """
        self._check_private(private_key)
        return bytes(_SM2.get_pk(private_key))

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Return ``r || s`` of the SM2 signature of ``message`` (random ``k``).

        Raises:
            InvalidInput: ``private_key`` is not a valid scalar or ``message`` is not bytes.
        """
        _check_message(message)
        self._check_private(private_key)
        return bytes(_SM2(sk=private_key, uid=SM2_USER_ID).sign(message))

    def sign_with_nonce(self, private_key: bytes, message: bytes, nonce: bytes) -> bytes:
        """Return ``r || s`` signed with the given ``k`` (32-byte big-endian, in ``[1, n-1]``).

        For test vectors only: a reused or predictable ``k`` reveals the private key.

        Raises:
            InvalidInput: a bad private key, message or nonce, or a nonce the signing algorithm
                rejects (``r = 0`` or ``r + k = n``, GB/T 32918.2 §6.1 step A5).
        """
        _check_message(message)
        self._check_private(private_key)
        if (
            not isinstance(nonce, bytes)
            or len(nonce) != 32
            or not 1 <= int.from_bytes(nonce, "big") < _SM2_N
        ):
            raise InvalidInput("nonce", "signature.nonce_invalid", "nonce must be in [1, n-1]")
        # gmalglib reads its random bytes as a little-endian integer (checked against the
        # GM/T 0003.5 example in tests/node/core/test_signatures.py). It draws again when k is
        # rejected; a second draw means this nonce cannot be used.
        draws: list[int] = []

        def fixed_nonce(length: int) -> bytes:
            draws.append(length)
            if len(draws) > 1 or length != 32:
                raise RuntimeError("nonce rejected")
            return nonce[::-1]

        rnd_fn: Callable[[int], bytes] = fixed_nonce
        try:
            return bytes(_SM2(sk=private_key, uid=SM2_USER_ID, rnd_fn=rnd_fn).sign(message))
        except RuntimeError as exc:
            raise InvalidInput(
                "nonce", "signature.nonce_invalid", "nonce rejected by SM2 signing"
            ) from exc

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Return ``None`` if ``signature`` is a valid SM2 signature of ``message``.

        Raises:
            VerificationError: wrong lengths, a public key that is not ``04 || x || y`` of a
                curve point, ``r`` or ``s`` outside ``[1, n-1]``, or a signature that does not
                verify (GB/T 32918.2 §7.1).
        """
        _check_lengths(self.name, public_key, signature, self.public_key_length)
        if public_key[0] != 0x04:
            raise VerificationError("sm2-sm3: public key must be uncompressed (04 || x || y)")
        if not isinstance(message, bytes):
            raise VerificationError("sm2-sm3: message must be bytes")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (1 <= r < _SM2_N and 1 <= s < _SM2_N):
            raise VerificationError("sm2-sm3: r or s out of range")
        try:
            verifier = _SM2(pk=public_key, uid=SM2_USER_ID)
        except ValueError as exc:
            raise VerificationError("sm2-sm3: public key is not a curve point") from exc
        if not verifier.verify(message, signature):
            raise VerificationError("sm2-sm3: signature does not verify")


_SUITES: dict[str, SignatureSuite] = {
    suite.name: suite for suite in (Ed25519Suite(), EcdsaSecp256k1Suite(), Sm2Sm3Suite())
}
_SUITES_BY_ID: dict[int, SignatureSuite] = {suite.suite_id: suite for suite in _SUITES.values()}


def get_suite(name: str) -> SignatureSuite:
    """Return the suite called ``name`` (one of :data:`SUITE_NAMES`).

    Raises:
        InvalidInput: ``name`` is not a known suite (rule ``signature.suite_unknown``).
    """
    suite = _SUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        raise InvalidInput(
            "suite",
            "signature.suite_unknown",
            f"unknown signature suite; expected one of {', '.join(SUITE_NAMES)}",
        )
    return suite


def get_suite_by_id(suite_id: int) -> SignatureSuite:
    """Return the suite with on-chain id ``suite_id`` (see :data:`SUITE_IDS`).

    Raises:
        InvalidInput: ``suite_id`` is not a known id (rule ``signature.suite_unknown``).
    """
    suite = (
        _SUITES_BY_ID.get(suite_id)
        if isinstance(suite_id, int) and not isinstance(suite_id, bool)
        else None
    )
    if suite is None:
        raise InvalidInput("suite_id", "signature.suite_unknown", "unknown signature suite id")
    return suite
