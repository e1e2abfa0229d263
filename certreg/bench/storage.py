"""Append and proof benchmarks of the node database (not a test).

``python -m certreg.bench.storage sqlite:////tmp/bench.db 100000`` prints a JSON summary::

    log_appends_per_s   issue entries appended through ProvinceLog (entry rows + Merkle nodes)
    node_appends_per_s  leaf hashes appended through DatabaseNodeStore alone
    bytes_per_entry     database size growth per log entry (entry row, nodes, indexes)
    proof_ms            mean time of one inclusion plus one consistency proof at full size
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from node.core.formats.entry import Attributes, LogEntry, Signature
from node.core.merkle import MerkleLog
from node.storage.database import Database, open_database
from node.storage.log import ProvinceLog
from node.storage.nodestore import DatabaseNodeStore

_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ATTRIBUTES = Attributes("2025-03-14", 5, "6-18-01-01", "6-18-01-01-02")


def _entries(start: int, count: int) -> Iterator[LogEntry]:
    for n in range(start, start + count):
        block, serial = divmod(n, 999_999)
        organisation = f"S000144{block:06d}"
        yield LogEntry(
            kind="issue",
            province="44",
            organisation_code=organisation,
            certificate_number=f"{organisation}255{serial + 1:06d}",
            commitment=hashlib.sha256(n.to_bytes(8, "big")).digest(),
            attributes=_ATTRIBUTES,
            signature=Signature("ed25519", 0, hashlib.sha512(n.to_bytes(8, "big")).digest()),
        )


def _size(database: Database) -> int:
    if database.dialect == "sqlite":
        with database.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(str(database.engine.url.database))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def bench_store(url: str, entries: int, *, batch: int = 1000) -> dict[str, Any]:
    """Append ``entries`` log entries (and as many bare leaves) to the database at ``url``.

    The database should be empty (a fresh SQLite file or PostgreSQL database). Returns and
    prints the figures described in the module docstring.
    """
    database = open_database(url)
    try:
        size_before = _size(database)
        log_seconds = 0.0
        done = 0
        while done < entries:
            count = min(batch, entries - done)
            items = list(_entries(done, count))  # building entries is the caller's cost
            started = time.perf_counter()
            with database.transaction() as session:
                ProvinceLog(session, "44").append(items, now=_NOW)
            log_seconds += time.perf_counter() - started
            done += count
        size_after = _size(database)

        started = time.perf_counter()
        done = 0
        while done < entries:
            count = min(batch, entries - done)
            leaves = [
                hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(done, done + count)
            ]
            with database.transaction() as session:
                MerkleLog(DatabaseNodeStore(session, "41")).append_many(leaves)
            done += count
        node_seconds = time.perf_counter() - started

        rounds = 200
        started = time.perf_counter()
        with database.transaction() as session:
            log = MerkleLog(DatabaseNodeStore(session, "44"))
            for i in range(rounds):
                log.inclusion_proof((i * 7919) % entries)
                log.consistency_proof(max(1, (i * 104729) % entries))
        proof_seconds = time.perf_counter() - started
        result = {
            "dialect": database.dialect,
            "entries": entries,
            "batch": batch,
            "log_appends_per_s": round(entries / log_seconds),
            "node_appends_per_s": round(entries / node_seconds),
            "bytes_per_entry": round((size_after - size_before) / entries),
            "proof_ms": round(1000 * proof_seconds / rounds, 3),
        }
    finally:
        database.dispose()
    print(json.dumps(result))
    return result


if __name__ == "__main__":  # pragma: no cover
    bench_store(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
