"""The bundle and verification stages of ``certreg bench scale``, streamed through files.

Export (:func:`export_all`): every anchored certificate of every node becomes its bundle
(:meth:`node.services.bundler.BundleFactory.iter_bundles`, one page per transaction), written as one
line of compact JSON to the province's JSON Lines file (provinces in parallel worker processes,
as on their own machines), with its compact QR form (``CR1:``, :mod:`node.core.formats.compact`)
computed for its size only. Sizes are counted as the lines go; nothing is kept.

Verification (:func:`verify_bundles`): every line of those files is verified offline
(:func:`node.core.verify.verify_bundle_text`) against a snapshot file taken after the last
checkpoint, in worker processes that each load the snapshot once and get chunks of lines, at
most two chunks per worker in flight (memory stays flat whatever N is). The workers return only
the count of each result code.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import Network, Snapshot, SnapshotTrustSource
from node.core.verify import verify_bundle_text
from node.services.bundler import BundleFactory
from node.storage import open_database

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

    def merge(self, other: SizeFigure) -> None:
        self.count += other.count
        self.total += other.total
        self.largest = max(self.largest, other.largest)

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

    def merge(self, other: BundleFigures) -> None:
        self.per_province.update(other.per_province)
        self.json_bytes.merge(other.json_bytes)
        self.compact_chars.merge(other.compact_chars)
        self.proof_length.merge(other.proof_length)

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


def node_keys(province: str) -> tuple[PersonalDataCipher, BlindIndex]:
    """The benchmark node's data keys, derived from the province code (benchmark keys, never
    used elsewhere), so a worker process can open the same node's store."""
    secret = hashlib.sha256(f"certreg bench scale|{province}".encode()).digest()
    cipher = PersonalDataCipher({"k1": hashlib.sha256(secret + b"cipher").digest()}, "k1")
    return cipher, BlindIndex(hashlib.sha256(secret + b"index").digest())


@dataclasses.dataclass(frozen=True, slots=True)
class ExportJob:
    """One province's export: its database, the network, and the bundle file to write."""

    province: str
    database_url: str
    chain_id: int
    contract: bytes
    path: Path


def export_province(job: ExportJob) -> BundleFigures:
    """Open ``job``'s node store (no chain needed) and export its bundles to ``job.path``."""
    cipher, index = node_keys(job.province)
    db = open_database(job.database_url)
    try:
        factory = BundleFactory(
            db, job.province, Network(job.chain_id, job.contract), cipher, index
        )
        return export_bundles([(job.province, factory)], job.path)
    finally:
        db.dispose()


def export_all(jobs: Sequence[ExportJob], *, workers: int) -> BundleFigures:
    """Export every province, ``workers`` provinces at a time in worker processes (the
    provinces' nodes are independent, as on their own machines); ``0``: in this process."""
    figures = BundleFigures()
    if workers <= 0:
        for job in jobs:
            figures.merge(export_province(job))
        return figures
    with concurrent.futures.ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        for done in pool.map(export_province, jobs):
            figures.merge(done)
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


def _chunks(paths: Sequence[Path], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                chunk.append(line)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def verify_bundles(
    bundles: Sequence[Path],
    snapshot: Path,
    *,
    at: int,
    workers: int,
    chunk_size: int = VERIFY_CHUNK,
) -> Counter[str]:
    """Verify every line of the ``bundles`` files against the snapshot file at unix time ``at`` in
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


__all__ = [
    "BundleFigures",
    "ExportJob",
    "SizeFigure",
    "export_all",
    "export_bundles",
    "export_province",
    "node_keys",
    "verify_bundles",
]
