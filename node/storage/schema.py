"""The provincial node's tables, as SQLAlchemy 2 typed declarative models.

The migration ``migrations/versions/0001_initial.py`` creates exactly these tables (a test
compares the two with Alembic's autogenerate). Design notes are in ``docs/STORAGE.md``.

Rows are never deleted: certificates carry a status and ``deleted_at`` (logical deletion, data
guide art. 15), organisations a status, and the log tables are append-only. Database triggers
created by the migration refuse ``DELETE`` on every table and ``UPDATE`` on the log tables.

No column holds personal data in clear: the full salted certificate (values *and* salts) is one
encrypted blob, and holder name and ID number are searchable only through keyed blind indexes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names are fixed so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORGANISATION_STATUSES = ("active", "suspended", "terminated")
CERTIFICATE_STATUSES = ("active", "revoked", "suspended", "superseded", "deleted")
CHECKPOINT_STATES = ("pending", "submitted", "confirmed")
ENTRY_KINDS = ("issue", "correct", "revoke", "suspend", "reinstate", "delete")


#: The conditions of the partial indexes that leave out what intake writes per certificate.
NOT_ISSUE_ENTRY = "kind <> 'issue'"
NOT_ISSUE_EVENT = "action <> 'issue'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timestamp type and drops the offset; this type refuses naive datetimes,
    stores UTC and gives back aware UTC datetimes, so both backends behave alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware datetimes")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: Auto-increment ids: 64-bit on PostgreSQL, SQLite's rowid alias there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Hash = LargeBinary(32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Organisation(Base):
    """An assessment organisation filed by a province (rule §4: codes are never reassigned)."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(_in("status", ORGANISATION_STATUSES), name="status"),
        CheckConstraint("org_class IN ('Y', 'S')", name="org_class"),
    )

    #: Positions 1-13 of its certificate numbers, e.g. ``S000144002009``.
    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    province: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ``Y`` employer 用人单位, ``S`` social training/assessment organisation.
    org_class: Mapped[str] = mapped_column(String(1))
    #: The provincial category digit, where the province's refinement has one (Guangdong pos. 10).
    category: Mapped[str | None] = mapped_column(String(8))
    #: Filed scope: ``[{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}, ...]``.
    scope: Mapped[Any] = mapped_column(JSON)
    #: Digest of the CIDv0 of the published scope document, as filed on the contract.
    scope_hash: Mapped[bytes | None] = mapped_column(Hash)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class OrganisationKey(Base):
    """A signing key of an organisation; ``key_id`` as on the contract (0, 1, ... in order)."""

    __tablename__ = "organisation_keys"

    organisation_code: Mapped[str] = mapped_column(
        String(13), ForeignKey("organisations.code"), primary_key=True
    )
    key_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    suite: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: Unix seconds; the interval is ``[valid_from, valid_until)``, ``valid_until = 0`` is open.
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CertificateRow(Base):
    """One certificate version. A correction adds a row and sets ``superseded_by`` on the old one;
    both keep the certificate number, which is unique among current (not superseded) rows."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(_in("status", CERTIFICATE_STATUSES), name="status"),
        CheckConstraint("level BETWEEN 0 AND 5", name="level"),
        Index(
            "uq_certificates_current_number",
            "certificate_number",
            unique=True,
            sqlite_where=text("superseded_by IS NULL"),
            postgresql_where=text("superseded_by IS NULL"),
        ),
        Index("ix_certificates_serial", "organisation_code", "issue_year", "level", "serial"),
        Index("ix_certificates_province_log_index", "province", "log_index"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commitment: Mapped[bytes] = mapped_column(Hash, unique=True)
    certificate_number: Mapped[str] = mapped_column(String(22), index=True)
    province: Mapped[str] = mapped_column(String(2))
    organisation_code: Mapped[str] = mapped_column(String(13), ForeignKey("organisations.code"))
    level: Mapped[int] = mapped_column(SmallInteger)
    issue_year: Mapped[int] = mapped_column(SmallInteger)
    serial: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    occupation_code: Mapped[str] = mapped_column(String(10))
    work_type_code: Mapped[str] = mapped_column(String(13))
    status: Mapped[str] = mapped_column(String(16))
    superseded_by: Mapped[bytes | None] = mapped_column(Hash)
    signature_suite: Mapped[str] = mapped_column(String(32))
    signature_key_id: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: The full salted record (every value and salt), encrypted; see ``node.core.crypto.privacy``.
    record: Mapped[bytes] = mapped_column(LargeBinary)
    #: Key id of ``record`` (also in its header), so rotation can find old rows by index.
    record_key_id: Mapped[str] = mapped_column(String(64), index=True)
    #: Not indexed: a two-of-three query also names the number or the ID number (migration 0004).
    holder_name_index: Mapped[bytes] = mapped_column(Hash)
    id_number_index: Mapped[bytes] = mapped_column(Hash, index=True)
    #: Position in the province log once appended.
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    #: The first confirmed checkpoint whose tree holds the entry: the bundle can be made.
    checkpoint_index: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    #: Late-upload reason code (``node.core.rules.reasons``), when uploaded after the deadline.
    late_reason: Mapped[int | None] = mapped_column(Integer)
    status_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class LogEntryRow(Base):
    """One entry of a province log: the JCS bytes that were hashed (no personal data)."""

    __tablename__ = "log_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        # Corrections and status changes only: an issue entry is found through its
        # certificate's log_index (migration 0004).
        Index(
            "ix_log_entries_status_commitment",
            "commitment",
            sqlite_where=text(NOT_ISSUE_ENTRY),
            postgresql_where=text(NOT_ISSUE_ENTRY),
        ),
    )

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    commitment: Mapped[bytes] = mapped_column(Hash)
    certificate_number: Mapped[str] = mapped_column(String(22), index=True)
    #: ``JCS(entry)`` as text; the leaf hash is ``SHA-256(0x00 || entry)``.
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(Hash)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class MerkleNode(Base):
    """The hash of a complete subtree: leaves ``[index * 2**level, (index + 1) * 2**level)``."""

    __tablename__ = "merkle_nodes"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(Hash)


class LogState(Base):
    """The size of each province log (the number of leaves whose nodes are stored)."""

    __tablename__ = "log_state"

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    #: The log size up to which status-changing entries have been written to the contract.
    status_synced: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class CheckpointRow(Base):
    """A checkpoint of a province log and its anchoring progress."""

    __tablename__ = "checkpoints"
    __table_args__ = (
        CheckConstraint(_in("state", CHECKPOINT_STATES), name="state"),
        UniqueConstraint("province", "tree_size"),
    )

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    checkpoint_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(Hash)
    manifest_cid: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    transaction_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """Who did what, when, why, to what (data guide art. 13: 全过程可追溯、可倒查).

    No personal data: targets are commitments, certificate numbers or organisation codes.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[Any | None] = mapped_column(JSON)

    __table_args__ = (
        # Not the issue events, one per certificate: those are found through the certificate,
        # whose submitted_at is their occurred_at (migration 0004).
        Index(
            "ix_audit_events_target",
            "target_type",
            "target_id",
            sqlite_where=text(NOT_ISSUE_EVENT),
            postgresql_where=text(NOT_ISSUE_EVENT),
        ),
    )


REVIEW_STATES = ("open", "cleared", "upheld")


class ReviewFlag(Base):
    """A screening finding awaiting a province operator's decision (data guide art. 17).

    ``query_suspended`` says whether the query service was suspended for the target while the
    flag is open. No personal data: targets are commitments (hex) or organisation codes.
    """

    __tablename__ = "review_flags"
    __table_args__ = (
        CheckConstraint(_in("state", REVIEW_STATES), name="state"),
        Index("ix_review_flags_target", "target_type", "target_id"),
        Index("ix_review_flags_state", "province", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    query_suspended: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(128))


# -- the HTTP API's tables (migration 0003): hashed API keys and bulk upload jobs ---------------
# Neither holds personal data: keys are stored as the SHA-256 of a 32-byte random secret, and job
# results carry row numbers, certificate numbers, commitments and rule ids only. Rows are never
# deleted: a key is revoked by setting ``revoked_at``.

API_ROLES = ("operator", "issuer", "auditor", "public", "partner")
JOB_STATES = ("queued", "running", "done", "failed")


class ApiKey(Base):
    """An API key bound to a role and its scope (a province code for ``operator``, an
    organisation code for ``issuer``, an agreement id for ``partner`` (migration 0006), empty
    for ``auditor`` and ``public``)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", API_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the key's text; the key itself is shown once and never stored.
    key_hash: Mapped[bytes] = mapped_column(Hash, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(13))
    label: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


#: Jobs not ended yet: the ones ``ix_api_jobs_open`` indexes.
OPEN_JOBS = "state IN ('queued', 'running')"


class BulkJob(Base):
    """A bulk upload: its progress and one result per row (no personal data)."""

    __tablename__ = "api_jobs"
    __table_args__ = (
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        # The jobs an API process may claim (api/jobs.py), oldest first (migration 0009).
        Index(
            "ix_api_jobs_open",
            "created_at",
            sqlite_where=text(OPEN_JOBS),
            postgresql_where=text(OPEN_JOBS),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    #: The key that submitted it (``api_keys.id``); it and the province's operators may read it.
    owner_key: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    #: ``[{"row", "certificate_number", "commitment", "log_index"} | {"row", "field", "rule",
    #: "message"}]``: jobs of migration 0007 on keep ``[]`` here and append their results to
    #: ``api_job_results`` instead (rewriting one growing list every chunk was quadratic).
    results: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # Migration 0009 (several API processes, api/jobs.py): what the job needs to run (its
    # upload is in ``api_job_uploads``; NULL format: a job from before, with no upload kept),
    # and the lease of the process running it.
    upload_format: Mapped[str | None] = mapped_column(String(8), nullable=True)
    received_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: An issuer's organisation code: the only one its rows may name (None: an operator's job).
    organisation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# -- sharing, access log and holder codes (migration 0006; docs/SHARING.md) --------------------
# No personal data of holders: agreements name partners (bodies, by their credit code), access
# records name certificates by commitment and queries by field names, holder codes are stored as
# hashes. Counters and nonces hold certificate numbers, key ids and random values only.

AGREEMENT_STATES = ("active", "ended")


class SharingAgreement(Base):
    """A sharing agreement recorded by the province's department (data guide arts. 21-22)."""

    __tablename__ = "sharing_agreements"
    __table_args__ = (CheckConstraint(_in("state", AGREEMENT_STATES), name="state"),)

    #: ``<province>-<six digits>``, e.g. ``41-000001``.
    id: Mapped[str] = mapped_column(String(9), primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    partner_name: Mapped[str] = mapped_column(String(500))
    #: 统一社会信用代码 (GB 32100), check character verified.
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    partner_kind: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the written application document.
    application_sha256: Mapped[bytes] = mapped_column(Hash)
    purpose: Mapped[str] = mapped_column(String(500))
    scenario: Mapped[str] = mapped_column(String(500))
    operations: Mapped[Any] = mapped_column(JSON)
    fields: Mapped[Any] = mapped_column(JSON)
    provinces: Mapped[Any] = mapped_column(JSON)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    daily_quota: Mapped[int] = mapped_column(Integer)
    no_commercial_use: Mapped[bool] = mapped_column(Boolean)
    approved_by: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(128))
    end_reason: Mapped[str | None] = mapped_column(Text)
    deletion_instruction: Mapped[str | None] = mapped_column(Text)


class AccessRecordRow(Base):
    """One record of the access log: the record's canonical JSON and its hash
    (node/core/formats/access.py), with columns for the reports."""

    __tablename__ = "access_records"
    __table_args__ = (
        Index("ix_access_records_agreement", "agreement", "occurred_at"),
        Index("ix_access_records_key", "key_id", "occurred_at"),
    )

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    record_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    operation: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[int | None] = mapped_column(BigInteger)
    agreement: Mapped[str | None] = mapped_column(String(9))
    result: Mapped[str] = mapped_column(String(16))
    name_tag: Mapped[bytes | None] = mapped_column(LargeBinary(8))
    record: Mapped[str] = mapped_column(Text)
    record_hash: Mapped[bytes] = mapped_column(Hash)


class AccessRecordCommitment(Base):
    """Which certificates a record read (so a holder finds who read theirs)."""

    __tablename__ = "access_record_commitments"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)

    commitment: Mapped[bytes] = mapped_column(Hash, primary_key=True)
    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    record_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class AccessLogState(Base):
    """The size and head of each access log (one row per province)."""

    __tablename__ = "access_log_state"

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[bytes] = mapped_column(Hash)


class AccessLogAnchor(Base):
    """The access-log head a checkpoint's manifest carries, fixed when the manifest is first
    built (a retry publishes the same bytes)."""

    __tablename__ = "access_log_anchors"

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    checkpoint_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[bytes] = mapped_column(Hash)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DailyCounter(Base):
    """A count per name and China day shared by every API process: failed holder matches per
    certificate number, a partner's uses of its quota."""

    __tablename__ = "daily_counters"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


class BulkJobUpload(Base):
    """A part (1 MiB) of a bulk job's upload, kept until the job ends (then ``data`` is NULL)
    so that whichever API process claims the job can read it (migration 0009)."""

    __tablename__ = "api_job_uploads"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("api_jobs.id"), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class RateBucket(Base):
    """A token bucket of the API's rate limits shared by every API process on a PostgreSQL
    database (migration 0010, api/ratelimit.py): its level, when it was last taken from
    (unix seconds of the database's clock) and whether that take was granted. Not a record:
    a bucket full again is deleted (migration 0013, ``EPHEMERAL_TABLES``)."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float, index=True)
    granted: Mapped[bool] = mapped_column(Boolean)


class FederationNonce(Base):
    """Nonces of signed requests from other provinces, each accepted once (replay defence)."""

    __tablename__ = "federation_nonces"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy reads it once)

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class HolderCode(Base):
    """A one-time code the issuing node gives a holder for their bundle (its SHA-256 only)."""

    __tablename__ = "holder_codes"

    code_hash: Mapped[bytes] = mapped_column(Hash, primary_key=True)
    certificate_number: Mapped[str] = mapped_column(String(22))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


class BulkJobResult(Base):
    """One row's result of a bulk job (migration 0007), appended once the row's chunk has
    committed; ``position`` orders them. The same keys as ``BulkJob.results`` items (no personal
    data: error messages never quote a cell or a key)."""

    __tablename__ = "api_job_results"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("api_jobs.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    result: Mapped[Any] = mapped_column(JSON)


class OrganisationDetails(Base):
    """The public particulars of a filing (人社鉴发〔2019〕3号 三: 机构名称、地址、联系方式、备案
    编号; Henan adds the 备案期限) and, after a merger, the code the organisation was merged
    into (its own code is retired, DOMAIN rule §4), kept beside ``organisations`` (migration
    0009). No personal data: the organisation's own address and contact."""

    __tablename__ = "organisation_details"

    code: Mapped[str] = mapped_column(
        String(13), ForeignKey("organisations.code"), primary_key=True
    )
    address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    filing_number: Mapped[str | None] = mapped_column(String(64))
    filing_from: Mapped[dt.date | None] = mapped_column(Date)
    filing_until: Mapped[dt.date | None] = mapped_column(Date)
    merged_into: Mapped[str | None] = mapped_column(String(13))
    merged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


RETURN_STATES = ("returned", "resubmitted")


class ReturnedRow(Base):
    """A certificate's data the province sent back to its organisation for correction (data
    guide 中就培发〔2022〕1号 第十一条, migration 0009): ``returned`` until the corrected version
    is resubmitted (``resubmitted``, with its commitment), at the latest on ``deadline``, the
    20th working day after ``returned_on``. ``reason`` is the province's text (no personal data:
    checked like a note)."""

    __tablename__ = "returned_rows"
    __table_args__ = (
        CheckConstraint(_in("state", RETURN_STATES), name="state"),
        Index("ix_returned_rows_commitment", "commitment"),
        Index("ix_returned_rows_state", "province", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    commitment: Mapped[bytes] = mapped_column(Hash)
    certificate_number: Mapped[str] = mapped_column(String(22))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    returned_by: Mapped[str] = mapped_column(String(128))
    returned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    returned_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.date] = mapped_column(Date)
    resubmitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resubmitted_commitment: Mapped[bytes | None] = mapped_column(Hash)


class ForeignEntry(Base):
    """A leaf of a province's log that someone else anchored with the province's operator key
    (a stolen key), adopted from its checkpoint's manifest by ``certreg node adopt-foreign``
    so the log equals the chain's again (migration 0011). Never the province's certificate:
    the node serves no bundle for it, and its manifests declare it foreign to auditors."""

    __tablename__ = "foreign_entries"

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    checkpoint_index: Mapped[int] = mapped_column(BigInteger)
    manifest_cid: Mapped[str] = mapped_column(String(128))
    #: The account that anchored the checkpoint (0x-hex).
    anchored_by: Mapped[str] = mapped_column(String(42))
    adopted_by: Mapped[str] = mapped_column(String(128))
    adopted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


WITNESS_KINDS = ("cosignature", "refusal")


class WitnessStatementRow(Base):
    """A member's signed statement about a checkpoint of a province log (migration 0012): its
    cosignature, or its refusal with the rule the checkpoint broke (docs/FORMATS.md "Witness
    statements"). This node's own statements (``witness`` = its province) carry ``frontier``,
    the right edge of the tree it witnessed (the complete subtrees ending at ``tree_size``), so
    the next checkpoint is checked against it; statements of other members, collected from
    their APIs, are kept as they verified. Append-only; public data only."""

    __tablename__ = "witness_statements"
    __table_args__ = (
        CheckConstraint(_in("kind", WITNESS_KINDS), name="kind"),
        UniqueConstraint("witness", "province", "checkpoint_index", "root"),
        Index("ix_witness_statements_checkpoint", "province", "checkpoint_index"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    witness: Mapped[str] = mapped_column(String(2))
    province: Mapped[str] = mapped_column(String(2))
    checkpoint_index: Mapped[int] = mapped_column(BigInteger)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(Hash)
    kind: Mapped[str] = mapped_column(String(16))
    #: The checkpoint statement (node.core.formats.trust.CheckpointStatement JSON).
    statement: Mapped[Any] = mapped_column(JSON)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    rule: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    #: The CID of the published statement document (CIDv0 of its canonical bytes).
    cid: Mapped[str | None] = mapped_column(String(128))
    frontier: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


def table_of(model: type[Base]) -> Table:
    """Return the Core :class:`~sqlalchemy.Table` of a model (for bulk Core statements)."""
    return Base.metadata.tables[model.__tablename__]


#: Tables whose rows are not records: the API deletes a rate-limit bucket once it is full
#: again (it then answers as a missing one does; migration 0013, api/ratelimit.py).
EPHEMERAL_TABLES = ("rate_buckets",)
#: Every table but the ephemeral ones; the migrations protect each against DELETE.
ALL_TABLES = tuple(t for t in Base.metadata.tables if t not in EPHEMERAL_TABLES)
#: Append-only tables: the migration also refuses UPDATE on these.
APPEND_ONLY_TABLES = (
    "log_entries",
    "merkle_nodes",
    "audit_events",
    "access_records",
    "access_record_commitments",
    "access_log_anchors",
    "federation_nonces",
    "foreign_entries",
    "witness_statements",
)
