"""What bulk intake's writer process costs per certificate, without the workers and the chain.

Two measurements (docs/NODE-BENCH.md "Where the time goes now"):

``writer N``: ``certreg bench node``'s data set of N certificates is prepared in this process
first, as the worker processes would (``prepare_chunk`` with the key snapshot, packed and
pickled), untimed; then the writer's part is timed chunk by chunk as
``IntakeService.iter_per_row`` runs it with workers: unpickle, unpack, checks 5-9, the log
append, certificate rows, audit events and the commit (``synchronous=FULL``). No anchoring, no
reading of the file. Prints the process CPU per certificate (``--profile FILE``: a cProfile of
the timed part).

``sqlite N``: the same four tables' rows (random commitments and blind indexes, ~620-byte
records, ~560-byte entries) inserted with the sqlite3 module alone into a database made by the
node's migrations, 5,000 rows per transaction, timing each table's ``executemany`` and the
commit in process CPU: the floor the writer's Python sits on. ``--drop NAME`` drops an index
(or leaves out a table) first.

    .venv/bin/python scripts/intake_writer_costs.py writer 20000
    .venv/bin/python scripts/intake_writer_costs.py sqlite 100000
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import gc
import os
import pickle
import random
import sqlite3
import tempfile
import time
from pathlib import Path

CHUNK = 5000


def writer(count: int, profile: str | None) -> None:
    import certreg.bench.node as bench
    from anchor.chain import RegistryClient, connect
    from anchor.manifest import LocalManifestStore
    from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
    from node.core.crypto.signatures import get_suite
    from node.core.formats.submissions import read_submission
    from node.core.issuer import sign_certificate, submission_line
    from node.core.rules.workdays import WorkdayCalendar
    from node.services import intake_batch
    from node.storage import OrganisationRepository, open_database
    from province.node import ProvinceNode

    with tempfile.TemporaryDirectory(prefix="intake-writer-") as tmp:
        folder = Path(tmp)
        w3 = connect("memory")
        client, _ = RegistryClient.deploy(w3, [(44, w3.eth.accounts[0])])
        suite = get_suite("ed25519")
        key = suite.generate_private_key(b"\x05" * 32)
        db = open_database(f"sqlite:///{folder / 'node.db'}")
        now = dt.datetime.now(dt.UTC)
        with db.transaction() as session:
            organisations = OrganisationRepository(session)
            organisations.add(
                code=bench.ORG,
                province="44",
                name="基准测试职业技能评价中心",
                scope=[{"occupation_code": bench.OCCUPATION[0], "levels": [1, 2, 3, 4, 5]}],
                now=now,
            )
            organisations.add_key(
                bench.ORG, suite="ed25519", public_key=suite.public_key(key), valid_from=0, now=now
            )
        node = ProvinceNode(
            province="44",
            db=db,
            client=client,
            store=LocalManifestStore(folder / "manifests"),
            cipher=PersonalDataCipher({"k1": b"\x01" * 32}, "k1"),
            blind_index=BlindIndex(b"\x02" * 32),
            batch_size=10_000,
            max_age_seconds=1e9,
            calendar=WorkdayCalendar.default(),
        )
        rng = random.Random(1)
        submission = folder / "submission.jsonl"
        with submission.open("w", encoding="utf-8") as out:
            for index in range(count):
                salted, signature = sign_certificate(
                    bench._certificate(rng, index),
                    node.network,
                    suite="ed25519",
                    private_key=key,
                    key_id=0,
                    random_bytes=rng.randbytes,
                )
                out.write(submission_line(salted, signature))
        intake = node.intake
        sealer = intake_batch.Sealer(
            "44", intake._cipher, intake._index, intake._qualification_number
        )
        keys = intake._key_snapshot()
        with submission.open("rb") as stream:
            rows = list(read_submission(stream, "jsonl"))
        chunks = []
        for start in range(0, count, CHUNK):
            chunk = rows[start : start + CHUNK]
            prepared = intake_batch.prepare_chunk(
                chunk,
                sealer=sealer,
                received_on=bench.RECEIVED,
                calendar=intake._calendar,
                vocabulary=intake._vocabulary,
                network=node.network,
                keys=keys,
            )
            packed = [intake_batch._pack(item) for item in prepared]
            chunks.append((chunk, pickle.dumps(packed, protocol=pickle.HIGHEST_PROTOCOL)))
        # The code before the branch intake-speed unpacked with a function (to compare the two).
        unpack = getattr(intake_batch, "_Unpacker", None)
        unpack = unpack() if unpack is not None else intake_batch._unpack
        gc.collect()
        gc.freeze()
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        cpu = time.process_time()
        accepted = 0
        for chunk, data in chunks:
            items = list(map(unpack, pickle.loads(data)))
            outcomes = intake._db.write(
                functools.partial(
                    intake._chunk,
                    chunk=chunk,
                    received_on=bench.RECEIVED,
                    actor="bench",
                    atomic=False,
                    prepared=items,
                )
            )
            accepted += sum(outcome.ok for outcome in outcomes)
        cpu = time.process_time() - cpu
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        node.close()
    print(f"writer: {cpu / count * 1e6:.1f} µs CPU per certificate, {accepted} accepted")


def sqlite_only(count: int, drop: list[str]) -> None:
    from node.storage import open_database

    with tempfile.TemporaryDirectory(prefix="intake-sqlite-") as tmp:
        path = f"{tmp}/node.db"
        open_database(f"sqlite:///{path}").dispose()
        connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("foreign_keys = ON", "journal_mode = WAL", "synchronous = FULL"):
            connection.execute(f"PRAGMA {pragma}")
        for name in drop:
            if name.startswith(("ix_", "uq_")):
                connection.execute(f"DROP INDEX {name}")
        connection.execute(
            "INSERT INTO organisations (code, province, name, org_class, scope, status, "
            "created_at, updated_at) VALUES ('S000144011001', '44', 'x', 'S', '[]', 'active', "
            "'2025-01-01', '2025-01-01')"
        )
        columns = (
            "commitment, certificate_number, province, organisation_code, level, issue_year, "
            "serial, issue_date, occupation_code, work_type_code, status, superseded_by, "
            "signature_suite, signature_key_id, signature, record, record_key_id, "
            "holder_name_index, id_number_index, log_index, submitted_at, late_reason, "
            "status_changed_at, deleted_at"
        )
        statements = {
            "log_entries": "INSERT INTO log_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            "merkle_nodes": "INSERT INTO merkle_nodes VALUES (?, ?, ?, ?)",
            "certificates": f"INSERT INTO certificates ({columns}) VALUES ({', '.join('?' * 24)})",
            "audit_events": "INSERT INTO audit_events (occurred_at, actor, action, target_type, "
            "target_id, reason, note, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        }
        spent = dict.fromkeys([*statements, "commit"], 0.0)
        now = "2025-06-20 01:02:03.000000"
        for start in range(0, count, CHUNK):
            rows: dict[str, list[tuple[object, ...]]] = {name: [] for name in statements}
            for i in range(start, min(count, start + CHUNK)):
                commitment = os.urandom(32)
                number = f"S0001440110012{1 + i % 5}{1 + i // 5:06d}"
                rows["certificates"].append(
                    (
                        commitment,
                        number,
                        "44",
                        "S000144011001",
                        1 + i % 5,
                        2025,
                        1 + i // 5,
                        "2025-06-18",
                        "6-18-01-01",
                        "6-18-01-01-02",
                        "active",
                        None,
                        "ed25519",
                        0,
                        os.urandom(64),
                        os.urandom(620),
                        "k1",
                        os.urandom(32),
                        os.urandom(32),
                        i,
                        now,
                        None,
                        now,
                        None,
                    )
                )
                rows["log_entries"].append(
                    ("44", i, "issue", commitment, number, "x" * 560, os.urandom(32), now)
                )
                rows["merkle_nodes"].append(("44", 0, i, os.urandom(32)))
                index, level = i, 0
                while index & 1:
                    index >>= 1
                    level += 1
                    rows["merkle_nodes"].append(("44", level, index, os.urandom(32)))
                details = (
                    f'{{"certificate_number": "{number}", "log_index": {i}, "received_on": '
                    '"2025-06-20", "working_days": 2, "warnings": []}'
                )
                rows["audit_events"].append(
                    (now, "bench", "issue", "certificate", commitment.hex(), None, None, details)
                )
            connection.execute("BEGIN IMMEDIATE")
            for name, sql in statements.items():
                if name in drop:
                    continue
                cpu = time.process_time()
                connection.executemany(sql, rows[name])
                spent[name] += time.process_time() - cpu
            cpu = time.process_time()
            connection.execute("COMMIT")
            spent["commit"] += time.process_time() - cpu
        connection.close()
    figures = ", ".join(f"{name} {value / count * 1e6:.1f}" for name, value in spent.items())
    total = sum(spent.values()) / count * 1e6
    print(f"sqlite3 alone, µs CPU per certificate: {figures}; total {total:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("writer", "sqlite"))
    parser.add_argument("certificates", type=int)
    parser.add_argument("--profile", help="writer: write a cProfile of the timed part here")
    parser.add_argument("--drop", action="append", default=[], help="sqlite: index or table")
    arguments = parser.parse_args()
    if arguments.what == "writer":
        writer(arguments.certificates, arguments.profile)
    else:
        sqlite_only(arguments.certificates, arguments.drop)


if __name__ == "__main__":
    main()
