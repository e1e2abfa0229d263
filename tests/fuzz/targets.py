"""Fuzz targets for the parsers of untrusted input (docs/THREAT-MODEL.md "Bounded parsing").

Each target takes one input and checks the invariant that must hold for *every* input: the
parser answers (a value, or :class:`~node.core.errors.InvalidInput` naming a rule) and never
raises anything else — no ``RecursionError``, ``ValueError``, ``UnicodeError``, no crash — and a
mutated bundle is never ``VALID`` with other content than the original. ``test_fuzz.py`` drives
them with hypothesis (bounded in ``make test``, longer with ``make fuzz``) and replays the
regression corpus (``corpus/<target>/``) of inputs that crashed something once.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from functools import cache
from typing import Any, Final

from anchor.manifest import Manifest, manifest_bytes
from audit.log import read_manifest
from certreg.dev.sample import SampleSet, make_sample
from node.core import safejson
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import decode_compact, encode_compact
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.formats.submissions import parse_submission
from node.core.verify import ResultCode, verify_bundle_text

AT: Final = 1_900_000_000


@cache
def sample() -> SampleSet:
    return make_sample(5)


@cache
def seeds() -> dict[str, bytes]:
    """One valid input per target, for mutation."""
    s = sample()
    entries = [json.dumps(s.bundle.entry.to_json(), sort_keys=True, separators=(",", ":"))]
    manifest = manifest_bytes(
        "44", 0, 0, 1, s.bundle.entry.leaf_hash(), [e.encode() for e in entries]
    )
    return {
        "bundle": json.dumps(s.bundle.to_json(), ensure_ascii=False).encode(),
        "compact": encode_compact(s.bundle).encode(),
        "snapshot": json.dumps(s.snapshot.to_json()).encode(),
        "manifest": manifest,
        "upload": b"",
    }


def bundle(data: bytes) -> None:
    """Bundle text (JSON or compact): a result, never an exception; VALID only for the
    original content."""
    text = data.decode("utf-8", "replace")
    result = verify_bundle_text(text, SnapshotTrustSource(sample().snapshot), at=AT)
    if result.code is ResultCode.VALID:
        stripped = text.strip()
        if stripped.startswith("CR1:"):
            parsed = decode_compact(stripped)
        else:
            parsed = Bundle.from_json(safejson.loads(stripped, "bundle"))
        assert parsed == sample().bundle, "a changed bundle verified VALID"
        if stripped.startswith("CR1:"):
            # One bundle has one compact text (padding, whitespace, trailing data refused).
            assert stripped == encode_compact(sample().bundle), "a second compact text decoded"


def compact(data: bytes) -> None:
    """Compact text: a bundle or InvalidInput."""
    with contextlib.suppress(InvalidInput):
        decode_compact(data.decode("utf-8", "replace"))


def snapshot(data: bytes) -> None:
    """A snapshot file: a snapshot or InvalidInput."""
    with contextlib.suppress(InvalidInput):
        Snapshot.from_text(data)


def manifest(data: bytes) -> None:
    """Manifest bytes, as the node replays them and as the auditor reads them."""
    with contextlib.suppress(InvalidInput):
        Manifest.from_bytes(data)
    try:
        _, entries = read_manifest(data)
        for _ in entries:
            pass
    except InvalidInput:
        pass


def upload(data: bytes) -> None:
    """A bulk upload in both formats: rows and refused rows, or InvalidInput (a bad header)."""
    for fmt in ("jsonl", "csv"):
        try:
            for _ in parse_submission(io.BytesIO(data), fmt):  # type: ignore[arg-type]
                pass
        except InvalidInput:
            pass


def json_text(data: bytes) -> None:
    """The bounded reader: a value equal to the standard parser's, or InvalidInput."""
    try:
        value: Any = safejson.loads(data, "body")
    except InvalidInput:
        return
    assert json.loads(data) == value


TARGETS: Final[dict[str, Callable[[bytes], None]]] = {
    "bundle": bundle,
    "compact": compact,
    "snapshot": snapshot,
    "manifest": manifest,
    "upload": upload,
    "json": json_text,
}
