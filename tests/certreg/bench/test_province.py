"""``certreg bench province`` at 2,000 certificates on the run's PostgreSQL: the report has
every key, every certificate is accepted and anchored, the audit is clean, and every figure is
positive (no timing is held against a target); bad sizes and non-PostgreSQL URLs are refused."""

from __future__ import annotations

from typing import Any

import pytest

from certreg.bench.province import KEYS, bench_province
from node.core.errors import InvalidInput
from tests.servers import PostgresAdmin

N = 2_000


@pytest.fixture(scope="module")
def report(postgres: PostgresAdmin) -> dict[str, Any]:
    return bench_province(
        certificates=N,
        database=postgres.create(migrated=False),
        batch_size=400,
        chunk_size=200,
        workers=1,
        fetches=100,
        audit_workers=1,
    )


def test_every_certificate_is_accepted_anchored_and_audited(report: dict[str, Any]) -> None:
    assert set(KEYS) <= set(report)
    assert report["certificates"] == report["accepted"] == N
    assert report["intake"]["refused"] == 0
    assert report["anchored"] == N  # when intake ends; then 20 revocations are anchored
    assert report["checkpoints"] >= N // 400
    audit = report["audit"]  # the certificates and the revocations
    assert audit["clean"], audit["findings"]
    assert audit["entries"] == N + N // 100
    assert report["status_changes"]["revoked"] == N // 100
    assert report["fetch"]["fetches"] == 100
    assert report["intake"]["last_tenth_on_chunk_boundary"]  # row 1,800 = 9 chunks
    assert report["database"]["server"] == "given"


def test_every_figure_is_positive(report: dict[str, Any]) -> None:
    intake, fetch, database = report["intake"], report["fetch"], report["database"]
    figures = [
        intake["certificates_per_s"],
        intake["last_tenth_certificates_per_s"],
        database["bytes_per_certificate"],
        database["added_bytes_per_certificate"],
        fetch["inclusion_proof"]["p50_ms"],
        fetch["inclusion_proof"]["p99_ms"],
        fetch["bundle"]["p50_ms"],
        fetch["bundle"]["p99_ms"],
        report["audit"]["entries_per_s"],
        report["audit"]["peak_rss_mb"],
        report["snapshot"]["seconds"],
        report["snapshot"]["bytes"],
        report["status_changes"]["revocations_per_s"],
    ]
    assert all(isinstance(x, int | float) and x > 0 for x in figures), figures
    assert fetch["inclusion_proof"]["p99_ms"] >= fetch["inclusion_proof"]["p50_ms"]
    assert {"certificates", "log_entries"} <= set(database["tables_bytes_per_certificate"])
    for part in ("intake", "database", "fetch", "status_changes", "snapshot", "audit"):
        assert len(report[part]["load_average"]) == 3


@pytest.mark.parametrize("certificates", [0, 99, 10_000_001, True])
def test_sizes_out_of_range_are_refused(certificates: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        bench_province(certificates=certificates, database="postgresql://nowhere/none")
    assert caught.value.rule == "bench.certificates"


def test_other_databases_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        bench_province(certificates=1_000, database="sqlite:///x.db")
    assert caught.value.rule == "bench.database"
