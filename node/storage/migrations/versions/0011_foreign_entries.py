"""Foreign log entries (issue #18, item 5): entries of a province's log that someone else
anchored with the province's stolen operator key, adopted by ``certreg node adopt-foreign`` so
the node's log equals the chain's again (``ForeignEntry`` in node/storage/schema.py). One row
per adopted leaf, with the checkpoint that carried it, its manifest and the account that
anchored it. No personal data (log entries hold none); rows are never deleted or changed (the
same guards as the log tables).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "foreign_entries"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("checkpoint_index", sa.BigInteger(), nullable=False),
        sa.Column("manifest_cid", sa.String(128), nullable=False),
        sa.Column("anchored_by", sa.String(42), nullable=False),
        sa.Column("adopted_by", sa.String(128), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province", "leaf_index", name=op.f("pk_foreign_entries")),
    )
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
        # certreg_refuse_delete() and certreg_refuse_update() are migration 0001's functions.
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE OR TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_update()"
        )
    else:
        raise NotImplementedError(f"no delete guards for dialect {dialect}")


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
