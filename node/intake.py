"""Intake: signed certificates into a province's store and log (docs/INTAKE.md, docs/STORAGE.md).

:class:`IntakeService` checks every rule of a submitted certificate and, when all hold, stores the
encrypted record, appends the ``issue`` entry to the province log, records the log position and
writes an audit event, all in ONE database transaction. A broken rule raises
:class:`~node.errors.InvalidInput` naming the field and the rule, and nothing is written.

Checks, in order (rule ids in brackets):

1. signature shape: a known suite, a key id, a signature of the suite's length
   (``signature.suite_unknown``, ``signature.key_id``, ``signature.length``);
2. a full record (``commitment.redacted``) and the commitment recomputed from it; when the caller
   passes the commitment the issuer sent, it must match (``commitment.mismatch``);
3. every field rule (:func:`node.validation.validate_certificate` with ``today=received_on``),
   which includes the certificate number against organisation code, issue year and level;
4. the certificate number's province is this node's (``certnum.province.node``);
5. the organisation is filed in this node (``organisation.unknown``) and active
   (``organisation.not_active``);
6. occupation / work type and level within the filed scope (``scope.occupation``,
   ``scope.level``);
7. the serial is unused for the organisation, year and level (``serial.duplicate``), and the
   commitment is new (``certificate.duplicate``); skipped serials are a ``serial.gap`` warning;
8. the signature: an organisation key with that key id (``signature.unknown_key``) of that suite
   (``signature.suite_mismatch``) valid on the issue date (``signature.key_not_valid``,
   :func:`node.verify.key_valid_on`) that verifies over
   ``signing_message(chain_id, contract, commitment)`` (``signature.invalid``);
9. the upload deadline (:func:`node.workdays.check_upload`).

Messages never contain the holder name or ID number: they name fields and rules only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import itertools
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Literal, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.certificate import FIELD_NAMES, NO_WORK_TYPE, Certificate
from node.certnum import CertificateNumber
from node.commitment import Disclosed, SaltedCertificate
from node.entry import Attributes, LogEntry, Signature
from node.errors import InvalidInput, VerificationError
from node.intake_formats import InvalidRow, ParsedRow, RawRow, RowResult, parse_raw_row
from node.privacy import BlindIndex, PersonalDataCipher
from node.reasons import ACTION_ISSUE
from node.screening import Flag
from node.signatures import get_suite, signing_message
from node.snapshot import Network, OrganisationKey
from node.storage import (
    AuditTrail,
    CertificateRepository,
    Database,
    OrganisationRecord,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import CertificateRow, table_of
from node.validation import validate_certificate
from node.verify import key_valid_on
from node.workdays import check_upload

log = logging.getLogger(__name__)

_CERTS: Final = table_of(CertificateRow)

#: Rows handled per transaction (``per_row``) or per flush of results (``atomic``).
DEFAULT_CHUNK_SIZE: Final = 500

BulkMode = Literal["atomic", "per_row"]


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """A certificate accepted into the province's store and log (no personal data)."""

    certificate_number: str
    commitment: bytes
    log_index: int
    late_reason: int | None
    working_days: int
    """Working days from the issue date to receipt (data guide art. 10)."""
    warnings: tuple[Flag, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class RowOutcome:
    """The result of one bulk row: ``accepted`` or ``error`` (never both)."""

    row_number: int
    accepted: Accepted | None = None
    error: InvalidInput | None = None

    @property
    def ok(self) -> bool:
        return self.accepted is not None


@dataclasses.dataclass(frozen=True, slots=True)
class BulkResult:
    """What :meth:`IntakeService.submit_bulk` did."""

    mode: BulkMode
    outcomes: tuple[RowOutcome, ...]

    @property
    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def refused(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)


def filed_scope(scope: Any) -> dict[str, frozenset[int]]:
    """Read the scope ``OrganisationRepository`` stores, ``[{"occupation_code", "levels"}]``
    (an item may name a work type with ``work_type_code`` instead), as code -> levels.

    Raises:
        InvalidInput: the stored scope has another shape (``scope.malformed``).
    """
    out: dict[str, set[int]] = {}
    if not isinstance(scope, list):
        raise InvalidInput("scope", "scope.malformed", "the filed scope is not a list")
    for item in scope:
        if not isinstance(item, Mapping):
            raise InvalidInput("scope", "scope.malformed", "a filed scope item is not an object")
        code = item.get("work_type_code") or item.get("occupation_code")
        levels = item.get("levels")
        if not isinstance(code, str) or not isinstance(levels, list):
            raise InvalidInput("scope", "scope.malformed", "a filed scope item is malformed")
        out.setdefault(code, set()).update(
            level for level in levels if isinstance(level, int) and not isinstance(level, bool)
        )
    return {code: frozenset(levels) for code, levels in out.items()}


class PublicAttributes(Protocol):
    """The public attributes the database checks read (a :class:`~node.certificate.Certificate`
    or a log entry's :class:`~node.entry.Attributes`)."""

    @property
    def issue_date(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def occupation_code(self) -> str: ...
    @property
    def work_type_code(self) -> str: ...


def check_scope(certificate: PublicAttributes, scope: Mapping[str, frozenset[int]]) -> None:
    """Refuse a certificate outside the filed scope (data guide art. 9).

    Raises:
        InvalidInput: ``occupation_code`` / ``scope.occupation`` when neither the occupation nor
            the work type is filed; ``level`` / ``scope.level`` when they are, but not at this
            level.
    """
    codes = [certificate.occupation_code]
    if certificate.work_type_code != NO_WORK_TYPE:
        codes.append(certificate.work_type_code)
    filed = [scope[code] for code in codes if code in scope]
    if not filed:
        raise InvalidInput(
            "occupation_code",
            "scope.occupation",
            "occupation and work type are not in the filed scope (data guide art. 9)",
        )
    if not any(certificate.level in levels for levels in filed):
        raise InvalidInput(
            "level",
            "scope.level",
            "level is not in the filed scope for this occupation (data guide art. 9)",
        )


def check_signature_shape(signature: Signature) -> None:
    """Check the shape of an issuer signature: a known suite, a key id that fits ``uint32`` and
    a value of the suite's length (docs/FORMATS.md "Signatures").

    Raises:
        InvalidInput: ``signature_suite`` / ``signature.suite_unknown``, ``key_id`` /
            ``signature.key_id``, ``signature`` / ``signature.length``.
    """
    suite = get_suite(signature.suite)
    if (
        isinstance(signature.key_id, bool)
        or not isinstance(signature.key_id, int)
        or not 0 <= signature.key_id <= 0xFFFFFFFF
    ):
        raise InvalidInput("key_id", "signature.key_id", "must be an integer 0-4294967295")
    if not isinstance(signature.value, bytes) or len(signature.value) != suite.signature_length:
        raise InvalidInput(
            "signature",
            "signature.length",
            f"must be {suite.signature_length} bytes for {suite.name}",
        )


def active_organisation(
    organisations: OrganisationRepository, code: str, province: str
) -> OrganisationRecord:
    """Return the organisation ``code`` when it is filed in ``province`` and active (data guide
    art. 9: only filed organisations issue, within their scope).

    Raises:
        InvalidInput: ``organisation_code`` / ``organisation.unknown`` (not filed in this
            province) or ``organisation.not_active`` (suspended or terminated).
    """
    organisation = organisations.get(code)
    if organisation is None or organisation.province != province:
        raise InvalidInput(
            "organisation_code",
            "organisation.unknown",
            "the organisation is not filed in this province",
        )
    if organisation.status != "active":
        raise InvalidInput(
            "organisation_code",
            "organisation.not_active",
            f"the organisation is {organisation.status}; it may not issue certificates",
        )
    return organisation


def check_issuer_signature(
    organisations: OrganisationRepository,
    organisation: OrganisationRecord,
    signature: Signature,
    certificate: PublicAttributes,
    commitment: bytes,
    network: Network,
    *,
    verified_keys: Collection[bytes] = (),
) -> None:
    """Check that ``signature`` is by a key of ``organisation`` of the signature's suite, valid
    on the certificate's issue date (:func:`node.verify.key_valid_on`), over
    ``signing_message(chain_id, contract, commitment)`` (docs/FORMATS.md "Signatures").

    ``verified_keys`` are public keys under which this very signature was already verified over
    this very message (by a worker process of :mod:`node.intake_batch`); the cryptographic
    check is skipped for them, every other check is made.

    Raises:
        InvalidInput: ``key_id`` / ``signature.unknown_key``, ``signature_suite`` /
            ``signature.suite_mismatch``, ``key_id`` / ``signature.key_not_valid``,
            ``signature`` / ``signature.invalid``.
    """
    key = next(
        (k for k in organisations.keys(organisation.code) if k.key_id == signature.key_id),
        None,
    )
    if key is None:
        raise InvalidInput(
            "key_id", "signature.unknown_key", "the organisation has no key with this key id"
        )
    if key.suite != signature.suite:
        raise InvalidInput(
            "signature_suite",
            "signature.suite_mismatch",
            "the key with this key id is of another suite",
        )
    filed = OrganisationKey(key.key_id, key.suite, key.public_key, key.valid_from, key.valid_until)
    if not key_valid_on(filed, certificate.issue_date):
        raise InvalidInput(
            "key_id",
            "signature.key_not_valid",
            "the key was not valid on the issue date (docs/FORMATS.md, Signatures)",
        )
    if key.public_key in verified_keys:
        return
    message = signing_message(network.chain_id, network.contract, commitment)
    try:
        get_suite(key.suite).verify(key.public_key, message, signature.value)
    except (VerificationError, InvalidInput):
        raise InvalidInput(
            "signature",
            "signature.invalid",
            "the signature does not verify over the commitment with the organisation's key",
        ) from None


@dataclasses.dataclass(frozen=True, slots=True)
class CheckedRecord:
    """What :func:`check_record` read from a salted record that passed checks 1-4."""

    certificate: Certificate
    commitment: bytes
    number: CertificateNumber
    issue_date: dt.date


def check_record(
    salted: SaltedCertificate,
    signature: Signature,
    received_on: dt.date,
    province: str,
    expected_commitment: bytes | None = None,
) -> CheckedRecord:
    """Checks 1-4 of the module docstring, which need no database: signature shape, full record
    and commitment (equal to ``expected_commitment`` when given), every field rule on
    ``received_on``, and the certificate number's province is ``province``. Pure, so the bulk
    path (:mod:`node.intake_batch`) runs it for a whole chunk before touching the database.

    Raises:
        InvalidInput: the first broken rule, as listed in the module docstring.
    """
    # 1. Signature shape.
    check_signature_shape(signature)
    # 2. Full record and commitment.
    certificate = salted.certificate()
    commitment = salted.commitment()
    if expected_commitment is not None and expected_commitment != commitment:
        raise InvalidInput(
            "commitment",
            "commitment.mismatch",
            "the commitment recomputed from the fields and salts differs from the one sent",
        )
    # 3. Field rules (certificate number against organisation, year and level included).
    number, issue_date = validate_certificate(certificate, today=received_on)
    # 4. This node's province.
    if number.province != province:
        raise InvalidInput(
            "certificate_number",
            "certnum.province.node",
            f"positions 6-7 must be this node's province {province}",
        )
    return CheckedRecord(certificate, commitment, number, issue_date)


def serial_gap(top: int, serial: int) -> list[Flag]:
    """A ``serial.gap`` warning when ``serial`` skips serials after ``top``, the highest one
    used so far for its organisation, year and level (national rule positions 17-22)."""
    if serial > top + 1:
        first, last = top + 1, serial - 1
        span = f"{first:06d}" if first == last else f"{first:06d}-{last:06d}"
        return [Flag("serial.gap", "warning", f"serial(s) {span} missing ({last - first + 1})")]
    return []


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def salted_from_row(row: ParsedRow) -> tuple[SaltedCertificate, Signature, int | None]:
    """Turn a parsed bulk row into the salted record, the issuer signature and the late reason.

    Raises:
        InvalidRow: the row carries no signature and salts (``intake.unsigned``): the node
            cannot compute the commitment the issuer signed without the salts.
    """
    salts = row.extras.get("salts")
    suite = row.extras.get("signature_suite")
    key_id = row.extras.get("key_id")
    value = row.extras.get("signature")
    if (
        not isinstance(salts, dict)
        or not isinstance(suite, str)
        or not isinstance(key_id, int)
        or not isinstance(value, bytes)
    ):
        raise InvalidRow(
            row.row_number,
            "salts",
            "intake.unsigned",
            "the row has no issuer signature and salts; the province accepts only certificates "
            "signed by their issuer (signature_suite, key_id, signature, salts)",
        )
    salted = SaltedCertificate(
        {name: Disclosed(row.fields[name], salts[name]) for name in FIELD_NAMES}
    )
    late = row.extras.get("late_reason")
    return salted, Signature(suite, key_id, value), late if isinstance(late, int) else None


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
"""A row bulk intake takes: parsed (:func:`~node.intake_formats.parse_submission`) or only read
(:func:`~node.intake_formats.read_submission`, parsed where it is checked, which is faster)."""


def _chunks(rows: Iterable[BulkRow], size: int) -> Iterator[list[BulkRow]]:
    """Read ``rows`` ``size`` at a time, never further ahead than the chunk being handled."""
    if size < 1:
        raise ValueError("chunk_size must be positive")
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class IntakeService:
    """Accepts signed certificates into one province's store and log."""

    def __init__(
        self,
        db: Database,
        province: str,
        network: Network,
        cipher: PersonalDataCipher,
        blind_index: BlindIndex,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._db = db
        self._province = province
        self._network = network
        self._cipher = cipher
        self._index = blind_index
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
        checked = check_record(salted, signature, received_on, self._province, expected_commitment)
        certificate, commitment = checked.certificate, checked.commitment
        number, issue_date = checked.number, checked.issue_date
        # 5. Organisation filed here and active.
        organisations = OrganisationRepository(session)
        organisation = active_organisation(
            organisations, certificate.organisation_code, self._province
        )
        # 6. Filed scope.
        check_scope(certificate, filed_scope(organisation.scope))
        # 7. Serial and commitment unique; gaps are warnings.
        certificates = CertificateRepository(session, self._cipher, self._index)
        warnings = self._check_serial(
            session, organisation.code, issue_date.year, certificate.level, number.serial
        )
        if certificates.get(commitment) is not None:
            raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
        # 8. Signature by a key of the organisation valid on the issue date.
        check_issuer_signature(
            organisations, organisation, signature, certificate, commitment, self._network
        )
        # 9. Upload deadline.
        timing = check_upload(issue_date, received_on, late_reason)

        now = self._clock()
        certificates.add(
            salted, signature=signature, submitted_at=now, late_reason=timing.late_reason
        )
        entry = LogEntry(
            kind="issue",
            province=self._province,
            organisation_code=certificate.organisation_code,
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
        serial)."""
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
        """Accept rows of a submission: parsed (:func:`node.intake_formats.parse_submission`)
        or only read (:func:`~node.intake_formats.read_submission`; each is parsed as it is
        checked, with the same outcome).

        ``atomic``: every row in one transaction, or none; the first error is raised as an
        :class:`~node.intake_formats.InvalidRow` carrying its row number. ``per_row``: one
        transaction per chunk; a refused row leaves nothing behind and the others are kept; an
        outcome per row is returned. Chunks go through :mod:`node.intake_batch`, which checks
        each row exactly as :meth:`submit` would (same rules, order and outcomes) with a few
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
        and written by :mod:`node.intake_batch`); outcomes of a chunk are yielded after it
        commits, before the next chunk is read.

        With ``workers`` > 0, that many worker processes make the pure checks and the signature
        verification (:class:`node.intake_batch.PreparePool`) while this process writes; up to
        ``workers + 1`` chunks are then read ahead. Outcomes are the same."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        with old_objects_left_alone():
            if workers:
                yield from self._pipelined(rows, received_on, actor, chunk_size, workers)
                return
            for chunk in _chunks(rows, chunk_size):
                with self._db.transaction() as session:
                    outcomes = self._chunk(session, chunk, received_on, actor, atomic=False)
                yield from outcomes

    def _pipelined(
        self,
        rows: Iterable[BulkRow],
        received_on: dt.date,
        actor: str,
        chunk_size: int,
        workers: int,
    ) -> Iterator[RowOutcome]:
        from node.intake_batch import PreparePool, Sealer  # it imports this module's checks

        sealer = Sealer(self._province, self._cipher, self._index)
        with PreparePool(workers, sealer) as pool:
            for chunk, prepared in pool.run(
                _chunks(rows, chunk_size),
                received_on=received_on,
                network=self._network,
                keys=self._key_snapshot,
            ):
                with self._db.transaction() as session:
                    outcomes = self._chunk(
                        session, chunk, received_on, actor, atomic=False, prepared=prepared
                    )
                yield from outcomes

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
        prepared: Sequence[Any] | None = None,
    ) -> list[RowOutcome]:
        """Check and store one chunk with :func:`node.intake_batch.accept_chunk`: the rules and
        outcomes of :meth:`_accept` row by row, a few statements per chunk."""
        from node.intake_batch import accept_chunk  # it imports this module's checks

        return accept_chunk(
            session,
            chunk,
            province=self._province,
            network=self._network,
            cipher=self._cipher,
            blind_index=self._index,
            received_on=received_on,
            actor=actor,
            now=self._clock(),
            stop_at_error=atomic,
            prepared=prepared,
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
