"""Lifecycle and anchoring progress: bundle-ready checkpoints, on-chain status progress, the
published scope hash of organisations, and the screening review queue.

- ``certificates.checkpoint_index``: the first confirmed checkpoint whose tree holds the
  certificate's entry (its bundle can be produced from then on).
- ``log_state.status_synced``: the log size up to which status-changing entries (correct,
  revoke, suspend, reinstate, delete) have been written to the contract.
- ``organisations.scope_hash``: the digest of the CIDv0 of the published scope document, as
  filed on the contract (docs/FORMATS.md "Scope documents").
- ``review_flags``: screening findings awaiting a province operator's decision (data guide
  art. 17); never deleted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("checkpoint_index", sa.BigInteger(), nullable=True))
    op.create_index("ix_certificates_province_log_index", "certificates", ["province", "log_index"])
    op.create_index("ix_certificates_checkpoint_index", "certificates", ["checkpoint_index"])
    with op.batch_alter_table("log_state") as batch:
        batch.add_column(
            sa.Column("status_synced", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("scope_hash", sa.LargeBinary(32), nullable=True))

    op.create_table(
        "review_flags",
        sa.Column("id", _ID, nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("query_suspended", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_flags"),
        sa.CheckConstraint("state IN ('open', 'cleared', 'upheld')", name="ck_review_flags_state"),
    )
    op.create_index("ix_review_flags_target", "review_flags", ["target_type", "target_id"])
    op.create_index("ix_review_flags_state", "review_flags", ["province", "state"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER review_flags_no_delete BEFORE DELETE ON review_flags "
            "BEGIN SELECT RAISE(ABORT, 'certreg: rows of review_flags are never deleted'); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER review_flags_no_delete BEFORE DELETE OR TRUNCATE ON review_flags "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
        )
    else:
        raise NotImplementedError(f"no delete guards for dialect {dialect}")


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
