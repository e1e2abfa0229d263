"""Initial schema: organisations, keys, certificates, province logs, checkpoints, audit trail.

Also installs triggers that refuse DELETE (and TRUNCATE) on every table and UPDATE on the
append-only tables: nothing is ever physically deleted (data guide art. 15), log history is
never rewritten.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "organisations",
    "organisation_keys",
    "certificates",
    "log_entries",
    "merkle_nodes",
    "log_state",
    "checkpoints",
    "audit_events",
)
APPEND_ONLY = ("log_entries", "merkle_nodes", "audit_events")

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_HASH = sa.LargeBinary(32)


def _create_tables() -> None:
    op.create_table(
        "organisations",
        sa.Column("code", sa.String(13), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("org_class", sa.String(1), nullable=False),
        sa.Column("category", sa.String(8), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_organisations"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'terminated')", name="ck_organisations_status"
        ),
        sa.CheckConstraint("org_class IN ('Y', 'S')", name="ck_organisations_org_class"),
    )
    op.create_index("ix_organisations_province", "organisations", ["province"])

    op.create_table(
        "organisation_keys",
        sa.Column("organisation_code", sa.String(13), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("suite", sa.String(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("organisation_code", "key_id", name="pk_organisation_keys"),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisations.code"],
            name="fk_organisation_keys_organisation_code_organisations",
        ),
    )

    op.create_table(
        "certificates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("commitment", _HASH, nullable=False),
        sa.Column("certificate_number", sa.String(22), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("organisation_code", sa.String(13), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("issue_year", sa.SmallInteger(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("occupation_code", sa.String(10), nullable=False),
        sa.Column("work_type_code", sa.String(13), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("superseded_by", _HASH, nullable=True),
        sa.Column("signature_suite", sa.String(32), nullable=False),
        sa.Column("signature_key_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("record_key_id", sa.String(64), nullable=False),
        sa.Column("holder_name_index", _HASH, nullable=False),
        sa.Column("id_number_index", _HASH, nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.Column("late_reason", sa.Integer(), nullable=True),
        sa.Column("status_changed_at", _TS, nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certificates"),
        sa.UniqueConstraint("commitment", name="uq_certificates_commitment"),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisations.code"],
            name="fk_certificates_organisation_code_organisations",
        ),
        sa.CheckConstraint(
            "status IN ('active', 'revoked', 'suspended', 'superseded', 'deleted')",
            name="ck_certificates_status",
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="ck_certificates_level"),
    )
    op.create_index(
        "uq_certificates_current_number",
        "certificates",
        ["certificate_number"],
        unique=True,
        sqlite_where=sa.text("superseded_by IS NULL"),
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.create_index("ix_certificates_certificate_number", "certificates", ["certificate_number"])
    op.create_index(
        "ix_certificates_serial",
        "certificates",
        ["organisation_code", "issue_year", "level", "serial"],
    )
    op.create_index("ix_certificates_record_key_id", "certificates", ["record_key_id"])
    op.create_index("ix_certificates_holder_name_index", "certificates", ["holder_name_index"])
    op.create_index("ix_certificates_id_number_index", "certificates", ["id_number_index"])

    op.create_table(
        "log_entries",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("commitment", _HASH, nullable=False),
        sa.Column("certificate_number", sa.String(22), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", _HASH, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("province", "leaf_index", name="pk_log_entries"),
        sa.CheckConstraint(
            "kind IN ('issue', 'correct', 'revoke', 'suspend', 'reinstate', 'delete')",
            name="ck_log_entries_kind",
        ),
    )
    op.create_index("ix_log_entries_commitment", "log_entries", ["commitment"])
    op.create_index("ix_log_entries_certificate_number", "log_entries", ["certificate_number"])

    op.create_table(
        "merkle_nodes",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("province", "level", "node_index", name="pk_merkle_nodes"),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "log_state",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("province", name="pk_log_state"),
    )

    op.create_table(
        "checkpoints",
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root", _HASH, nullable=False),
        sa.Column("manifest_cid", sa.String(128), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("transaction_hash", sa.String(66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("province", "checkpoint_index", name="pk_checkpoints"),
        sa.UniqueConstraint("province", "tree_size", name="uq_checkpoints_province_tree_size"),
        sa.CheckConstraint(
            "state IN ('pending', 'submitted', 'confirmed')", name="ck_checkpoints_state"
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id"])


def _create_guards() -> None:
    """Refuse DELETE everywhere and UPDATE on append-only tables, in the database itself."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'certreg: rows of {table} are never deleted'); END"
            )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'certreg: {table} is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION certreg_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'certreg: rows of % are never deleted', TG_TABLE_NAME; END $$"
        )
        op.execute(
            "CREATE FUNCTION certreg_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'certreg: % is append-only', TG_TABLE_NAME; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
            )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_update()"
            )
    else:
        raise NotImplementedError(f"no delete guards for dialect {dialect}")


def upgrade() -> None:
    _create_tables()
    _create_guards()


def downgrade() -> None:
    # History is permanent: dropping these tables would physically delete the registry.
    raise NotImplementedError("the initial schema cannot be downgraded")
