"""Intake: signed certificates into a province's store and log (docs/INTAKE.md, docs/STORAGE.md).

:class:`IntakeService` checks every rule of a submitted certificate and, when all hold, stores the
encrypted record, appends the ``issue`` entry to the province log, records the log position and
writes an audit event, all in ONE database transaction. A broken rule raises
:class:`~node.core.errors.InvalidInput` naming the field and the rule, and nothing is written.

Checks, in order (rule ids in brackets):

1. signature shape: a known suite, a key id, a signature of the suite's length
   (``signature.suite_unknown``, ``signature.key_id``, ``signature.length``);
2. a full record (``commitment.redacted``) and the commitment recomputed from it; when the caller
   passes the commitment the issuer sent, it must match (``commitment.mismatch``);
3. every field rule (:func:`node.core.rules.validation.validate_certificate` with
   ``today=received_on``),
   which includes the certificate number against organisation code, issue year and level;
4. the certificate number's province is this node's (``certnum.province.node``); the names:
   no forbidden word (``name.forbidden_word``, 人社鉴发〔2021〕1号 §五(二)) and the occupation
   catalogue (``occupation.category_only``, ``occupation.admission``,
   ``occupation.name_mismatch``, ``occupation.work_type_name_mismatch``; a code the catalogue
   does not cover is an ``occupation.not_in_catalogue`` warning), both from the
   :class:`~node.core.rules.vocabulary.Vocabulary` the service was given;
5. the organisation is filed in this node (``organisation.unknown``) and active
   (``organisation.not_active``), and the certificate carries its filed name
   (``organisation_name.not_filed``, 人社鉴发〔2021〕1号 §二(三));
6. occupation / work type and level within the filed scope (``scope.occupation``,
   ``scope.level``);
7. the serial is unused for the organisation, year and level (``serial.duplicate``), and the
   commitment is new (``certificate.duplicate``); skipped serials are a ``serial.gap`` warning;
8. the signature: an organisation key with that key id (``signature.unknown_key``) of that suite
   (``signature.suite_mismatch``) valid on the issue date (``signature.key_not_valid``,
   :func:`node.core.verify.key_valid_on`) that verifies over
   ``signing_message(chain_id, contract, commitment)`` (``signature.invalid``);
9. the upload deadline (:meth:`node.core.rules.workdays.WorkdayCalendar.check_upload`, in the
   calendar the service was given).

Messages never contain the holder name or ID number: they name fields and rules only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import Attributes, LogEntry, Signature, registry_code_of
from node.core.formats.snapshot import Network
from node.core.formats.submissions import InvalidRow, RawRow, RowResult, parse_raw_row
from node.core.records import (
    check_record,
    salted_from_row,
)
from node.core.rules.names import check_filed_name
from node.core.rules.reasons import ACTION_ISSUE
from node.core.rules.scope import check_scope, filed_scope
from node.core.rules.screening import Flag
from node.core.rules.serials import serial_gap
from node.core.rules.vocabulary import Vocabulary
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake_batch import PreparedRow, PreparePool, Sealer, accept_chunk
from node.services.intake_checks import (
    Accepted,
    BulkMode,
    BulkResult,
    RowOutcome,
    active_organisation,
    check_issuer_signature,
)
from node.storage import (
    AuditTrail,
    CertificateRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import CertificateRow, table_of

log = logging.getLogger(__name__)

_CERTS: Final = table_of(CertificateRow)

#: Rows handled per transaction (``per_row``) or per flush of results (``atomic``).
DEFAULT_CHUNK_SIZE: Final = 500


@contextlib.contextmanager
def old_objects_left_alone() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist now while a bulk
    job runs (:func:`gc.freeze`), and hand them back after (:func:`gc.unfreeze`).

    A bulk job makes a few dozen short-lived objects per row; every so many the collector
    walks the whole heap, which in a node process holds the chain client's and the EVM's
    objects: measured at 10^4-10^5 rows, that walk was about a sixth of the writer's time per
    certificate (docs/NODE-BENCH.md). Nothing else changes: new garbage is still collected.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


BulkRow = RowResult | RawRow
"""A row bulk intake takes: parsed (:func:`~node.core.formats.submissions.parse_submission`) or only
read (:func:`~node.core.formats.submissions.read_submission`, parsed where it is checked, which is
faster)."""


def _chunks(rows: Iterable[BulkRow], size: int) -> Iterator[list[BulkRow]]:
    """Read ``rows`` ``size`` at a time, never further ahead than the chunk being handled."""
    if size < 1:
        raise ValueError("chunk_size must be positive")
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class IntakeService:
    """Accepts signed certificates into one province's store and log.

    ``calendar`` is the working-day calendar upload deadlines are judged in (check 9);
    ``clock`` gives the time of submission that is recorded (no default: the caller's clock,
    e.g. :class:`province.node.ProvinceNode`'s).
    """

    def __init__(
        self,
        db: Database,
        province: str,
        network: Network,
        cipher: PersonalDataCipher,
        blind_index: BlindIndex,
        *,
        calendar: WorkdayCalendar,
        vocabulary: Vocabulary,
        clock: Callable[[], dt.datetime],
        qualification_number: re.Pattern[str] | None = None,
    ) -> None:
        self._db = db
        self._vocabulary = vocabulary
        #: The province's 职业资格证书 number format (node.json ``qualification_number``).
        self._qualification_number = qualification_number
        self._province = province
        self._network = network
        self._cipher = cipher
        self._index = blind_index
        self._calendar = calendar
        self._clock = clock

    def __repr__(self) -> str:
        return f"IntakeService(province={self._province!r})"

    # ----------------------------------------------------------------------------------------
    # One certificate

    def submit(
        self,
        salted: SaltedCertificate,
        signature: Signature,
        *,
        received_on: dt.date,
        late_reason: int | None,
        actor: str,
        commitment: bytes | None = None,
    ) -> Accepted:
        """Check every rule and store and log the certificate in one transaction.

        ``commitment``, when given, is the commitment the issuer sent; it must equal the one
        recomputed from ``salted``.

        Raises:
            InvalidInput: the first broken rule (field and rule id); nothing is written.
            StorageError: the database failed; nothing is written.
        """
        with self._db.transaction() as session:
            return self._accept(
                session, salted, signature, received_on, late_reason, actor, commitment
            )

    def _accept(
        self,
        session: Session,
        salted: SaltedCertificate,
        signature: Signature,
        received_on: dt.date,
        late_reason: int | None,
        actor: str,
        expected_commitment: bytes | None = None,
    ) -> Accepted:
        checked = check_record(
            salted,
            signature,
            received_on,
            self._province,
            expected_commitment,
            vocabulary=self._vocabulary,
            qualification_number=self._qualification_number,
        )
        certificate, commitment = checked.certificate, checked.commitment
        number, issue_date = checked.number, checked.issue_date
        # 5. Organisation filed here and active, its filed name on the certificate.
        organisations = OrganisationRepository(session)
        registry_code = registry_code_of(certificate, self._province)
        organisation = active_organisation(organisations, registry_code, self._province)
        check_filed_name(certificate.organisation_name, organisation.name)
        # 6. Filed scope.
        check_scope(certificate, filed_scope(organisation.scope))
        # 7. Serial and commitment unique; gaps are warnings.
        certificates = CertificateRepository(session, self._cipher, self._index)
        warnings = checked.warnings + tuple(
            self._check_serial(
                session, organisation.code, issue_date.year, certificate.level, number.serial
            )
        )
        if certificates.get(commitment) is not None:
            raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
        # 8. Signature by a key of the organisation valid on the issue date.
        check_issuer_signature(
            organisations, organisation, signature, certificate, commitment, self._network
        )
        # 9. Upload deadline.
        timing = self._calendar.check_upload(issue_date, received_on, late_reason)

        now = self._clock()
        certificates.add(
            salted,
            signature=signature,
            submitted_at=now,
            late_reason=timing.late_reason,
            organisation_code=registry_code,
        )
        entry = LogEntry(
            kind="issue",
            province=self._province,
            organisation_code=registry_code,
            certificate_number=certificate.certificate_number,
            commitment=commitment,
            reason=timing.late_reason,
            attributes=Attributes.of(certificate),
            signature=signature,
        )
        [index] = ProvinceLog(session, self._province).append([entry], now=now)
        certificates.mark_logged(commitment, index)
        AuditTrail(session).record(
            actor=actor,
            action=ACTION_ISSUE,
            target_type="certificate",
            target_id=commitment.hex(),
            now=now,
            reason=timing.late_reason,
            details={
                "certificate_number": certificate.certificate_number,
                "log_index": index,
                "received_on": received_on.isoformat(),
                "working_days": timing.working_days,
                "warnings": [w.code for w in warnings],
            },
        )
        log.info(
            "accepted certificate %s at log index %d of province %s",
            certificate.certificate_number,
            index,
            self._province,
        )
        return Accepted(
            certificate_number=certificate.certificate_number,
            commitment=commitment,
            log_index=index,
            late_reason=timing.late_reason,
            working_days=timing.working_days,
            warnings=tuple(warnings),
        )

    def _check_serial(
        self, session: Session, organisation_code: str, year: int, level: int, serial: int
    ) -> list[Flag]:
        """Refuse a used serial; warn when serials below it were skipped (national rule
        positions 17-22: sequential per organisation, year and level). Two indexed queries on
        ``ix_certificates_serial``; only current versions count (a correction keeps its
        serial). Serial 0 is a 职业资格证书 number's: no serial rule."""
        if serial == 0:
            return []
        same = (
            _CERTS.c.organisation_code == organisation_code,
            _CERTS.c.issue_year == year,
            _CERTS.c.level == level,
            _CERTS.c.superseded_by.is_(None),
        )
        used = session.execute(
            select(_CERTS.c.id).where(*same, _CERTS.c.serial == serial).limit(1)
        ).first()
        if used is not None:
            raise InvalidInput(
                "certificate_number",
                "serial.duplicate",
                "this serial is already used by the organisation for this year and level",
            )
        top = session.execute(select(func.max(_CERTS.c.serial)).where(*same)).scalar_one_or_none()
        return serial_gap(int(top or 0), serial)

    # ----------------------------------------------------------------------------------------
    # Bulk

    def submit_bulk(
        self,
        rows: Iterable[BulkRow],
        *,
        mode: BulkMode,
        received_on: dt.date,
        actor: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> BulkResult:
        """Accept rows of a submission: parsed
        (:func:`node.core.formats.submissions.parse_submission`) or only read
        (:func:`~node.core.formats.submissions.read_submission`; each is parsed as it is checked,
        with the same outcome).

        ``atomic``: every row in one transaction, or none; the first error is raised as an
        :class:`~node.core.formats.submissions.InvalidRow` carrying its row number. ``per_row``: one
        transaction per chunk; a refused row leaves nothing behind and the others are kept; an
        outcome per row is returned. Chunks go through :mod:`node.services.intake_batch`, which
        checks each row exactly as :meth:`submit` would (same rules, order and outcomes) with a few
        statements per chunk instead of about eighteen per row. Rows are read from ``rows`` as
        they come, so a generator over a large file is never held in memory (only the small
        outcomes, which carry no personal data, are kept; :meth:`iter_per_row` keeps none).

        Raises:
            InvalidRow: ``atomic`` mode, the first refused row; nothing is written.
            StorageError: the database failed (``per_row``: the current chunk is not written).
        """
        if mode == "atomic":
            return BulkResult(mode, tuple(self._atomic(rows, received_on, actor, chunk_size)))
        if mode == "per_row":
            outcomes = self.iter_per_row(
                rows, received_on=received_on, actor=actor, chunk_size=chunk_size
            )
            return BulkResult(mode, tuple(outcomes))
        raise ValueError(f"unknown bulk mode {mode!r}")

    def _atomic(
        self, rows: Iterable[BulkRow], received_on: dt.date, actor: str, chunk_size: int
    ) -> list[RowOutcome]:
        outcomes: list[RowOutcome] = []
        with old_objects_left_alone(), self._db.transaction() as session:
            for chunk in _chunks(rows, chunk_size):
                outcomes.extend(self._chunk(session, chunk, received_on, actor, atomic=True))
        return outcomes

    def iter_per_row(
        self,
        rows: Iterable[BulkRow],
        *,
        received_on: dt.date,
        actor: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        workers: int = 0,
    ) -> Iterator[RowOutcome]:
        """Yield an outcome per row, one transaction per chunk of ``chunk_size`` rows (checked
        and written by :mod:`node.services.intake_batch`); outcomes of a chunk are yielded after it
        commits, before the next chunk is read.

        With ``workers`` > 0, that many worker processes make the pure checks and the signature
        verification (:class:`node.services.intake_batch.PreparePool`) while this process writes; up
        to ``workers + 1`` chunks are then read ahead. Outcomes are the same."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        with old_objects_left_alone():
            if workers:
                yield from self._pipelined(rows, received_on, actor, chunk_size, workers)
                return
            for chunk in _chunks(rows, chunk_size):
                # One transaction per chunk, retried while another process holds the database
                # (docs/STORAGE.md "Concurrency"): a chunk is taken in whole or not at all.
                outcomes = self._db.write(
                    functools.partial(
                        self._chunk,
                        chunk=chunk,
                        received_on=received_on,
                        actor=actor,
                        atomic=False,
                    )
                )
                yield from outcomes

    def _pipelined(
        self,
        rows: Iterable[BulkRow],
        received_on: dt.date,
        actor: str,
        chunk_size: int,
        workers: int,
    ) -> Iterator[RowOutcome]:
        sealer = Sealer(self._province, self._cipher, self._index, self._qualification_number)
        with PreparePool(workers, sealer, self._calendar, self._vocabulary) as pool:
            for chunk, prepared in pool.run(
                _chunks(rows, chunk_size),
                received_on=received_on,
                network=self._network,
                keys=self._key_snapshot,
            ):
                outcomes = self._db.write(
                    functools.partial(
                        self._chunk,
                        chunk=chunk,
                        received_on=received_on,
                        actor=actor,
                        atomic=False,
                        prepared=prepared,
                    )
                )
                yield from outcomes

    def take_chunk(
        self,
        session: Session,
        chunk: Sequence[BulkRow],
        *,
        received_on: dt.date,
        actor: str,
        atomic: bool = False,
    ) -> list[RowOutcome]:
        """Check and store one chunk of rows in the caller's transaction, as one chunk of
        :meth:`iter_per_row` (``atomic``: of :meth:`submit_bulk` in ``atomic`` mode, raising
        :class:`~node.core.formats.submissions.InvalidRow` at the first refused row), for a
        caller that records something with the chunk in the same transaction (api/jobs.py:
        the job's results and progress, so a job taken over by another process after a crash
        neither skips nor repeats a row)."""
        return self._chunk(session, chunk, received_on, actor, atomic=atomic)

    def _key_snapshot(self) -> dict[tuple[str, int], tuple[str, bytes]]:
        """Every key of this province's organisations: (code, key id) -> (suite, public key)."""
        with self._db.transaction() as session:
            organisations = OrganisationRepository(session)
            return {
                (key.organisation_code, key.key_id): (key.suite, key.public_key)
                for organisation in organisations.all(self._province)
                for key in organisations.keys(organisation.code)
            }

    def _chunk(
        self,
        session: Session,
        chunk: Sequence[BulkRow],
        received_on: dt.date,
        actor: str,
        *,
        atomic: bool,
        prepared: Sequence[PreparedRow | InvalidRow] | None = None,
    ) -> list[RowOutcome]:
        """Check and store one chunk with :func:`node.services.intake_batch.accept_chunk`: the rules
        and outcomes of :meth:`_accept` row by row, a few statements per chunk."""
        return accept_chunk(
            session,
            chunk,
            province=self._province,
            network=self._network,
            cipher=self._cipher,
            blind_index=self._index,
            received_on=received_on,
            calendar=self._calendar,
            vocabulary=self._vocabulary,
            actor=actor,
            now=self._clock(),
            stop_at_error=atomic,
            prepared=prepared,
            qualification_number=self._qualification_number,
        )

    def iter_one_by_one(
        self,
        rows: Iterable[BulkRow],
        *,
        received_on: dt.date,
        actor: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Iterator[RowOutcome]:
        """The reference for :meth:`iter_per_row`: each row through :meth:`submit`'s checks in
        its own savepoint, one transaction per chunk. About 40 times slower; kept so tests can
        show the batched path gives the same outcomes, rows, entries and audit events."""
        for chunk in _chunks(rows, chunk_size):
            outcomes: list[RowOutcome] = []
            with self._db.transaction() as session:
                for row in chunk:
                    try:
                        with session.begin_nested():
                            accepted = self._row(session, row, received_on, actor)
                    except InvalidInput as exc:
                        outcomes.append(RowOutcome(row.row_number, error=exc))
                    else:
                        outcomes.append(RowOutcome(row.row_number, accepted=accepted))
            yield from outcomes

    def _row(self, session: Session, row: BulkRow, received_on: dt.date, actor: str) -> Accepted:
        if isinstance(row, RawRow):
            row = parse_raw_row(row)
        if isinstance(row, InvalidInput):
            raise row
        salted, signature, late_reason = salted_from_row(row)
        try:
            return self._accept(session, salted, signature, received_on, late_reason, actor)
        except InvalidRow:
            raise
        except InvalidInput as exc:
            raise InvalidRow(row.row_number, exc.field, exc.rule, exc.message) from None
