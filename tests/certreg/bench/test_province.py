"""``certreg bench province`` at 2,000 certificates on the run's PostgreSQL: the report has
every key, every certificate is accepted and anchored, the audit is clean, every figure is
positive (no timing is held against a target), the HTTP stage's two API processes answered
every request; bad sizes, revocation counts, HTTP settings and non-PostgreSQL URLs are
refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from certreg.bench.province import KEYS, _parts, _write_submissions, bench_province
from node.core.errors import InvalidInput
from node.core.formats.network import Network
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
        status_changes=30,
        http_processes=2,
        http_rates=(20.0, 40.0),
        http_seconds=2.0,
        http_connections=64,
    )


def test_every_certificate_is_accepted_anchored_and_audited(report: dict[str, Any]) -> None:
    assert set(KEYS) <= set(report)
    assert report["certificates"] == report["accepted"] == N
    assert report["intake"]["refused"] == 0
    assert report["anchored"] == N  # when intake ends; then 20 revocations are anchored
    assert report["checkpoints"] >= N // 400
    audit = report["audit"]  # the certificates and the revocations
    assert audit["clean"], audit["findings"]
    assert audit["entries"] == N + 30
    assert report["status_changes"]["revoked"] == 30
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


def test_http_stage_answers_every_request_from_two_processes(report: dict[str, Any]) -> None:
    http = report["http"]
    assert http["api_processes"] == 2
    assert http["connections"] == 64
    assert http["distinct_certificates"] == 120  # 20/s then 40/s for 2 s, each asked once
    for name in ("inclusion_proof", "bundle"):
        runs = http[name]
        assert [r["offered_rate"] for r in runs] == [20.0, 40.0]
        assert [r["requests"] for r in runs] == [40, 80]
        for figures in runs:
            assert figures["failures"] == 0
            assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
            assert figures["throughput_rps"] > 0
            assert figures["api_cpu_ms_per_request"] > 0
            assert len(figures["load_average"]) == 3


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"status_changes": -1}, "bench.status_changes"),
        ({"status_changes": 1_001}, "bench.status_changes"),
        ({"http_processes": 65}, "bench.http"),
        ({"http_rates": (50.0, 0.0)}, "bench.http"),
        ({"http_rates": ()}, "bench.http"),
        ({"http_seconds": -1.0}, "bench.http"),
        ({"http_connections": 0}, "bench.http"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        bench_province(certificates=1_000, database="postgresql://nowhere/none", **options)
    assert caught.value.rule == rule


@pytest.mark.parametrize("certificates", [0, 99, 10_000_001, True])
def test_sizes_out_of_range_are_refused(certificates: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        bench_province(certificates=certificates, database="postgresql://nowhere/none")
    assert caught.value.rule == "bench.certificates"


def test_other_databases_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        bench_province(certificates=1_000, database="sqlite:///x.db")
    assert caught.value.rule == "bench.database"


def test_the_submission_file_of_two_processes_is_that_of_one(tmp_path: Path) -> None:
    network = Network(1337, b"\x11" * 20)
    received = dt.date(2026, 12, 4)
    paths = {n: tmp_path / f"{n}.jsonl" for n in (1, 2, 3)}
    for processes, path in paths.items():
        _write_submissions(path, network, 700, received, processes)
    one = paths[1].read_bytes()
    assert one.count(b"\n") == 700
    assert paths[2].read_bytes() == one
    assert paths[3].read_bytes() == one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.jsonl", "2.jsonl", "3.jsonl"]


@pytest.mark.parametrize(("count", "processes"), [(100, 1), (100, 2), (10_000_000, 3), (5, 4)])
def test_parts_cover_the_rows_in_order(count: int, processes: int) -> None:
    parts = _parts(count, processes)
    assert len(parts) == processes
    assert [r.start for r in parts[1:]] == [r.stop for r in parts[:-1]]
    assert (parts[0].start, parts[-1].stop) == (0, count)
    if count >= 100 and processes > 1:  # later parts are shorter: they skip the rows before
        assert len(parts[0]) > len(parts[-1])


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        (["--status-changes", "5000"], "bench.status_changes"),
        (["--http-rate", "100", "--http-rate", "0"], "bench.http"),
        (["--http-processes", "65"], "bench.http"),
        (["--http-connections", "0"], "bench.http"),
    ],
)
def test_the_command_line_passes_the_options(
    options: list[str], rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from certreg.cli import main

    argv = ["bench", "province", "--certificates", "1000", "--database", "postgresql://x/none"]
    assert main([*argv, *options]) == 2
    assert f"[{rule}]" in capsys.readouterr().err
