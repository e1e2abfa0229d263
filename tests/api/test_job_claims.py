"""Bulk jobs claimed from the database (api/jobs.py), in one process over both backends: a
runner whose lease was taken over commits nothing more (not even the chunk it was about to
take in), and the runner that claims the job next takes every row in once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, update

from api.jobs import JobRunner, Upload, count_rows
from node.storage import Database, ProvinceLog
from node.storage.schema import BulkJob, BulkJobResult, table_of
from tests.api.helpers import row
from tests.contract.conftest import Registry
from tests.province.helpers import ON_TIME, file_sample_organisation, make_node

ROWS = 30
HOUR = dt.timedelta(hours=1)
JOBS = table_of(BulkJob)
RESULTS = table_of(BulkJobResult)


def _log_size(db: Database) -> int:
    with db.transaction() as session:
        return ProvinceLog(session, "44").size


def _job(db: Database, job_id: str) -> dict[str, object]:
    with db.transaction() as session:
        job = session.execute(select(JOBS).where(JOBS.c.id == job_id)).one()
    return dict(job._mapping)


def test_a_runner_that_lost_its_lease_commits_nothing_and_the_next_one_takes_every_row_once(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    file_sample_organisation(database, reg.as_(0))
    node = make_node(database, reg.as_(0), tmp_path)
    path = tmp_path / "upload.jsonl"
    path.write_text(
        "".join(json.dumps(row(node, 100 + i), ensure_ascii=False) + "\n" for i in range(ROWS)),
        encoding="utf-8",
    )
    upload = Upload(path, "jsonl", count_rows(path, "jsonl"))
    first = JobRunner(database, node.intake, "44", workers=1, chunk_size=7, owner="first")
    # The first runner's only thread is busy, so the job it claims waits for it.
    busy = threading.Event()
    first._executor.submit(busy.wait, 60)
    job_id = first.start(
        upload, mode="per_row", received_on=ON_TIME, actor="test", owner_key=1,
        now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    assert not path.exists()  # the upload is in the database now
    claimed = _job(database, job_id)
    assert (claimed["state"], claimed["lease_owner"]) == ("running", "first")
    # Another process takes the job over (as after the first one's lease ran out).
    with database.transaction() as session:
        session.execute(
            update(JOBS)
            .where(JOBS.c.id == job_id)
            .values(
                lease_owner="thief", lease_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
            )
        )
    busy.set()
    first.futures[job_id].result(timeout=60)
    first.close()
    after = _job(database, job_id)
    assert (after["state"], after["processed"], after["lease_owner"]) == ("running", 0, "thief")
    assert _log_size(database) == 0  # the chunk it was about to take in is not there

    # The thief's lease runs out; the next runner claims the job and takes every row in once.
    with database.transaction() as session:
        session.execute(
            update(JOBS).where(JOBS.c.id == job_id).values(lease_until=dt.datetime.now(dt.UTC))
        )
    second = JobRunner(database, node.intake, "44", workers=1, chunk_size=7, lease_seconds=0.3)
    try:
        deadline = time.monotonic() + 60
        while (state := _job(database, job_id))["state"] != "done":
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        view = second.get(job_id)
    finally:
        second.close()
    assert view is not None
    assert (view["processed"], view["accepted"], view["refused"]) == (ROWS, ROWS, 0)
    assert [r["row"] for r in view["results"]] == list(range(1, ROWS + 1))
    assert [r["log_index"] for r in view["results"]] == list(range(ROWS))
    assert _log_size(database) == ROWS
    assert state["lease_owner"] is None and state["upload_format"] == "jsonl"
    with database.transaction() as session:
        stored = session.execute(
            select(func.count()).select_from(RESULTS).where(RESULTS.c.job_id == job_id)
        ).scalar_one()
    assert stored == ROWS  # one stored result per row


def test_a_runner_keeps_no_future_of_a_job_it_finished_once_the_next_one_starts(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    """A server runs jobs for months: its map of futures holds the running ones (and the last
    one it started), not one per job it ever ran."""
    file_sample_organisation(database, reg.as_(0))
    node = make_node(database, reg.as_(0), tmp_path)
    runner = JobRunner(database, node.intake, "44", workers=1, chunk_size=7, lease_seconds=0.3)
    try:
        started = []
        for job in range(3):
            path = tmp_path / f"upload-{job}.jsonl"
            path.write_text(json.dumps(row(node, 200 + job)) + "\n", encoding="utf-8")
            upload = Upload(path, "jsonl", 1)
            job_id = runner.start(
                upload, mode="per_row", received_on=ON_TIME, actor="test", owner_key=1,
                now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
            started.append(job_id)
            deadline = time.monotonic() + 60
            while started[-1] not in runner.futures:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            runner.futures[started[-1]].result(timeout=60)
        assert list(runner.futures) == [started[-1]]
        assert all(_job(database, job_id)["state"] == "done" for job_id in started)
    finally:
        runner.close()
