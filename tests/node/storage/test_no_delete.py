"""Nothing is ever physically deleted: no code path issues DELETE, and the database refuses it.
The one exception is ``EPHEMERAL_TABLES`` (rate-limit buckets, not records: a full bucket is
deleted, node/storage/buckets.py ``forget_full``), and only there.

The suite-wide hook in ``conftest.py`` fails any DELETE or TRUNCATE sent through SQLAlchemy
during every storage test; here the hook itself, the source and the database triggers are
checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

import node.storage
from node.storage import Database
from node.storage.schema import ALL_TABLES, APPEND_ONLY_TABLES, EPHEMERAL_TABLES
from tests.node.storage import conftest
from tests.node.storage.conftest import fill_every_table

STORAGE_DIR = Path(node.storage.__file__).parent
PRIVACY = STORAGE_DIR.parent / "core" / "crypto" / "privacy.py"


def test_hook_catches_delete(database: Database) -> None:
    before = len(conftest.DELETES)
    with pytest.raises(AssertionError, match="DELETE"), database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
    # Expected here only; the session-end check must not count it.
    del conftest.DELETES[before:]


def test_source_has_no_delete() -> None:
    """The run-time code has no delete call or statement (migration scripts, which define the
    guarding triggers, are checked by the trigger tests below instead)."""
    pattern = re.compile(r"\bdelete\s*\(|\.delete\b|DELETE\s+FROM|\bTRUNCATE\s|drop_table", re.I)
    paths = [p for p in STORAGE_DIR.rglob("*.py") if "versions" not in p.parts]
    found = []
    for path in [*paths, PRIVACY]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    # The one delete: full rate-limit buckets (an ephemeral table).
    assert len(found) == 1, found
    assert found[0].startswith("buckets.py:") and "DELETE FROM rate_buckets" in found[0]


@pytest.mark.parametrize("table", ALL_TABLES)
def test_database_refuses_delete(database: Database, table: str) -> None:
    fill_every_table(database)
    raw = database.engine.raw_connection()  # bypasses the hook: the database must refuse
    try:
        cursor = raw.cursor()
        with pytest.raises(Exception, match="never deleted"):
            cursor.execute(f"DELETE FROM {table}")
        raw.rollback()
        if database.dialect == "postgresql":
            with pytest.raises(Exception, match="never deleted"):
                cursor.execute(f"TRUNCATE {table} CASCADE")
            raw.rollback()
    finally:
        raw.close()


@pytest.mark.parametrize("table", EPHEMERAL_TABLES)
def test_only_ephemeral_tables_take_delete(database: Database, table: str) -> None:
    fill_every_table(database)
    assert table not in ALL_TABLES
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"DELETE FROM {table}")
        raw.rollback()
    finally:
        raw.close()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_database_refuses_update_of_append_only_tables(database: Database, table: str) -> None:
    fill_every_table(database)
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        column = {
            "audit_events": "actor",
            "log_entries": "kind",
            "merkle_nodes": "level",
            "access_records": "result",
            "access_record_commitments": "record_index",
            "access_log_anchors": "size",
            "federation_nonces": "seen_at",
            "foreign_entries": "adopted_by",
            "witness_statements": "kind",
        }[table]
        with pytest.raises(Exception, match="append-only"):
            cursor.execute(f"UPDATE {table} SET {column} = {column}")
        raw.rollback()
    finally:
        raw.close()
