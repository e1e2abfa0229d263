"""Hostile text vectors (tests/vectors/hostile.json): bundle and snapshot texts that both verifiers
must refuse as ``MALFORMED`` with the same rule id — deep nesting, duplicate keys, long integers,
lone surrogates, non-canonical compact text (docs/THREAT-MODEL.md "Bounded parsing").

A text is given as ``pieces``: ``[[text, repeat], …]`` concatenated, so an 80,000-level document
stays a few bytes in the file.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from certreg.dev.sample import make_sample
from node.core.errors import InvalidInput
from node.core.formats.compact import PREFIX, encode_compact
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.verify import verify_bundle_text

AT = 1_900_000_000


def text_of(pieces: list[list[Any]]) -> str:
    """The text of a vector's ``pieces``."""
    return "".join(str(piece) * int(count) for piece, count in pieces)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact_of(cbor: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return PREFIX + _b64(compressor.compress(cbor) + compressor.flush())


def build() -> dict[str, Any]:
    sample = make_sample(11, "ed25519")
    snapshot = sample.snapshot
    trust = SnapshotTrustSource(snapshot)
    bundle = json.dumps(sample.bundle.to_json(), ensure_ascii=False)
    compact = encode_compact(sample.bundle)
    body = compact[len(PREFIX) :]
    packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    tests: list[dict[str, Any]] = []

    def bundle_case(comment: str, pieces: list[list[Any]], rule: str) -> None:
        result = verify_bundle_text(text_of(pieces), trust, at=AT)
        detail = result.checks[0].detail
        if result.code.value != "MALFORMED" or f"[{rule}]" not in detail:
            raise AssertionError(f"{comment}: got {result.code.value} {detail}")
        tests.append({"id": len(tests) + 1, "comment": comment, "kind": "bundle_text",
                      "pieces": pieces, "result": "MALFORMED", "rule": rule})  # fmt: skip

    def snapshot_case(comment: str, pieces: list[list[Any]], rule: str) -> None:
        try:
            Snapshot.from_text(text_of(pieces))
        except InvalidInput as exc:
            if exc.rule != rule:
                raise AssertionError(f"{comment}: got {exc.rule}") from exc
        else:
            raise AssertionError(f"{comment}: accepted")
        tests.append({"id": len(tests) + 1, "comment": comment, "kind": "snapshot_text",
                      "pieces": pieces, "result": "MALFORMED", "rule": rule})  # fmt: skip

    bundle_case("80,000 nested arrays", [["[", 80_000]], "json.depth")
    bundle_case("33 nested objects", [['{"a":', 33], ["1", 1], ["}", 33]], "json.depth")
    bundle_case(
        "a bundle nested 33 deep in arrays", [["[", 32], [bundle, 1], ["]", 32]], "json.depth"
    )
    bundle_case("duplicate top-level key", [[bundle[:-1] + ',"version":1}', 1]],
                "json.duplicate_key")  # fmt: skip
    bundle_case(
        "duplicate key inside the entry",
        [[bundle.replace('"entry": {', '"entry": {"v": 1, ', 1), 1]],
        "json.duplicate_key",
    )
    bundle_case("a 4,301-digit integer", [['{"version":', 1], ["7", 4301], ["}", 1]],
                "json.number")  # fmt: skip
    bundle_case("an 81-digit integer", [['{"version":', 1], ["1", 81], ["}", 1]], "json.number")
    bundle_case("a lone high surrogate", [['{"type":"\\ud800"}', 1]], "json.surrogate")
    bundle_case("a lone low surrogate in a key", [['{"\\udc00":1}', 1]], "json.surrogate")
    bundle_case("NaN is not JSON", [['{"version":NaN}', 1]], "bundle.json")
    bundle_case("compact text with padding", [[compact + "=", 1]], "compact.base64")
    middle = len(compact) // 2
    bundle_case("compact text with a space inside",
                [[compact[:middle] + " " + compact[middle:], 1]], "compact.base64")  # fmt: skip
    outside = compact[:middle] + "+" + compact[middle + 1 :]
    bundle_case("compact text with a character outside Base64url", [[outside, 1]], "compact.base64")
    bundle_case(
        "compact text with data after the DEFLATE stream",
        [[PREFIX + _b64(packed + b"\x00junk"), 1]],
        "compact.trailing",
    )
    if len(body) % 4:
        # The last character carries unused bits; setting one gives the same bytes.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet[alphabet.index(body[-1]) | 1]
        if last != body[-1]:
            bundle_case("compact text with non-zero unused bits",
                        [[compact[:-1] + last, 1]], "compact.base64")  # fmt: skip
    bundle_case("compact CBOR nested 20 deep", [[_compact_of(b"\x81" * 20 + b"\x01"), 1]],
                "compact.cbor")  # fmt: skip
    bundle_case("compact CBOR with a tag", [[_compact_of(b"\xc1\x01"), 1]], "compact.cbor")
    bundle_case("compact CBOR with trailing bytes", [[_compact_of(b"\x01\x02"), 1]],
                "compact.cbor")  # fmt: skip
    snapshot_text = json.dumps(snapshot.to_json())
    snapshot_case("80,000 nested arrays", [["[", 80_000]], "json.depth")
    snapshot_case("duplicate key", [[snapshot_text[:-1] + ',"version":1}', 1]],
                  "json.duplicate_key")  # fmt: skip
    snapshot_case("a 4,301-digit integer", [['{"version":', 1], ["9", 4301], ["}", 1]],
                  "json.number")  # fmt: skip
    snapshot_case("a lone surrogate", [['{"type":"\\udbff"}', 1]], "json.surrogate")
    return {
        "algorithm": "certreg-hostile-text",
        "version": 1,
        "notes": (
            "text = concatenation of piece * repeat over pieces. kind bundle_text: verify the text "
            "against bundles.json snapshots['main'] at unix time 1900000000; the result is "
            "MALFORMED and the format check names rule (as '[rule]'). kind snapshot_text: reading "
            "the text as a snapshot fails with rule."
        ),
        "tests": tests,
    }
