"""Sharing agreements, the access log, shared daily counters, province-to-province nonces and
holder codes (docs/SHARING.md); the ``partner`` API role.

Tables: ``sharing_agreements``, ``access_records`` with ``access_record_commitments``,
``access_log_state``, ``access_log_anchors``, ``daily_counters``, ``federation_nonces``,
``holder_codes``. Every one refuses DELETE; the access records, their commitments, the anchored
heads and the nonces also refuse UPDATE. ``api_keys.role`` may now be ``partner`` (scope: an
agreement id): the check constraint is replaced (on SQLite by rebuilding the table, whose
DELETE guard is then created again).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_HASH = sa.LargeBinary(32)
TABLES = (
    "sharing_agreements",
    "access_records",
    "access_record_commitments",
    "access_log_state",
    "access_log_anchors",
    "daily_counters",
    "federation_nonces",
    "holder_codes",
)
APPEND_ONLY = (
    "access_records",
    "access_record_commitments",
    "access_log_anchors",
    "federation_nonces",
)
ROLES = "role IN ('operator', 'issuer', 'auditor', 'public', 'partner')"


def _create_tables() -> None:
    op.create_table(
        "sharing_agreements",
        sa.Column("id", sa.String(9), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("partner_name", sa.String(500), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("partner_kind", sa.String(16), nullable=False),
        sa.Column("application_sha256", _HASH, nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("scenario", sa.String(500), nullable=False),
        sa.Column("operations", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("daily_quota", sa.Integer(), nullable=False),
        sa.Column("no_commercial_use", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.String(500), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("ended_by", sa.String(128), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("deletion_instruction", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sharing_agreements"),
        sa.CheckConstraint("state IN ('active', 'ended')", name="ck_sharing_agreements_state"),
    )
    op.create_index("ix_sharing_agreements_credit_code", "sharing_agreements", ["credit_code"])
    op.create_table(
        "access_records",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("record_index", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=True),
        sa.Column("agreement", sa.String(9), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("name_tag", sa.LargeBinary(8), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("record_hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("province", "record_index", name="pk_access_records"),
    )
    op.create_index("ix_access_records_agreement", "access_records", ["agreement", "occurred_at"])
    op.create_index("ix_access_records_key", "access_records", ["key_id", "occurred_at"])
    op.create_table(
        "access_record_commitments",
        sa.Column("commitment", _HASH, nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("record_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "commitment", "province", "record_index", name="pk_access_record_commitments"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "access_log_state",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("province", name="pk_access_log_state"),
    )
    op.create_table(
        "access_log_anchors",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("head", _HASH, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("province", "checkpoint_index", name="pk_access_log_anchors"),
    )
    op.create_table(
        "daily_counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "day", name="pk_daily_counters"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "federation_nonces",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("nonce", sa.LargeBinary(16), nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("province", "nonce", name="pk_federation_nonces"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "holder_codes",
        sa.Column("code_hash", _HASH, nullable=False),
        sa.Column("certificate_number", sa.String(22), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name="pk_holder_codes"),
    )


def _guards(tables: tuple[str, ...], append_only: tuple[str, ...]) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'certreg: rows of {table} are never deleted'); END"
            )
        elif dialect == "postgresql":
            # certreg_refuse_delete() and certreg_refuse_update() are migration 0001's.
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
            )
        else:
            raise NotImplementedError(f"no delete guards for dialect {dialect}")
    for table in append_only:
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'certreg: {table} is append-only'); END"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_update()"
            )


def _partner_role() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a constraint: the table is rebuilt (its trigger goes with the
        # old table; SQLite fires no trigger for the drop) and its DELETE guard made again.
        with op.batch_alter_table("api_keys", recreate="always") as batch:
            batch.drop_constraint("ck_api_keys_role", type_="check")
            batch.create_check_constraint(op.f("ck_api_keys_role"), ROLES)
        _guards(("api_keys",), ())
    else:
        op.drop_constraint("ck_api_keys_role", "api_keys", type_="check")
        op.create_check_constraint(op.f("ck_api_keys_role"), "api_keys", ROLES)


def upgrade() -> None:
    _create_tables()
    _guards(TABLES, APPEND_ONLY)
    _partner_role()


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
