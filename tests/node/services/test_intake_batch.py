"""The batched bulk intake (node/services/intake_batch.py) against the one-by-one reference path.

Both run on twin databases (same backend, same organisation and keys, the same rows stored
beforehand) over one mixed file: good rows, each kind of bad row, duplicates inside a chunk and
against stored rows, serial gaps. Outcomes, certificate rows, log entries, Merkle nodes and
audit events must be identical (ciphertexts differ by their random nonce, so records are
compared decrypted).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from node.core.certificate import Certificate
from node.core.formats.submissions import InvalidRow, parse_submission, read_submission
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake import IntakeService
from node.services.intake_checks import RowOutcome
from node.storage import CertificateRepository, Database, open_database
from node.storage.schema import (
    AuditEvent,
    CertificateRow,
    LogEntryRow,
    LogState,
    MerkleNode,
    table_of,
)
from tests.conftest import ROOT, VOCABULARY
from tests.node.services.test_intake import (
    ACTOR,
    CALENDAR,
    KEY,
    LATER_KEY,
    NETWORK,
    NOW,
    ON_TIME,
    ORG,
    ORG_NAME,
    OTHER_ORG,
    SCOPE,
    SUITE,
    cert,
    jsonl,
    salted,
    sign,
    wrong_check,
)
from tests.node.storage.conftest import blind_index, cipher

LATE_REASON = 601  # node.core.rules.reasons: late upload, system failure
KEY_VALID_FROM = 1735660800  # 2025-01-01, as certreg.dev.sample


def file_organisation(database: Database) -> Database:
    """File the sample organisation with the keys of tests/node/services/test_intake.py."""
    from node.storage import OrganisationRepository

    with database.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(code=ORG, province="44", name=ORG_NAME, scope=SCOPE, now=NOW)
        orgs.add_key(
            ORG, suite="ed25519", public_key=SUITE.public_key(KEY), valid_from=KEY_VALID_FROM,
            now=NOW,
        )  # fmt: skip
        orgs.add_key(
            ORG, suite="ed25519", public_key=SUITE.public_key(LATER_KEY), valid_from=1767196800,
            now=NOW,
        )  # fmt: skip
    return database


@pytest.fixture
def twins(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Database]]:
    """Two fresh databases of the same backend with the organisation filed in each."""
    urls = []
    for name in ("batched", "reference"):
        if backend == "sqlite":
            urls.append(f"sqlite:///{tmp_path / name}.db")
        else:
            urls.append(request.getfixturevalue("postgres").create(migrated=True))
    dbs = [file_organisation(open_database(url)) for url in urls]
    try:
        yield dbs
    finally:
        for db in dbs:
            db.dispose()


def service_for(db: Database, calendar: WorkdayCalendar = CALENDAR) -> IntakeService:
    return IntakeService(
        db,
        "44",
        NETWORK,
        cipher(),
        blind_index(),
        calendar=calendar,
        vocabulary=VOCABULARY,
        clock=lambda: NOW,
    )


def line(c: Certificate, *, good: bool = True, **extra: Any) -> bytes:
    data = jsonl([(c, good)]).getvalue()
    if extra:
        obj = json.loads(data)
        obj.update(extra)
        data = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
    return data


def unsigned(c: Certificate) -> bytes:
    return (json.dumps(dict(c.fields()), ensure_ascii=False) + "\n").encode()


def stored(serial: int) -> Certificate:
    """A level 4 certificate, stored before the file (the file's good rows are level 3, so
    their serial gaps are their own)."""
    return cert(serial, level=4, certificate_number=f"{ORG}254{serial:06d}")


OTHER_PROVINCE = "S000141011001"
#: The mixed file: (expected outcome, line). ``ok`` or (field, rule) of the refusal.
MIXED: list[tuple[Any, bytes]] = [
    ("ok", line(cert(1))),
    (("signature", "signature.invalid"), line(cert(2), good=False)),
    ("ok", line(cert(3))),  # serial 2 was refused: a gap
    (("certificate_number", "serial.duplicate"), line(cert(1, holder_name="甲乙丙"))),
    (("certificate_number", "serial.duplicate"), line(cert(1))),  # the very same line again
    (("certificate_number", "serial.duplicate"), line(stored(40))),  # stored beforehand
    (("row", "intake.json"), b"[1, 2]\n"),
    (("id_type", "intake.missing_column"), b'{"holder_name": 1}\n'),
    (("salts", "intake.unsigned"), unsigned(cert(4))),
    (("id_number", "id_number.resident_id.check_character"),
     line(cert(5, id_number=wrong_check(cert(5).id_number)))),
    (("certificate_number", "certnum.province.node"),
     line(cert(6, organisation_code=OTHER_PROVINCE,
               certificate_number=OTHER_PROVINCE + "253000006"))),
    (("organisation_code", "organisation.unknown"),
     line(cert(7, organisation_code=OTHER_ORG, certificate_number=OTHER_ORG + "253000007"))),
    (("occupation_code", "scope.occupation"),
     line(cert(8, occupation_code="6-05-01-01", occupation_name="其他", work_type_code="--",
               work_type_name="--"))),
    (("level", "scope.level"), line(cert(9, level=1, certificate_number=ORG + "251000009"))),
    (("late_reason", "late_reason.required"), line(cert(10, issue_date="2025-03-03"))),
    ("ok", line(cert(11, issue_date="2025-03-03"), late_reason=LATE_REASON)),
    # Stored beforehand and since superseded (a correction): its serial is free again, its
    # commitment is not.
    (("commitment", "certificate.duplicate"), line(stored(41))),
    ("ok", line(cert(12))),
    ("ok", line(cert(20))),  # gap 13-19
    (("key_id", "signature.key_not_valid"), line(cert(21, issue_date="2024-12-02",
     certificate_number=ORG + "243000021"))),
    (("certificate_number", "certnum.position_16.matches_level"), line(cert(22, level=4))),
]  # fmt: skip


def mixed_file() -> bytes:
    return b"".join(data for _, data in MIXED)


def store_beforehand(db: Database) -> None:
    """Rows stored before the file: serial 40, and serial 41 marked superseded (as a correction
    leaves it), whose commitment the file repeats."""
    service = service_for(db)
    for c in (stored(40), stored(41)):
        s = salted(c)
        service.submit(s, sign(s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
    certificates = table_of(CertificateRow)
    with db.transaction() as session:
        session.execute(
            update(certificates)
            .where(certificates.c.commitment == salted(stored(41)).commitment())
            .values(superseded_by=bytes(32), status="superseded")
        )


def snapshot(db: Database) -> dict[str, Any]:
    """Everything intake writes, in insertion order, without ids and ciphertexts."""
    with db.transaction() as session:
        certs = [
            {k: v for k, v in row._mapping.items() if k not in ("id", "record")}
            for row in session.execute(
                select(table_of(CertificateRow)).order_by(table_of(CertificateRow).c.id)
            )
        ]
        records = CertificateRepository(session, cipher(), blind_index())
        decrypted = [
            records.salted(record)
            for record in (records.get(bytes(c["commitment"])) for c in certs)
            if record is not None
        ]
        entries = [
            dict(row._mapping)
            for row in session.execute(
                select(table_of(LogEntryRow)).order_by(table_of(LogEntryRow).c.leaf_index)
            )
        ]
        nodes = sorted(tuple(row) for row in session.execute(select(table_of(MerkleNode))))
        state = [tuple(row) for row in session.execute(select(table_of(LogState)))]
        audit = [
            {k: v for k, v in row._mapping.items() if k != "id"}
            for row in session.execute(
                select(table_of(AuditEvent)).order_by(table_of(AuditEvent).c.id)
            )
        ]
    return {
        "certificates": certs,
        "records": decrypted,
        "entries": entries,
        "nodes": nodes,
        "state": state,
        "audit": audit,
    }


def described(outcome: RowOutcome) -> tuple[Any, ...]:
    if outcome.accepted is not None:
        return (outcome.row_number, "ok", dataclasses.astuple(outcome.accepted))
    error = outcome.error
    assert error is not None
    return (outcome.row_number, type(error).__name__, error.field, error.rule, error.message)


@pytest.mark.parametrize("chunk_size", [1, 3, 500])
def test_batched_equals_one_by_one(twins: list[Database], chunk_size: int) -> None:
    batched_db, reference_db = twins
    for db in twins:
        store_beforehand(db)
    data = mixed_file()
    batched = list(
        service_for(batched_db).iter_per_row(
            parse_submission(io.BytesIO(data), "jsonl"), received_on=ON_TIME, actor=ACTOR,
            chunk_size=chunk_size,
        )
    )  # fmt: skip
    reference = list(
        service_for(reference_db).iter_one_by_one(
            parse_submission(io.BytesIO(data), "jsonl"), received_on=ON_TIME, actor=ACTOR,
            chunk_size=chunk_size,
        )
    )  # fmt: skip
    assert [described(o) for o in batched] == [described(o) for o in reference]
    # The expected outcomes, rule by rule (so both paths are checked, not only equal).
    assert len(batched) == len(MIXED)
    for outcome, (expected, _) in zip(batched, MIXED, strict=True):
        if expected == "ok":
            assert outcome.ok, described(outcome)
        else:
            assert outcome.error is not None and isinstance(outcome.error, InvalidRow)
            assert (outcome.error.field, outcome.error.rule) == expected, described(outcome)
            assert outcome.error.message.startswith(f"row {outcome.row_number}:")
    accepted = [o.accepted for o in batched if o.accepted is not None]
    assert [a.log_index for a in accepted] == [2, 3, 4, 5, 6]  # 0, 1: stored beforehand
    # Serials 1, 3 (2 refused), 11 (4-10 missing), 12, 20 (13-19 missing).
    assert [[w.code for w in a.warnings] for a in accepted] == [
        [],
        ["serial.gap"],
        ["serial.gap"],
        [],
        ["serial.gap"],
    ]
    assert accepted[2].late_reason == LATE_REASON
    assert snapshot(batched_db) == snapshot(reference_db)


def test_batched_atomic_refuses_first_error_and_writes_nothing(twins: list[Database]) -> None:
    db, reference_db = twins
    store_beforehand(db)
    store_beforehand(reference_db)
    before = snapshot(db)
    for chunk_size in (1, 2, 500):
        with pytest.raises(InvalidRow) as info:
            service_for(db).submit_bulk(
                parse_submission(io.BytesIO(mixed_file()), "jsonl"), mode="atomic",
                received_on=ON_TIME, actor=ACTOR, chunk_size=chunk_size,
            )  # fmt: skip
        assert (info.value.row_number, info.value.field, info.value.rule) == (
            2, "signature", "signature.invalid"
        )  # fmt: skip
        assert snapshot(db) == before
    good = b"".join(line(cert(i)) for i in range(1, 8))
    result = service_for(db).submit_bulk(
        parse_submission(io.BytesIO(good), "jsonl"), mode="atomic", received_on=ON_TIME,
        actor=ACTOR, chunk_size=3,
    )  # fmt: skip
    assert result.accepted == 7 and result.refused == 0
    reference = list(
        service_for(reference_db).iter_one_by_one(
            parse_submission(io.BytesIO(good), "jsonl"), received_on=ON_TIME, actor=ACTOR
        )
    )
    assert [described(o) for o in result.outcomes] == [described(o) for o in reference]
    assert snapshot(db) == snapshot(reference_db)


def test_duplicates_inside_one_chunk_and_across_chunks(twins: list[Database]) -> None:
    """The same row twice in a chunk, and again in the next chunk: accepted once."""
    db = twins[0]
    data = line(cert(1)) + line(cert(1)) + line(cert(2)) + line(cert(1))
    outcomes = list(
        service_for(db).iter_per_row(
            parse_submission(io.BytesIO(data), "jsonl"), received_on=ON_TIME, actor=ACTOR,
            chunk_size=3,
        )
    )  # fmt: skip
    assert [o.ok for o in outcomes] == [True, False, True, False]
    assert [(o.error.field, o.error.rule) for o in outcomes if o.error is not None] == [
        ("certificate_number", "serial.duplicate"),
        ("certificate_number", "serial.duplicate"),
    ]
    state = snapshot(db)
    assert len(state["certificates"]) == 2 and len(state["entries"]) == 2
    assert len(state["audit"]) == 2
    assert [c["log_index"] for c in state["certificates"]] == [0, 1]


def test_suspended_organisation_refused_in_batch(twins: list[Database]) -> None:
    from node.storage import OrganisationRepository

    db = twins[0]
    with db.transaction() as session:
        OrganisationRepository(session).set_status(ORG, "suspended", now=NOW)
    outcomes = list(
        service_for(db).iter_per_row(
            parse_submission(io.BytesIO(line(cert(1))), "jsonl"), received_on=ON_TIME,
            actor=ACTOR,
        )
    )  # fmt: skip
    [outcome] = outcomes
    assert outcome.error is not None
    assert (outcome.error.field, outcome.error.rule) == (
        "organisation_code", "organisation.not_active"
    )  # fmt: skip
    assert snapshot(db)["certificates"] == []


def test_personal_data_never_in_batch_errors(twins: list[Database]) -> None:
    db = twins[0]
    store_beforehand(db)
    outcomes = list(
        service_for(db).iter_per_row(
            parse_submission(io.BytesIO(mixed_file()), "jsonl"), received_on=ON_TIME,
            actor=ACTOR, chunk_size=7,
        )
    )  # fmt: skip
    secrets = (
        {cert(i).holder_name for i in range(1, 45)}
        | {stored(40).holder_name}
        | {cert(i).id_number for i in range(1, 45)}
    )
    for o in outcomes:
        if o.error is not None:
            text = str(o.error) + repr(o.error) + o.error.message
            assert not any(secret in text for secret in secrets)
    for event in snapshot(db)["audit"]:
        assert not any(secret in json.dumps(event["details"]) for secret in secrets)


@pytest.mark.parametrize("read", [parse_submission, read_submission])
def test_worker_processes_give_the_same_result(
    twins: list[Database], read: Callable[[io.BytesIO, str], Iterator[Any]]
) -> None:
    """``workers=2``: parsing (rows read raw), pure checks, signature verification and the
    sealed columns in worker processes, against the one-by-one path on parsed rows."""
    pooled_db, reference_db = twins
    for db in twins:
        store_beforehand(db)
    data = mixed_file()
    pooled = list(
        service_for(pooled_db).iter_per_row(
            read(io.BytesIO(data), "jsonl"), received_on=ON_TIME, actor=ACTOR,
            chunk_size=4, workers=2,
        )
    )  # fmt: skip
    reference = list(
        service_for(reference_db).iter_one_by_one(
            parse_submission(io.BytesIO(data), "jsonl"), received_on=ON_TIME, actor=ACTOR,
            chunk_size=4,
        )
    )  # fmt: skip
    assert [described(o) for o in pooled] == [described(o) for o in reference]
    assert sum(o.ok for o in pooled) == 5
    assert snapshot(pooled_db) == snapshot(reference_db)


_POOL_HOLDER = """
import sys, time
from node.services.intake_batch import PreparePool, Sealer
from tests.node.services.test_intake_batch import CALENDAR, VOCABULARY, blind_index, cipher
if __name__ == "__main__":
    pool = PreparePool(2, Sealer("44", cipher(), blind_index()), CALENDAR, VOCABULARY)
    futures = [pool._pool.submit(time.sleep, 0.1) for _ in range(4)]
    for f in futures:
        f.result()
    print(" ".join(str(pid) for pid in pool._pool._processes), flush=True)
    time.sleep(600)
"""


def test_workers_leave_when_the_writer_is_killed_outright(tmp_path: Path) -> None:
    """A writer killed with SIGKILL alone (not its process group) cannot stop its pool: the
    workers watch their parent and exit, instead of waiting on their queue for ever."""
    script = tmp_path / "holder.py"
    script.write_text(_POOL_HOLDER, encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    workers = [int(pid) for pid in holder.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    holder.kill()
    holder.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False
