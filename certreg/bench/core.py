"""Benchmarks that print figures (``certreg bench ...``); never run as timed unit tests."""

from __future__ import annotations

import hashlib
import os
import random
import resource
import time
from collections.abc import Callable

from certreg.dev.sample import make_sample, sample_certificate
from node.core.formats.commitment import salt_certificate
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.merkle import MerkleLog, verify_consistency, verify_inclusion
from node.core.verify import verify_bundle


def _rate(count: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_core(entries: int = 1_000_000) -> dict[str, float | int]:
    """Measure the pure core on this machine and return the figures."""
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(entries)]
    log = MerkleLog()

    def append_all() -> None:
        for leaf in leaves:
            log.append(leaf)

    appends = _rate(entries, append_all)
    size = log.size
    root = log.root()
    rng = random.Random(7)
    samples = 20_000
    indexes = [rng.randrange(size) for _ in range(samples)]
    proofs = [log.inclusion_proof(i, size) for i in indexes]

    def verify_inclusions() -> None:
        for index, proof in zip(indexes, proofs, strict=True):
            verify_inclusion(leaves[index], index, size, proof, root)

    inclusions = _rate(samples, verify_inclusions)
    pairs = []
    for _ in range(5_000):
        size1 = rng.randrange(1, size)
        pairs.append((size1, log.root(size1), log.consistency_proof(size1, size)))

    def verify_consistencies() -> None:
        for size1, root1, proof in pairs:
            verify_consistency(size1, size, proof, root1, root)

    consistencies = _rate(len(pairs), verify_consistencies)

    sample = make_sample(1, "ed25519")
    trust = SnapshotTrustSource(sample.snapshot)
    bundle_json = sample.bundle.to_json()
    bundles = 3_000

    def verify_bundles() -> None:
        for _ in range(bundles):
            result = verify_bundle(bundle_json, trust, at=2_000_000_000)
            if not result.valid:
                raise AssertionError(result.code)

    bundle_rate = _rate(bundles, verify_bundles)
    certificate = sample_certificate(random.Random(3), 1)
    commitments = 20_000

    def commit() -> None:
        for _ in range(commitments):
            salt_certificate(certificate, os.urandom).commitment()

    commitment_rate = _rate(commitments, commit)
    return {
        "log_entries": entries,
        "appends_per_s": round(appends),
        "inclusion_verifications_per_s": round(inclusions),
        "consistency_verifications_per_s": round(consistencies),
        "bundle_verifications_per_s": round(bundle_rate),
        "commitments_per_s": round(commitment_rate),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
