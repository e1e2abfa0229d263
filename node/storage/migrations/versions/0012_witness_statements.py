"""Witnessing (docs/FORMATS.md "Witness statements"): ``witness_statements`` holds the members'
signed cosignatures and refusals of checkpoints of province logs, this node's own (with the
right edge of the tree it witnessed) and those collected from other members' APIs. Public data
only; append-only (no UPDATE, no DELETE), as the log tables.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "witness_statements"
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("witness", sa.String(2), nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("rule", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("cid", sa.String(128), nullable=True),
        sa.Column("frontier", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('cosignature', 'refusal')", name=op.f("ck_witness_statements_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_statements")),
        sa.UniqueConstraint(
            "witness",
            "province",
            "checkpoint_index",
            "root",
            name=op.f("uq_witness_statements_witness_province_checkpoint_index_root"),
        ),
    )
    op.create_index("ix_witness_statements_checkpoint", TABLE, ["province", "checkpoint_index"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'certreg: rows of {TABLE} are never deleted'); END"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'certreg: {TABLE} is append-only'); END"
        )
    elif dialect == "postgresql":
        # certreg_refuse_delete() / certreg_refuse_update() are migration 0001's functions.
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE OR TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_update()"
        )
    else:
        raise NotImplementedError(f"no guards for dialect {dialect}")


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
