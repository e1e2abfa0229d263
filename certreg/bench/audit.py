"""Histories for the auditor: a writer that files organisations with published scope
documents, appends signed entries to province logs, publishes manifests and anchors
checkpoints through the real contract; and ``bench_audit`` built on it.

The writer does what a province node does on the chain (``anchor/worker.py``,
``province/organisations/``) without the node's database, so tests can also write
what a node never would (the faults the auditor must find).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import itertools
import multiprocessing
import os
import random
import resource
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore, ManifestStore, build_manifest
from audit.auditor import AuditOptions, audit
from node.core.crypto.signatures import get_suite, signing_message
from node.core.formats.access import LogHead
from node.core.formats.entry import Attributes, LogEntry, Signature
from node.core.merkle import MerkleLog
from node.core.rules.scope import code_category, scope_document, scope_hash_of_cid
from node.core.time import china_date_of_unix
from province.calendars import provisional_calendar

#: What the writer's organisations are filed for (certreg.dev.sample's occupations, levels 3-5).
DEFAULT_SCOPE: tuple[dict[str, Any], ...] = tuple(
    {"occupation_code": code, "levels": [3, 4, 5]}
    for code in ("4-03-02-01", "6-18-01-01", "6-20-01-01", "6-31-01-03")
)
_WORK_TYPES = {"6-18-01-01": "6-18-01-01-02"}


class HistoryWriter:
    """Writes one province's side of a history to the contract and a manifest store."""

    def __init__(self, client: RegistryClient, store: ManifestStore, province: str) -> None:
        self.client = client
        self.store = store
        self.province = province
        self.chain_id = client.chain_id()
        self.contract = bytes.fromhex(client.address[2:])
        self.log = MerkleLog()
        self.pending: list[LogEntry] = []
        self.checkpoints = 0
        self.keys: dict[tuple[str, int], tuple[str, bytes]] = {}
        #: The chain's day when the writer started: default issue dates count from it.
        self.today = self.chain_day()

    def chain_day(self) -> datetime.date:
        """Today on the chain, in China Standard Time."""
        block = self.client.w3.eth.get_block("latest")
        return china_date_of_unix(int(block["timestamp"]))

    def file_organisation(
        self,
        code: str,
        private_key: bytes,
        *,
        suite: str = "ed25519",
        scope: Sequence[dict[str, Any]] = DEFAULT_SCOPE,
        valid_from: int = 1_700_000_000,
        publish_scope: bool = True,
    ) -> None:
        """File ``code`` with key 0 and a published scope document."""
        document = scope_document(
            province=self.province,
            organisation_code=code,
            name=f"评价机构 {code}",
            org_class=code[0],
            category=code_category(code),
            scope=[dict(item) for item in scope],
        )
        cid = self.store.put(document) if publish_scope else _unpublished_cid(document)
        signer = get_suite(suite)
        public_key = signer.public_key(private_key)
        self.client.file_organisation(
            code, scope_hash_of_cid(cid), signer.suite_id, public_key, valid_from, 0
        )
        self.keys[(code, 0)] = (suite, private_key)

    def add_key(self, code: str, private_key: bytes, effective_from: int, key_id: int) -> None:
        """Add key ``key_id`` (the next one) without closing the previous key."""
        signer = get_suite("ed25519")
        self.client.rotate_key(
            code, signer.suite_id, signer.public_key(private_key), effective_from, 0, False
        )
        self.keys[(code, key_id)] = ("ed25519", private_key)

    def sign(self, code: str, commitment: bytes, key_id: int = 0) -> Signature:
        suite, private_key = self.keys[(code, key_id)]
        message = signing_message(self.chain_id, self.contract, commitment)
        return Signature(suite, key_id, get_suite(suite).sign(private_key, message))

    def issue(
        self,
        code: str,
        serial: int,
        *,
        issue_date: datetime.date | None = None,
        level: int = 4,
        occupation_code: str = "6-18-01-01",
        commitment: bytes | None = None,
        key_id: int = 0,
        reason: int | None = None,
        number: str | None = None,
        signature: Signature | None = None,
    ) -> LogEntry:
        """Append a signed ``issue`` entry (issued two days before the chain's day unless
        told) and return it."""
        day = issue_date or self.today - datetime.timedelta(days=2)
        number = number or f"{code}{day.year % 100:02d}{level}{serial:06d}"
        commitment = commitment or random.Random(f"{number}|{serial}").randbytes(32)
        entry = LogEntry(
            kind="issue",
            province=self.province,
            organisation_code=code,
            certificate_number=number,
            commitment=commitment,
            reason=reason,
            attributes=Attributes(
                day.isoformat(), level, occupation_code, _WORK_TYPES.get(occupation_code, "--")
            ),
            signature=signature or self.sign(code, commitment, key_id),
        )
        self.pending.append(entry)
        return entry

    def correct(self, old: LogEntry, reason: int = 403, number: str | None = None) -> LogEntry:
        """Append a ``correct`` entry superseding ``old``."""
        commitment = random.Random(f"correct|{old.commitment.hex()}").randbytes(32)
        assert old.attributes is not None
        entry = LogEntry(
            kind="correct",
            province=self.province,
            organisation_code=old.organisation_code,
            certificate_number=number or old.certificate_number,
            commitment=commitment,
            links=(old.commitment,),
            reason=reason,
            attributes=old.attributes,
            signature=self.sign(old.organisation_code, commitment),
        )
        self.pending.append(entry)
        return entry

    def change(self, kind: str, target: LogEntry, reason: int) -> LogEntry:
        """Append a status entry (``revoke``, ``suspend``, ``reinstate``, ``delete``)."""
        entry = LogEntry(
            kind=kind,
            province=self.province,
            organisation_code=target.organisation_code,
            certificate_number=target.certificate_number,
            commitment=target.commitment,
            reason=reason,
        )
        self.pending.append(entry)
        return entry

    def manifest_bytes(
        self, entries: Sequence[LogEntry] | None = None, access_log: LogHead | None = None
    ) -> tuple[bytes, int, bytes]:
        """Append the pending entries to the log; return the manifest bytes of the next
        checkpoint (of ``entries`` instead, when given: a wrong manifest), its size and root
        (version 2 with ``access_log``)."""
        previous = self.log.size
        self.log.append_many(entry.leaf_hash() for entry in self.pending)
        size, root = self.log.size, self.log.root()
        listed = self.pending if entries is None else list(entries)
        self.pending = []
        manifest = build_manifest(
            self.province, self.checkpoints, previous, size, root, listed, access_log
        )
        return manifest.to_bytes(), previous, root

    def anchor(
        self,
        *,
        entries: Sequence[LogEntry] | None = None,
        publish: bool = True,
        alter: Callable[[bytes], bytes] | None = None,
        access_log: LogHead | None = None,
    ) -> str:
        """Publish the manifest of the pending entries and anchor the checkpoint; return the
        manifest CID. ``publish=False`` anchors a CID that is not in the store; ``alter``
        changes the manifest bytes before they are published (a malformed manifest);
        ``access_log``: the access-log head a version 2 manifest carries."""
        data, previous, root = self.manifest_bytes(entries, access_log)
        if alter is not None:
            data = alter(data)
        cid = self.store.put(data) if publish else _unpublished_cid(data)
        proof = self.log.consistency_proof(previous) if previous else []
        self.client.anchor(self.log.size, root, proof, cid)
        self.checkpoints += 1
        return cid


def _unpublished_cid(data: bytes) -> str:
    from anchor.manifest import cid_v0

    return cid_v0(data)


# ---------------------------------------------------------------------------------------------
# The benchmark


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int | str = "self") -> float:
    """Current resident memory of a process (this one by default), in MB
    (``/proc/PID/statm``); 0 when it has gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / 1024 / 1024


def child_pids() -> list[int]:
    """The PIDs of this process's children (``/proc/*/stat`` field 4 is the parent PID):
    the signature workers, which ``peak_rss_mb`` counts."""
    me = os.getpid()
    children = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            children.append(int(name))
    return children


class _RssSampler(threading.Thread):
    """Samples the resident memory of this process plus its child processes (the signature
    workers) every 20 ms; ``peak_mb`` is the highest sum seen, ``peak_self_mb`` the highest of
    this process alone (the kernel's peak counter cannot be reset, and the bench's history
    writer came first). Children are looked up every 0.5 s. A sum of RSS counts the pages
    the processes share (the interpreter's libraries) once per process, so it overstates
    slightly: the figure is an upper bound."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_self_mb = self.peak_mb = rss_mb()
        self.peak_children = 0
        self._stop_event = threading.Event()
        self._children: list[int] = []

    def sample(self) -> None:
        own = rss_mb()
        self.peak_self_mb = max(self.peak_self_mb, own)
        self.peak_mb = max(self.peak_mb, own + sum(rss_mb(pid) for pid in self._children))

    def run(self) -> None:
        ticks = 0
        while not self._stop_event.wait(0.02):
            if ticks % 25 == 0:
                self._children = child_pids()
                self.peak_children = max(self.peak_children, len(self._children))
            ticks += 1
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have ended and been
    waited for: the signature workers once the audit's pool has shut down."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _sign_range(
    chain_id: int, contract: bytes, private_key: bytes, start: int, count: int
) -> list[tuple[bytes, bytes]]:
    """(commitment, signature) for entries ``start`` … ``start + count - 1``: the bench's
    commitments are pseudo-random 32 bytes (the auditor never sees certificate fields)."""
    signer = get_suite("ed25519")
    out = []
    for i in range(start, start + count):
        commitment = random.Random(i).randbytes(32)
        out.append(
            (commitment, signer.sign(private_key, signing_message(chain_id, contract, commitment)))
        )
    return out


def bench_audit(entries: int = 1_000_000, *, checkpoint_size: int = 50_000) -> dict[str, Any]:
    """Build a synthetic history on the in-process EVM (``entries`` signed issue entries of
    20 organisations of province 44, anchored ``checkpoint_size`` at a time, manifests in a
    temporary :class:`LocalManifestStore`) and time a full audit of it, signature checks
    included, on every core.

    Returns ``entries``, ``checkpoints``, ``entries_per_s``, ``seconds``, ``cpu_seconds``
    (this process's CPU time during the audit), ``workers_cpu_seconds`` (the signature
    workers'), ``cpu_us_per_entry`` (both, per entry: the figure a shared, noisy machine
    does not distort; two idle cores give at most 2 / that entries per µs), ``findings`` (0
    expected), ``peak_rss_mb`` (the highest sum of the resident memory of this process and
    its signature worker processes sampled during the audit: auditor, in-process EVM and
    workers), ``peak_rss_main_mb`` (this process alone), ``processes`` (this one plus the
    workers seen), ``load_average`` (1-minute, at the end: the machine is shared) and
    ``build_peak_rss_mb`` (while writing the history).
    """
    w3 = connect("memory")
    operator = w3.eth.accounts[0]
    client, _ = RegistryClient.deploy(w3, [(44, operator)], sender=operator)
    workers = max(1, multiprocessing.cpu_count())
    private_key = get_suite("ed25519").generate_private_key(b"\x05" * 32)
    with tempfile.TemporaryDirectory(prefix="certreg-bench-audit-") as directory:
        store = LocalManifestStore(directory)
        writer = HistoryWriter(client, store, "44")
        codes = [f"S000144011{i:03d}" for i in range(1, 21)]
        for code in codes:
            writer.file_organisation(code, private_key)
        chunk = 5_000
        starts = iter(range(0, entries, chunk))
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            # A small window of signing jobs, so signed entries do not pile up in memory.
            jobs = deque(
                pool.submit(
                    _sign_range,
                    writer.chain_id,
                    writer.contract,
                    private_key,
                    start,
                    min(chunk, entries - start),
                )
                for start in itertools.islice(starts, 2 * workers)
            )
            serial = [0] * len(codes)
            done = 0
            while jobs:
                signed = jobs.popleft().result()
                for start in itertools.islice(starts, 1):
                    jobs.append(
                        pool.submit(
                            _sign_range,
                            writer.chain_id,
                            writer.contract,
                            private_key,
                            start,
                            min(chunk, entries - start),
                        )
                    )
                for commitment, value in signed:
                    org = done % len(codes)
                    serial[org] += 1
                    writer.issue(
                        codes[org],
                        serial[org],
                        commitment=commitment,
                        signature=Signature("ed25519", 0, value),
                    )
                    done += 1
                    if len(writer.pending) == checkpoint_size:
                        writer.anchor()
        if writer.pending:
            writer.anchor()
        build_peak = peak_rss_mb()
        writer.log = MerkleLog()  # the writer's copy of the log is not the auditor's memory
        sampler = _RssSampler()
        sampler.start()
        children_before = _children_cpu()
        started, cpu_started = time.perf_counter(), time.process_time()
        # Synthetic data anchored today: years up to the chain's day that chinese-calendar
        # does not cover yet count Monday-Friday (province/calendars.py).
        calendar = provisional_calendar(writer.chain_day())
        report = audit(client, store, AuditOptions(workers=workers, calendar=calendar))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        workers_cpu = _children_cpu() - children_before
        sampler.stop()
    return {
        "entries": report.counts["entries"],
        "checkpoints": report.counts["checkpoints"],
        "signatures": report.counts["signatures"],
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "workers_cpu_seconds": round(workers_cpu, 2),
        "cpu_us_per_entry": round((cpu_seconds + workers_cpu) / max(1, entries) * 1e6, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "entries_per_s": round(report.counts["entries"] / seconds),
        "findings": sum(report.finding_counts.values()),
        "workers": workers,
        "peak_rss_mb": round(sampler.peak_mb, 1),
        "peak_rss_main_mb": round(sampler.peak_self_mb, 1),
        "processes": 1 + sampler.peak_children,
        "build_peak_rss_mb": round(build_peak, 1),
    }


__all__ = ["DEFAULT_SCOPE", "HistoryWriter", "bench_audit", "peak_rss_mb"]
