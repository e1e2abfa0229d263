"""Build the signature test vectors (``tests/vectors/signatures.json``).

Wycheproof-style document read by every implementation (Python, browser verifier). Run
``python -m scripts.vectors_signatures`` from the project root to rewrite the file.

Every key, commitment and nonce comes from fixed seeds, so the output is reproducible byte for
byte: Ed25519 and RFC 6979 ECDSA are deterministic, and SM2 signatures use a nonce derived from
the private key and the message (``Sm2Sm3Suite.sign_with_nonce``) instead of the random one
``sign`` draws.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from coincurve import PrivateKey as Secp256k1PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from gmalglib.sm2 import SM2
from gmalglib.sm3 import SM3

from node.core.crypto.signatures import (
    SIGNING_DOMAIN,
    SM2_USER_ID,
    SUITE_NAMES,
    Sm2Sm3Suite,
    get_suite,
    signing_message,
)
from node.core.errors import InvalidInput

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "signatures.json"

CHAIN_ID = 31337
OTHER_CHAIN_ID = 1
CONTRACT = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
OTHER_CONTRACT = bytes.fromhex("e7f1725e7734ce288f8367e1bb143e90bb3f0512")

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
ED25519_L = 2**252 + 0x14DEF9DEA2F79CD65812631A5CF5D3ED

NOTES = (
    "Signatures over certreg commitments (docs/FORMATS.md, 'Signatures'). For each test, "
    "'message' is the signed bytes; it equals signing_message(chain_id, contract, commitment) "
    "= 'certreg/v1/commitment' || chain_id (32-byte big-endian) || contract (20 bytes) || "
    "commitment (32 bytes) in every test except those whose comment says the message was "
    "modified. A test is 'valid' exactly when message == signing_message(chain_id, contract, "
    "commitment) and the suite verifies (public_key, message, signature). Keys derive from "
    "fixed seeds; SM2 signatures use a nonce derived from the key and message "
    "(SHA-256('certreg/v1/vectors/sm2-nonce' || private_key || message || counter)), so the "
    "file regenerates byte for byte with scripts/vectors_signatures.py. SM2 uses the default "
    "user ID 1234567812345678."
)

SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))


def _commitment(label: str) -> bytes:
    return hashlib.sha256(b"certreg/v1/vectors/commitment/" + label.encode("ascii")).digest()


def _flip(data: bytes, bit: int) -> bytes:
    """Return ``data`` with bit ``bit`` (0 = most significant bit of byte 0) inverted."""
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def _sm2_nonce(private_key: bytes, message: bytes, counter: int) -> bytes:
    """Return a nonce in ``[1, n-1]`` derived from the key and message (vectors only)."""
    while True:
        digest = hashlib.sha256(
            b"certreg/v1/vectors/sm2-nonce" + private_key + message + counter.to_bytes(4, "big")
        ).digest()
        if 1 <= int.from_bytes(digest, "big") < SM2_N:
            return digest
        counter += 1


def _sm2_sign(private_key: bytes, message: bytes) -> bytes:
    suite = Sm2Sm3Suite()
    counter = 0
    while True:
        try:
            return suite.sign_with_nonce(
                private_key, message, _sm2_nonce(private_key, message, counter)
            )
        except InvalidInput:
            counter += 1


def _sm2_signer(private_key: bytes, message: bytes, uid: bytes = SM2_USER_ID) -> SM2:
    """Return a gmalglib signer whose nonce is derived from key and message (vectors only).

    Used for the deliberately wrong variants; gmalglib reads its random bytes as a
    little-endian integer (see ``Sm2Sm3Suite.sign_with_nonce``).
    """
    nonce = _sm2_nonce(private_key, message, 0)
    return SM2(sk=private_key, uid=uid, rnd_fn=lambda _length: nonce[::-1])


def _sign(suite_name: str, private_key: bytes, message: bytes) -> bytes:
    if suite_name == "sm2-sm3":
        return _sm2_sign(private_key, message)
    return get_suite(suite_name).sign(private_key, message)


class _Builder:
    def __init__(self) -> None:
        self.tests: list[dict[str, Any]] = []

    def add(
        self,
        suite: str,
        comment: str,
        *,
        public_key: bytes,
        chain_id: int,
        contract: bytes,
        commitment: bytes,
        message: bytes,
        signature: bytes,
        result: str,
    ) -> None:
        self.tests.append(
            {
                "id": len(self.tests) + 1,
                "comment": comment,
                "suite": suite,
                "input": {
                    "public_key": public_key.hex(),
                    "chain_id": chain_id,
                    "contract": contract.hex(),
                    "commitment": commitment.hex(),
                    "message": message.hex(),
                    "signature": signature.hex(),
                },
                "result": result,
            }
        )


def _suite_tests(builder: _Builder, name: str) -> None:
    suite = get_suite(name)
    key_a = suite.generate_private_key(SEED_A)
    key_b = suite.generate_private_key(SEED_B)
    pub_a = suite.public_key(key_a)
    pub_b = suite.public_key(key_b)
    c1 = _commitment("1")
    c2 = _commitment("2")
    m1 = signing_message(CHAIN_ID, CONTRACT, c1)
    sig1 = _sign(name, key_a, m1)

    def add(comment: str, result: str, **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "public_key": pub_a,
            "chain_id": CHAIN_ID,
            "contract": CONTRACT,
            "commitment": c1,
            "message": m1,
            "signature": sig1,
        }
        fields.update(overrides)
        builder.add(name, comment, result=result, **fields)

    # Valid signatures.
    add("valid signature, key A", "valid")
    m2 = signing_message(CHAIN_ID, CONTRACT, c2)
    add(
        "valid signature, key A, second commitment",
        "valid",
        commitment=c2,
        message=m2,
        signature=_sign(name, key_a, m2),
    )
    m_other_chain = signing_message(OTHER_CHAIN_ID, OTHER_CONTRACT, c1)
    add(
        "valid signature, key A, chain id 1 and another contract",
        "valid",
        chain_id=OTHER_CHAIN_ID,
        contract=OTHER_CONTRACT,
        message=m_other_chain,
        signature=_sign(name, key_a, m_other_chain),
    )
    add("valid signature, key B", "valid", public_key=pub_b, signature=_sign(name, key_b, m1))
    m_max = signing_message(2**256 - 1, b"\xff" * 20, b"\xff" * 32)
    add(
        "valid signature, largest chain id, all-ones contract and commitment",
        "valid",
        chain_id=2**256 - 1,
        contract=b"\xff" * 20,
        commitment=b"\xff" * 32,
        message=m_max,
        signature=_sign(name, key_a, m_max),
    )

    # Tampering and domain separation.
    add("flipped first bit of the signature", "invalid", signature=_flip(sig1, 0))
    add("flipped last bit of the signature", "invalid", signature=_flip(sig1, 511))
    add("flipped a bit of r's last byte", "invalid", signature=_flip(sig1, 255))
    add(
        "message modified: flipped a bit in the domain prefix (signature is for the original)",
        "invalid",
        message=_flip(m1, 7),
    )
    flipped_c1 = _flip(c1, 100)
    add(
        "flipped a bit of the commitment",
        "invalid",
        commitment=flipped_c1,
        message=signing_message(CHAIN_ID, CONTRACT, flipped_c1),
    )
    add(
        "signature made for chain 31337 presented for chain 31338",
        "invalid",
        chain_id=CHAIN_ID + 1,
        message=signing_message(CHAIN_ID + 1, CONTRACT, c1),
    )
    add(
        "signature made for chain 31337 presented for chain 1",
        "invalid",
        chain_id=OTHER_CHAIN_ID,
        message=signing_message(OTHER_CHAIN_ID, CONTRACT, c1),
    )
    add(
        "signature made for one contract presented for another",
        "invalid",
        contract=OTHER_CONTRACT,
        message=signing_message(CHAIN_ID, OTHER_CONTRACT, c1),
    )
    add(
        "message modified: commitment signed without the domain prefix",
        "invalid",
        signature=_sign(name, key_a, m1[len(SIGNING_DOMAIN) :]),
    )
    add("signature by key A checked with key B", "invalid", public_key=pub_b)

    # Malformed encodings.
    add("truncated signature (63 bytes)", "invalid", signature=sig1[:-1])
    add("signature with an extra byte (65 bytes)", "invalid", signature=sig1 + b"\x00")
    add("empty signature", "invalid", signature=b"")
    add("all-zero signature", "invalid", signature=bytes(64))
    add("truncated public key", "invalid", public_key=pub_a[:-1])

    if name == "ed25519":
        identity = bytes([1]) + bytes(31)
        add(
            "small-order public key (identity) with R = identity, S = 0",
            "invalid",
            public_key=identity,
            signature=identity + bytes(32),
        )
        s_plus_l = int.from_bytes(sig1[32:], "little") + ED25519_L
        add(
            "non-canonical S (S + L)",
            "invalid",
            signature=sig1[:32] + s_plus_l.to_bytes(32, "little"),
        )
    elif name == "ecdsa-secp256k1":
        low_s = int.from_bytes(sig1[32:], "big")
        add(
            "high s (n - s) of a valid signature",
            "invalid",
            signature=sig1[:32] + (SECP256K1_N - low_s).to_bytes(32, "big"),
        )
        add("s = n", "invalid", signature=sig1[:32] + SECP256K1_N.to_bytes(32, "big"))
        add("r = 0", "invalid", signature=bytes(32) + sig1[32:])
        uncompressed = Secp256k1PrivateKey(key_a).public_key.format(compressed=False)
        add(
            "uncompressed public key (65 bytes) instead of compressed",
            "invalid",
            public_key=uncompressed,
        )
        add("public key x-coordinate not on the curve", "invalid", public_key=b"\x02" + bytes(32))
        add("public key with prefix 04 and 33 bytes", "invalid", public_key=b"\x04" + pub_a[1:])
        der = Secp256k1PrivateKey(key_a).sign(
            m1, hasher=lambda data: hashlib.sha256(hashlib.sha256(data).digest()).digest()
        )
        dr, ds = decode_dss_signature(der)
        add(
            "ECDSA over double SHA-256 instead of SHA-256",
            "invalid",
            signature=dr.to_bytes(32, "big") + ds.to_bytes(32, "big"),
        )
    elif name == "sm2-sm3":
        add("s = n", "invalid", signature=sig1[:32] + SM2_N.to_bytes(32, "big"))
        add("r = 0", "invalid", signature=bytes(32) + sig1[32:])
        add(
            "public key not on the curve", "invalid", public_key=pub_a[:-1] + bytes([pub_a[-1] ^ 1])
        )
        add(
            "compressed public key (33 bytes) instead of 04 || x || y",
            "invalid",
            public_key=SM2.convert_pk(pub_a, 1),
        )
        add("public key with prefix 06 (hybrid form)", "invalid", public_key=b"\x06" + pub_a[1:])
        other_uid = _sm2_signer(key_a, m1, b"ALICE123@YAHOO.COM").sign(m1)
        add(
            "Z computed with user ID ALICE123@YAHOO.COM instead of 1234567812345678",
            "invalid",
            signature=other_uid,
        )
        no_z = _sm2_signer(key_a, m1).sign_digest(SM3(m1).digest())
        add("signature over SM3(message) without Z", "invalid", signature=no_z)


def build() -> dict[str, Any]:
    """Return the signature vector document (deterministic)."""
    builder = _Builder()
    for name in SUITE_NAMES:
        _suite_tests(builder, name)
    return {"algorithm": "certreg-signatures", "version": 1, "notes": NOTES, "tests": builder.tests}


def main() -> int:
    """Write ``tests/vectors/signatures.json``; return the exit status."""
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
