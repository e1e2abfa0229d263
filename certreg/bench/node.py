"""``certreg bench node``: a province node's throughput from intake to anchored, as figures.

Set-up (not timed): the in-process EVM with the contract deployed, a node (SQLite in a temporary
folder unless ``database`` is given, local manifest store) with one organisation filed, and a
JSON Lines file of ``certificates`` certificates signed with ed25519, written in a stream.

Timed: ``certreg node ingest --workers N``'s path (read, parse, every intake rule including the
signature check, encrypted storage, log append) in per-row mode, streamed from the file a chunk
at a time (:mod:`node.services.intake_batch`, with worker processes unless ``workers=0``), anchoring
a checkpoint every ``batch_size`` entries along the way, and a final anchoring of the rest, so
every certificate is anchored when the clock stops.

Figures: ``certificates_per_s`` over the whole run and ``last_tenth_certificates_per_s`` over
its last tenth (the database at its largest: what the node sustains); ``main_cpu_us_per_
certificate``, the writer process's CPU (SQLite's own WAL checkpoints included), and
``workers_cpu_us_per_certificate``, the worker processes' (start-up included);
``db_bytes_per_certificate``, the database files (WAL included) over the certificates. Peak RSS
is the writer process's high-water mark (it includes the set-up; each worker process adds about
95 MB). ``load_average`` is the machine's 1/5/15-minute load when the clock stops: other work
on the machine slows the figure.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore
from certreg.dev.sample import synthetic_id_number
from node.core.certificate import Certificate
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.crypto.signatures import get_suite
from node.core.formats.submissions import read_submission
from node.core.issuer import sign_certificate, submission_line
from node.core.rules.workdays import WorkdayCalendar
from node.storage import OrganisationRepository, open_database
from province.node import ProvinceNode

ORG = "S000144011001"
ISSUED = dt.date(2025, 6, 18)
RECEIVED = dt.date(2025, 6, 20)
# seed 002 (中就培发〔2022〕1号 annex): 6-18-01-01 车工, work type 6-18-01-01-02 数控车床.
OCCUPATION = ("6-18-01-01", "6-18-01-01-02", "车工", "数控车床")


def _certificate(rng: random.Random, index: int) -> Certificate:
    level = 1 + index % 5
    serial = 1 + index // 5
    return Certificate(
        holder_name="测试" + "甲乙丙丁戊己庚辛"[index % 8] + "某",
        id_type="resident_id",
        id_number=synthetic_id_number(rng),
        occupation_name=OCCUPATION[2],
        occupation_code=OCCUPATION[0],
        work_type_name=OCCUPATION[3],
        work_type_code=OCCUPATION[1],
        level=level,
        certificate_number=f"{ORG}{ISSUED.year % 100:02d}{level}{serial:06d}",
        issue_date=ISSUED.isoformat(),
        organisation_name="基准测试职业技能评价中心",
        organisation_code=ORG,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_node(
    *,
    certificates: int,
    database: str | None = None,
    batch_size: int = 10_000,
    chunk_size: int = 5_000,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run the benchmark; return the figures (see the module docstring).

    ``chunk_size`` rows go through intake per transaction (:mod:`node.services.intake_batch`);
    ``workers`` > 0 runs the parsing, the pure checks, the signature verification and the
    encryption in that many worker processes (:class:`node.services.intake_batch.PreparePool`); the
    default is one per core, 0 runs everything in this process. A checkpoint is anchored every
    ``batch_size`` rows (a multiple of ``chunk_size`` keeps that exact).
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if certificates > 5 * 999_999:
        raise ValueError("at most 4,999,995 certificates (serials per level run out)")
    with tempfile.TemporaryDirectory(prefix="certreg-bench-node-") as tmp:
        folder = Path(tmp)
        url = database or f"sqlite:///{folder / 'node.db'}"
        w3 = connect("memory")
        client, _ = RegistryClient.deploy(w3, [(44, w3.eth.accounts[0])])
        suite = get_suite("ed25519")
        key = suite.generate_private_key(b"\x05" * 32)
        db = open_database(url)
        now = dt.datetime.now(dt.UTC)
        with db.transaction() as session:
            orgs = OrganisationRepository(session)
            orgs.add(
                code=ORG,
                province="44",
                name="基准测试职业技能评价中心",
                scope=[{"occupation_code": OCCUPATION[0], "levels": [1, 2, 3, 4, 5]}],
                now=now,
            )
            orgs.add_key(
                ORG, suite="ed25519", public_key=suite.public_key(key), valid_from=0, now=now
            )
        node = ProvinceNode(
            province="44",
            db=db,
            client=client,
            store=LocalManifestStore(folder / "manifests"),
            cipher=PersonalDataCipher({"k1": b"\x01" * 32}, "k1"),
            blind_index=BlindIndex(b"\x02" * 32),
            batch_size=batch_size,
            max_age_seconds=1e9,
            # RECEIVED is a fixed day chinese-calendar covers.
            calendar=WorkdayCalendar.default(),
        )
        submission = folder / "submission.jsonl"
        rng = random.Random(1)
        with submission.open("w", encoding="utf-8") as out:
            for index in range(certificates):
                salted, signature = sign_certificate(
                    _certificate(rng, index),
                    node.network,
                    suite="ed25519",
                    private_key=key,
                    key_id=0,
                    random_bytes=rng.randbytes,
                )
                out.write(submission_line(salted, signature))

        accepted = refused = 0
        cpu_start = time.process_time()
        children_start = _children_cpu()
        start = time.perf_counter()
        with submission.open("rb") as stream:
            outcomes = node.intake.iter_per_row(
                read_submission(stream, "jsonl"),
                received_on=RECEIVED,
                actor="bench",
                chunk_size=chunk_size,
                workers=workers,
            )
            last_tenth_from = certificates - certificates // 10
            last_tenth_start = start
            for outcome in outcomes:
                accepted += outcome.ok
                refused += not outcome.ok
                if (accepted + refused) % batch_size == 0:
                    # Between chunks (outcomes come after their chunk commits): anchor.
                    node.anchor_once()
                if accepted + refused == last_tenth_from:
                    last_tenth_start = time.perf_counter()
        node.anchor_all()
        end = time.perf_counter()
        elapsed = end - start
        last_tenth = end - last_tenth_start
        main_cpu = time.process_time() - cpu_start
        workers_cpu = _children_cpu() - children_start  # the pool has exited by now
        status = node.status()
        node.close()
        db_bytes = sum(p.stat().st_size for p in folder.glob("node.db*")) if database is None else 0
        return {
            "certificates": certificates,
            "accepted": accepted,
            "refused": refused,
            "anchored": status.anchored_size,
            "checkpoints": status.checkpoints,
            "seconds": round(elapsed, 2),
            "certificates_per_s": round(accepted / elapsed, 1) if elapsed else None,
            # The rate over the last tenth of the file (anchoring of the rest included): what
            # the node sustains once the database is at its largest.
            "last_tenth_certificates_per_s": round((certificates // 10) / last_tenth, 1)
            if certificates >= 10 and last_tenth
            else None,
            "db_bytes_per_certificate": round(db_bytes / certificates, 1)
            if certificates and db_bytes
            else None,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "workers_cpu_us_per_certificate": round(workers_cpu / accepted * 1e6, 1)
            if accepted
            else None,
            "main_cpu_us_per_certificate": round(main_cpu / accepted * 1e6, 1)
            if accepted
            else None,
            "database": "sqlite" if database is None else database.split(":", 1)[0],
            "suite": "ed25519",
            "chunk_size": chunk_size,
            "workers": workers,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
