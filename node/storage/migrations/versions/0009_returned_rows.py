"""Returned data (``returned_rows``, ``ReturnedRow`` in node/storage/schema.py): a certificate's
data the province sends back for correction, with the 20-working-day deadline of the data guide
(中就培发〔2022〕1号 第十一条) and, once corrected, the commitment of the resubmitted version. No
personal data; rows are never deleted (the same guard as every table).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "returned_rows"


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        TABLE,
        sa.Column("id", big_id, nullable=False),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("commitment", sa.LargeBinary(32), nullable=False),
        sa.Column("certificate_number", sa.String(22), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("returned_by", sa.String(128), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("resubmitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resubmitted_commitment", sa.LargeBinary(32), nullable=True),
        sa.CheckConstraint(
            "state IN ('returned', 'resubmitted')", name=op.f("ck_returned_rows_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returned_rows")),
    )
    op.create_index("ix_returned_rows_commitment", TABLE, ["commitment"])
    op.create_index("ix_returned_rows_state", TABLE, ["province", "state"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'certreg: rows of {TABLE} are never deleted'); END"
        )
    elif dialect == "postgresql":
        # certreg_refuse_delete() is the function migration 0001 created.
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE OR TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
        )
    else:
        raise NotImplementedError(f"no delete guards for dialect {dialect}")


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
