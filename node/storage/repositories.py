"""Small repositories over the node tables, each on the caller's transaction.

Every repository takes the :class:`~sqlalchemy.orm.Session` (or
:class:`~sqlalchemy.Connection`) of a transaction the caller opened, executes on it and never
commits; the caller (the intake pipeline) commits once, so one certificate's row, its log entry,
the Merkle nodes and the audit event are written together or not at all.

Records returned here carry no personal data: :class:`CertificateRecord` has codes, dates and
status; the holder name and ID number come back only through
:meth:`CertificateRepository.salted`, which decrypts. Errors never contain personal data.
Nothing here deletes a row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from node.core.certificate import FIELD_NAMES, Certificate, FieldValue
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput, StorageError
from node.core.formats.commitment import SALT_SIZE, Disclosed, SaltedCertificate
from node.core.formats.entry import STATUS_KINDS, LogEntry, Signature
from node.core.merkle import MerkleLog, leaf_hash
from node.storage.bulk import insert_tuples, select_in
from node.storage.nodestore import DatabaseNodeStore
from node.storage.schema import (
    CERTIFICATE_STATUSES,
    NOT_ISSUE_ENTRY,
    NOT_ISSUE_EVENT,
    ORGANISATION_STATUSES,
    AuditEvent,
    CertificateRow,
    CheckpointRow,
    LogEntryRow,
    LogState,
    Organisation,
    OrganisationKey,
    table_of,
)

Executor = Session | Connection

_ORGS = table_of(Organisation)
_KEYS = table_of(OrganisationKey)
_CERTS = table_of(CertificateRow)
_ENTRIES = table_of(LogEntryRow)
_CHECKPOINTS = table_of(CheckpointRow)
_AUDIT = table_of(AuditEvent)
_STATE = table_of(LogState)

#: Rows per executemany batch and values per ``IN`` list in the bulk methods (well under every
#: backend's bound-parameter limit).
_BULK = 2000
_IN_CHUNK = 500


@contextmanager
def _storage_errors(what: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` naming what failed (never the values)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what}: {type(exc).__name__}") from exc


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise InvalidInput("now", "time.aware", "timestamps must be timezone-aware")
    return now


# --------------------------------------------------------------------------------------------
# Organisations


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationRecord:
    """A filed organisation."""

    code: str
    province: str
    name: str
    org_class: str
    category: str | None
    scope: Any
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    #: Digest of the CIDv0 of the published scope document (None until published).
    scope_hash: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationKeyRecord:
    """A signing key of an organisation (``docs/FORMATS.md`` "Signatures")."""

    organisation_code: str
    key_id: int
    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int


def _organisation(row: Any) -> OrganisationRecord:
    return OrganisationRecord(
        code=row.code,
        province=row.province,
        name=row.name,
        org_class=row.org_class,
        category=row.category,
        scope=row.scope,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        scope_hash=None if row.scope_hash is None else bytes(row.scope_hash),
    )


class OrganisationRepository:
    """Organisations a province filed, and their signing keys."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(
        self,
        *,
        code: str,
        province: str,
        name: str,
        scope: Any,
        now: dt.datetime,
        category: str | None = None,
        status: str = "active",
        scope_hash: bytes | None = None,
    ) -> OrganisationRecord:
        """File an organisation; its class is the code's first character.

        Raises:
            InvalidInput: the code is malformed, does not carry ``province`` at positions 6-7,
                the status is unknown, or the code was filed before (codes are never reused).
            StorageError: the database failed.
        """
        if len(code) != 13 or code[0] not in "YS" or not code[1:].isdigit():
            raise InvalidInput("code", "organisation.code", "must be Y or S and 12 digits")
        if code[5:7] != province:
            raise InvalidInput("province", "organisation.province", "must be positions 6-7")
        if status not in ORGANISATION_STATUSES:
            raise InvalidInput("status", "organisation.status", f"one of {ORGANISATION_STATUSES}")
        if self.get(code) is not None:
            raise InvalidInput("code", "organisation.duplicate", "organisation is already filed")
        values = {
            "code": code,
            "province": province,
            "name": name,
            "org_class": code[0],
            "category": category,
            "scope": scope,
            "status": status,
            "created_at": _aware(now),
            "updated_at": now,
            "scope_hash": scope_hash,
        }
        with _storage_errors("cannot add the organisation"):
            self._db.execute(insert(_ORGS).values(**values))
        return OrganisationRecord(**values)

    def get(self, code: str) -> OrganisationRecord | None:
        """Return the organisation with ``code``, or ``None``."""
        with _storage_errors("cannot read the organisation"):
            row = self._db.execute(select(_ORGS).where(_ORGS.c.code == code)).first()
        return None if row is None else _organisation(row)

    def all(self, province: str | None = None) -> list[OrganisationRecord]:
        """Return the organisations (of one province), ordered by code."""
        statement = select(_ORGS).order_by(_ORGS.c.code)
        if province is not None:
            statement = statement.where(_ORGS.c.province == province)
        with _storage_errors("cannot list organisations"):
            return [_organisation(row) for row in self._db.execute(statement)]

    def set_status(self, code: str, status: str, *, now: dt.datetime) -> None:
        """Set an organisation's status. ``terminated`` is final (its code is retired).

        Raises:
            InvalidInput: unknown status or organisation, or the organisation is terminated.
        """
        if status not in ORGANISATION_STATUSES:
            raise InvalidInput("status", "organisation.status", f"one of {ORGANISATION_STATUSES}")
        self._update_live(code, now, status=status)

    def set_scope(self, code: str, scope: Any, scope_hash: bytes, *, now: dt.datetime) -> None:
        """Replace an organisation's filed scope and its published hash.

        Raises:
            InvalidInput: unknown organisation, or it is terminated (nothing changes after).
        """
        self._update_live(code, now, scope=scope, scope_hash=scope_hash)

    def _update_live(self, code: str, now: dt.datetime, **values: Any) -> None:
        """Update a filed organisation that is not terminated (nothing changes after that)."""
        current = self.get(code)
        if current is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if current.status == "terminated":
            raise InvalidInput("status", "organisation.terminated", "terminated is final")
        with _storage_errors("cannot update the organisation"):
            self._db.execute(
                update(_ORGS).where(_ORGS.c.code == code).values(updated_at=_aware(now), **values)
            )

    def close_key(self, code: str, key_id: int, valid_until: int) -> None:
        """Shorten a key's validity to end at ``valid_until`` (rotation or revocation; never
        lengthened, never reopened, as on the contract).

        Raises:
            InvalidInput: unknown key, or ``valid_until`` would lengthen or empty the interval.
        """
        key = next((k for k in self.keys(code) if k.key_id == key_id), None)
        if key is None:
            raise InvalidInput("key_id", "key.unknown", "the organisation has no such key")
        if key.valid_until and valid_until >= key.valid_until:
            raise InvalidInput("valid_until", "key.lengthen", "a key's validity never grows")
        if valid_until < key.valid_from:
            raise InvalidInput("valid_until", "key.validity", "must not be before valid_from")
        with _storage_errors("cannot update the key"):
            self._db.execute(
                update(_KEYS)
                .where(_KEYS.c.organisation_code == code, _KEYS.c.key_id == key_id)
                .values(valid_until=valid_until)
            )

    def add_key(
        self,
        code: str,
        *,
        suite: str,
        public_key: bytes,
        valid_from: int,
        valid_until: int = 0,
        now: dt.datetime,
    ) -> OrganisationKeyRecord:
        """Register the organisation's next key (``key_id`` 0, 1, ... in filing order).

        Raises:
            InvalidInput: the organisation is not filed or the validity interval is empty.
        """
        if self.get(code) is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if valid_from < 0 or valid_until < 0 or (valid_until and valid_until <= valid_from):
            raise InvalidInput("valid_until", "key.validity", "must be 0 or after valid_from")
        with _storage_errors("cannot add the key"):
            last = self._db.execute(
                select(func.max(_KEYS.c.key_id)).where(_KEYS.c.organisation_code == code)
            ).scalar_one()
            key_id = 0 if last is None else int(last) + 1
            self._db.execute(
                insert(_KEYS).values(
                    organisation_code=code,
                    key_id=key_id,
                    suite=suite,
                    public_key=public_key,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    created_at=_aware(now),
                )
            )
        return OrganisationKeyRecord(code, key_id, suite, public_key, valid_from, valid_until)

    def keys(self, code: str) -> list[OrganisationKeyRecord]:
        """Return the organisation's keys in ``key_id`` order."""
        with _storage_errors("cannot read keys"):
            rows = self._db.execute(
                select(_KEYS).where(_KEYS.c.organisation_code == code).order_by(_KEYS.c.key_id)
            )
            return [
                OrganisationKeyRecord(
                    r.organisation_code,
                    r.key_id,
                    r.suite,
                    bytes(r.public_key),
                    r.valid_from,
                    r.valid_until,
                )
                for r in rows
            ]


# --------------------------------------------------------------------------------------------
# Certificates


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A stored certificate version, without personal data (no name, ID number or salts)."""

    id: int
    commitment: bytes
    certificate_number: str
    province: str
    organisation_code: str
    level: int
    issue_year: int
    serial: int
    issue_date: dt.date
    occupation_code: str
    work_type_code: str
    status: str
    superseded_by: bytes | None
    signature: Signature
    record_key_id: str
    log_index: int | None
    submitted_at: dt.datetime
    late_reason: int | None
    status_changed_at: dt.datetime
    deleted_at: dt.datetime | None
    #: The first confirmed checkpoint whose tree holds the entry (None until anchored).
    checkpoint_index: int | None = None


def _certificate(row: Any) -> CertificateRecord:
    return CertificateRecord(
        id=row.id,
        commitment=bytes(row.commitment),
        certificate_number=row.certificate_number,
        province=row.province,
        organisation_code=row.organisation_code,
        level=row.level,
        issue_year=row.issue_year,
        serial=row.serial,
        issue_date=row.issue_date,
        occupation_code=row.occupation_code,
        work_type_code=row.work_type_code,
        status=row.status,
        superseded_by=None if row.superseded_by is None else bytes(row.superseded_by),
        signature=Signature(row.signature_suite, row.signature_key_id, bytes(row.signature)),
        record_key_id=row.record_key_id,
        log_index=row.log_index,
        submitted_at=row.submitted_at,
        late_reason=row.late_reason,
        status_changed_at=row.status_changed_at,
        deleted_at=row.deleted_at,
        checkpoint_index=row.checkpoint_index,
    )


#: Columns read for a :class:`CertificateRecord` (the ciphertext and blind indexes stay behind).
_RECORD_COLUMNS = [
    c
    for c in _CERTS.c
    if c.name not in {"record", "holder_name_index", "id_number_index", "signature_key_id"}
] + [_CERTS.c.signature_key_id]


def _record_context(commitment: bytes) -> bytes:
    """Associated data of a certificate's encrypted record: the table, column and commitment."""
    return b"certificates.record\x00" + commitment


#: First byte of a version 2 record plaintext (a version 1 record is JSON and starts with ``{``).
_RECORD_V2 = b"\x02"
_SALTS_SIZE = SALT_SIZE * len(FIELD_NAMES)


def encode_record(salted: SaltedCertificate) -> bytes:
    """Return the plaintext of an encrypted record: every field's value and salt.

    Version 2 (written since migration 0004's release): the byte ``0x02``, the twelve 32-byte
    salts in :data:`~node.core.certificate.FIELD_NAMES` order, then the values as a compact JSON
    array in the same order (UTF-8). About 560 bytes where version 1 (a JSON object with the
    salts in hex, still read) took about 1,250: the record is the largest column a certificate
    writes (docs/STORAGE.md "Personal data").

    Raises:
        InvalidInput: a field is redacted (the node keeps full records only).
    """
    fields = salted.fields
    salts = []
    values: list[FieldValue] = []
    for name in FIELD_NAMES:
        proof = fields[name]
        if type(proof) is not Disclosed or len(proof.salt) != SALT_SIZE:
            raise InvalidInput(name, "storage.redacted", "the node stores full records only")
        salts.append(proof.salt)
        values.append(proof.value)
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return _RECORD_V2 + b"".join(salts) + text.encode()


def decode_record(data: bytes) -> SaltedCertificate:
    """Parse what :func:`encode_record` wrote (version 2, or version 1 of older rows).

    Raises:
        StorageError: the plaintext is not a record of a known version.
    """
    try:
        if data[:1] == _RECORD_V2:
            salts = data[1 : 1 + _SALTS_SIZE]
            values = json.loads(data[1 + _SALTS_SIZE :])
            if len(salts) != _SALTS_SIZE or not isinstance(values, list):
                raise ValueError("shape")
            fields = {
                name: Disclosed(value, salts[i * SALT_SIZE : (i + 1) * SALT_SIZE])
                for i, (name, value) in enumerate(zip(FIELD_NAMES, values, strict=True))
            }
        else:
            value = json.loads(data)
            if value["v"] != 1:
                raise ValueError("version")
            fields = {
                name: Disclosed(pair[0], bytes.fromhex(pair[1]))
                for name, pair in value["fields"].items()
            }
        salted = SaltedCertificate(fields)
    except (ValueError, KeyError, TypeError, IndexError, InvalidInput) as exc:
        raise StorageError("stored certificate record is malformed") from exc
    for proof in salted.fields.values():
        if not isinstance(proof, Disclosed) or len(proof.salt) != SALT_SIZE:
            raise StorageError("stored certificate record is malformed")
    return salted


def current_serials(db: Executor, organisation_code: str, issue_year: int, level: int) -> list[int]:
    """The serials of an organisation's current (not superseded) certificates of one issue
    year and level, ascending (national rule positions 17-22: sequential per organisation,
    year and level)."""
    with _storage_errors("cannot read serials"):
        rows = db.execute(
            select(_CERTS.c.serial)
            .where(
                _CERTS.c.organisation_code == organisation_code,
                _CERTS.c.issue_year == issue_year,
                _CERTS.c.level == level,
                _CERTS.c.superseded_by.is_(None),
            )
            .order_by(_CERTS.c.serial)
        )
        return [int(r[0]) for r in rows]


class SealedRecord(NamedTuple):
    """The protected columns of a certificate row (:func:`seal_record`): no personal data in
    clear. Bulk intake computes them in its worker processes."""

    record: bytes
    """The full salted record, encrypted (:class:`~node.core.crypto.privacy.PersonalDataCipher`)."""
    record_key_id: str
    holder_name_index: bytes
    id_number_index: bytes


def seal_record(
    cipher: PersonalDataCipher,
    index: BlindIndex,
    salted: SaltedCertificate,
    commitment: bytes,
    certificate: Certificate,
) -> SealedRecord:
    """Encrypt ``salted`` (bound to its commitment) under the current key and compute the blind
    indexes of holder name and ID number; ``certificate`` is ``salted.certificate()``.

    Raises:
        InvalidInput: a field is redacted (the node keeps full records only).
    """
    return SealedRecord(
        cipher.encrypt(encode_record(salted), _record_context(commitment)),
        cipher.current_key_id,
        index.holder_name(certificate.holder_name),
        index.id_number(certificate.id_number),
    )


#: The columns of a new certificate row, in the order of :func:`certificate_row`'s tuple.
CERTIFICATE_COLUMNS: tuple[str, ...] = (
    "commitment",
    "certificate_number",
    "province",
    "organisation_code",
    "level",
    "issue_year",
    "serial",
    "issue_date",
    "occupation_code",
    "work_type_code",
    "status",
    "superseded_by",
    "signature_suite",
    "signature_key_id",
    "signature",
    "record",
    "record_key_id",
    "holder_name_index",
    "id_number_index",
    "log_index",
    "submitted_at",
    "late_reason",
    "status_changed_at",
    "deleted_at",
)


def certificate_row(
    *,
    commitment: bytes,
    certificate_number: str,
    organisation_code: str,
    level: int,
    issue_date: dt.date,
    occupation_code: str,
    work_type_code: str,
    signature: Signature,
    sealed: SealedRecord,
    log_index: int | None,
    submitted_at: dt.datetime,
    late_reason: int | None,
) -> tuple[Any, ...]:
    """The values of a new certificate row (status ``active``) in :data:`CERTIFICATE_COLUMNS`
    order; ``submitted_at`` must be timezone-aware."""
    serial = certificate_number[16:22]
    return (
        commitment,
        certificate_number,
        certificate_number[5:7],
        organisation_code,
        level,
        issue_date.year,
        int(serial) if serial.isdigit() else 0,
        issue_date,
        occupation_code,
        work_type_code,
        "active",
        None,
        signature.suite,
        signature.key_id,
        signature.value,
        *sealed,
        log_index,
        submitted_at,
        late_reason,
        submitted_at,
        None,
    )


class CertificateRepository:
    """Certificates of this province: encrypted records, blind indexes, status.

    ``cipher`` encrypts the full salted record (values and salts: salts are secret too, or a
    published commitment would let anyone test guesses of an ID number); ``index`` computes the
    blind indexes of holder name and ID number.
    """

    def __init__(self, db: Executor, cipher: PersonalDataCipher, index: BlindIndex) -> None:
        self._db = db
        self._cipher = cipher
        self._index = index

    def __repr__(self) -> str:
        return f"CertificateRepository(cipher={self._cipher!r}, index={self._index!r})"

    def _one(self, *conditions: Any) -> CertificateRecord | None:
        with _storage_errors("cannot read the certificate"):
            row = self._db.execute(select(*_RECORD_COLUMNS).where(*conditions)).first()
        return None if row is None else _certificate(row)

    def get(self, commitment: bytes) -> CertificateRecord | None:
        """Return the certificate version with ``commitment``, or ``None``."""
        return self._one(_CERTS.c.commitment == commitment)

    def get_current(self, certificate_number: str) -> CertificateRecord | None:
        """Return the current (not superseded) version of a certificate number, or ``None``."""
        return self._one(
            _CERTS.c.certificate_number == certificate_number,
            _CERTS.c.superseded_by.is_(None),
        )

    def history(self, certificate_number: str) -> list[CertificateRecord]:
        """Return every version of a certificate number, oldest first."""
        with _storage_errors("cannot read the certificate"):
            rows = self._db.execute(
                select(*_RECORD_COLUMNS)
                .where(_CERTS.c.certificate_number == certificate_number)
                .order_by(_CERTS.c.id)
            )
            return [_certificate(row) for row in rows]

    def add(
        self,
        salted: SaltedCertificate,
        *,
        signature: Signature,
        submitted_at: dt.datetime,
        late_reason: int | None = None,
    ) -> CertificateRecord:
        """Store a new certificate (status ``active``), encrypted, with its blind indexes.

        The certificate must already be validated (``node.core.rules.validation``); this checks only
        what the table needs: a full record and no duplicate commitment or current number.

        Raises:
            InvalidInput: a field is redacted, or the commitment or the certificate number is
                already stored (``certificate.duplicate``).
            StorageError: the database failed.
        """
        certificate = salted.certificate()
        commitment = salted.commitment()
        if self.get(commitment) is not None:
            raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
        if self.get_current(certificate.certificate_number) is not None:
            raise InvalidInput(
                "certificate_number", "certificate.duplicate", "certificate number already stored"
            )
        return self._insert(salted, commitment, signature, submitted_at, late_reason)

    def _insert(
        self,
        salted: SaltedCertificate,
        commitment: bytes,
        signature: Signature,
        submitted_at: dt.datetime,
        late_reason: int | None,
    ) -> CertificateRecord:
        values = self.new_row(
            salted,
            commitment=commitment,
            signature=signature,
            submitted_at=submitted_at,
            late_reason=late_reason,
        )
        try:
            result = self._db.execute(insert(_CERTS).values(**values))
            row_id = result.inserted_primary_key[0]  # type: ignore[attr-defined]
        except IntegrityError as exc:
            # A concurrent writer stored the same number or commitment, or the organisation is
            # not filed. The message names the constraint class only, never the values.
            raise StorageError("certificate violates a table constraint") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store the certificate: {type(exc).__name__}") from exc
        return _certificate(_Row(id=row_id, checkpoint_index=None, **values))

    def new_row(
        self,
        salted: SaltedCertificate,
        *,
        commitment: bytes,
        signature: Signature,
        submitted_at: dt.datetime,
        late_reason: int | None,
        log_index: int | None = None,
        certificate: Certificate | None = None,
    ) -> dict[str, Any]:
        """Return the column values of a new certificate row (status ``active``): the record
        encrypted under the current key, the blind indexes, the codes. Touches no table, so a
        bulk caller builds many and stores them with :meth:`add_many`.

        ``commitment`` must be ``salted.commitment()`` (the caller computed it already), and
        ``certificate``, when given, ``salted.certificate()`` (bulk intake has it from its
        checks; building it again cost ~10 µs a row).

        Raises:
            InvalidInput: a field is redacted, or the issue date is not ``YYYY-MM-DD``.
        """
        if certificate is None:
            certificate = salted.certificate()
        try:
            issue_date = dt.date.fromisoformat(certificate.issue_date)
        except ValueError as exc:
            raise InvalidInput("issue_date", "date.format", "must be YYYY-MM-DD") from exc
        sealed = seal_record(self._cipher, self._index, salted, commitment, certificate)
        values = certificate_row(
            commitment=commitment,
            certificate_number=certificate.certificate_number,
            organisation_code=certificate.organisation_code,
            level=certificate.level,
            issue_date=issue_date,
            occupation_code=certificate.occupation_code,
            work_type_code=certificate.work_type_code,
            signature=signature,
            sealed=sealed,
            log_index=log_index,
            submitted_at=_aware(submitted_at),
            late_reason=late_reason,
        )
        return dict(zip(CERTIFICATE_COLUMNS, values, strict=True))

    def add_many(self, rows: Sequence[Mapping[str, Any] | tuple[Any, ...]]) -> None:
        """Insert rows built by :meth:`new_row` (or tuples of :func:`certificate_row`, in
        :data:`CERTIFICATE_COLUMNS` order) with one executemany-style statement per ``_BULK``
        rows (bulk intake). The caller has checked them (numbers and commitments unique,
        organisation filed); the table's constraints remain the last guard.

        Raises:
            StorageError: a table constraint refused a row, or the database failed; the
                caller's transaction must roll back.
        """
        tuples = [
            row if isinstance(row, tuple) else tuple(row[name] for name in CERTIFICATE_COLUMNS)
            for row in rows
        ]
        try:
            insert_tuples(self._db, _CERTS, CERTIFICATE_COLUMNS, tuples, _BULK)
        except IntegrityError as exc:
            raise StorageError("certificate violates a table constraint") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store certificates: {type(exc).__name__}") from exc

    def existing_commitments(self, commitments: Iterable[bytes]) -> set[bytes]:
        """Return which of ``commitments`` are stored (any version), with ``IN`` queries of at
        most ``_IN_CHUNK`` values (bulk intake's ``certificate.duplicate`` check)."""
        with _storage_errors("cannot read certificates"):
            return {
                bytes(value)
                for (value,) in select_in(
                    self._db, _CERTS, "commitment", _CERTS.c.commitment, set(commitments), _IN_CHUNK
                )
            }

    def current_numbers(self, numbers: Iterable[str]) -> set[str]:
        """Return which of ``numbers`` have a current (not superseded) version stored."""
        with _storage_errors("cannot read certificates"):
            return {
                str(value)
                for (value,) in select_in(
                    self._db,
                    _CERTS,
                    "certificate_number",
                    _CERTS.c.certificate_number,
                    set(numbers),
                    _IN_CHUNK,
                    where=(_CERTS.c.superseded_by.is_(None),),
                    sqlite_where="superseded_by IS NULL",
                )
            }

    def serial_state(
        self, organisation_code: str, issue_year: int, level: int, serials: Iterable[int]
    ) -> tuple[set[int], int]:
        """Return which of ``serials`` are used by current versions of one organisation, year
        and level, and the highest serial used there (0 if none): the bulk form of the serial
        duplicate and gap checks (national rule positions 17-22), on ``ix_certificates_serial``.
        """
        same = (
            _CERTS.c.organisation_code == organisation_code,
            _CERTS.c.issue_year == issue_year,
            _CERTS.c.level == level,
            _CERTS.c.superseded_by.is_(None),
        )
        with _storage_errors("cannot read serials"):
            used = {
                int(value)
                for (value,) in select_in(
                    self._db,
                    _CERTS,
                    "serial",
                    _CERTS.c.serial,
                    set(serials),
                    _IN_CHUNK,
                    where=same,
                    sqlite_where=(
                        "organisation_code = ? AND issue_year = ? AND level = ? "
                        "AND superseded_by IS NULL"
                    ),
                    sqlite_params=(organisation_code, issue_year, level),
                )
            }
            top = self._db.execute(select(func.max(_CERTS.c.serial)).where(*same)).scalar()
        return used, int(top or 0)

    def add_correction(
        self,
        old_commitment: bytes,
        salted: SaltedCertificate,
        *,
        signature: Signature,
        submitted_at: dt.datetime,
    ) -> CertificateRecord:
        """Store a corrected version that supersedes ``old_commitment`` (data guide art. 14).

        The old row becomes ``superseded`` with a link to the new commitment; both keep the
        certificate number. Checking which fields changed (one of name and ID number at most)
        is ``node.core.rules.reasons.check_correction``'s job, before this call.

        Raises:
            InvalidInput: the old certificate is unknown, not current, deleted, or has another
                certificate number; or the new commitment is already stored.
            StorageError: the database failed.
        """
        old = self.get(old_commitment)
        if old is None:
            raise InvalidInput("links", "certificate.unknown", "corrected certificate is unknown")
        if old.superseded_by is not None or old.status in ("superseded", "deleted"):
            raise InvalidInput("links", "certificate.not_current", "certificate is not current")
        certificate = salted.certificate()
        if certificate.certificate_number != old.certificate_number:
            raise InvalidInput(
                "certificate_number", "correction.number", "a correction keeps the number"
            )
        commitment = salted.commitment()
        if self.get(commitment) is not None:
            raise InvalidInput("commitment", "certificate.duplicate", "commitment already stored")
        # Retire the old version first: the number is unique among current versions only.
        with _storage_errors("cannot supersede the certificate"):
            self._db.execute(
                update(_CERTS)
                .where(_CERTS.c.commitment == old_commitment)
                .values(
                    status="superseded",
                    superseded_by=commitment,
                    status_changed_at=_aware(submitted_at),
                )
            )
        return self._insert(salted, commitment, signature, submitted_at, None)

    def set_status(self, commitment: bytes, status: str, *, now: dt.datetime) -> None:
        """Set ``active``, ``revoked`` or ``suspended`` (revoke, suspend, reinstate entries).

        Raises:
            InvalidInput: unknown status or certificate, or the certificate is superseded or
                deleted (those are final).
        """
        if status not in ("active", "revoked", "suspended"):
            raise InvalidInput("status", "certificate.status", "active, revoked or suspended")
        self._change(commitment, now, status=status)

    def mark_deleted(self, commitment: bytes, *, now: dt.datetime) -> None:
        """Delete a certificate logically (data guide art. 15): status ``deleted``, ``deleted_at``
        set; the row and its encrypted record stay.

        Raises:
            InvalidInput: unknown certificate, or already superseded or deleted.
        """
        self._change(commitment, now, status="deleted", deleted_at=_aware(now))

    def _change(self, commitment: bytes, now: dt.datetime, **values: Any) -> None:
        current = self.get(commitment)
        if current is None:
            raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
        if current.status in ("superseded", "deleted"):
            raise InvalidInput("status", "certificate.final", f"certificate is {current.status}")
        assert values["status"] in CERTIFICATE_STATUSES
        with _storage_errors("cannot update the certificate"):
            self._db.execute(
                update(_CERTS)
                .where(_CERTS.c.commitment == commitment)
                .values(status_changed_at=_aware(now), **values)
            )

    def mark_logged(self, commitment: bytes, log_index: int) -> None:
        """Record the position of the certificate's issue/correct entry in the province log.

        Raises:
            InvalidInput: unknown certificate, or it was logged already.
        """
        with _storage_errors("cannot update the certificate"):
            result = self._db.execute(
                update(_CERTS)
                .where(_CERTS.c.commitment == commitment, _CERTS.c.log_index.is_(None))
                .values(log_index=log_index)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput("commitment", "certificate.logged", "unknown or already logged")

    def anchored(
        self, province: str, *, after_id: int = 0, limit: int = 1000
    ) -> list[CertificateRecord]:
        """Return up to ``limit`` certificates of ``province`` with a checkpoint, by id after
        ``after_id`` (page through with the last id; for bundle export)."""
        with _storage_errors("cannot list certificates"):
            rows = self._db.execute(
                select(*_RECORD_COLUMNS)
                .where(
                    _CERTS.c.province == province,
                    _CERTS.c.checkpoint_index.is_not(None),
                    _CERTS.c.id > after_id,
                )
                .order_by(_CERTS.c.id)
                .limit(limit)
            )
            return [_certificate(row) for row in rows]

    def find_by_two_of_three(
        self,
        *,
        certificate_number: str | None = None,
        name: str | None = None,
        id_number: str | None = None,
        include_superseded: bool = False,
    ) -> list[CertificateRecord]:
        """Return the certificates matching at least two of number, holder name and ID number.

        Data guide art. 19: a query supplies two of the three. Name and ID number are matched
        through their blind indexes; nothing is decrypted. Superseded versions are left out
        unless asked for; deleted, revoked and suspended ones are returned with their status
        (what to show is the caller's policy).

        Raises:
            InvalidInput: fewer than two of the three are given (``query.two_of_three``).
        """
        given = [v for v in (certificate_number, name, id_number) if v is not None and v.strip()]
        if len(given) < 2:
            raise InvalidInput(
                "query",
                "query.two_of_three",
                "give at least two of certificate number, holder name and ID number",
            )
        conditions: list[Any] = []
        if certificate_number is not None and certificate_number.strip():
            conditions.append(_CERTS.c.certificate_number == certificate_number.strip().upper())
        if name is not None and name.strip():
            conditions.append(_CERTS.c.holder_name_index == self._index.holder_name(name))
        if id_number is not None and id_number.strip():
            conditions.append(_CERTS.c.id_number_index == self._index.id_number(id_number))
        if not include_superseded:
            conditions.append(_CERTS.c.superseded_by.is_(None))
        with _storage_errors("cannot query certificates"):
            rows = self._db.execute(
                select(*_RECORD_COLUMNS).where(*conditions).order_by(_CERTS.c.id)
            )
            return [_certificate(row) for row in rows]

    def salted(self, record: CertificateRecord) -> SaltedCertificate:
        """Decrypt a certificate's full salted record (personal data: handle with care).

        Raises:
            DecryptionError: the key is not configured or the ciphertext was altered or moved.
            StorageError: the record does not match its commitment.
        """
        with _storage_errors("cannot read the certificate record"):
            blob = self._db.execute(
                select(_CERTS.c.record).where(_CERTS.c.commitment == record.commitment)
            ).scalar_one_or_none()
        if blob is None:
            raise StorageError("certificate record is missing")
        salted = decode_record(
            self._cipher.decrypt(bytes(blob), _record_context(record.commitment))
        )
        if salted.commitment() != record.commitment:
            raise StorageError("stored certificate record does not match its commitment")
        return salted

    def serials(self, organisation_code: str, issue_year: int, level: int) -> list[int]:
        """Return the serials stored for one organisation, year and level, ascending (for gap
        and duplicate checks; national rule positions 17-22)."""
        return current_serials(self._db, organisation_code, issue_year, level)

    def reindex(
        self, new_index: BlindIndex, *, after: int = 0, limit: int = 1000
    ) -> tuple[int, int]:
        """Recompute both blind indexes of up to ``limit`` rows with id above ``after`` from the
        decrypted records, with ``new_index``; return how many rows and the last id done
        (``(0, after)`` when none was left).

        The caller runs every batch in one transaction, so that the table is re-keyed whole or
        not at all (a query with either key must find every certificate).

        Raises:
            DecryptionError: a record's key is not configured or the record was altered.
        """
        with _storage_errors("cannot re-index records"):
            rows = self._db.execute(
                select(_CERTS.c.id, _CERTS.c.commitment, _CERTS.c.record)
                .where(_CERTS.c.id > after)
                .order_by(_CERTS.c.id)
                .limit(limit)
            ).all()
            for row_id, commitment, blob in rows:
                plain = self._cipher.decrypt(bytes(blob), _record_context(bytes(commitment)))
                certificate = decode_record(plain).certificate()
                self._db.execute(
                    update(_CERTS)
                    .where(_CERTS.c.id == row_id)
                    .values(
                        holder_name_index=new_index.holder_name(certificate.holder_name),
                        id_number_index=new_index.id_number(certificate.id_number),
                    )
                )
        return len(rows), int(rows[-1][0]) if rows else after

    def records_per_key(self) -> dict[str, int]:
        """How many records each personal-data key id encrypts (by the indexed
        ``record_key_id``): a key no record uses can be retired."""
        with _storage_errors("cannot count records per key"):
            rows = self._db.execute(
                select(_CERTS.c.record_key_id, func.count()).group_by(_CERTS.c.record_key_id)
            ).all()
        return {str(key_id): int(count) for key_id, count in rows}

    def rotate_records(self, *, limit: int = 1000) -> int:
        """Re-encrypt up to ``limit`` records that use an old key with the current key.

        Call it in a loop (one transaction per call) until it returns 0; then old keys can be
        removed from the configuration.

        Returns:
            The number of records re-encrypted.

        Raises:
            DecryptionError: a record's key is not configured or the record was altered.
        """
        current = self._cipher.current_key_id
        with _storage_errors("cannot rotate records"):
            rows = self._db.execute(
                select(_CERTS.c.id, _CERTS.c.commitment, _CERTS.c.record)
                .where(_CERTS.c.record_key_id != current)
                .order_by(_CERTS.c.id)
                .limit(limit)
            ).all()
            for row_id, commitment, blob in rows:
                fresh = self._cipher.reencrypt(bytes(blob), _record_context(bytes(commitment)))
                self._db.execute(
                    update(_CERTS)
                    .where(_CERTS.c.id == row_id)
                    .values(record=fresh, record_key_id=current)
                )
        return len(rows)


class _Row:
    """Attribute access over a dict, to build a record from the values just inserted."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# --------------------------------------------------------------------------------------------
# Province logs


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEntry:
    """A log entry with its position and leaf hash."""

    leaf_index: int
    entry: LogEntry
    leaf_hash: bytes
    created_at: dt.datetime


class EncodedEntry(NamedTuple):
    """A log entry ready to append (:meth:`ProvinceLog.append_encoded`)."""

    kind: str
    commitment: bytes
    certificate_number: str
    data: bytes
    """``JCS(entry)``."""
    leaf: bytes
    """``SHA-256(0x00 || data)``."""


_ENTRY_COLUMNS = (
    "province",
    "leaf_index",
    "kind",
    "commitment",
    "certificate_number",
    "entry",
    "leaf_hash",
    "created_at",
)


class ProvinceLog:
    """A province's log: entry rows plus the Merkle tree over them, appended together.

    ``append`` writes the entry rows and the Merkle nodes in the caller's transaction; roots
    and proofs come from :attr:`merkle`.
    """

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self._province = province
        self._store = DatabaseNodeStore(db, province)
        self.merkle = MerkleLog(self._store)

    def __repr__(self) -> str:
        return f"ProvinceLog(province={self._province!r})"

    @property
    def size(self) -> int:
        """The number of entries."""
        return self._store.get_size()

    @property
    def status_synced(self) -> int:
        """The log size up to which status-changing entries were written to the contract."""
        with _storage_errors(f"cannot read log {self._province}"):
            value = self._db.execute(
                select(_STATE.c.status_synced).where(_STATE.c.province == self._province)
            ).scalar_one_or_none()
        return int(value or 0)

    def set_status_synced(self, size: int) -> None:
        """Record that status entries below ``size`` are on the contract (never moves back).

        Raises:
            InvalidInput: ``size`` is past the log or behind the recorded value.
        """
        if not self.status_synced <= size <= self.size:
            raise InvalidInput("size", "log.status_synced", "must be between the last and the size")
        with _storage_errors(f"cannot update log {self._province}"):
            self._db.execute(
                update(_STATE).where(_STATE.c.province == self._province).values(status_synced=size)
            )

    def append(self, entries: Sequence[LogEntry], *, now: dt.datetime) -> list[int]:
        """Append entries in order and return their leaf indexes.

        Takes the log's row lock first (PostgreSQL), so concurrent appenders queue.

        Raises:
            InvalidInput: an entry belongs to another province.
            StorageError: the database failed; the caller's transaction must roll back.
        """
        for entry in entries:
            if entry.province != self._province:
                raise InvalidInput("province", "log.province", "entry is for another province")
        encoded = []
        for entry in entries:
            data = entry.canonical_bytes()
            encoded.append(
                EncodedEntry(
                    entry.kind, entry.commitment, entry.certificate_number, data, leaf_hash(data)
                )
            )
        return self.append_encoded(encoded, now=now)

    def append_encoded(self, entries: Sequence[EncodedEntry], *, now: dt.datetime) -> list[int]:
        """:meth:`append` for entries already encoded (bulk intake encodes them in its worker
        processes, from entries of this province): each ``data`` must be ``JCS(entry)`` and
        ``leaf`` its leaf hash.

        Raises:
            StorageError: the database failed; the caller's transaction must roll back.
        """
        if not entries:
            return []
        _aware(now)
        first = self._store.lock()
        province = self._province
        rows = [
            (
                province,
                first + i,
                e.kind,
                e.commitment,
                e.certificate_number,
                e.data.decode(),
                e.leaf,
                now,
            )
            for i, e in enumerate(entries)
        ]
        with _storage_errors(f"cannot append to log {self._province}"):
            insert_tuples(self._db, _ENTRIES, _ENTRY_COLUMNS, rows, _BULK)
        indexes = self.merkle.append_many([e.leaf for e in entries])
        if indexes[0] != first:
            raise StorageError(f"log {self._province} moved during the append")
        return indexes

    def _entry_page(self, columns: Any, start: int, end: int) -> Sequence[Any]:
        """The stored entry rows ``[start, end)`` of this log (``columns`` of them), in order."""
        with _storage_errors(f"cannot read log {self._province}"):
            return self._db.execute(
                select(*columns)
                .where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.leaf_index >= start,
                    _ENTRIES.c.leaf_index < end,
                )
                .order_by(_ENTRIES.c.leaf_index)
            ).all()

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        """Yield the entries ``[start, end)`` in order, streaming in pages of 1,000."""
        end = self.size if end is None else end
        page = 1000
        position = start
        while position < end:
            rows = self._entry_page(_ENTRIES.c, position, min(end, position + page))
            if not rows:
                return
            for row in rows:
                yield StoredEntry(
                    row.leaf_index,
                    LogEntry.from_json(json.loads(row.entry)),
                    bytes(row.leaf_hash),
                    row.created_at,
                )
            position = rows[-1].leaf_index + 1

    def entry_bytes(self, start: int, end: int) -> Iterator[bytes]:
        """Yield ``JCS(entry)`` of the entries ``[start, end)`` as stored, in order, in pages of
        10,000, without parsing them (the anchoring worker's manifest,
        :func:`anchor.manifest.manifest_bytes`).

        Raises:
            StorageError: an entry is missing, or its bytes do not hash to its stored leaf
                hash (the row was altered).
        """
        page = 10_000
        position = start
        while position < end:
            columns = (_ENTRIES.c.leaf_index, _ENTRIES.c.entry, _ENTRIES.c.leaf_hash)
            rows = self._entry_page(columns, position, min(end, position + page))
            for leaf_index, stored_text, stored_leaf in rows:
                data = stored_text.encode("utf-8")
                if leaf_index != position or leaf_hash(data) != bytes(stored_leaf):
                    raise StorageError(
                        f"log {self._province} entry {position} is missing or altered"
                    )
                position += 1
                yield data
            if not rows:
                raise StorageError(f"log {self._province} entry {position} is missing")

    def entry(self, leaf_index: int) -> StoredEntry:
        """Return the entry at ``leaf_index``.

        Raises:
            InvalidInput: no such entry.
        """
        for stored in self.entries(leaf_index, leaf_index + 1):
            return stored
        raise InvalidInput("leaf_index", "log.index_range", "no entry at this index")

    def status_changes_of(self, commitment: bytes, end: int) -> int:
        """Count the status-changing entries (revoke, suspend, reinstate, delete) about
        ``commitment`` below leaf index ``end``; corrections are counted by the caller, which
        knows the corrected commitment from the entry's ``links``."""
        # The commitment's few non-issue entries through the partial index (its condition is
        # repeated so the planner may use it); the bound on the index is applied here, as a
        # range on the primary key would tempt the planner into scanning the log.
        with _storage_errors(f"cannot read log {self._province}"):
            rows = self._db.execute(
                select(_ENTRIES.c.leaf_index).where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.commitment == commitment,
                    _ENTRIES.c.kind.in_(STATUS_KINDS),
                    text(NOT_ISSUE_ENTRY),
                )
            )
            return sum(1 for (leaf_index,) in rows if leaf_index < end)

    def first_status_entry(self, start: int, end: int) -> int | None:
        """Return the index of the first entry in ``[start, end)`` that changes a status
        (correct, revoke, suspend, reinstate, delete), or ``None``."""
        with _storage_errors(f"cannot read log {self._province}"):
            value = self._db.execute(
                select(func.min(_ENTRIES.c.leaf_index)).where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.leaf_index >= start,
                    _ENTRIES.c.leaf_index < end,
                    _ENTRIES.c.kind != "issue",
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def indexes_of(self, commitment: bytes) -> list[int]:
        """Return the leaf indexes of every entry about ``commitment``, ascending.

        Corrections and status changes come from the partial index
        ``ix_log_entries_status_commitment``; ``issue`` entries, which it leaves out, through
        the ``log_index`` of the certificates with that commitment.
        """
        here = _ENTRIES.c.province == self._province
        about = _ENTRIES.c.commitment == commitment
        logged = select(_CERTS.c.log_index).where(
            _CERTS.c.commitment == commitment, _CERTS.c.log_index.is_not(None)
        )
        queries = (
            select(_ENTRIES.c.leaf_index).where(here, about, text(NOT_ISSUE_ENTRY)),
            select(_ENTRIES.c.leaf_index).where(
                here, about, _ENTRIES.c.kind == "issue", _ENTRIES.c.leaf_index.in_(logged)
            ),
        )
        with _storage_errors(f"cannot read log {self._province}"):
            return sorted({int(r[0]) for query in queries for r in self._db.execute(query)})


# --------------------------------------------------------------------------------------------
# Checkpoints


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointRecord:
    """A checkpoint and its anchoring progress."""

    province: str
    index: int
    tree_size: int
    root: bytes
    state: str
    manifest_cid: str | None
    transaction_hash: str | None
    block_number: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _checkpoint(row: Any) -> CheckpointRecord:
    return CheckpointRecord(
        province=row.province,
        index=row.checkpoint_index,
        tree_size=row.tree_size,
        root=bytes(row.root),
        state=row.state,
        manifest_cid=row.manifest_cid,
        transaction_hash=row.transaction_hash,
        block_number=row.block_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class CheckpointRepository:
    """Checkpoints of one province log: ``pending`` -> ``submitted`` -> ``confirmed``."""

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self._province = province

    def add(
        self, tree_size: int, root: bytes, *, now: dt.datetime, manifest_cid: str | None = None
    ) -> CheckpointRecord:
        """Add the next checkpoint (index 0, 1, ...) in state ``pending``.

        Raises:
            InvalidInput: the size does not grow past the latest checkpoint, or the root is
                not 32 bytes.
        """
        if len(root) != 32:
            raise InvalidInput("root", "checkpoint.root", "must be 32 bytes")
        latest = self.latest()
        if latest is not None and tree_size <= latest.tree_size:
            raise InvalidInput("tree_size", "checkpoint.size", "must grow past the latest")
        if tree_size < 1:
            raise InvalidInput("tree_size", "checkpoint.size", "must be at least 1")
        index = 0 if latest is None else latest.index + 1
        values = {
            "province": self._province,
            "checkpoint_index": index,
            "tree_size": tree_size,
            "root": root,
            "manifest_cid": manifest_cid,
            "state": "pending",
            "transaction_hash": None,
            "block_number": None,
            "created_at": _aware(now),
            "updated_at": now,
        }
        with _storage_errors("cannot add the checkpoint"):
            self._db.execute(insert(_CHECKPOINTS).values(**values))
        return _checkpoint(_Row(**values))

    def _set(self, index: int, expected: tuple[str, ...], now: dt.datetime, **values: Any) -> None:
        with _storage_errors("cannot update the checkpoint"):
            result = self._db.execute(
                update(_CHECKPOINTS)
                .where(
                    _CHECKPOINTS.c.province == self._province,
                    _CHECKPOINTS.c.checkpoint_index == index,
                    _CHECKPOINTS.c.state.in_(expected),
                )
                .values(updated_at=_aware(now), **values)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput("state", "checkpoint.state", f"checkpoint is not {expected}")

    def mark_submitted(
        self, index: int, *, transaction_hash: str, manifest_cid: str, now: dt.datetime
    ) -> None:
        """Record the anchoring transaction (a pending or resubmitted checkpoint).

        Raises:
            InvalidInput: the checkpoint is unknown or already confirmed.
        """
        self._set(
            index,
            ("pending", "submitted"),
            now,
            state="submitted",
            transaction_hash=transaction_hash,
            manifest_cid=manifest_cid,
        )

    def mark_confirmed(self, index: int, *, block_number: int, now: dt.datetime) -> None:
        """Record the block that included the anchoring transaction, and record the checkpoint
        on the certificates whose entries it adds (from then on their bundles can be made).

        Raises:
            InvalidInput: the checkpoint is not submitted.
        """
        self._set(index, ("submitted",), now, state="confirmed", block_number=block_number)
        record = self.get(index)
        assert record is not None
        previous = self.get(index - 1) if index else None
        start = 0 if previous is None else previous.tree_size
        with _storage_errors("cannot update certificates"):
            self._db.execute(
                update(_CERTS)
                .where(
                    _CERTS.c.province == self._province,
                    _CERTS.c.log_index >= start,
                    _CERTS.c.log_index < record.tree_size,
                    _CERTS.c.checkpoint_index.is_(None),
                )
                .values(checkpoint_index=index)
            )

    def get(self, index: int) -> CheckpointRecord | None:
        """Return checkpoint ``index``, or ``None``."""
        with _storage_errors("cannot read the checkpoint"):
            row = self._db.execute(
                select(_CHECKPOINTS).where(
                    _CHECKPOINTS.c.province == self._province,
                    _CHECKPOINTS.c.checkpoint_index == index,
                )
            ).first()
        return None if row is None else _checkpoint(row)

    def latest(self, state: str | None = None) -> CheckpointRecord | None:
        """Return the newest checkpoint (in ``state``, if given), or ``None``."""
        statement = select(_CHECKPOINTS).where(_CHECKPOINTS.c.province == self._province)
        if state is not None:
            statement = statement.where(_CHECKPOINTS.c.state == state)
        with _storage_errors("cannot read checkpoints"):
            row = self._db.execute(
                statement.order_by(_CHECKPOINTS.c.checkpoint_index.desc()).limit(1)
            ).first()
        return None if row is None else _checkpoint(row)

    def in_state(self, state: str) -> list[CheckpointRecord]:
        """Return the checkpoints in ``state``, oldest first (the anchoring worker's queue)."""
        with _storage_errors("cannot read checkpoints"):
            rows = self._db.execute(
                select(_CHECKPOINTS)
                .where(_CHECKPOINTS.c.province == self._province, _CHECKPOINTS.c.state == state)
                .order_by(_CHECKPOINTS.c.checkpoint_index)
            )
            return [_checkpoint(row) for row in rows]


# --------------------------------------------------------------------------------------------
# Audit trail


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event (who, what, when, why, target)."""

    id: int
    occurred_at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    reason: int | None
    note: str | None
    details: Any


class NewAuditEvent(NamedTuple):
    """An event for :meth:`AuditTrail.record_many` (the fields of :meth:`AuditTrail.record`
    but the time, which the batch shares); a named tuple, as bulk intake makes one per
    certificate."""

    actor: str
    action: str
    target_type: str
    target_id: str
    reason: int | None = None
    note: str | None = None
    details: Mapping[str, Any] | None = None


_AUDIT_COLUMNS = (
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "reason",
    "note",
    "details",
)


class AuditTrail:
    """The append-only audit trail. Never put personal data in ``note`` or ``details``: use
    commitments, certificate numbers and organisation codes as targets."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def record(
        self,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        now: dt.datetime,
        reason: int | None = None,
        note: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an event and return its id."""
        with _storage_errors("cannot record the audit event"):
            result = self._db.execute(
                insert(_AUDIT).values(
                    occurred_at=_aware(now),
                    actor=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    reason=reason,
                    note=note,
                    details=None if details is None else dict(details),
                )
            )
        return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]

    def record_many(self, events: Sequence[NewAuditEvent], *, now: dt.datetime) -> None:
        """Append events in order, all at ``now``, with executemany-style statements (bulk
        intake: one ``issue`` event per accepted certificate). Ids are not returned.

        Raises:
            StorageError: the database failed; the caller's transaction must roll back.
        """
        occurred_at = _aware(now)
        rows = [
            (
                occurred_at,
                e.actor,
                e.action,
                e.target_type,
                e.target_id,
                e.reason,
                e.note,
                None if e.details is None else dict(e.details),
            )
            for e in events
        ]
        with _storage_errors("cannot record the audit events"):
            insert_tuples(self._db, _AUDIT, _AUDIT_COLUMNS, rows, _BULK)

    def for_target(self, target_type: str, target_id: str) -> list[AuditRecord]:
        """Return the events about one target, oldest first.

        Events other than ``issue`` come from the partial index ``ix_audit_events_target``; a
        certificate's ``issue`` events (one per version of the commitment, in practice one)
        through the certificate, whose ``submitted_at`` is their ``occurred_at`` (migration
        0004: intake writes no random-key index entry per certificate).
        """
        same = (_AUDIT.c.target_type == target_type, _AUDIT.c.target_id == target_id)
        queries = [select(_AUDIT).where(*same, text(NOT_ISSUE_EVENT))]
        commitment = _commitment_of_hex(target_id) if target_type == "certificate" else None
        if commitment is not None:
            submitted = select(_CERTS.c.submitted_at).where(_CERTS.c.commitment == commitment)
            queries.append(
                select(_AUDIT).where(
                    *same, _AUDIT.c.action == "issue", _AUDIT.c.occurred_at.in_(submitted)
                )
            )
        with _storage_errors("cannot read the audit trail"):
            rows = [row for query in queries for row in self._db.execute(query)]
        return [
            AuditRecord(
                r.id,
                r.occurred_at,
                r.actor,
                r.action,
                r.target_type,
                r.target_id,
                r.reason,
                r.note,
                r.details,
            )
            for r in sorted(rows, key=lambda r: r.id)
        ]


def _commitment_of_hex(text: str) -> bytes | None:
    """The 32 bytes a commitment's lowercase hex names, or ``None``."""
    if len(text) != 64 or text != text.lower():
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


__all__ = [
    "AuditRecord",
    "AuditTrail",
    "CertificateRecord",
    "CertificateRepository",
    "CheckpointRecord",
    "CheckpointRepository",
    "NewAuditEvent",
    "OrganisationKeyRecord",
    "OrganisationRecord",
    "OrganisationRepository",
    "ProvinceLog",
    "StoredEntry",
    "decode_record",
    "encode_record",
]
