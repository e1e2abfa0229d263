"""Bulk intake a chunk at a time: the rules of :mod:`node.services.intake`, a few statements per
chunk.

:meth:`node.services.intake.IntakeService.submit_bulk` and ``iter_per_row`` hand each chunk of
parsed rows to :func:`accept_chunk`, which gives exactly the outcomes the one-by-one path
(:meth:`~node.services.intake.IntakeService.submit` per row, each in its own savepoint) would give,
with the same field and rule ids, in the same order, but does the work in three phases:

1. **pure checks** per row (:func:`prepare_row`): parse errors, signature and salts present,
   checks 1-4 (:func:`node.services.intake.check_record`) and the upload timing (check 9, computed
   now, raised in its turn);
2. **database state** for the whole chunk (:class:`ChunkState`): the organisations and their
   keys once per chunk, then ``IN`` queries for stored commitments, current certificate numbers
   and used serials, and the top serial per organisation, year and level;
3. **rule order** per row in memory: organisation (5), scope (6), serial and commitment (7),
   signature (8), timing (9), number not stored; a row accepted updates the in-memory state, so
   later rows of the chunk see it exactly as they would see a stored row (duplicates within a
   chunk, serial gaps).

The survivors are then written with executemany-style statements: one log append for the chunk
(:meth:`node.storage.ProvinceLog.append`, entry rows and Merkle nodes), certificate rows with
their log index (:meth:`~node.storage.CertificateRepository.add_many`) and the audit events
(:meth:`~node.storage.AuditTrail.record_many`), all in the caller's one transaction. A refused
row therefore leaves nothing behind without needing a savepoint. Messages never contain
personal data (they come from the same checks as the one-by-one path).
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import gc
import logging
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.orm import Session

from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput, VerificationError
from node.core.formats.entry import Attributes, LogEntry, Signature, registry_code_of
from node.core.formats.snapshot import Network
from node.core.formats.submissions import InvalidRow, ParsedRow, RawRow, RowResult, parse_raw_row
from node.core.merkle import leaf_hash
from node.core.records import check_record, salted_from_row
from node.core.rules.names import check_filed_name
from node.core.rules.reasons import ACTION_ISSUE
from node.core.rules.scope import check_scope, filed_scope
from node.core.rules.screening import Flag
from node.core.rules.serials import serial_gap
from node.core.rules.vocabulary import Vocabulary
from node.core.rules.workdays import UploadTiming, WorkdayCalendar
from node.services.intake_checks import (
    Accepted,
    RowOutcome,
    active_organisation,
    check_key_signature,
    issuer_key,
)
from node.storage import (
    AuditTrail,
    CertificateRepository,
    OrganisationKeyRecord,
    OrganisationRecord,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.audit_trail import NewAuditEvent
from node.storage.certificates import certificate_row
from node.storage.log import EncodedEntry
from node.storage.nodestore import DatabaseNodeStore
from node.storage.sealing import SealedRecord, seal_record

log = logging.getLogger("node.services.intake")

T = TypeVar("T")


class _Refusal(NamedTuple):
    """An ``InvalidInput`` remembered by its field, rule and message."""

    field: str
    rule: str
    message: str


def _answered(answers: dict[Any, T | _Refusal], key: Any, check: Callable[[], T]) -> T:
    """``check()``, asked once for each ``key`` in ``answers``: its result, or the
    ``InvalidInput`` it raised (raised again, a fresh one with the same field, rule and message,
    for every row that asks)."""
    if key in answers:
        known = answers[key]
    else:
        try:
            known = check()
        except InvalidInput as exc:
            known = _Refusal(exc.field, exc.rule, exc.message)
        answers[key] = known
    if isinstance(known, _Refusal):
        raise InvalidInput(*known)
    return known


SerialGroup = tuple[str, int, int]
"""Organisation code, issue year and level: the scope of a serial (positions 17-22)."""


class Sealer(NamedTuple):
    """What turns a checked row into the columns the writer stores: the province, the record
    cipher and the blind index (a worker process gets them once, when it starts), and the
    province's 职业资格证书 number format (node.json ``qualification_number``) the pure checks
    read."""

    province: str
    cipher: PersonalDataCipher
    blind_index: BlindIndex
    qualification_number: re.Pattern[str] | None = None


class PreparedRow(NamedTuple):
    """A row that passed the pure checks (1-4), with all the writer stores for it computed
    already: the encrypted record and blind indexes (no personal data in clear), and the
    ``issue`` log entry's bytes and leaf hash. ``timing`` is the upload timing or the error
    check 9 will raise when the row gets that far."""

    row_number: int
    commitment: bytes
    certificate_number: str
    organisation_code: str
    """The issuer's registry code (:func:`node.core.formats.entry.registry_code_of`)."""
    attributes: Attributes
    """Issue date, level, occupation and work type codes: what scope and key checks read."""
    issue_date: dt.date
    serial: int
    signature: Signature
    timing: UploadTiming | InvalidInput
    verified_key: bytes | None
    """The public key under which a worker verified the signature (see :func:`prepare_chunk`),
    or ``None``: the writer then verifies it."""
    sealed: SealedRecord
    entry: EncodedEntry
    organisation_name: str = ""
    """The organisation name on the certificate (public), checked against the filed name."""
    warnings: tuple[Flag, ...] = ()
    """Warnings of the pure checks (``occupation.not_in_catalogue``)."""


def prepare_row(
    row: RowResult | RawRow,
    *,
    sealer: Sealer,
    received_on: dt.date,
    calendar: WorkdayCalendar,
    vocabulary: Vocabulary,
) -> PreparedRow | InvalidRow:
    """Run the checks of one bulk row that need no database (parsing it first when it is a
    :class:`~node.core.formats.submissions.RawRow`) and compute its columns; return the row ready
    for the database checks, or its error as an :class:`InvalidRow` (the one-by-one path's
    error)."""
    if isinstance(row, RawRow):
        row = parse_raw_row(row)
    if isinstance(row, InvalidRow):
        return row
    try:
        salted, signature, late_reason = salted_from_row(row)
    except InvalidRow as exc:
        return exc
    try:
        record = check_record(
            salted,
            signature,
            received_on,
            sealer.province,
            vocabulary=vocabulary,
            qualification_number=sealer.qualification_number,
        )
    except InvalidInput as exc:
        return InvalidRow(row.row_number, exc.field, exc.rule, exc.message)
    timing: UploadTiming | InvalidInput
    try:
        timing = calendar.check_upload(record.issue_date, received_on, late_reason)
    except InvalidInput as exc:
        timing = exc
    certificate = record.certificate
    attributes = Attributes.of(certificate)
    registry_code = registry_code_of(certificate, sealer.province)
    try:
        entry = LogEntry(
            kind="issue",
            province=sealer.province,
            organisation_code=registry_code,
            certificate_number=certificate.certificate_number,
            commitment=record.commitment,
            reason=None if isinstance(timing, InvalidInput) else timing.late_reason,
            attributes=attributes,
            signature=signature,
        )
        sealed = seal_record(
            sealer.cipher, sealer.blind_index, salted, record.commitment, certificate
        )
    except InvalidInput as exc:
        return InvalidRow(row.row_number, exc.field, exc.rule, exc.message)
    data = entry.canonical_bytes()
    return PreparedRow(
        row.row_number,
        record.commitment,
        certificate.certificate_number,
        registry_code,
        attributes,
        record.issue_date,
        record.number.serial,
        signature,
        timing,
        None,
        sealed,
        EncodedEntry(
            "issue", record.commitment, certificate.certificate_number, data, leaf_hash(data)
        ),
        certificate.organisation_name,
        record.warnings,
    )


KeySnapshot = Mapping[tuple[str, int], tuple[str, bytes]]
"""Organisation code and key id -> suite and public key, as read when a chunk was sent out."""


def prepare_chunk(
    rows: Sequence[RowResult | RawRow],
    *,
    sealer: Sealer,
    received_on: dt.date,
    calendar: WorkdayCalendar,
    vocabulary: Vocabulary,
    network: Network,
    keys: KeySnapshot | None,
) -> list[PreparedRow | InvalidRow]:
    """:func:`prepare_row` for a chunk, plus, with a key snapshot ``keys``, the signature's
    cryptographic check against the key the snapshot names (made in a worker process, so both
    cores work: it is the costliest step). The writer still checks, against the database,
    that the key is the organisation's, of that suite, valid on the issue date; a key changed
    since the snapshot is simply verified again there
    (:func:`node.services.intake.check_issuer_signature`)."""
    out: list[PreparedRow | InvalidRow] = []
    for row in rows:
        prepared = prepare_row(
            row, sealer=sealer, received_on=received_on, calendar=calendar, vocabulary=vocabulary
        )
        if keys is not None and isinstance(prepared, PreparedRow):
            prepared = _preverified(prepared, network, keys)
        out.append(prepared)
    return out


def _preverified(row: PreparedRow, network: Network, keys: KeySnapshot) -> PreparedRow:
    key = keys.get((row.organisation_code, row.signature.key_id))
    if key is None or key[0] != row.signature.suite:
        return row
    message = signing_message(network.chain_id, network.contract, row.commitment)
    try:
        get_suite(key[0]).verify(key[1], message, row.signature.value)
    except (VerificationError, InvalidInput):
        return row
    return row._replace(verified_key=key[1])


Packed = tuple[Any, ...]


def _pack(item: PreparedRow | InvalidRow) -> Packed:
    """A flat picklable form: plain values only, cheap to send between processes (exceptions
    with keyword-only constructors do not unpickle, and dataclasses pickle slowly)."""
    if isinstance(item, InvalidRow):
        message = item.message.removeprefix(f"row {item.row_number}: ")
        return ("refused", item.row_number, item.field, item.rule, message)
    timing = item.timing
    packed_timing = (
        (timing.field, timing.rule, timing.message)
        if isinstance(timing, InvalidInput)
        else (timing.status, timing.working_days, timing.late_reason)
    )
    a, sig, entry = item.attributes, item.signature, item.entry
    return ("prepared", item.row_number, item.commitment, item.certificate_number,
            item.organisation_code, a.issue_date, a.level, a.occupation_code, a.work_type_code,
            a.certificate_type, item.serial, sig.suite, sig.key_id, sig.value,
            isinstance(timing, InvalidInput), packed_timing, item.verified_key, *item.sealed,
            entry.data, entry.leaf, item.organisation_name,
            tuple((w.code, w.severity, w.detail) for w in item.warnings))  # fmt: skip


class _Unpacker:
    """Turns :func:`_pack`'s tuples back into rows. The values a file repeats row after row
    (issue dates, public attributes, upload timings: all immutable) are built once and shared;
    the memo is emptied when it grows past :attr:`LIMIT` entries, so memory stays bounded."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._memo: dict[Any, Any] = {}

    def __call__(self, packed: Packed) -> PreparedRow | InvalidRow:
        if packed[0] == "refused":
            return InvalidRow(*packed[1:])
        (_, row_number, commitment, number, organisation_code, issue_date, level,
         occupation_code, work_type_code, certificate_type, serial, suite, key_id, value,
         timing_failed, packed_timing, verified_key, record, record_key_id, name_index,
         id_index, data, leaf, organisation_name, warnings) = packed  # fmt: skip
        memo = self._memo
        if len(memo) > self.LIMIT:
            memo.clear()
        public = (issue_date, level, occupation_code, work_type_code, certificate_type)
        shared = memo.get(public)
        if shared is None:
            shared = memo[public] = (
                Attributes(issue_date, level, occupation_code, work_type_code, certificate_type),
                dt.date.fromisoformat(issue_date),
            )
        attributes, day = shared
        timing: UploadTiming | InvalidInput
        if timing_failed:
            timing = InvalidInput(*packed_timing)
        else:
            known: UploadTiming | None = memo.get(packed_timing)
            if known is None:
                known = memo[packed_timing] = UploadTiming(*packed_timing)
            timing = known
        return PreparedRow(
            row_number,
            commitment,
            number,
            organisation_code,
            attributes,
            day,
            serial,
            Signature(suite, key_id, value),
            timing,
            verified_key,
            SealedRecord(record, record_key_id, name_index, id_index),
            EncodedEntry("issue", commitment, number, data, leaf),
            organisation_name,
            tuple(Flag(*w) for w in warnings) if warnings else (),
        )


def _pack_row(row: RowResult | RawRow) -> Any:
    if isinstance(row, RawRow):
        return tuple(row)
    return _pack(row) if isinstance(row, InvalidRow) else row


def _unpack_row(row: Any) -> RowResult | RawRow:
    if isinstance(row, ParsedRow):
        return row
    if row[0] == "refused":
        return InvalidRow(*row[1:])
    return RawRow(*row)


_WORKER: tuple[Sealer, WorkdayCalendar, Vocabulary] | None = None


def _start_worker(
    sealer: Sealer, calendar: WorkdayCalendar, vocabulary: Vocabulary, writer: int
) -> None:
    global _WORKER
    # The sealer, the working-day calendar and the vocabulary of the writer (upload deadlines
    # and names are judged here, so the worker counts the same working days and knows the same
    # words): handed over once, as initargs.
    _WORKER = (sealer, calendar, vocabulary)
    # A writer killed outright (SIGKILL, the OOM killer) cannot stop its workers, and they
    # would wait on their queue for ever: each one leaves when its parent is gone. The writer's
    # pid comes from the writer: a worker still importing when the writer died would otherwise
    # take its new parent (init) for the writer and wait for ever.
    threading.Thread(
        target=_exit_with_parent, args=(writer,), name="parent-watch", daemon=True
    ).start()
    # The modules are imported by now and live as long as the worker: keep the collector's
    # full passes off them (see node.services.intake.old_objects_left_alone).
    gc.freeze()


def _exit_with_parent(parent: int, interval: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


def _prepare_packed(
    rows: Sequence[Any], received_on: dt.date, network: Network, keys: KeySnapshot
) -> list[Packed]:
    """:func:`prepare_chunk` as a worker process runs it: rows come in as
    :func:`_pack_row` sent them and go back packed (:func:`_pack`)."""
    if _WORKER is None:
        raise RuntimeError("the worker was not started by PreparePool")
    sealer, calendar, vocabulary = _WORKER
    prepared = prepare_chunk(
        [_unpack_row(row) for row in rows],
        sealer=sealer,
        received_on=received_on,
        calendar=calendar,
        vocabulary=vocabulary,
        network=network,
        keys=keys,
    )
    return [_pack(item) for item in prepared]


class PreparePool:
    """Worker processes running :func:`prepare_chunk`, a few chunks ahead of the writer.

    :meth:`run` yields ``(chunk, prepared)`` in input order while at most ``workers + 1``
    chunks are in flight, so memory stays bounded whatever the input size. Workers get no
    database access; they get the record cipher and blind index (``sealer``) and the
    working-day calendar once, when they start, and send back no personal data in clear: codes,
    hashes, ciphertexts and the entries' bytes (rows travel only over the local pipes of this
    machine's own processes).
    """

    def __init__(
        self, workers: int, sealer: Sealer, calendar: WorkdayCalendar, vocabulary: Vocabulary
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be positive")
        self._workers = workers
        self._sealer = sealer
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(sealer, calendar, vocabulary, os.getpid()),
        )

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (pending chunks are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(
        self,
        chunks: Iterator[list[RowResult | RawRow]],
        *,
        received_on: dt.date,
        network: Network,
        keys: Callable[[], KeySnapshot],
    ) -> Iterator[tuple[list[RowResult | RawRow], list[PreparedRow | InvalidRow]]]:
        """Yield each chunk with its prepared rows, in order; ``keys`` is called for a fresh
        snapshot each time a chunk is sent out."""
        pending: collections.deque[
            tuple[list[RowResult | RawRow], concurrent.futures.Future[list[Packed]]]
        ] = collections.deque()

        def send() -> bool:
            chunk = next(chunks, None)
            if chunk is None:
                return False
            future = self._pool.submit(
                _prepare_packed, [_pack_row(row) for row in chunk], received_on, network, keys()
            )
            pending.append((chunk, future))
            return True

        while len(pending) <= self._workers and send():
            pass
        unpack = _Unpacker()
        while pending:
            chunk, future = pending.popleft()
            prepared = list(map(unpack, future.result()))
            send()
            yield chunk, prepared


class _ChunkOrganisations(OrganisationRepository):
    """An :class:`OrganisationRepository` that reads each organisation and its keys once per
    chunk (one transaction), so :func:`node.services.intake_checks.active_organisation` and
    :func:`node.services.intake_checks.issuer_key` run unchanged without a query per row."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._records: dict[str, OrganisationRecord | None] = {}
        self._keys: dict[str, list[OrganisationKeyRecord]] = {}

    def get(self, code: str) -> OrganisationRecord | None:
        if code not in self._records:
            self._records[code] = super().get(code)
        return self._records[code]

    def keys(self, code: str) -> list[OrganisationKeyRecord]:
        if code not in self._keys:
            self._keys[code] = super().keys(code)
        return self._keys[code]


class ChunkState:
    """What the database says about one chunk's rows, read with a few queries, and kept up to
    date in memory as rows are accepted (so later rows see earlier ones as stored)."""

    def __init__(
        self,
        session: Session,
        certificates: CertificateRepository,
        rows: Sequence[PreparedRow],
    ) -> None:
        self.organisations = _ChunkOrganisations(session)
        self._scopes: dict[str, dict[str, frozenset[int]]] = {}
        self._scope_answers: dict[Any, _Refusal | None] = {}
        self._key_answers: dict[Any, OrganisationKeyRecord | _Refusal] = {}
        self.commitments = certificates.existing_commitments(r.commitment for r in rows)
        self.numbers = certificates.current_numbers(r.certificate_number for r in rows)
        wanted: dict[SerialGroup, set[int]] = {}
        for r in rows:
            wanted.setdefault(_group(r), set()).add(r.serial)
        self.used: dict[SerialGroup, set[int]] = {}
        self.top: dict[SerialGroup, int] = {}
        for group, serials in wanted.items():
            self.used[group], self.top[group] = certificates.serial_state(*group, serials)

    def scope(self, organisation: OrganisationRecord) -> dict[str, frozenset[int]]:
        if organisation.code not in self._scopes:
            self._scopes[organisation.code] = filed_scope(organisation.scope)
        return self._scopes[organisation.code]

    def check_scope(self, organisation: OrganisationRecord, attributes: Attributes) -> None:
        """:func:`node.core.rules.scope.check_scope` against the organisation's filed scope,
        answered once per chunk for each organisation, occupation, work type, level and issue
        date (all it reads).

        Raises:
            InvalidInput: as ``check_scope``.
        """
        key = (
            organisation.code,
            attributes.occupation_code,
            attributes.work_type_code,
            attributes.level,
            attributes.issue_date,
        )
        _answered(
            self._scope_answers, key, lambda: check_scope(attributes, self.scope(organisation))
        )

    def issuer_key(
        self, organisation: OrganisationRecord, signature: Signature, issue_date: str
    ) -> OrganisationKeyRecord:
        """:func:`node.services.intake_checks.issuer_key`, answered once per chunk for each
        organisation, key id, suite and issue date (all it reads).

        Raises:
            InvalidInput: as ``issuer_key``.
        """
        key = (organisation.code, signature.key_id, signature.suite, issue_date)
        return _answered(
            self._key_answers,
            key,
            lambda: issuer_key(self.organisations, organisation, signature, issue_date),
        )

    def stored(self, row: PreparedRow) -> None:
        """Record that ``row`` is now (to be) stored."""
        group = _group(row)
        if row.serial:
            self.used[group].add(row.serial)
            self.top[group] = max(self.top[group], row.serial)
        self.commitments.add(row.commitment)
        self.numbers.add(row.certificate_number)


def _group(row: PreparedRow) -> SerialGroup:
    return (row.organisation_code, row.issue_date.year, row.attributes.level)


def check_in_order(
    row: PreparedRow, state: ChunkState, province: str, network: Network
) -> tuple[UploadTiming, tuple[Flag, ...]]:
    """Checks 5-9 of :mod:`node.services.intake` for one prepared row against the chunk state, in
    the one-by-one path's order; return the upload timing and the warnings (``serial.gap``).

    Raises:
        InvalidInput: the first broken rule (field and rule id as the one-by-one path).
    """
    attributes = row.attributes
    # 5. Organisation filed here and active.
    organisation = active_organisation(state.organisations, row.organisation_code, province)
    check_filed_name(row.organisation_name, organisation.name)
    # 6. Filed scope.
    state.check_scope(organisation, attributes)
    # 7. Serial and commitment unique; gaps are warnings.
    # (Serial 0: a 职业资格证书 number, which has no serial rule.)
    group = (organisation.code, row.issue_date.year, attributes.level)
    if row.serial and row.serial in state.used[group]:
        raise InvalidInput(
            "certificate_number",
            "serial.duplicate",
            "this serial is already used by the organisation for this year and level",
        )
    warnings = row.warnings
    if row.serial:
        warnings += tuple(serial_gap(state.top[group], row.serial))
    if row.commitment in state.commitments:
        raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
    # 8. Signature by a key of the organisation valid on the issue date (the checks of
    # check_issuer_signature, the key's answered once per chunk and key).
    key = state.issuer_key(organisation, row.signature, attributes.issue_date)
    if key.public_key != row.verified_key:
        check_key_signature(key, row.signature, row.commitment, network)
    # 9. Upload deadline.
    if isinstance(row.timing, InvalidInput):
        raise row.timing
    # What CertificateRepository.add refuses last.
    if row.certificate_number in state.numbers:
        raise InvalidInput(
            "certificate_number", "certificate.duplicate", "certificate number already stored"
        )
    return row.timing, warnings


class _Survivor(NamedTuple):
    """A row that passed every check: its place among the chunk's outcomes, and its results."""

    position: int
    row: PreparedRow
    timing: UploadTiming
    warnings: tuple[Flag, ...]


def accept_chunk(
    session: Session,
    rows: Sequence[RowResult | RawRow],
    *,
    province: str,
    network: Network,
    cipher: PersonalDataCipher,
    blind_index: BlindIndex,
    received_on: dt.date,
    calendar: WorkdayCalendar,
    vocabulary: Vocabulary,
    actor: str,
    now: dt.datetime,
    stop_at_error: bool = False,
    prepared: Sequence[PreparedRow | InvalidRow] | None = None,
    qualification_number: re.Pattern[str] | None = None,
) -> list[RowOutcome]:
    """Accept one chunk of rows (parsed, or raw as
    :func:`node.core.formats.submissions.read_submission` yields them) in the caller's transaction;
    return an outcome per row, in order (see the module docstring for the phases).

    With ``stop_at_error`` (atomic mode) the first refused row is raised before anything of the
    chunk is written. ``prepared`` is what :func:`prepare_chunk` returned for ``rows`` (in a
    worker process); without it the pure checks run here (``qualification_number``: the
    province's 职业资格证书 number format, as :class:`Sealer` carries it).

    Raises:
        InvalidRow: ``stop_at_error`` and a row was refused.
        StorageError: the database failed; the caller's transaction must roll back.
    """
    if prepared is None:
        sealer = Sealer(province, cipher, blind_index, qualification_number)
        prepared = prepare_chunk(
            rows,
            sealer=sealer,
            received_on=received_on,
            calendar=calendar,
            vocabulary=vocabulary,
            network=network,
            keys=None,
        )
    elif len(prepared) != len(rows):
        raise ValueError("prepared must have one item per row")
    certificates = CertificateRepository(session, cipher, blind_index)
    province_log = ProvinceLog(session, province)
    checked = [p for p in prepared if isinstance(p, PreparedRow)]
    if checked:
        # Take the log's row lock (PostgreSQL) before reading, as the one-by-one path holds it
        # from its first append on: concurrent appenders queue and the state read below stays
        # true until the commit. SQLite serialises writers anyway.
        DatabaseNodeStore(session, province).lock()
    state = ChunkState(session, certificates, checked)
    outcomes: list[RowOutcome | None] = []
    survivors: list[_Survivor] = []
    for p in prepared:
        if isinstance(p, InvalidRow):
            if stop_at_error:
                raise p
            outcomes.append(RowOutcome(p.row_number, error=p))
            continue
        try:
            timing, warnings = check_in_order(p, state, province, network)
        except InvalidInput as exc:
            error = InvalidRow(p.row_number, exc.field, exc.rule, exc.message)
            if stop_at_error:
                raise error from None
            outcomes.append(RowOutcome(p.row_number, error=error))
            continue
        state.stored(p)
        survivors.append(_Survivor(len(outcomes), p, timing, warnings))
        outcomes.append(None)
    if survivors:
        accepted = _write(
            province_log,
            certificates,
            AuditTrail(session),
            survivors,
            province=province,
            received_on=received_on,
            actor=actor,
            now=now,
        )
        for survivor, result in zip(survivors, accepted, strict=True):
            outcomes[survivor.position] = RowOutcome(survivor.row.row_number, accepted=result)
    return [o for o in outcomes if o is not None]


def _write(
    province_log: ProvinceLog,
    certificates: CertificateRepository,
    audit: AuditTrail,
    survivors: Sequence[_Survivor],
    *,
    province: str,
    received_on: dt.date,
    actor: str,
    now: dt.datetime,
) -> list[Accepted]:
    """Append the survivors' ``issue`` entries, store their rows with their log indexes and
    record an audit event each: the writes of :meth:`node.services.intake.IntakeService.submit`, in
    bulk, from the columns :func:`prepare_row` computed. Returns what each survivor's
    :class:`~node.services.intake.Accepted` is."""
    indexes = province_log.append_encoded([s.row.entry for s in survivors], now=now)
    certificates.add_many(
        [
            certificate_row(
                commitment=s.row.commitment,
                certificate_number=s.row.certificate_number,
                organisation_code=s.row.organisation_code,
                level=s.row.attributes.level,
                issue_date=s.row.issue_date,
                occupation_code=s.row.attributes.occupation_code,
                work_type_code=s.row.attributes.work_type_code,
                signature=s.row.signature,
                sealed=s.row.sealed,
                log_index=index,
                submitted_at=now,
                late_reason=s.timing.late_reason,
            )
            for s, index in zip(survivors, indexes, strict=True)
        ]
    )
    received = received_on.isoformat()
    audit.record_many(
        [
            NewAuditEvent(
                actor,
                ACTION_ISSUE,
                "certificate",
                s.row.commitment.hex(),
                s.timing.late_reason,
                None,
                {
                    "certificate_number": s.row.certificate_number,
                    "log_index": index,
                    "received_on": received,
                    "working_days": s.timing.working_days,
                    "warnings": [w.code for w in s.warnings],
                },
            )
            for s, index in zip(survivors, indexes, strict=True)
        ],
        now=now,
    )
    accepted = []
    info = log.isEnabledFor(logging.INFO)
    for s, index in zip(survivors, indexes, strict=True):
        number = s.row.certificate_number
        if info:
            log.info(
                "accepted certificate %s at log index %d of province %s", number, index, province
            )
        accepted.append(
            Accepted(
                certificate_number=number,
                commitment=s.row.commitment,
                log_index=index,
                late_reason=s.timing.late_reason,
                working_days=s.timing.working_days,
                warnings=s.warnings,
            )
        )
    return accepted
