"""``certreg bench province``: a province node on PostgreSQL, from intake to anchored and after.

Set-up (not timed): a PostgreSQL server started here (:mod:`certreg.dev.postgres`, fsync on,
stopped by PID at the end) unless ``database`` names one (it must be empty: the run files its
organisation and migrates it); the in-process EVM (eth-tester / py-evm) with the contract; a
node with a local manifest store (content-addressed files, as IPFS would keep them); the
synthetic data set's organisations (:mod:`certreg.dev.dataset`, 3 + one per million
certificates) filed on the node and the contract, and a JSON Lines file of its ``certificates``
signed certificates (ed25519, issue dates over six months, ~2 % late with a reason).

Timed, each apart:

- ``intake``: ``certreg node ingest --workers N``'s path (every intake rule, the signature
  check, encrypted storage, log append; :meth:`IntakeService.iter_per_row`) with a checkpoint
  anchored by the real anchoring worker every ``batch_size`` rows and the rest at the end, so
  every certificate is anchored when the clock stops: the rate over the whole run and over its
  last tenth (the database at its largest);
- ``database``: ``pg_database_size`` and ``pg_total_relation_size`` of each table, per
  certificate;
- ``fetch``: ``fetches`` inclusion proofs and JSON bundles of certificates spread over the log,
  made in this process as the API makes them on a cache miss (``/v1/proofs/inclusion``:
  :class:`ProvinceLog`'s proof and root at the anchored size; ``/v1/certificates/…/bundle``:
  :meth:`BundleFactory.bundle` and its JSON), p50 and p99 in milliseconds; no HTTP;
- ``http``: the same two reads over HTTP on loopback from ``http_processes`` API processes
  forked from this one over one listening socket (as ``certreg serve --workers N`` forks them:
  each its own database connections and caches over the one node; each has a copy of the
  in-process chain, enough for reads), driven by the open-loop generator of
  :mod:`certreg.bench.load` at each of ``http_rates`` requests per second in turn (one run
  each, ``http_seconds`` long) over ``http_connections`` keep-alive connections, every timed
  request for a certificate not asked before (spread over the log: the API's caches miss);
  per run p50, p99, throughput, failures, the API processes' CPU per request and the load (an
  open loop past the server's capacity shows queueing, not service time: hence several rates);
- ``status_changes``: ``status_changes`` certificates spread over the log (default 1 %, at
  most :data:`MAX_DEFAULT_STATUS_CHANGES`) revoked one call (one transaction) at a time
  through :class:`LifecycleService`, then anchored and written to the contract;
- ``snapshot``: :func:`take_snapshot` of the chain and its file, seconds and bytes;
- ``audit``: the auditor replays the chain from genesis with every manifest; entries per second
  and the peak memory of this process plus its worker processes (sampled every 20 ms).

Every figure comes with the machine's 1/5/15-minute load when it was taken.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot, write_snapshot
from audit.auditor import AuditOptions, audit
from certreg.bench.audit import _RssSampler
from certreg.dev.dataset import synthetic_organisations, synthetic_submissions
from certreg.dev.postgres import find_bindir, start_postgres
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput
from node.core.formats.network import Network
from node.core.formats.submissions import read_submission
from node.core.time import china_date_of_unix
from node.storage import CheckpointRepository, ProvinceLog, open_database
from province.calendars import provisional_calendar
from province.node import ProvinceNode

ACTOR = "bench:province"
#: The largest run (the organisations grow with it: serials stay far from running out).
MAX_CERTIFICATES = 10_000_000
#: The default number of revocations: 1 % of the certificates, at most this many (10^4: about
#: three minutes with their anchoring; 1 % of 10^7 would take half an hour).
MAX_DEFAULT_STATUS_CHANGES = 10_000
#: The fewest rows a process of the set-up's submission file writes (:func:`_write_submissions`).
FILE_ROWS_PER_PROCESS = 200_000
#: Misconduct (a 1xx reason): the revocations of the ``status_changes`` stage.
REVOKE_REASON = 101
DATABASE = "certreg_bench"
PROVINCE = "44"
SEED = 1
#: The report's top-level keys (the smoke test checks them).
KEYS = (
    "certificates",
    "accepted",
    "anchored",
    "checkpoints",
    "intake",
    "database",
    "fetch",
    "http",
    "status_changes",
    "snapshot",
    "audit",
    "setup",
)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _ms_percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
    }


@contextlib.contextmanager
def _database(url: str | None) -> Iterator[tuple[str, str]]:
    """The database URL and where it came from: ``url``, or a fresh database on a server
    started here (durable: fsync on) and stopped by PID on the way out."""
    if url is not None:
        yield url, "given"
        return
    bindir = find_bindir()
    if bindir is None:
        raise InvalidInput(
            "database",
            "bench.database",
            "no PostgreSQL binaries (initdb, pg_ctl) found: install PostgreSQL or give --database",
        )
    server = start_postgres(bindir, durable=True)
    try:
        with psycopg.connect(
            host="127.0.0.1", port=server.port, user=server.user, dbname="postgres",
            autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield server.url(DATABASE), "started"
    finally:
        server.stop()


def bench_province(
    *,
    certificates: int,
    database: str | None = None,
    batch_size: int = 10_000,
    chunk_size: int = 5_000,
    workers: int | None = None,
    fetches: int = 2_000,
    audit_workers: int | None = None,
    status_changes: int | None = None,
    http_processes: int = 2,
    http_rates: Sequence[float] = (50.0, 100.0, 200.0),
    http_seconds: float = 10.0,
    http_connections: int = 64,
) -> dict[str, Any]:
    """Run the benchmark; return the figures (see the module docstring). ``status_changes``:
    revocations (default 1 % of ``certificates``, at most :data:`MAX_DEFAULT_STATUS_CHANGES`);
    ``http_processes``: API processes of the ``http`` stage (0: no such stage).

    Raises:
        InvalidInput: ``certificates`` / ``bench.certificates`` (not 100 to 10^7),
            ``status_changes`` / ``bench.status_changes`` (not 0 to ``certificates``),
            ``http_processes`` / ``bench.http`` (not 0 to 64, or the rate, seconds or
            connections not positive), ``database`` / ``bench.database`` (not PostgreSQL, or
            no server to start).
        ChainError, ManifestStoreError, StorageError: a part failed.
    """
    if isinstance(certificates, bool) or not 100 <= certificates <= MAX_CERTIFICATES:
        raise InvalidInput(
            "certificates", "bench.certificates", f"must be 100 to {MAX_CERTIFICATES:,}"
        )
    if status_changes is None:
        status_changes = min(certificates // 100, MAX_DEFAULT_STATUS_CHANGES)
    if isinstance(status_changes, bool) or not 0 <= status_changes <= certificates:
        raise InvalidInput(
            "status_changes", "bench.status_changes", "must be 0 to the number of certificates"
        )
    if (
        not 0 <= http_processes <= 64
        or not http_rates
        or not all(rate > 0 for rate in http_rates)
        or not http_seconds > 0
        or not 1 <= http_connections <= 1024
    ):
        raise InvalidInput(
            "http_processes",
            "bench.http",
            "API processes 0 to 64, a positive rate and duration, 1 to 1024 connections",
        )
    if database is not None and not make_url(database).drivername.startswith("postgresql"):
        raise InvalidInput("database", "bench.database", "must be a postgresql:// URL")
    cores = os.cpu_count() or 1
    workers = cores if workers is None else workers
    audit_workers = cores if audit_workers is None else audit_workers
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="certreg-bench-province-") as tmp,
        _database(database) as (url, origin),
    ):
        report = _run(
            Path(tmp),
            url,
            certificates=certificates,
            batch_size=batch_size,
            chunk_size=chunk_size,
            workers=workers,
            fetches=fetches,
            audit_workers=audit_workers,
            status_changes=status_changes,
            http=_HttpOptions(http_processes, tuple(http_rates), http_seconds, http_connections),
        )
    report["database"]["server"] = origin
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average"] = _load()
    return report


def _run(
    folder: Path,
    url: str,
    *,
    certificates: int,
    batch_size: int,
    chunk_size: int,
    workers: int,
    fetches: int,
    audit_workers: int,
    status_changes: int,
    http: _HttpOptions,
) -> dict[str, Any]:
    setup_started = time.perf_counter()
    w3 = connect("memory")
    client, _ = RegistryClient.deploy(w3, [(int(PROVINCE), w3.eth.accounts[0])])
    received = china_date_of_unix(int(w3.eth.get_block("latest")["timestamp"]))
    # Synthetic data received today: years chinese-calendar does not cover yet count
    # Monday-Friday (province/calendars.py), for the node and the auditor alike.
    calendar = provisional_calendar(received)
    db = open_database(url)
    store = LocalManifestStore(folder / "manifests")
    node = ProvinceNode(
        province=PROVINCE,
        db=db,
        client=client,
        store=store,
        cipher=PersonalDataCipher({"k1": b"\x01" * 32}, "k1"),
        blind_index=BlindIndex(b"\x02" * 32),
        batch_size=batch_size,
        max_age_seconds=1e9,
        calendar=calendar,
    )
    # The synthetic data set (certreg/dev/dataset.py): organisations filed on the node and the
    # contract, signed certificates over six months of issue dates, ~2 % late with a reason.
    organisations = synthetic_organisations(PROVINCE, 3 + certificates // 1_000_000, seed=SEED)
    for org in organisations:
        node.organisations.file(org.filing, actor=ACTOR)
    empty_bytes = _database_bytes(node)
    submission = folder / "submission.jsonl"
    file_started = time.perf_counter()
    # A process per intake worker, each with at least FILE_ROWS_PER_PROCESS rows (starting
    # one costs seconds of imports: a small file is faster in one).
    writers = max(1, min(workers, certificates // FILE_ROWS_PER_PROCESS))
    _write_submissions(submission, node.network, certificates, received, writers)
    setup = {
        "seconds": round(time.perf_counter() - setup_started, 1),
        "submission_file_seconds": round(time.perf_counter() - file_started, 1),
        "submission_file_processes": writers,
        "load_average": _load(),
    }
    try:
        samples = _Samples(certificates, fetches, http.sample_size, status_changes)
        intake = _intake(
            node, submission, received, certificates, batch_size, chunk_size, workers, samples
        )
        submission.unlink()
        status = node.status()
        report: dict[str, Any] = {
            "certificates": certificates,
            "accepted": intake.pop("accepted"),
            "anchored": status.anchored_size,
            "checkpoints": status.checkpoints,
            "chain": "in-process EVM (eth-tester / py-evm)",
            "manifests": "local content-addressed store (no IPFS daemon)",
            "suite": "ed25519",
            "intake": intake,
            "database": _sizes(node, certificates, empty_bytes),
            "fetch": _fetch(node, samples.fetch),
            "http": _http(node, samples.http, http),
            "status_changes": _revoke(node, samples.revoke),
            "setup": setup,
        }
        report["snapshot"] = _snapshot(client, folder)
        report["audit"] = _audit(client, store, calendar, audit_workers)
    finally:
        node.close()
    return report


class _HttpOptions(NamedTuple):
    processes: int
    rates: tuple[float, ...]
    seconds: float
    connections: int

    @property
    def sample_size(self) -> int:
        """Distinct certificates wanted: one per timed request, one per connection's warm-up."""
        if self.processes == 0:
            return 0
        return sum(int(rate * self.seconds) for rate in self.rates) + self.connections


class _Samples:
    """Commitments picked during intake, each kind spread evenly over the log."""

    def __init__(self, certificates: int, fetches: int, http: int, revocations: int) -> None:
        self.wanted = {"fetch": fetches, "http": http, "revoke": revocations}
        self.every = {k: max(1, certificates // n) for k, n in self.wanted.items() if n > 0}
        self.fetch: list[bytes] = []
        self.http: list[bytes] = []
        self.revoke: list[bytes] = []

    def see(self, seen: int, commitment: bytes) -> None:
        for kind, every in self.every.items():
            if seen % every == 0:
                picked: list[bytes] = getattr(self, kind)
                if len(picked) < self.wanted[kind]:
                    picked.append(commitment)


#: CPU of a row drawn but not made (neither salted nor signed) against one made: what each
#: process of :func:`_write_submissions` spends on the rows before its part (measured: ~0.12).
_SKIPPED_ROW_COST = 0.12


def _parts(count: int, processes: int) -> list[range]:
    """``count`` rows in ``processes`` consecutive parts of about equal cost: a part starting
    at row s costs ``_SKIPPED_ROW_COST * s`` for the rows it skips plus its own length."""
    lengths: list[int] = []
    start = 0
    # Equal cost T: length_k = T - r * start_k; T found by halving.
    low, high = 0.0, float(count)
    for _ in range(60):
        cost = (low + high) / 2
        start = 0
        for _ in range(processes):
            start += max(0, int(cost - _SKIPPED_ROW_COST * start))
        low, high = (cost, high) if start < count else (low, cost)
    start = 0
    for k in range(processes):
        length = max(0, int(high - _SKIPPED_ROW_COST * start))
        length = count - start if k == processes - 1 else min(length, count - start)
        lengths.append(length)
        start += length
    parts, start = [], 0
    for length in lengths:
        parts.append(range(start, start + length))
        start += length
    return parts


def _write_part(
    path: Path, network: Network, certificates: int, received: dt.date, rows: range
) -> None:
    """One process's part of the submission file (the organisations and the calendar are made
    again here, exactly as in :func:`_run`)."""
    organisations = synthetic_organisations(PROVINCE, 3 + certificates // 1_000_000, seed=SEED)
    with path.open("w", encoding="utf-8") as out:
        for row in synthetic_submissions(
            organisations,
            network,
            certificates,
            seed=SEED,
            received_on=received,
            calendar=provisional_calendar(received),
            rows=rows,
        ):
            out.write(row.line)


def _write_submissions(
    path: Path, network: Network, certificates: int, received: dt.date, processes: int
) -> None:
    """The signed submission file, made by ``processes`` processes (at least one), each a
    consecutive part of the rows (:func:`_parts`), joined in order."""
    parts = _parts(certificates, max(1, processes))
    if len(parts) == 1:
        _write_part(path, network, certificates, received, parts[0])
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    files = [path.with_name(f"{path.name}.{k}") for k in range(len(parts))]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(parts), mp_context=context) as pool:
        futures = [
            pool.submit(_write_part, file, network, certificates, received, rows)
            for file, rows in zip(files, parts, strict=True)
        ]
        for future in futures:
            future.result()
    files[0].rename(path)
    with path.open("r+b") as out:  # not "ab": copy_file_range refuses O_APPEND
        out.seek(0, os.SEEK_END)
        for file in files[1:]:
            with file.open("rb") as part:
                size = os.fstat(part.fileno()).st_size
                copied = 0
                while copied < size:
                    copied += os.copy_file_range(part.fileno(), out.fileno(), size - copied)
            file.unlink()


def _intake(
    node: ProvinceNode,
    submission: Path,
    received: dt.date,
    certificates: int,
    batch_size: int,
    chunk_size: int,
    workers: int,
    samples: _Samples,
) -> dict[str, Any]:
    """Intake and anchoring, timed: the figures; ``samples`` picks its commitments."""
    accepted = refused = 0
    last_tenth_from = certificates - certificates // 10
    cpu_start = time.process_time()
    start = last_tenth_start = time.perf_counter()
    with submission.open("rb") as stream:
        outcomes = node.intake.iter_per_row(
            read_submission(stream, "jsonl"),
            received_on=received,
            actor=ACTOR,
            chunk_size=chunk_size,
            workers=workers,
        )
        for seen, outcome in enumerate(outcomes, 1):
            if outcome.accepted is not None:
                accepted += 1
                samples.see(seen, outcome.accepted.commitment)
            else:
                refused += 1
            if seen % batch_size == 0:
                # Between chunks (outcomes come after their chunk commits): anchor.
                node.anchor_once()
            if seen == last_tenth_from:
                last_tenth_start = time.perf_counter()
    node.anchor_all()
    end = time.perf_counter()
    elapsed, last_tenth = end - start, end - last_tenth_start
    return {
        "accepted": accepted,
        "refused": refused,
        "seconds": round(elapsed, 2),
        "certificates_per_s": round(accepted / elapsed, 1),
        "last_tenth_certificates": certificates // 10,
        "last_tenth_seconds": round(last_tenth, 2),
        "last_tenth_certificates_per_s": round((certificates // 10) / last_tenth, 1),
        # Outcomes come a chunk at a time, after its commit: the last tenth is timed
        # exactly when it starts on a chunk boundary (else it misses part of its chunk).
        "last_tenth_on_chunk_boundary": last_tenth_from % chunk_size == 0,
        "main_cpu_us_per_certificate": round(
            (time.process_time() - cpu_start) / max(1, accepted) * 1e6, 1
        ),
        "workers": workers,
        "batch_size": batch_size,
        "chunk_size": chunk_size,
        "load_average": _load(),
    }


def _database_bytes(node: ProvinceNode) -> int:
    with node.db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def _sizes(node: ProvinceNode, certificates: int, empty_bytes: int) -> dict[str, Any]:
    """The database's bytes, whole and per table, per certificate; ``empty_bytes``: its size
    before intake (migrated, organisations filed), which small runs would otherwise spread
    over few certificates."""
    total = _database_bytes(node)
    with node.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
                "ORDER BY 2 DESC"
            )
        ).all()
    return {
        "engine": "postgresql",
        "bytes": total,
        "bytes_per_certificate": round(total / certificates, 1),
        "bytes_before_intake": empty_bytes,
        "added_bytes_per_certificate": round((total - empty_bytes) / certificates, 1),
        "tables_bytes_per_certificate": {
            str(name): round(int(size) / certificates, 1) for name, size in rows if int(size)
        },
        "load_average": _load(),
    }


def _fetch(node: ProvinceNode, commitments: list[bytes]) -> dict[str, Any]:
    """Inclusion proofs and JSON bundles of ``commitments``, each timed on its own."""
    from api.reads import json_body, render_bundle

    proofs: list[float] = []
    bundles: list[float] = []
    proof_bytes = bundle_bytes = 0
    for commitment in commitments:
        t0 = time.perf_counter()
        with node.db.transaction() as session:
            log = ProvinceLog(session, node.province)
            confirmed = CheckpointRepository(session, node.province).latest("confirmed")
            assert confirmed is not None  # every certificate was anchored
            size = confirmed.tree_size
            leaf = log.indexes_of(commitment)[0]
            body = json_body(
                {
                    "leaf_index": leaf,
                    "tree_size": size,
                    "leaf_hash": log.entry(leaf).leaf_hash.hex(),
                    "root": log.merkle.root(size).hex(),
                    "hashes": [h.hex() for h in log.merkle.inclusion_proof(leaf, size)],
                }
            )
        t1 = time.perf_counter()
        rendered = render_bundle(node.bundles.bundle(commitment), "json")
        t2 = time.perf_counter()
        proofs.append(t1 - t0)
        bundles.append(t2 - t1)
        proof_bytes += len(body)
        bundle_bytes += len(rendered)
    count = len(commitments)
    return {
        "where": "in-process (the API's cache-miss path, no HTTP)",
        "fetches": count,
        "inclusion_proof": {
            **_ms_percentiles(proofs),
            "mean_bytes": round(proof_bytes / count, 1),
        },
        "bundle": {**_ms_percentiles(bundles), "mean_bytes": round(bundle_bytes / count, 1)},
        "load_average": _load(),
    }


def _http(node: ProvinceNode, commitments: list[bytes], options: _HttpOptions) -> dict[str, Any]:
    """Proofs, then bundles, over HTTP from ``options.processes`` forked API processes."""
    if options.processes == 0:
        return {"skipped": "no API processes (--http-processes 0)"}
    if len(commitments) <= options.connections:
        return {"skipped": "too few certificates for the connections' warm-up"}
    import asyncio

    from api.app import create_app
    from api.auth import create_api_key
    from api.context import ApiSettings
    from certreg.bench.load import drive, fork_servers, http_get, stop_servers, tree_cpu_seconds
    from certreg.bench.load import wait_ready as wait_api

    key = create_api_key(node.db, "operator", PROVINCE, label="bench province")
    auth = f"Bearer {key}"
    warm, timed = commitments[: options.connections], commitments[options.connections :]

    def proof(c: bytes) -> bytes:
        return http_get("/v1/proofs/inclusion", {"commitment": c.hex()})

    def bundle(c: bytes) -> bytes:
        return http_get(f"/v1/certificates/{c.hex()}/bundle", authorization=auth)

    proofs, warm_proofs = [proof(c) for c in timed], [proof(c) for c in warm]
    bundles, warm_bundles = [bundle(c) for c in timed], [bundle(c) for c in warm]

    def make_app() -> Any:
        node.db.engine.dispose(close=False)  # this process's own connections
        return create_app(node, ApiSettings())

    figures: dict[str, Any] = {
        "where": "HTTP on loopback, API processes forked from the benchmark over one socket",
        "api_processes": options.processes,
        "connections": options.connections,
        "offered_rates": list(options.rates),
        "seconds": options.seconds,
        "distinct_certificates": len(timed),
        "generator": "open loop (certreg/bench/load.py), in the benchmark's process",
    }
    port, pids = fork_servers(make_app, options.processes)
    try:
        wait_api(port, pids)
        for name, requests, warmup in (
            ("inclusion_proof", proofs, warm_proofs),
            ("bundle", bundles, warm_bundles),
        ):
            runs: list[dict[str, Any]] = []
            offset = 0
            for rate in options.rates:
                count = int(rate * options.seconds)
                load_before = _load()
                cpu_before = tree_cpu_seconds(*pids)
                result = asyncio.run(
                    drive(
                        port,
                        requests[offset : offset + count],
                        rate,
                        options.seconds,
                        options.connections,
                        warmup=warmup,
                    )
                )
                offset += count
                served = result["requests"] + options.connections
                result["api_cpu_ms_per_request"] = round(
                    1000 * (tree_cpu_seconds(*pids) - cpu_before) / served, 3
                )
                result["load_average_before"] = load_before
                result["load_average"] = _load()
                runs.append(result)
            figures[name] = runs
    finally:
        stop_servers(pids)
    return figures


def _revoke(node: ProvinceNode, commitments: list[bytes]) -> dict[str, Any]:
    """Revoke ``commitments``, then anchor them and write them to the contract."""
    if not commitments:
        return {"revoked": 0, "load_average": _load()}
    start = time.perf_counter()
    for commitment in commitments:
        node.lifecycle.revoke(commitment, reason=REVOKE_REASON, actor=ACTOR)
    revoked = time.perf_counter()
    node.anchor_all()
    end = time.perf_counter()
    return {
        "revoked": len(commitments),
        "revoke_seconds": round(revoked - start, 2),
        "revocations_per_s": round(len(commitments) / (revoked - start), 1),
        "anchor_and_sync_seconds": round(end - revoked, 2),
        "load_average": _load(),
    }


def _snapshot(client: RegistryClient, folder: Path) -> dict[str, Any]:
    path = folder / "snapshot.json"
    start = time.perf_counter()
    snapshot = take_snapshot(client)
    write_snapshot(snapshot, path)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "bytes": path.stat().st_size, "load_average": _load()}


def _audit(
    client: RegistryClient, store: LocalManifestStore, calendar: Any, workers: int
) -> dict[str, Any]:
    sampler = _RssSampler()
    sampler.start()
    start = time.perf_counter()
    report = audit(client, store, AuditOptions(workers=workers, calendar=calendar))
    seconds = time.perf_counter() - start
    sampler.stop()
    entries = report.counts["entries"]
    return {
        "clean": report.clean,
        "findings": dict(report.finding_counts),
        "entries": entries,
        "checkpoints": report.counts["checkpoints"],
        "seconds": round(seconds, 2),
        "entries_per_s": round(entries / seconds, 1),
        "peak_rss_mb": round(sampler.peak_mb, 1),
        "peak_rss_main_mb": round(sampler.peak_self_mb, 1),
        "workers": workers,
        "load_average": _load(),
    }


__all__ = ["KEYS", "bench_province"]
