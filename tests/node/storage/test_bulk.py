"""``node.storage.bulk.insert_rows``: the fast paths (executemany on SQLite, ``COPY`` on
PostgreSQL) store what SQLAlchemy Core stores."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from node.core.errors import InvalidInput, StorageError
from node.core.time import CHINA_STANDARD_TIME as CST
from node.storage import Database, open_database
from node.storage.bulk import insert_rows, postgres_copy_type, select_in
from node.storage.schema import AuditEvent, Base, CertificateRow, Organisation, table_of
from tests.servers import PostgresAdmin

WHEN = [
    dt.datetime(2025, 6, 20, 1, 2, 3, 456789, tzinfo=dt.UTC),
    dt.datetime(2025, 6, 20, 9, 2, 3, tzinfo=CST),  # another offset: stored as UTC
    dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
]


def _organisation() -> dict[str, Any]:
    return {
        "code": "S000144011001",
        "province": "44",
        "name": "机构",
        "org_class": "S",
        "category": None,
        "scope": [{"occupation_code": "6-18-01-01", "levels": [5]}],
        "scope_hash": None,
        "status": "active",
        "created_at": WHEN[0],
        "updated_at": WHEN[1],
    }


def _certificates() -> list[dict[str, Any]]:
    return [
        {
            "commitment": bytes([i]) * 32,
            "certificate_number": f"S000144011001255{i:06d}",
            "province": "44",
            "organisation_code": "S000144011001",
            "level": 5,
            "issue_year": 2025,
            "serial": i,
            "issue_date": dt.date(2025, 6, 18 - i),
            "occupation_code": "6-18-01-01",
            "work_type_code": "--",
            "status": "active",
            "superseded_by": None,
            "signature_suite": "ed25519",
            "signature_key_id": 0,
            "signature": b"\x05" * 64,
            "record": b"\x00ciphertext" * i,
            "record_key_id": "k1",
            "holder_name_index": bytes([i + 1]) * 32,
            "id_number_index": bytes([i + 2]) * 32,
            "log_index": i if i % 2 else None,
            "submitted_at": WHEN[i % 3],
            "late_reason": None if i % 2 else 101,
            "status_changed_at": WHEN[(i + 1) % 3],
            "deleted_at": None if i % 2 else WHEN[2],
        }
        for i in range(1, 6)
    ]


def _events() -> list[dict[str, Any]]:
    details: list[Any] = [
        {"certificate_number": "S000144011001255000001", "warnings": ["serial.gap"], "n": 1},
        None,
        {"中文": "值", "nested": {"a": [1, 2.5, None, True]}},
    ]
    return [
        {
            "occurred_at": WHEN[i],
            "actor": "bench",
            "action": "issue",
            "target_type": "certificate",
            "target_id": f"{i:064x}",
            "reason": None if i else 7,
            "note": None,
            "details": details[i],
        }
        for i in range(3)
    ]


def _raw(path: Path, table: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_sqlite_fast_path_stores_the_bytes_core_stores(tmp_path: Path) -> None:
    paths = {name: tmp_path / f"{name}.db" for name in ("core", "fast")}
    for name, path in paths.items():
        db = open_database(f"sqlite:///{path}")
        with db.transaction() as session:
            session.execute(insert(table_of(Organisation)).values(**_organisation()))
            for model, rows in ((CertificateRow, _certificates()), (AuditEvent, _events())):
                if name == "core":
                    session.execute(insert(table_of(model)), rows)
                else:
                    insert_rows(session, table_of(model), rows, batch=2)
        db.dispose()
    for table in ("certificates", "audit_events"):
        core, fast = _raw(paths["core"], table), _raw(paths["fast"], table)
        assert len(fast) == {"certificates": 5, "audit_events": 3}[table]
        assert fast == core


def _raw_postgres(db: Database, table: str) -> list[str]:
    """Every row of ``table`` as PostgreSQL prints it (each column's stored value as text: the
    timestamptz instants, the json text as stored, the bytea bytes, the dates)."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET TIME ZONE 'UTC'")
        return [str(r) for (r,) in conn.execute(text(f"SELECT t::text FROM {table} t ORDER BY 1"))]


def _postgres_db(postgres: PostgresAdmin) -> Database:
    return open_database(postgres.create(migrated=True), migrate=False)


def test_postgres_copy_stores_the_bytes_core_stores(postgres: PostgresAdmin) -> None:
    dbs = {name: _postgres_db(postgres) for name in ("core", "copy")}
    # One timestamp object repeated over rows (as bulk intake repeats its `now`).
    events = _events() + [{**e, "target_id": "f" * 64} for e in _events()]
    try:
        for name, db in dbs.items():
            assert db.engine.dialect.name == "postgresql"
            with db.transaction() as session:
                session.execute(insert(table_of(Organisation)).values(**_organisation()))
                for model, rows in ((CertificateRow, _certificates()), (AuditEvent, events)):
                    if name == "core":
                        session.execute(insert(table_of(model)), rows)
                    else:
                        insert_rows(session, table_of(model), rows, batch=2)
        for table in ("certificates", "audit_events"):
            core, fast = _raw_postgres(dbs["core"], table), _raw_postgres(dbs["copy"], table)
            assert len(fast) == {"certificates": 5, "audit_events": 6}[table]
            assert fast == core
        # The JSON null (not SQL NULL) of a None detail, as Core stores it.
        with dbs["copy"].engine.connect() as conn:
            nulls = conn.execute(
                text("SELECT count(*) FROM audit_events WHERE details::text = 'null'")
            ).scalar_one()
        assert nulls == 2
    finally:
        for db in dbs.values():
            db.dispose()


def test_postgres_copy_refuses_naive_timestamps_and_writes_nothing(
    postgres: PostgresAdmin,
) -> None:
    db = _postgres_db(postgres)
    events = _events()
    events[2]["occurred_at"] = dt.datetime(2025, 6, 20, 1, 2, 3)  # naive
    try:
        with pytest.raises(InvalidInput) as caught, db.transaction() as session:
            insert_rows(session, table_of(AuditEvent), events, batch=1)
        assert (caught.value.field, caught.value.rule) == ("now", "time.aware")
        assert _raw_postgres(db, "audit_events") == []
    finally:
        db.dispose()


def test_postgres_copy_refused_row_raises_and_leaves_nothing(postgres: PostgresAdmin) -> None:
    db = _postgres_db(postgres)
    certs = _certificates()
    try:
        with db.transaction() as session:
            session.execute(insert(table_of(Organisation)).values(**_organisation()))
            insert_rows(session, table_of(CertificateRow), certs[:2], batch=500)
        before = _raw_postgres(db, "certificates")
        assert len(before) == 2
        # Rows 3-5, then row 1 again: its commitment is the primary key.
        with pytest.raises(StorageError) as caught, db.transaction() as session:
            insert_rows(session, table_of(AuditEvent), _events(), batch=500)
            insert_rows(session, table_of(CertificateRow), [*certs[2:], certs[0]], batch=500)
        assert type(caught.value.__cause__).__name__ == "IntegrityError"
        assert "UniqueViolation" in repr(caught.value.__cause__)
        # Parameters (ciphertexts, blind indexes) stay out of the error.
        assert "ciphertext" not in str(caught.value.__cause__)
        assert _raw_postgres(db, "certificates") == before
        assert _raw_postgres(db, "audit_events") == []
        # The connection is usable again after the rollback.
        with db.transaction() as session:
            insert_rows(session, table_of(CertificateRow), certs[2:], batch=500)
        assert len(_raw_postgres(db, "certificates")) == 5
    finally:
        db.dispose()


def test_rows_read_back_on_both_backends(database: Database) -> None:
    with database.transaction() as session:
        session.execute(insert(table_of(Organisation)).values(**_organisation()))
        insert_rows(session, table_of(CertificateRow), _certificates(), batch=3)
        insert_rows(session, table_of(AuditEvent), _events(), batch=500)
    certs = table_of(CertificateRow)
    with database.transaction() as session:
        rows = session.execute(select(certs).order_by(certs.c.serial)).all()
        events = session.execute(select(table_of(AuditEvent))).all()
    expected = _certificates()
    assert [r.submitted_at for r in rows] == [e["submitted_at"] for e in expected]
    assert [r.issue_date for r in rows] == [e["issue_date"] for e in expected]
    assert [r.deleted_at for r in rows] == [e["deleted_at"] for e in expected]
    assert [bytes(r.record) for r in rows] == [e["record"] for e in expected]
    assert [r.details for r in events] == [e["details"] for e in _events()]


def test_naive_timestamps_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    events = _events()
    events[2]["occurred_at"] = dt.datetime(2025, 6, 20, 1, 2, 3)  # naive
    with pytest.raises(InvalidInput) as caught, db.transaction() as session:
        insert_rows(session, table_of(AuditEvent), events, batch=1)
    assert (caught.value.field, caught.value.rule) == ("now", "time.aware")
    assert _raw(tmp_path / "node.db", "audit_events") == []
    db.dispose()


def test_columns_of_one_value_store_what_core_stores(tmp_path: Path) -> None:
    """A column whose values are all equal is converted once on SQLite: equal timestamps given
    in other offsets, and equal JSON objects whose keys come in another order (which encode
    differently, so each is encoded on its own), still store Core's bytes."""
    instant = WHEN[0]
    same_instant = instant.astimezone(CST)  # equal, another object and offset
    certificates = _certificates()
    for i, row in enumerate(certificates):
        row["submitted_at"] = instant
        row["status_changed_at"] = instant if i % 2 else same_instant
        row["deleted_at"] = None
        row["issue_date"] = dt.date(2025, 6, 18)
    events = _events()
    for i, event in enumerate(events):
        event["occurred_at"] = same_instant if i else instant
        event["details"] = {"a": 1, "b": [True]} if i % 2 else {"b": [True], "a": 1}
    paths = {name: tmp_path / f"{name}.db" for name in ("core", "fast")}
    for name, path in paths.items():
        db = open_database(f"sqlite:///{path}")
        with db.transaction() as session:
            session.execute(insert(table_of(Organisation)).values(**_organisation()))
            for model, rows in ((CertificateRow, certificates), (AuditEvent, events)):
                if name == "core":
                    session.execute(insert(table_of(model)), rows)
                else:
                    insert_rows(session, table_of(model), rows, batch=2)
        db.dispose()
    for table in ("certificates", "audit_events"):
        assert _raw(paths["fast"], table) == _raw(paths["core"], table)
    details = [row[-1] for row in _raw(paths["fast"], "audit_events")]
    assert details == ['{"b": [true], "a": 1}', '{"a": 1, "b": [true]}', '{"b": [true], "a": 1}']


def test_select_in_finds_exactly_the_stored_values_on_both_backends(database: Database) -> None:
    certs = table_of(CertificateRow)
    with database.transaction() as session:
        session.execute(insert(table_of(Organisation)).values(**_organisation()))
        insert_rows(session, certs, _certificates(), batch=500)
    stored = [c["commitment"] for c in _certificates()]
    asked = {*stored[1:], b"\x99" * 32, b"\x00" * 32}  # four stored, two not
    with database.transaction() as session:
        found = {
            bytes(v) for (v,) in select_in(session, certs, "commitment", certs.c.commitment,
                                           asked, 2)
        }  # fmt: skip
        assert found == set(stored[1:])
        # With conditions: serials 1-5 stored, only the even ones have log_index None.
        serials = {
            int(v)
            for (v,) in select_in(
                session, certs, "serial", certs.c.serial, {2, 3, 4, 9}, 500,
                where=(certs.c.log_index.is_(None),), sqlite_where="log_index IS NULL",
            )
        }  # fmt: skip
        assert serials == {2, 4}
        numbers = {
            str(v)
            for (v,) in select_in(
                session, certs, "certificate_number", certs.c.certificate_number,
                {"S000144011001255000003", "S000144011001255000007"}, 500,
            )
        }  # fmt: skip
        assert numbers == {"S000144011001255000003"}


def test_serial_state_finds_used_serials_and_the_highest(database: Database) -> None:
    from node.storage import CertificateRepository
    from tests.node.storage.conftest import blind_index, cipher

    rows = _certificates()  # serials 1-5 of S000144011001, 2025, level 5
    rows[4]["superseded_by"] = rows[0]["commitment"]  # serial 5: not a current version
    with database.transaction() as session:
        session.execute(insert(table_of(Organisation)).values(**_organisation()))
        insert_rows(session, table_of(CertificateRow), rows, batch=500)
    with database.transaction() as session:
        certificates = CertificateRepository(session, cipher(), blind_index())
        state = certificates.serial_state
        assert state("S000144011001", 2025, 5, [2, 4, 6, 9]) == ({2, 4}, 4)
        assert state("S000144011001", 2025, 5, [5, 7]) == (set(), 4)
        assert state("S000144011001", 2025, 5, [1, 2, 3, 4]) == ({1, 2, 3, 4}, 4)
        assert state("S000144011001", 2025, 4, [1]) == (set(), 0)
        assert state("S000144011001", 2024, 5, [1]) == (set(), 0)


#: What the binary ``COPY`` sends for a column the database declares as ``json`` (114) or
#: ``varchar`` (1043): their binary input is their text (``text``, 25).
_SENT_AS_TEXT = {114: 25, 1043: 25}


def test_postgres_copy_types_are_the_migrated_databases_own(postgres: PostgresAdmin) -> None:
    """Binary ``COPY`` sends every value in the form of the type it names, and PostgreSQL reads
    it with the column's own: an ``int4`` sent for an ``int8`` column, or the model out of step
    with the migrations, would be refused or misread. Every column of every table."""
    db = _postgres_db(postgres)
    try:
        with db.engine.connect() as conn:
            declared = {
                (table, column): oid
                for table, column, oid in conn.execute(
                    text(
                        "SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a "
                        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                        "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
                    )
                )
            }
    finally:
        db.dispose()
    checked = 0
    for table in Base.metadata.tables.values():
        for column in table.columns:
            oid = declared[(table.name, column.name)]
            assert postgres_copy_type(column.type) == _SENT_AS_TEXT.get(oid, oid), (
                table.name,
                column.name,
            )
            checked += 1
    assert checked > 200
