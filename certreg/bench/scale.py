"""``certreg bench scale``: N certificates through the whole consortium, stage by stage, and a
peer doing the same job (method and figures in docs/SCALE.md).

One run, in a temporary folder that is removed at the end:

- set-up (not a stage): an anvil chain with the contract and the three founders 44, 41, 43
  (:mod:`certreg.bench.scale_chain`, which says why anvil), one :class:`ProvinceNode` per province
  with its own SQLite database and keys, one manifest store they share (content-addressed, as
  IPFS would be);
- ``generation``: the issuers' side, the synthetic data set's N signed certificates
  (:mod:`certreg.dev.dataset`: organisations of both classes, Chinese names, valid ID
  numbers, issue dates over six months across holidays, ~2 % late with a reason), written as
  one JSON Lines file per province (:mod:`certreg.bench.scale_input`); timed, but not the
  registry's work;
- ``filing``: each node files its organisations (database and contract, scope document
  published);
- ``intake``: each node ingests its file (every intake rule, signature check, encrypted record,
  log append; :meth:`IntakeService.iter_per_row`), streamed a chunk at a time;
- ``anchoring``: every ``batch_size`` rows, and once at the end, the node anchors a checkpoint
  (manifest + contract); timed apart from intake although it runs between its chunks;
- ``snapshot``: a snapshot of the chain after the last checkpoint, written to a file;
- ``bundles``: every anchored certificate's bundle from every node, to one JSON Lines file,
  sizes of the JSON and compact forms (:mod:`certreg.bench.scale_bundles`);
- ``verification``: every bundle verified offline against the snapshot, in worker processes;
- ``audit``: the auditor replays the chain from genesis with every manifest.

Then the peer (:mod:`certreg.bench.scale_peer`): OpenAttestation's wrap and sign of the same
certificates, and our comparable work on the same documents.

Each stage reports wall seconds, CPU seconds (this process plus its finished child processes;
anvil's CPU is reported apart), certificates per second and the load average at its end: on a
shared machine the wall figures follow the load, the CPU figures much less.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from anchor.chain import ClientOptions, RegistryClient
from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot, write_snapshot
from audit.auditor import AuditOptions, audit
from certreg.bench.scale_bundles import ExportJob, export_all, node_keys, verify_bundles
from certreg.bench.scale_chain import (
    FOUNDERS,
    Consortium,
    consortium,
    gas_by_function,
    process_cpu_seconds,
    process_peak_rss_mb,
)
from certreg.bench.scale_input import write_inputs
from certreg.bench.scale_peer import PEER_NAME, comparable_ours, peer_version, run_peer
from certreg.dev.dataset import (
    SyntheticOrganisation,
    synthetic_organisations,
    synthetic_submissions,
)
from node.core.errors import InvalidInput
from node.core.formats.snapshot import Network
from node.core.formats.submissions import read_submission
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import china_date_of_unix
from node.storage import open_database
from province.calendars import provisional_calendar
from province.node import ProvinceNode

#: The stages, in order (see the module docstring).
STAGES = (
    "generation",
    "filing",
    "intake",
    "anchoring",
    "snapshot",
    "bundles",
    "verification",
    "audit",
)
#: Stages whose rate is certificates per second.
RATED = ("generation", "intake", "anchoring", "bundles", "verification", "audit")
#: The registry's own job for issued certificates: end to end.
END_TO_END = ("intake", "anchoring", "bundles")
ACTOR = "bench:scale"
#: The largest run: three provinces' organisations run out of serials long after this.
MAX_CERTIFICATES = 10_000_000


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished (waited-for) child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


@dataclasses.dataclass(slots=True)
class StageClock:
    """Wall and CPU seconds per stage; a stage may be entered several times (anchoring runs
    between intake chunks) and its times add up."""

    seconds: defaultdict[str, float] = dataclasses.field(default_factory=lambda: defaultdict(float))
    cpu: defaultdict[str, float] = dataclasses.field(default_factory=lambda: defaultdict(float))
    load: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    rss: dict[str, float] = dataclasses.field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - wall
            self.cpu[name] += _cpu_seconds() - cpu
            self.load[name] = [round(x, 2) for x in os.getloadavg()]
            self.rss[name] = round(_peak_rss_mb(), 1)

    def figures(self, certificates: int) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in STAGES:
            seconds = self.seconds[name]
            figure: dict[str, Any] = {
                "seconds": round(seconds, 3),
                "cpu_seconds": round(self.cpu[name], 3),
                "certificates_per_s": round(certificates / seconds, 1)
                if name in RATED and seconds
                else None,
                "load_average": self.load.get(name),
                "peak_rss_mb_after": self.rss.get(name),
            }
            out[name] = figure
        return out


def _node(
    province: str,
    folder: Path,
    chain: Consortium,
    store: LocalManifestStore,
    batch: int,
    calendar: WorkdayCalendar,
) -> ProvinceNode:
    """Province ``province``'s node: its own SQLite database and data keys (derived from the
    province code: benchmark keys, never used elsewhere), its operator's chain client."""
    cipher, blind_index = node_keys(province)
    (folder / province).mkdir()
    return ProvinceNode(
        province=province,
        db=open_database(f"sqlite:///{folder / province / 'node.db'}"),
        client=chain.operator_client(province),
        store=store,
        cipher=cipher,
        blind_index=blind_index,
        batch_size=batch,
        max_age_seconds=1e9,
        calendar=calendar,
    )


def _chain_day(client: RegistryClient) -> dt.date:
    """Today on the chain in China Standard Time: the day every certificate is received."""
    stamp = int(client.w3.eth.get_block("latest")["timestamp"])
    return china_date_of_unix(stamp)


def _ingest(
    node: ProvinceNode,
    path: Path,
    clock: StageClock,
    *,
    received_on: dt.date,
    batch_size: int,
    chunk_size: int,
    workers: int,
) -> Counter[str]:
    """Stream ``path`` through ``node``'s intake, anchoring every ``batch_size`` rows and once
    at the end; return accepted rows and refusals by rule."""
    counts: Counter[str] = Counter()
    anchoring = clock.seconds["anchoring"], clock.cpu["anchoring"]
    with clock.stage("intake"), path.open("rb") as stream:
        outcomes = node.intake.iter_per_row(
            read_submission(stream, "jsonl"),
            received_on=received_on,
            actor=ACTOR,
            chunk_size=chunk_size,
            workers=workers,
        )
        for seen, outcome in enumerate(outcomes, 1):
            counts["accepted" if outcome.ok else f"refused:{_rule(outcome.error)}"] += 1
            if seen % batch_size == 0:
                # Between chunks (a chunk's outcomes come after it commits): anchor.
                with clock.stage("anchoring"):
                    node.anchor_once()
    # The intake clock ran through the anchoring in between: take that out again.
    clock.seconds["intake"] -= clock.seconds["anchoring"] - anchoring[0]
    clock.cpu["intake"] -= clock.cpu["anchoring"] - anchoring[1]
    with clock.stage("anchoring"):
        node.anchor_all()
    return counts


def _rule(error: Any) -> str:
    return "unknown" if error is None else f"{error.field}/{error.rule}"


@dataclasses.dataclass(frozen=True, slots=True)
class ScaleOptions:
    """Knobs of :func:`bench_scale` (defaults are the documented run's)."""

    organisations_per_province: int = 3
    batch_size: int = 10_000
    chunk_size: int = 5_000
    #: As ``certreg bench node``: a worker per core parses, checks and seals while the writer
    #: writes (docs/NODE-BENCH.md).
    intake_workers: int = max(1, os.cpu_count() or 1)
    #: One process per province: three jobs on two workers would leave one core idle for the
    #: last third of the stage.
    bundle_workers: int = len(FOUNDERS)
    verify_workers: int = max(1, os.cpu_count() or 1)
    audit_workers: int = max(1, os.cpu_count() or 1)
    peer_documents: int | None = 100_000
    seed: int = 1
    rpc: str | None = None


def bench_scale(
    certificates: int, *, peer: bool = True, options: ScaleOptions | None = None
) -> dict[str, Any]:
    """Run N = ``certificates`` through every stage on a fresh consortium and return the
    figures as one JSON object (see the module docstring and docs/SCALE.md); with ``peer``,
    also run the peer on ``options.peer_documents`` of the same certificates (all N when
    None) and our comparable work on them.

    Raises:
        InvalidInput: ``certificates`` / ``bench.certificates`` (not 1 to 10^7),
            ``organisations_per_province`` / ``bench.organisations`` (not 1 to 999),
            ``batch_size`` / ``bench.batch_size`` (< 1).
        ChainError, ManifestStoreError, StorageError: a part failed.
    """
    opts = options or ScaleOptions()
    _check(certificates, opts)
    clock = StageClock()
    with tempfile.TemporaryDirectory(prefix="certreg-bench-scale-") as tmp:
        folder = Path(tmp)
        with consortium(opts.rpc) as chain:
            run = _run_consortium(certificates, chain, folder, clock, opts)
        if peer:
            run["peer"] = _peer(folder, run.pop("_organisations"), run.pop("_network"), opts)
        else:
            run.pop("_organisations"), run.pop("_network")
            run["peer"] = {"name": PEER_NAME, "unavailable": "not run (peer=False)"}
    run["stages"] = clock.figures(certificates)
    run["end_to_end"] = _end_to_end(clock, certificates)
    _end_to_end_ratio(run["peer"], run["end_to_end"], certificates)
    run["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    run["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return run


def _check(certificates: int, opts: ScaleOptions) -> None:
    """Refuse sizes the run cannot do (serials: 999,999 per organisation, year and level)."""
    if isinstance(certificates, bool) or not 1 <= certificates <= MAX_CERTIFICATES:
        raise InvalidInput(
            "certificates", "bench.certificates", f"must be 1 to {MAX_CERTIFICATES:,}"
        )
    if not 1 <= opts.organisations_per_province <= 999:
        raise InvalidInput("organisations_per_province", "bench.organisations", "must be 1 to 999")
    if opts.batch_size < 1 or opts.chunk_size < 1:
        raise InvalidInput(
            "batch_size", "bench.batch_size", "batch and chunk sizes must be positive"
        )


def _run_consortium(
    certificates: int, chain: Consortium, folder: Path, clock: StageClock, opts: ScaleOptions
) -> dict[str, Any]:
    """Every stage on the consortium; the figures (and the inputs the peer needs, under
    ``_organisations`` and ``_network``)."""
    store = LocalManifestStore(folder / "manifests")
    received_on = _chain_day(chain.client)
    # Synthetic data received today: years up to today's that chinese-calendar does not cover
    # yet count Monday-Friday (province/calendars.py), for the nodes and the auditor alike.
    calendar = provisional_calendar(received_on)
    nodes = {p: _node(p, folder, chain, store, opts.batch_size, calendar) for p in FOUNDERS}
    network = Network(chain.client.chain_id(), bytes.fromhex(chain.client.address[2:]))
    organisations = {
        p: synthetic_organisations(p, opts.organisations_per_province, seed=opts.seed)
        for p in FOUNDERS
    }
    files = {p: folder / f"submissions-{p}.jsonl" for p in FOUNDERS}
    everyone = [org for p in FOUNDERS for org in organisations[p]]
    peer_documents = certificates if opts.peer_documents is None else opts.peer_documents
    with clock.stage("generation"):
        rows = write_inputs(
            synthetic_submissions(
                everyone,
                network,
                certificates,
                seed=opts.seed,
                received_on=received_on,
                calendar=calendar,
            ),
            files,
            folder / "peer-fields.jsonl",
            min(certificates, peer_documents),
        )
    try:
        with clock.stage("filing"):
            for province, node in nodes.items():
                for org in organisations[province]:
                    node.organisations.file(org.filing, actor=ACTOR)
        intake: Counter[str] = Counter()
        for province, node in nodes.items():
            intake += _ingest(
                node,
                files[province],
                clock,
                received_on=received_on,
                batch_size=opts.batch_size,
                chunk_size=opts.chunk_size,
                workers=opts.intake_workers,
            )
            files[province].unlink()  # the issuers' files are not the registry's bytes
        statuses = {p: node.status() for p, node in nodes.items()}
        db_bytes = sum(f.stat().st_size for p in FOUNDERS for f in (folder / p).glob("node.db*"))
        figures = _after_anchoring(chain, nodes, folder, store, clock, opts, calendar)
    finally:
        for node in nodes.values():
            node.close()
    accepted = intake.pop("accepted", 0)
    return {
        "certificates": certificates,
        "provinces": list(FOUNDERS),
        "organisations": len(everyone),
        "rows_per_province": {p: rows[p] for p in FOUNDERS},
        "accepted": accepted,
        "refused": dict(intake),
        "anchored": sum(s.anchored_size for s in statuses.values()),
        "checkpoints": sum(s.checkpoints for s in statuses.values()),
        "chain": "anvil" if opts.rpc is None else f"rpc {opts.rpc}",
        "database": "sqlite",
        "suite": "ed25519",
        "batch_size": opts.batch_size,
        "chunk_size": opts.chunk_size,
        "intake_workers": opts.intake_workers,
        "db_bytes_per_certificate": round(db_bytes / certificates, 1),
        **figures,
        "_organisations": {org.filing.code: org for org in everyone},
        "_network": network,
    }


def _after_anchoring(
    chain: Consortium,
    nodes: dict[str, ProvinceNode],
    folder: Path,
    store: LocalManifestStore,
    clock: StageClock,
    opts: ScaleOptions,
    calendar: WorkdayCalendar,
) -> dict[str, Any]:
    """Snapshot, bundles, verification and audit (in the nodes' working-day ``calendar``);
    gas and the chain's own figures."""
    reader = RegistryClient.connect(
        chain.url, chain.client.address, options=ClientOptions(from_block=chain.deployment_block)
    )
    snapshot_path = folder / "snapshot.json"
    with clock.stage("snapshot"):
        snapshot = take_snapshot(reader)
        write_snapshot(snapshot, snapshot_path)
    jobs = [
        ExportJob(
            p,
            f"sqlite:///{folder / p / 'node.db'}",
            snapshot.network.chain_id,
            snapshot.network.contract,
            folder / f"bundles-{p}.jsonl",
        )
        for p in nodes
    ]
    with clock.stage("bundles"):
        bundles = export_all(jobs, workers=opts.bundle_workers)
    paths = [job.path for job in jobs]
    with clock.stage("verification"):
        results = verify_bundles(
            paths, snapshot_path, at=snapshot.block.timestamp, workers=opts.verify_workers
        )
    bundle_bytes = sum(path.stat().st_size for path in paths)
    for path in paths:
        path.unlink()
    with clock.stage("audit"):
        report = audit(reader, store, AuditOptions(workers=opts.audit_workers, calendar=calendar))
    head = reader.block_number()
    gas = gas_by_function(reader, chain.deployment_block + 1, head)
    return {
        "bundles": bundles.count,
        "bundles_per_province": dict(bundles.per_province),
        "bundle_file_bytes": bundle_bytes,
        "verification": dict(sorted(results.items())),
        "verified_valid": results.get("VALID", 0),
        "audit": {
            "clean": report.clean,
            "entries": report.counts["entries"],
            "checkpoints": report.counts["checkpoints"],
            "findings": dict(report.finding_counts),
        },
        "gas": _gas_figures(gas, chain.deployment_gas, bundles.count),
        "sizes": bundles.sizes(),
        "children_peak_rss_mb": round(_peak_rss_mb(resource.RUSAGE_CHILDREN), 1),
        "anvil": _anvil_figures(chain.anvil_pid),
    }


def _gas_figures(gas: dict[str, int], deployment: int, certificates: int) -> dict[str, Any]:
    anchoring = gas.get("anchor", 0)
    filing = gas.get("fileOrganisation", 0) + gas.get("rotateKey", 0)
    return {
        "anchoring": anchoring,
        "filing": filing,
        "other": sum(gas.values()) - anchoring - filing,
        "deployment": deployment,
        "per_certificate": round((anchoring + filing) / certificates, 2) if certificates else None,
        "by_function": dict(sorted(gas.items())),
    }


def _anvil_figures(pid: int | None) -> dict[str, Any] | None:
    """Anvil's CPU seconds and peak memory, read while it still runs (None: not ours)."""
    if pid is None:
        return None
    return {
        "cpu_seconds": round(process_cpu_seconds(pid), 2),
        "peak_rss_mb": round(process_peak_rss_mb(pid), 1),
    }


def _end_to_end(clock: StageClock, certificates: int) -> dict[str, Any]:
    seconds = sum(clock.seconds[s] for s in END_TO_END)
    cpu = sum(clock.cpu[s] for s in END_TO_END)
    return {
        "stages": list(END_TO_END),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "certificates_per_s": round(certificates / seconds, 1) if seconds else None,
        "certificates_per_cpu_s": round(certificates / cpu, 1) if cpu else None,
    }


def _peer(
    folder: Path,
    organisations: dict[str, SyntheticOrganisation],
    network: Network,
    opts: ScaleOptions,
) -> dict[str, Any]:
    """The peer's figures, our comparable work on the same documents, and the ratios."""
    fields = folder / "peer-fields.jsonl"
    figures = run_peer(fields, opts.batch_size)
    figures.setdefault("version", peer_version())
    ours = comparable_ours(fields, organisations, network, opts.batch_size)
    figures["ours_comparable"] = ours
    if "unavailable" in figures:
        return figures
    figures["comparable_ratio"] = _ratio(ours["documents_per_s"], figures["documents_per_s"])
    figures["comparable_cpu_ratio"] = _ratio(
        ours["documents_per_cpu_s"], figures["documents_per_cpu_s"]
    )
    return figures


def _end_to_end_ratio(peer: dict[str, Any], end_to_end: dict[str, Any], certificates: int) -> None:
    """Our end-to-end rate for the peer's job and its ratio to the peer's rate: issuing (our
    comparable work, per document) plus the registry's end-to-end stages per certificate."""
    if "unavailable" in peer:
        return
    issuing = peer["ours_comparable"]["documents_per_s"]
    if not issuing or not end_to_end["seconds"]:
        return
    per_certificate = 1 / issuing + end_to_end["seconds"] / certificates
    peer["ours_end_to_end_per_s"] = round(1 / per_certificate, 1)
    peer["documents_per_s_ratio"] = _ratio(1 / per_certificate, peer["documents_per_s"])
    peer["ratio"] = peer["documents_per_s_ratio"]


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if not ours or not theirs:
        return None
    return round(ours / theirs, 3)


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(figures: dict[str, Any]) -> str:
    """The figures of :func:`bench_scale` as a plain-text table: one row per stage, then gas,
    sizes, storage, memory and the peer."""
    lines = [
        f"certreg bench scale: {figures['certificates']:,} certificates, provinces "
        f"{' '.join(figures['provinces'])}, {figures['organisations']} organisations, "
        f"{figures['chain']}, {figures['database']}, {figures['suite']}",
        "",
        f"{'stage':<14}{'seconds':>12}{'CPU s':>12}{'certs/s':>12}  load (1/5/15 min)",
    ]
    for name, stage in figures["stages"].items():
        load = " ".join(f"{x:.2f}" for x in stage["load_average"] or [])
        lines.append(
            f"{name:<14}{stage['seconds']:>12,.2f}{stage['cpu_seconds']:>12,.2f}"
            f"{_number(stage['certificates_per_s']):>12}  {load}"
        )
    e2e = figures["end_to_end"]
    lines.append(
        f"{'end to end':<14}{e2e['seconds']:>12,.2f}{e2e['cpu_seconds']:>12,.2f}"
        f"{_number(e2e['certificates_per_s']):>12}  ({' + '.join(e2e['stages'])})"
    )
    gas, sizes, audit_ = figures["gas"], figures["sizes"], figures["audit"]
    lines += [
        "",
        f"accepted {figures['accepted']:,}, refused {sum(figures['refused'].values()):,}, "
        f"anchored {figures['anchored']:,} in {figures['checkpoints']} checkpoints, "
        f"bundles {figures['bundles']:,}, VALID {figures['verified_valid']:,}, "
        f"audit {'clean' if audit_['clean'] else 'FINDINGS ' + str(audit_['findings'])} "
        f"({audit_['entries']:,} entries)",
        f"gas per certificate {_number(gas['per_certificate'])} (anchoring {gas['anchoring']:,}"
        f" + filing {gas['filing']:,}; other {gas['other']:,}; deployment {gas['deployment']:,})",
        "sizes (mean / max): "
        + ", ".join(
            f"{name.replace('_', ' ')} {_number(v['mean'])} / {_number(v['max'])}"
            for name, v in sizes.items()
        ),
        f"database bytes per certificate {_number(figures['db_bytes_per_certificate'])}",
        f"peak RSS MB: this process {_number(figures['peak_rss_mb'])}, worker processes "
        f"{_number(figures['children_peak_rss_mb'])}, anvil "
        f"{_number((figures['anvil'] or {}).get('peak_rss_mb'))} "
        f"(anvil CPU s {_number((figures['anvil'] or {}).get('cpu_seconds'))})",
        f"load average at the end {' '.join(f'{x:.2f}' for x in figures['load_average'])}",
    ]
    lines.append(_peer_line(figures["peer"]))
    return "\n".join(lines)


def _peer_line(peer: dict[str, Any]) -> str:
    if "unavailable" in peer:
        return f"peer {peer['name']}: not measured: {peer['unavailable']}"
    ours = peer["ours_comparable"]
    return (
        f"peer {peer['name']} {peer['version']} (wrapDocuments + signDocument, "
        f"{peer['documents']:,} documents): {_number(peer['documents_per_s'])} documents/s "
        f"({_number(peer['documents_per_cpu_s'])} per CPU s); ours end to end with issuing "
        f"{_number(peer.get('ours_end_to_end_per_s'))}/s, ratio {_number(peer.get('ratio'))}; "
        f"comparable (salt, hash, sign, Merkle batch and proofs) ours "
        f"{_number(ours['documents_per_s'])}/s, ratio {_number(peer['comparable_ratio'])} "
        f"(CPU {_number(peer['comparable_cpu_ratio'])})"
    )


__all__ = ["END_TO_END", "STAGES", "ScaleOptions", "StageClock", "bench_scale", "format_table"]
