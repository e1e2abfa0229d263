"""Signed province-to-province requests (docs/SHARING.md "Province to province").

A node asks another province's node with an ordinary HTTP request carrying four headers:
``Certreg-Province`` (the asking province's code), ``Certreg-Time`` (unix seconds),
``Certreg-Nonce`` (32 lowercase hex digits, never reused) and ``Certreg-Signature`` (128 hex
digits): the Ed25519 signature, by the key the asking province published on the contract
(``memberKey(province, 1)``), of :func:`signing_input`::

    certreg.federation.v1 LF METHOD LF PATH?QUERY LF hex(SHA-256(body)) LF PROVINCE LF TIME LF NONCE

The receiver checks the key from the contract, the signature, that the time is within
:data:`FRESHNESS_SECONDS` of its own clock, and that it never saw the nonce before. No secret is
shared between provinces.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from node.core.errors import InvalidInput

DOMAIN: Final = b"certreg.federation.v1"
HEADER_PROVINCE: Final = "Certreg-Province"
HEADER_TIME: Final = "Certreg-Time"
HEADER_NONCE: Final = "Certreg-Nonce"
HEADER_SIGNATURE: Final = "Certreg-Signature"
FRESHNESS_SECONDS: Final = 60
_NONCE: Final = re.compile(r"[0-9a-f]{32}")
_SIGNATURE: Final = re.compile(r"[0-9a-f]{128}")
_PROVINCE: Final = re.compile(r"[1-8][0-9]")
_TIME: Final = re.compile(r"[0-9]{1,12}")


class RequestRefused(InvalidInput):
    """A province-to-province request whose key, signature or nonce does not hold (the API
    answers 401 with the rule)."""


def signing_input(
    method: str, target: str, body: bytes, province: str, timestamp: int, nonce: str
) -> bytes:
    """The bytes a province signs for one request (``target``: the path and query string)."""
    return b"\n".join(
        (
            DOMAIN,
            method.upper().encode("ascii"),
            target.encode("utf-8"),
            hashlib.sha256(body).hexdigest().encode("ascii"),
            province.encode("ascii"),
            str(timestamp).encode("ascii"),
            nonce.encode("ascii"),
        )
    )


def parse_headers(
    province: str | None, timestamp: str | None, nonce: str | None, signature: str | None
) -> tuple[str, int, str, bytes]:
    """The four headers, checked for form: ``(province, time, nonce, signature)``.

    Raises:
        InvalidInput: ``Certreg-…`` / ``federation.headers`` (one is missing or malformed).
    """
    checks = (
        (HEADER_PROVINCE, province, _PROVINCE),
        (HEADER_TIME, timestamp, _TIME),
        (HEADER_NONCE, nonce, _NONCE),
        (HEADER_SIGNATURE, signature, _SIGNATURE),
    )
    for name, value, pattern in checks:
        if value is None or not pattern.fullmatch(value):
            raise InvalidInput(name, "federation.headers", f"missing or malformed {name} header")
    assert province and timestamp and nonce and signature
    return province, int(timestamp), nonce, bytes.fromhex(signature)


def check_fresh(timestamp: int, now: float, window: int = FRESHNESS_SECONDS) -> None:
    """Refuse a request signed more than ``window`` seconds away from ``now``.

    Raises:
        InvalidInput: ``Certreg-Time`` / ``federation.stale``.
    """
    if abs(timestamp - now) > window:
        raise InvalidInput(
            HEADER_TIME, "federation.stale", f"signed more than {window} s from this node's time"
        )
