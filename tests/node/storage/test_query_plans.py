"""The lookups that run per certificate or per request use an index, never a scan of a table
that grows with the log (SQLite's ``EXPLAIN QUERY PLAN``).

Migration 0004 left three indexes partial or out (docs/STORAGE.md "Indexes"); these tests pin
that every query that used them still finds its rows through an index.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from node.storage import (
    AuditTrail,
    CertificateRepository,
    Database,
    ProvinceLog,
    open_database,
)
from node.storage.schema import CertificateRow, table_of
from tests.node.storage.conftest import ORG, blind_index, cipher, file_organisations

#: Tables whose size grows with the number of certificates.
_GROWING = ("certificates", "log_entries", "audit_events", "merkle_nodes")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    file_organisations(database)
    yield database
    database.dispose()


def _plans(db: Database, run: Callable[[Any], object]) -> list[tuple[str, list[str]]]:
    """Run ``run(session)`` and return each SELECT it issued with its query plan."""
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with db.transaction() as session:
            run(session)
            cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            return [
                (
                    statement,
                    [
                        row[-1]
                        for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                    ],
                )
                for statement, parameters in seen
            ]
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def _assert_no_scan(plans: list[tuple[str, list[str]]]) -> None:
    assert plans
    for statement, plan in plans:
        for step in plan:
            scanned = re.match(r"SCAN (\w+)", step)
            assert not (scanned and scanned.group(1) in _GROWING), (statement, plan)


def test_issue_and_status_entries_of_a_commitment_are_found_by_index(db: Database) -> None:
    commitment = b"\x07" * 32

    def run(session: Any) -> None:
        log = ProvinceLog(session, "44")
        log.indexes_of(commitment)
        log.status_changes_of(commitment, 10**6)

    plans = _plans(db, run)
    _assert_no_scan(plans)
    used = " ".join(step for _, plan in plans for step in plan)
    assert "ix_log_entries_status_commitment" in used


def test_audit_events_of_a_certificate_are_found_by_index(db: Database) -> None:
    plans = _plans(db, lambda session: AuditTrail(session).for_target("certificate", "ab" * 32))
    _assert_no_scan(plans)
    used = " ".join(step for _, plan in plans for step in plan)
    assert "ix_audit_events_target" in used and "ix_audit_events_occurred_at" in used


@pytest.mark.parametrize(
    "query",
    [
        {"name": "欧阳娜娜", "id_number": "11010519491231002X"},
        {"certificate_number": "S000144002009255000001", "name": "欧阳娜娜"},
        {"certificate_number": "S000144002009255000001", "id_number": "11010519491231002X"},
    ],
)
def test_two_of_three_is_found_by_index(db: Database, query: dict[str, str]) -> None:
    plans = _plans(
        db,
        lambda session: CertificateRepository(
            session, cipher(), blind_index()
        ).find_by_two_of_three(**query),
    )
    _assert_no_scan(plans)


def test_bulk_intake_state_queries_are_found_by_index(db: Database) -> None:
    with db.transaction() as session:  # serial 7 stored: serial_state asks about 1-3 as well
        session.execute(
            insert(table_of(CertificateRow)).values(
                commitment=b"\x07" * 32, certificate_number=f"{ORG}255000007", province="44",
                organisation_code=ORG, level=5, issue_year=2025, serial=7,
                issue_date=dt.date(2025, 6, 1), occupation_code="6-18-01-01",
                work_type_code="--", status="active", signature_suite="ed25519",
                signature_key_id=0, signature=b"\x05" * 64, record=b"\x00", record_key_id="k1",
                holder_name_index=b"\x01" * 32, id_number_index=b"\x02" * 32,
                submitted_at=dt.datetime(2025, 6, 2, tzinfo=dt.UTC),
                status_changed_at=dt.datetime(2025, 6, 2, tzinfo=dt.UTC),
            )
        )  # fmt: skip

    def run(session: Any) -> None:
        certificates = CertificateRepository(session, cipher(), blind_index())
        certificates.existing_commitments([b"\x01" * 32, b"\x02" * 32])
        certificates.current_numbers(["S000144002009255000001"])
        certificates.serial_state(ORG, 2025, 5, [1, 2, 3])

    _assert_no_scan(_plans(db, run))


def test_anchoring_and_export_pages_are_found_by_index(db: Database) -> None:
    def run(session: Any) -> None:
        CertificateRepository(session, cipher(), blind_index()).anchored("44", after_id=10)

    _assert_no_scan(_plans(db, run))
