"""Bulk upload jobs (docs/API.md): a resource with progress and per-row results.

The upload is parsed when it arrives (a bad header refuses the whole file at once, docs/INTAKE.md
"Errors"); the rows then go through :meth:`node.services.intake.IntakeService.submit_bulk` /
:meth:`~node.services.intake.IntakeService.iter_per_row` on one background thread per app, so
uploads run one after another and never starve the request threads. Progress is written to
``api_jobs`` after every chunk; results hold row numbers, certificate numbers, commitments and
rule ids only (row error messages never hold a cell's value).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final

from sqlalchemy import select

from api import views
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.submissions import InvalidRow, ParsedRow, RowResult
from node.services.intake import IntakeService
from node.services.intake_checks import BulkMode, RowOutcome
from node.storage import Database
from node.storage.schema import BulkJob, table_of

log = logging.getLogger(__name__)

_JOBS: Final = table_of(BulkJob)
#: Rows per transaction and per progress update.
CHUNK_SIZE: Final = 200

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


class JobRunner:
    """Creates bulk jobs, runs them on one background thread and reads their state."""

    def __init__(self, db: Database, intake: IntakeService, province: str) -> None:
        self._db = db
        self._intake = intake
        self._province = province
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="certreg-bulk")
        self.futures: dict[str, Future[None]] = {}

    def close(self) -> None:
        """Wait for running jobs and stop the thread."""
        self._executor.shutdown(wait=True)

    def start(
        self,
        rows: Sequence[RowResult],
        *,
        mode: BulkMode,
        received_on: dt.date,
        actor: str,
        owner_key: int,
        now: dt.datetime,
    ) -> str:
        """Record a queued job for ``rows`` and schedule it; return its id."""
        job_id = secrets.token_hex(16)
        with self._db.transaction() as session:
            session.execute(
                _JOBS.insert().values(
                    id=job_id,
                    province=self._province,
                    owner_key=owner_key,
                    mode=mode,
                    state="queued",
                    total=len(rows),
                    processed=0,
                    accepted=0,
                    refused=0,
                    results=[],
                    created_at=now,
                    updated_at=now,
                )
            )
        self.futures[job_id] = self._executor.submit(
            self._run, job_id, list(rows), mode, received_on, actor
        )
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's JSON view, or None."""
        with self._db.transaction() as session:
            row = session.execute(select(_JOBS).where(_JOBS.c.id == job_id)).first()
        if row is None:
            return None
        return {
            "id": row.id,
            "province": row.province,
            "owner_key": row.owner_key,
            "mode": row.mode,
            "state": row.state,
            "total": row.total,
            "processed": row.processed,
            "accepted": row.accepted,
            "refused": row.refused,
            "results": row.results,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }

    def _update(self, job_id: str, state: str, results: list[dict[str, Any]]) -> None:
        refused = sum(1 for r in results if "rule" in r)
        with self._db.transaction() as session:
            session.execute(
                _JOBS.update()
                .where(_JOBS.c.id == job_id)
                .values(
                    state=state,
                    processed=len(results),
                    accepted=len(results) - refused,
                    refused=refused,
                    results=list(results),
                    updated_at=dt.datetime.now(dt.UTC),
                )
            )

    def _run(
        self,
        job_id: str,
        rows: list[RowResult],
        mode: BulkMode,
        received_on: dt.date,
        actor: str,
    ) -> None:
        results: list[dict[str, Any]] = []
        try:
            self._update(job_id, "running", results)
            if mode == "atomic":
                try:
                    done = self._intake.submit_bulk(
                        rows, mode="atomic", received_on=received_on, actor=actor
                    )
                except InvalidRow as exc:
                    results.append(_error(exc.row_number, exc))
                    self._update(job_id, "failed", results)
                    return
                results.extend(_outcome(o) for o in done.outcomes)
            else:
                outcomes = self._intake.iter_per_row(
                    rows, received_on=received_on, actor=actor, chunk_size=CHUNK_SIZE
                )
                for outcome in outcomes:
                    results.append(_outcome(outcome))
                    if len(results) % CHUNK_SIZE == 0:
                        self._update(job_id, "running", results)
            self._update(job_id, "done", results)
        except RegistryError as exc:
            log.warning("bulk job %s failed: %s", job_id, type(exc).__name__)
            self._update(job_id, "failed", results)
