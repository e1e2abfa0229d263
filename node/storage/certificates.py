"""Certificates of this province: encrypted records, blind indexes, status.

Records returned here carry no personal data: :class:`CertificateRecord` has codes, dates and
status; the holder name and ID number come back only through
:meth:`CertificateRepository.salted`, which decrypts. Errors never contain personal data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from node.core.certificate import Certificate
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput, StorageError
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import Signature
from node.storage.bulk import insert_tuples, select_in
from node.storage.common import BULK_ROWS, IN_CHUNK, Executor, Row, aware, storage_errors
from node.storage.schema import CERTIFICATE_STATUSES, CertificateRow, table_of
from node.storage.sealing import SealedRecord, decode_record, record_context, seal_record

_CERTS: Final = table_of(CertificateRow)


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


def current_serials(db: Executor, organisation_code: str, issue_year: int, level: int) -> list[int]:
    """The serials of an organisation's current (not superseded) certificates of one issue
    year and level, ascending (national rule positions 17-22: sequential per organisation,
    year and level)."""
    with storage_errors("cannot read serials"):
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
    order; ``submitted_at`` must be timezone-aware. The province is positions 6-7 of the
    issuer's registry code (for a skill_level certificate those of its number too); the serial
    is positions 17-22 of a 22-character number, 11-15 of a 15-digit special_ability one."""
    serial = (
        certificate_number[10:15] if len(certificate_number) == 15 else certificate_number[16:22]
    )
    return (
        commitment,
        certificate_number,
        organisation_code[5:7],
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
        with storage_errors("cannot read the certificate"):
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
        with storage_errors("cannot read the certificate"):
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
        organisation_code: str | None = None,
    ) -> CertificateRecord:
        """Store a new certificate (status ``active``), encrypted, with its blind indexes.

        ``organisation_code`` is the issuer's registry code when it differs from the
        certificate's field (a special_ability certificate shows its examining body's 8-digit
        code; ``node.core.formats.entry.registry_code_of``).

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
        return self._insert(
            salted, commitment, signature, submitted_at, late_reason, organisation_code
        )

    def _insert(
        self,
        salted: SaltedCertificate,
        commitment: bytes,
        signature: Signature,
        submitted_at: dt.datetime,
        late_reason: int | None,
        organisation_code: str | None = None,
    ) -> CertificateRecord:
        values = self.new_row(
            salted,
            commitment=commitment,
            signature=signature,
            submitted_at=submitted_at,
            late_reason=late_reason,
            organisation_code=organisation_code,
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
        return _certificate(Row(id=row_id, checkpoint_index=None, **values))

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
        organisation_code: str | None = None,
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
            organisation_code=organisation_code or certificate.organisation_code,
            level=certificate.level,
            issue_date=issue_date,
            occupation_code=certificate.occupation_code,
            work_type_code=certificate.work_type_code,
            signature=signature,
            sealed=sealed,
            log_index=log_index,
            submitted_at=aware(submitted_at),
            late_reason=late_reason,
        )
        return dict(zip(CERTIFICATE_COLUMNS, values, strict=True))

    def add_many(self, rows: Sequence[Mapping[str, Any] | tuple[Any, ...]]) -> None:
        """Insert rows built by :meth:`new_row` (or tuples of :func:`certificate_row`, in
        :data:`CERTIFICATE_COLUMNS` order) with one executemany-style statement per ``BULK_ROWS``
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
            insert_tuples(self._db, _CERTS, CERTIFICATE_COLUMNS, tuples, BULK_ROWS)
        except IntegrityError as exc:
            raise StorageError("certificate violates a table constraint") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store certificates: {type(exc).__name__}") from exc

    def existing_commitments(self, commitments: Iterable[bytes]) -> set[bytes]:
        """Return which of ``commitments`` are stored (any version), with ``IN`` queries of at
        most ``IN_CHUNK`` values (bulk intake's ``certificate.duplicate`` check)."""
        with storage_errors("cannot read certificates"):
            return {
                bytes(value)
                for (value,) in select_in(
                    self._db, _CERTS, "commitment", _CERTS.c.commitment, set(commitments), IN_CHUNK
                )
            }

    def current_numbers(self, numbers: Iterable[str]) -> set[str]:
        """Return which of ``numbers`` have a current (not superseded) version stored."""
        with storage_errors("cannot read certificates"):
            return {
                str(value)
                for (value,) in select_in(
                    self._db,
                    _CERTS,
                    "certificate_number",
                    _CERTS.c.certificate_number,
                    set(numbers),
                    IN_CHUNK,
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

        The highest serial is read first, as the first row of a backward index scan (not
        ``max()``: on PostgreSQL with statistics older than a bulk load the planner aggregated
        the whole organisation, year and level, heap row by heap row); only ``serials`` up to
        it can be used, so a chunk of new serials above it asks nothing more.
        """
        same = (
            _CERTS.c.organisation_code == organisation_code,
            _CERTS.c.issue_year == issue_year,
            _CERTS.c.level == level,
            _CERTS.c.superseded_by.is_(None),
        )
        with storage_errors("cannot read serials"):
            top = self._db.execute(
                select(_CERTS.c.serial).where(*same).order_by(_CERTS.c.serial.desc()).limit(1)
            ).scalar()
            highest = int(top or 0)
            used = {
                int(value)
                for (value,) in select_in(
                    self._db,
                    _CERTS,
                    "serial",
                    _CERTS.c.serial,
                    {serial for serial in serials if serial <= highest},
                    IN_CHUNK,
                    where=same,
                    sqlite_where=(
                        "organisation_code = ? AND issue_year = ? AND level = ? "
                        "AND superseded_by IS NULL"
                    ),
                    sqlite_params=(organisation_code, issue_year, level),
                )
            }
        return used, highest

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
        with storage_errors("cannot supersede the certificate"):
            self._db.execute(
                update(_CERTS)
                .where(_CERTS.c.commitment == old_commitment)
                .values(
                    status="superseded",
                    superseded_by=commitment,
                    status_changed_at=aware(submitted_at),
                )
            )
        # The new version keeps the issuer's registry code (an examining body's, for a
        # special_ability certificate, differs from the code on the certificate).
        return self._insert(
            salted, commitment, signature, submitted_at, None, old.organisation_code
        )

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
        self._change(commitment, now, status="deleted", deleted_at=aware(now))

    def _change(self, commitment: bytes, now: dt.datetime, **values: Any) -> None:
        current = self.get(commitment)
        if current is None:
            raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
        if current.status in ("superseded", "deleted"):
            raise InvalidInput("status", "certificate.final", f"certificate is {current.status}")
        assert values["status"] in CERTIFICATE_STATUSES
        with storage_errors("cannot update the certificate"):
            self._db.execute(
                update(_CERTS)
                .where(_CERTS.c.commitment == commitment)
                .values(status_changed_at=aware(now), **values)
            )

    def mark_logged(self, commitment: bytes, log_index: int) -> None:
        """Record the position of the certificate's issue/correct entry in the province log.

        Raises:
            InvalidInput: unknown certificate, or it was logged already.
        """
        with storage_errors("cannot update the certificate"):
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
        with storage_errors("cannot list certificates"):
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
        with storage_errors("cannot query certificates"):
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
        with storage_errors("cannot read the certificate record"):
            blob = self._db.execute(
                select(_CERTS.c.record).where(_CERTS.c.commitment == record.commitment)
            ).scalar_one_or_none()
        if blob is None:
            raise StorageError("certificate record is missing")
        salted = decode_record(self._cipher.decrypt(bytes(blob), record_context(record.commitment)))
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
        with storage_errors("cannot re-index records"):
            rows = self._db.execute(
                select(_CERTS.c.id, _CERTS.c.commitment, _CERTS.c.record)
                .where(_CERTS.c.id > after)
                .order_by(_CERTS.c.id)
                .limit(limit)
            ).all()
            for row_id, commitment, blob in rows:
                plain = self._cipher.decrypt(bytes(blob), record_context(bytes(commitment)))
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
        with storage_errors("cannot count records per key"):
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
        with storage_errors("cannot rotate records"):
            rows = self._db.execute(
                select(_CERTS.c.id, _CERTS.c.commitment, _CERTS.c.record)
                .where(_CERTS.c.record_key_id != current)
                .order_by(_CERTS.c.id)
                .limit(limit)
            ).all()
            for row_id, commitment, blob in rows:
                fresh = self._cipher.reencrypt(bytes(blob), record_context(bytes(commitment)))
                self._db.execute(
                    update(_CERTS)
                    .where(_CERTS.c.id == row_id)
                    .values(record=fresh, record_key_id=current)
                )
        return len(rows)


__all__ = [
    "CERTIFICATE_COLUMNS",
    "CertificateRecord",
    "CertificateRepository",
    "certificate_row",
    "current_serials",
]
