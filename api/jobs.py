"""Bulk upload jobs (docs/API.md): a resource with progress and per-row results.

The upload is streamed to a spool file (owner-only) while its size is checked
(``api.middleware.SizeLimit``: 413 before anything is read when ``Content-Length`` says too
much, and as soon as a streamed body passes the limit); its header and row count are checked by
reading it once without parsing the rows (a bad header refuses the whole file at once,
docs/INTAKE.md "Errors"). The upload then goes into the database in parts of 1 MiB
(``api_job_uploads``; their data is set to NULL when the job ends) and the spool file is
deleted, so that any API process over the same database can run the job (docs/OPERATIONS.md
"Several processes"); the process that claims it copies it back to a local spool file.

Jobs are *claimed* from the database: each API process runs up to ``ApiSettings.bulk_workers``
jobs at once on a small thread pool (never on the request threads), taking a queued job, or a
running one whose lease ran out (its process died), with ``SELECT … FOR UPDATE SKIP LOCKED``
on PostgreSQL (SQLite's write lock serialises the claims). The claimant holds a lease of
``lease_seconds`` that a heartbeat renews; every chunk is taken in, its results *appended* to
``api_job_results`` and the job's counters moved on in one transaction that first checks the
lease is still this process's. So a job runs once: a process that lost its lease commits
nothing more, and the process that takes a job over goes on from the first row without a
stored result (``per_row``) or from the start (``atomic``: all rows or none in one transaction).
Memory is bounded by the upload's size limit (the upload is read from the database) and the
chunk size. Results hold row numbers, certificate numbers, commitments and rule ids only (row
error messages never hold a cell's value or an unknown key).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import os
import re
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import func, or_, select

from api import views
from node.core.certificate import SPECIAL_ABILITY, TYPE_FIELD
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.entry import examining_body_registry_code
from node.core.formats.submissions import (
    InvalidRow,
    ParsedRow,
    RowResult,
    parse_submission,
    read_submission,
)
from node.services.intake import IntakeService, old_objects_left_alone
from node.services.intake_checks import BulkMode, RowOutcome
from node.storage import Database
from node.storage.schema import BulkJob, BulkJobResult, BulkJobUpload, table_of

log = logging.getLogger(__name__)

_JOBS: Final = table_of(BulkJob)
_RESULTS: Final = table_of(BulkJobResult)
_UPLOADS: Final = table_of(BulkJobUpload)
#: Bytes per part of an upload kept in the database (``api_job_uploads``).
UPLOAD_PART: Final = 1024 * 1024
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


class LeaseLost(RuntimeError):
    """Another process took the job over (this one's lease ran out): stop, commit nothing."""


#: How long a claim lasts without a heartbeat (the heartbeat renews it every third of that).
LEASE_SECONDS: Final = 30.0
_REFUSED_ORGANISATION = (
    "organisation_code",
    "auth.organisation",
    "an issuer writes only its own organisation's certificates",
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def row_organisation(row: ParsedRow, province: str) -> str:
    """The organisation a row's certificate is filed under: its ``organisation_code``, or for a
    专项职业能力证书 the registry code of its 8-digit examining body in ``province``
    (:func:`node.core.formats.entry.examining_body_registry_code`)."""
    code = str(row.fields.get("organisation_code", ""))
    if row.fields.get(TYPE_FIELD) == SPECIAL_ABILITY and re.fullmatch(r"[0-9]{8}", code):
        return examining_body_registry_code(code, province)
    return code


def _own_organisation(organisation: str, province: str) -> RowFilter:
    """An issuer's jobs: rows of another organisation are refused (``auth.organisation``)."""

    def check(row: ParsedRow) -> InvalidInput | None:
        if row_organisation(row, province) != organisation:
            return InvalidInput(*_REFUSED_ORGANISATION)
        return None

    return check


@dataclasses.dataclass(frozen=True, slots=True)
class _Claim:
    job_id: str
    #: The upload, copied from the job's row to a local spool file (deleted when the run ends).
    path: Path
    fmt: Literal["csv", "jsonl"]
    mode: BulkMode
    received_on: dt.date
    actor: str
    organisation: str | None
    processed: int


class JobRunner:
    """Creates bulk jobs, claims and runs them on a small thread pool (with whatever other API
    processes share the database) and reads their state."""

    def __init__(
        self,
        db: Database,
        intake: IntakeService,
        province: str,
        *,
        workers: int = 2,
        chunk_size: int = CHUNK_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        owner: str | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("at least one bulk worker")
        if lease_seconds <= 0:
            raise ValueError("a lease lasts some time")
        self._db = db
        self._intake = intake
        self._province = province
        self._chunk_size = chunk_size
        self._workers = workers
        self.lease_seconds = lease_seconds
        self._spool_dir = spool_dir
        #: This process's name on the leases it holds.
        self.owner = owner or f"{socket.gethostname()[:32]}/{os.getpid()}/{secrets.token_hex(4)}"
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certreg-bulk")
        self._lock = threading.Lock()
        self._running = 0
        self._stop = threading.Event()
        #: The jobs this process runs, by id (a finished one is dropped when the next starts:
        #: a server up for months must not keep one per job it ever ran).
        self.futures: dict[str, Future[None]] = {}
        # Looks for jobs nobody runs (queued, or their process died) every third of a lease.
        self._poller = threading.Thread(target=self._poll, name="certreg-bulk-claims", daemon=True)
        self._poller.start()

    def close(self) -> None:
        """Stop claiming, wait for running jobs and stop the threads."""
        self._stop.set()
        self._poller.join()
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
        organisation: str | None = None,
    ) -> str:
        """Record a queued job holding ``upload``'s content (the spool file is deleted) and
        look for a free worker; return its id. ``organisation``: an issuer's own code, the
        only one its rows may name (:func:`filtered`; None for an operator)."""
        job_id = secrets.token_hex(16)
        try:
            with self._db.transaction() as session, upload.path.open("rb") as stream:
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
                        upload_format=upload.fmt,
                        received_on=received_on,
                        actor=actor,
                        organisation=organisation,
                    )
                )
                part = 0
                while piece := stream.read(UPLOAD_PART):
                    session.execute(_UPLOADS.insert().values(job_id=job_id, part=part, data=piece))
                    part += 1
        finally:
            upload.path.unlink(missing_ok=True)
        try:
            self._claim_free()
        except Exception as exc:  # the job is recorded: a poller claims it later
            log.warning("bulk job %s not claimed yet: %s", job_id, type(exc).__name__)
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

    # -- claiming ---------------------------------------------------------------------------

    def _poll(self) -> None:
        every = max(0.05, self.lease_seconds / 3)
        while not self._stop.wait(every):
            try:
                self._claim_free()
            except Exception as exc:  # the next round tries again; the thread must not die
                log.warning("bulk job claims paused: %s", type(exc).__name__)

    def _claim_free(self) -> None:
        """Claim jobs while this process has a free worker."""
        while not self._stop.is_set():
            with self._lock:
                if self._running >= self._workers:
                    return
                self._running += 1
            claim: _Claim | None = None
            try:
                claim = self._db.write(self._claim)
            finally:
                if claim is None:
                    with self._lock:
                        self._running -= 1
            if claim is None:
                return
            try:
                claim = dataclasses.replace(claim, path=self._copy_upload(claim.job_id))
                future = self._executor.submit(self._run_claimed, claim)
            except BaseException:
                # Closing, or the database failed: the lease runs out and a process goes on.
                if claim.path != Path():
                    claim.path.unlink(missing_ok=True)
                with self._lock:
                    self._running -= 1
                if self._stop.is_set():
                    return
                raise
            # Request, poller and bulk threads all claim: the map changes under the lock.
            with self._lock:
                for job_id in [job for job, known in self.futures.items() if known.done()]:
                    del self.futures[job_id]
                self.futures[claim.job_id] = future

    def _claim(self, session: Any) -> _Claim | None:
        """Take the oldest job nobody runs: queued, or running with its lease run out."""
        now = _utcnow()
        row = session.execute(
            select(
                _JOBS.c.id,
                _JOBS.c.upload_format,
                _JOBS.c.mode,
                _JOBS.c.received_on,
                _JOBS.c.actor,
                _JOBS.c.organisation,
                _JOBS.c.processed,
            )
            .where(
                _JOBS.c.province == self._province,
                _JOBS.c.state.in_(("queued", "running")),
                _JOBS.c.upload_format.is_not(None),
                or_(_JOBS.c.lease_until.is_(None), _JOBS.c.lease_until < now),
            )
            .order_by(_JOBS.c.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        session.execute(
            _JOBS.update()
            .where(_JOBS.c.id == row.id)
            .values(
                state="running",
                lease_owner=self.owner,
                lease_until=now + dt.timedelta(seconds=self.lease_seconds),
                updated_at=now,
            )
        )
        return _Claim(
            row.id, Path(), row.upload_format, row.mode, row.received_on,
            row.actor, row.organisation, row.processed,
        )  # fmt: skip

    def _copy_upload(self, job_id: str) -> Path:
        """A local spool copy of the job's upload, read a part at a time (the job then reads
        it a chunk at a time; memory holds one part)."""
        descriptor, path = spool_path(self._spool_dir)
        try:
            with os.fdopen(descriptor, "wb") as spool, self._db.transaction() as session:
                part = 0
                while True:
                    piece = session.execute(
                        select(_UPLOADS.c.data).where(
                            _UPLOADS.c.job_id == job_id, _UPLOADS.c.part == part
                        )
                    ).scalar_one_or_none()
                    if piece is None:
                        break
                    spool.write(piece)
                    part += 1
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _hold(self, session: Any, job_id: str) -> int:
        """Check (and lock, for the transaction) that this process still holds the job's
        lease and renew it; return the rows processed so far.

        Raises:
            LeaseLost: another process took the job over.
        """
        now = _utcnow()
        processed = session.execute(
            _JOBS.update()
            .where(_JOBS.c.id == job_id, _JOBS.c.lease_owner == self.owner)
            .values(lease_until=now + dt.timedelta(seconds=self.lease_seconds))
            .returning(_JOBS.c.processed)
        ).scalar_one_or_none()
        if processed is None:
            raise LeaseLost(job_id)
        return int(processed)

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.lease_seconds / 3):
            try:
                self._db.write(lambda session: self._hold(session, job_id))
            except LeaseLost:
                return
            except RegistryError as exc:
                log.warning("bulk job %s: lease not renewed: %s", job_id, type(exc).__name__)

    # -- running ----------------------------------------------------------------------------

    def _record(
        self,
        session: Any,
        job_id: str,
        state: str,
        start: int,
        results: list[dict[str, Any]],
    ) -> None:
        """Append ``results`` (positions ``start`` …) and move the counters on, in the
        caller's transaction; a job that ends gives its upload and lease up."""
        refused = sum(1 for r in results if "rule" in r)
        if results:
            session.execute(
                _RESULTS.insert(),
                [
                    {"job_id": job_id, "position": start + i, "result": result}
                    for i, result in enumerate(results)
                ],
            )
        values: dict[str, Any] = {
            "state": state,
            "processed": _JOBS.c.processed + len(results),
            "accepted": _JOBS.c.accepted + len(results) - refused,
            "refused": _JOBS.c.refused + refused,
            "updated_at": _utcnow(),
        }
        if state in ("done", "failed"):
            values.update(lease_owner=None, lease_until=None)
            session.execute(_UPLOADS.update().where(_UPLOADS.c.job_id == job_id).values(data=None))
        session.execute(_JOBS.update().where(_JOBS.c.id == job_id).values(**values))

    def _end(self, job_id: str, state: str, results: list[dict[str, Any]]) -> None:
        def work(session: Any) -> None:
            start = self._hold(session, job_id)
            self._record(session, job_id, state, start, results)

        self._db.write(work)

    def _rows(
        self, stream: Any, fmt: Literal["csv", "jsonl"], check: RowFilter | None
    ) -> Iterable[RowResult]:
        rows = parse_submission(stream, fmt)
        return rows if check is None else filtered(rows, check)

    def _run_claimed(self, claim: _Claim) -> None:
        done = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(claim.job_id, done), daemon=True)
        heartbeat.start()
        try:
            self._run(claim)
        except LeaseLost:
            log.warning("bulk job %s was taken over by another process", claim.job_id)
        finally:
            claim.path.unlink(missing_ok=True)
            done.set()
            heartbeat.join()
            with self._lock:
                self._running -= 1
        self._claim_free()

    def _run(self, claim: _Claim) -> None:
        job_id = claim.job_id
        check = (
            None
            if claim.organisation is None
            else _own_organisation(claim.organisation, self._province)
        )
        try:
            # As IntakeService.iter_per_row: the collector's full passes leave old objects be.
            with old_objects_left_alone():
                if claim.mode == "atomic":
                    self._run_atomic(claim, check)
                    return
                with claim.path.open("rb") as stream:
                    self._run_per_row(claim, stream, check)
            self._end(job_id, "done", [])
        except LeaseLost:
            raise
        except RegistryError as exc:
            log.warning("bulk job %s failed: %s", job_id, type(exc).__name__)
            self._end(job_id, "failed", [])
        except Exception as exc:
            log.error("bulk job %s failed: unexpected %s", job_id, type(exc).__name__)
            self._end(job_id, "failed", [])

    def _run_per_row(self, claim: _Claim, stream: Any, check: RowFilter | None) -> None:
        """A transaction per chunk: its rows, their results and the progress."""
        job_id = claim.job_id
        # Rows whose results are stored were taken in (with them): go on after them.
        rows = itertools.islice(self._rows(stream, claim.fmt, check), claim.processed, None)
        while chunk := list(itertools.islice(rows, self._chunk_size)):

            def work(session: Any, chunk: list[RowResult] = chunk) -> None:
                start = self._hold(session, job_id)
                outcomes = self._intake.take_chunk(
                    session, chunk, received_on=claim.received_on, actor=claim.actor
                )
                self._record(session, job_id, "running", start, [_outcome(o) for o in outcomes])

            self._db.write(work)

    def _run_atomic(self, claim: _Claim, check: RowFilter | None) -> None:
        """Every row and every result in one transaction, or a refusal and nothing taken."""
        job_id = claim.job_id

        def work(session: Any) -> None:
            start = self._hold(session, job_id)
            results: list[dict[str, Any]] = []
            with claim.path.open("rb") as stream:
                iterator = iter(self._rows(stream, claim.fmt, check))
                while chunk := list(itertools.islice(iterator, self._chunk_size)):
                    outcomes = self._intake.take_chunk(
                        session, chunk, received_on=claim.received_on, actor=claim.actor,
                        atomic=True,
                    )  # fmt: skip
                    results.extend(_outcome(o) for o in outcomes)
            for offset in range(0, len(results), self._chunk_size):
                self._record(
                    session, job_id, "running", start + offset,
                    results[offset : offset + self._chunk_size],
                )  # fmt: skip
            self._record(session, job_id, "done", start + len(results), [])

        try:
            self._db.write(work)
        except InvalidRow as exc:
            self._end(job_id, "failed", [_error(exc.row_number, exc)])
