"""Bulk upload jobs (docs/API.md): a resource with progress and per-row results.

The upload is streamed to a spool file (owner-only, deleted when its job ends) while its size is
checked (``api.middleware.SizeLimit``: 413 before anything is read when ``Content-Length`` says
too much, and as soon as a streamed body passes the limit); its header and row count are checked
by reading it once without parsing the rows (a bad header refuses the whole file at once,
docs/INTAKE.md "Errors"). The job then reads the file again, a chunk at a time, through
:meth:`node.services.intake.IntakeService.submit_bulk` /
:meth:`~node.services.intake.IntakeService.iter_per_row`, so memory is bounded by the chunk
size whatever the upload's size. Each chunk's results are *appended* to ``api_job_results`` and
its counters updated on ``api_jobs`` (linear time: nothing is rewritten). Jobs run on a small
thread pool (``ApiSettings.bulk_workers``), so one upload does not hold up the others, and never
on the request threads. Results hold row numbers, certificate numbers, commitments and rule ids
only (row error messages never hold a cell's value or an unknown key).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import func, select

from api import views
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.submissions import (
    InvalidRow,
    ParsedRow,
    RowResult,
    parse_submission,
    read_submission,
)
from node.services.intake import IntakeService
from node.services.intake_checks import BulkMode, RowOutcome
from node.storage import Database
from node.storage.schema import BulkJob, BulkJobResult, table_of

log = logging.getLogger(__name__)

_JOBS: Final = table_of(BulkJob)
_RESULTS: Final = table_of(BulkJobResult)
#: Rows per transaction and per progress update.
CHUNK_SIZE: Final = 200
#: Results ``GET /v1/jobs/{id}`` returns at once (``?offset=&limit=`` pages through more).
DEFAULT_RESULTS: Final = 10_000

RowFilter = Callable[[ParsedRow], InvalidInput | None]


def _error(row_number: int, error: InvalidInput) -> dict[str, Any]:
    return {"row": row_number, "field": error.field, "rule": error.rule, "message": error.message}


def _outcome(outcome: RowOutcome) -> dict[str, Any]:
    if outcome.accepted is not None:
        return {"row": outcome.row_number, **views.accepted(outcome.accepted)}
    assert outcome.error is not None
    return _error(outcome.row_number, outcome.error)


def filtered(rows: Iterable[RowResult], check: RowFilter) -> Iterator[RowResult]:
    """The rows, each one ``check`` refuses turned into an :class:`InvalidRow` (ownership
    checks of the API: an issuer may submit only its own organisation's certificates)."""
    for row in rows:
        if isinstance(row, ParsedRow):
            refusal = check(row)
            if refusal is not None:
                yield InvalidRow(row.row_number, refusal.field, refusal.rule, refusal.message)
                continue
        yield row


@dataclasses.dataclass(frozen=True, slots=True)
class Upload:
    """A spooled upload: its file (deleted when the job ends), format and row count."""

    path: Path
    fmt: Literal["csv", "jsonl"]
    total: int


def count_rows(path: Path, fmt: Literal["csv", "jsonl"]) -> int:
    """Check the upload's header and count its rows, reading it once without parsing the rows
    (bounded memory).

    Raises:
        InvalidInput: a bad CSV header, or ``intake.empty_file`` when there is no row.
    """
    with path.open("rb") as stream:
        total = sum(1 for _ in read_submission(stream, fmt))
    if total == 0:
        raise InvalidInput("body", "intake.empty_file", "the upload holds no rows")
    return total


def spool_path(directory: Path | None) -> tuple[int, Path]:
    """A new owner-only spool file (``mkstemp`` creates it 0600): its descriptor and path."""
    descriptor, name = tempfile.mkstemp(prefix="certreg-bulk-", suffix=".upload", dir=directory)
    return descriptor, Path(name)


class JobRunner:
    """Creates bulk jobs, runs them on a small thread pool and reads their state."""

    def __init__(
        self,
        db: Database,
        intake: IntakeService,
        province: str,
        *,
        workers: int = 2,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        if workers < 1:
            raise ValueError("at least one bulk worker")
        self._db = db
        self._intake = intake
        self._province = province
        self._chunk_size = chunk_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certreg-bulk")
        self.futures: dict[str, Future[None]] = {}

    def close(self) -> None:
        """Wait for running jobs and stop the threads."""
        self._executor.shutdown(wait=True)

    def start(
        self,
        upload: Upload,
        *,
        mode: BulkMode,
        received_on: dt.date,
        actor: str,
        owner_key: int,
        now: dt.datetime,
        check: RowFilter | None = None,
    ) -> str:
        """Record a queued job for ``upload`` and schedule it; return its id. The job owns the
        spool file from here on (it deletes it when it ends). ``check``: refuses rows the caller
        may not submit (:func:`filtered`)."""
        job_id = secrets.token_hex(16)
        try:
            with self._db.transaction() as session:
                session.execute(
                    _JOBS.insert().values(
                        id=job_id,
                        province=self._province,
                        owner_key=owner_key,
                        mode=mode,
                        state="queued",
                        total=upload.total,
                        processed=0,
                        accepted=0,
                        refused=0,
                        results=[],
                        created_at=now,
                        updated_at=now,
                    )
                )
        except BaseException:
            upload.path.unlink(missing_ok=True)
            raise
        self.futures[job_id] = self._executor.submit(
            self._run, job_id, upload, mode, received_on, actor, check
        )
        return job_id

    def get(
        self, job_id: str, *, offset: int = 0, limit: int = DEFAULT_RESULTS
    ) -> dict[str, Any] | None:
        """The job's JSON view with results ``offset`` … ``offset + limit`` (and
        ``next_offset`` when more follow), or None."""
        with self._db.transaction() as session:
            row = session.execute(select(_JOBS).where(_JOBS.c.id == job_id)).first()
            if row is None:
                return None
            results = list(row.results)
            stored = session.execute(
                select(func.count()).select_from(_RESULTS).where(_RESULTS.c.job_id == job_id)
            ).scalar_one()
            page = session.execute(
                select(_RESULTS.c.result)
                .where(_RESULTS.c.job_id == job_id)
                .order_by(_RESULTS.c.position)
                .offset(offset)
                .limit(limit)
            ).scalars()
            # A job from before migration 0007 keeps its list in ``api_jobs.results``.
            results = list(page) if stored else results[offset : offset + limit]
        view: dict[str, Any] = {
            "id": row.id,
            "province": row.province,
            "owner_key": row.owner_key,
            "mode": row.mode,
            "state": row.state,
            "total": row.total,
            "processed": row.processed,
            "accepted": row.accepted,
            "refused": row.refused,
            "results": results,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        if offset + len(results) < max(stored, len(row.results)):
            view["next_offset"] = offset + len(results)
        return view

    def _append(self, job_id: str, state: str, start: int, results: list[dict[str, Any]]) -> None:
        """Append ``results`` (positions ``start`` …) and move the counters on, in one
        transaction (retried while the database is busy)."""
        refused = sum(1 for r in results if "rule" in r)

        def work(session: Any) -> None:
            if results:
                session.execute(
                    _RESULTS.insert(),
                    [
                        {"job_id": job_id, "position": start + i, "result": result}
                        for i, result in enumerate(results)
                    ],
                )
            session.execute(
                _JOBS.update()
                .where(_JOBS.c.id == job_id)
                .values(
                    state=state,
                    processed=_JOBS.c.processed + len(results),
                    accepted=_JOBS.c.accepted + len(results) - refused,
                    refused=_JOBS.c.refused + refused,
                    updated_at=dt.datetime.now(dt.UTC),
                )
            )

        self._db.write(work)

    def _rows(
        self, stream: Any, fmt: Literal["csv", "jsonl"], check: RowFilter | None
    ) -> Iterable[RowResult]:
        rows = parse_submission(stream, fmt)
        return rows if check is None else filtered(rows, check)

    def _run(
        self,
        job_id: str,
        upload: Upload,
        mode: BulkMode,
        received_on: dt.date,
        actor: str,
        check: RowFilter | None,
    ) -> None:
        done = 0
        try:
            self._append(job_id, "running", 0, [])
            with upload.path.open("rb") as stream:
                rows = self._rows(stream, upload.fmt, check)
                if mode == "atomic":
                    try:
                        result = self._intake.submit_bulk(
                            rows,
                            mode="atomic",
                            received_on=received_on,
                            actor=actor,
                            chunk_size=self._chunk_size,
                        )
                    except InvalidRow as exc:
                        self._append(job_id, "failed", 0, [_error(exc.row_number, exc)])
                        return
                    outcomes: Iterable[RowOutcome] = result.outcomes
                else:
                    outcomes = self._intake.iter_per_row(
                        rows, received_on=received_on, actor=actor, chunk_size=self._chunk_size
                    )
                # Outcomes of a chunk come after it committed: store them a chunk at a time.
                batch: list[dict[str, Any]] = []
                for outcome in outcomes:
                    batch.append(_outcome(outcome))
                    if len(batch) == self._chunk_size:
                        self._append(job_id, "running", done, batch)
                        done += len(batch)
                        batch = []
                self._append(job_id, "done", done, batch)
        except RegistryError as exc:
            log.warning("bulk job %s failed: %s", job_id, type(exc).__name__)
            self._append(job_id, "failed", done, [])
        except Exception as exc:
            log.error("bulk job %s failed: unexpected %s", job_id, type(exc).__name__)
            self._append(job_id, "failed", done, [])
        finally:
            upload.path.unlink(missing_ok=True)
