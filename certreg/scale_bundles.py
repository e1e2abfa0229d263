"""The bundle and verification stages of ``certreg bench scale``, streamed through one file.

Export (:func:`export_bundles`): every anchored certificate of every node becomes its bundle
(:meth:`node.bundler.BundleFactory.iter_bundles`, one page per transaction), written as one line
of compact JSON to a JSON Lines file, with its compact QR form (``CR1:``, :mod:`node.compact`)
computed for its size only. Sizes are counted as the lines go; nothing is kept.

Verification (:func:`verify_bundles`): every line of that file is verified offline
(:func:`node.verify.verify_bundle_text`) against a snapshot file taken after the last
checkpoint, in worker processes that each load the snapshot once and get chunks of lines, at
most two chunks per worker in flight (memory stays flat whatever N is). The workers return only
the count of each result code.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from node.bundler import BundleFactory
from node.compact import encode_compact
from node.snapshot import Snapshot, SnapshotTrustSource
from node.verify import verify_bundle_text

#: Bundle lines per verification task.
VERIFY_CHUNK = 1_000


@dataclasses.dataclass(slots=True)
class SizeFigure:
    """Count, sum and maximum of a size; :meth:`to_json` gives mean and max."""

    count: int = 0
    total: int = 0
    largest: int = 0

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        self.largest = max(self.largest, value)

    def to_json(self) -> dict[str, float | int]:
        mean = self.total / self.count if self.count else 0.0
        return {"mean": round(mean, 1), "max": self.largest}


@dataclasses.dataclass(slots=True)
class BundleFigures:
    """What the export wrote: bundles per province and the size figures."""

    per_province: Counter[str] = dataclasses.field(default_factory=Counter)
    json_bytes: SizeFigure = dataclasses.field(default_factory=SizeFigure)
    compact_chars: SizeFigure = dataclasses.field(default_factory=SizeFigure)
    proof_length: SizeFigure = dataclasses.field(default_factory=SizeFigure)

    @property
    def count(self) -> int:
        return sum(self.per_province.values())

    def sizes(self) -> dict[str, dict[str, float | int]]:
        return {
            "bundle_json_bytes": self.json_bytes.to_json(),
            "bundle_compact_chars": self.compact_chars.to_json(),
            "proof_length": self.proof_length.to_json(),
        }


def export_bundles(factories: Iterable[tuple[str, BundleFactory]], path: Path) -> BundleFigures:
    """Write the bundle of every anchored certificate of each ``(province, factory)`` to
    ``path`` (JSON Lines, compact JSON, UTF-8) and return the counts and sizes. The JSON size is
    of that compact line without its newline (``certreg node export`` indents, ~20 % more)."""
    figures = BundleFigures()
    with path.open("w", encoding="utf-8") as out:
        for province, factory in factories:
            for _record, bundle in factory.iter_bundles():
                text = json.dumps(bundle.to_json(), ensure_ascii=False, separators=(",", ":"))
                out.write(text + "\n")
                figures.per_province[province] += 1
                figures.json_bytes.add(len(text.encode("utf-8")))
                figures.compact_chars.add(len(encode_compact(bundle)))
                figures.proof_length.add(len(bundle.proof.hashes))
    return figures


# ---------------------------------------------------------------------------------------------
# Verification

_TRUST: SnapshotTrustSource | None = None


def _load_snapshot(path: str) -> None:
    """Worker initialiser: read the snapshot once per process."""
    global _TRUST
    with open(path, encoding="ascii") as handle:
        _TRUST = SnapshotTrustSource(Snapshot.from_json(json.load(handle)))


def _verify_lines(lines: list[str], at: int) -> dict[str, int]:
    """Verify each bundle line; return the count of each result code."""
    assert _TRUST is not None, "worker not initialised"
    codes: Counter[str] = Counter()
    for line in lines:
        codes[verify_bundle_text(line, _TRUST, at=at).code.value] += 1
    return dict(codes)


def _chunks(path: Path, size: int) -> Iterator[list[str]]:
    with path.open(encoding="utf-8") as lines:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def verify_bundles(
    bundles: Path, snapshot: Path, *, at: int, workers: int, chunk_size: int = VERIFY_CHUNK
) -> Counter[str]:
    """Verify every line of ``bundles`` against the snapshot file at unix time ``at`` in
    ``workers`` processes (``0``: in this process); return the count of each result code."""
    codes: Counter[str] = Counter()
    if workers <= 0:
        _load_snapshot(str(snapshot))
        for chunk in _chunks(bundles, chunk_size):
            codes.update(_verify_lines(chunk, at))
        return codes
    with concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_load_snapshot,
        initargs=(str(snapshot),),
    ) as pool:
        pending: deque[concurrent.futures.Future[dict[str, int]]] = deque()
        for chunk in _chunks(bundles, chunk_size):
            if len(pending) >= 2 * workers:
                codes.update(pending.popleft().result())
            pending.append(pool.submit(_verify_lines, chunk, at))
        while pending:
            codes.update(pending.popleft().result())
    return codes


def json_figures(codes: Counter[str]) -> dict[str, Any]:
    """Result codes as a plain, sorted dict."""
    return dict(sorted(codes.items()))


__all__ = ["BundleFigures", "SizeFigure", "export_bundles", "json_figures", "verify_bundles"]
