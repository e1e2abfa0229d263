"""Returned data and the public particulars of filings (issue #17, items 7 and 8).

- ``returned_rows`` (``ReturnedRow`` in node/storage/schema.py): a certificate's data the
  province sends back for correction, with the 20-working-day deadline of the data guide
  (中就培发〔2022〕1号 第十一条) and, once corrected, the commitment of the resubmitted version.
- ``organisation_details`` (``OrganisationDetails``): address, contact, filing number and filing
  period of a filing (人社鉴发〔2019〕3号 三; Henan 备案期限) and the merged-into link of a
  merged organisation.

No personal data; rows are never deleted (the same guard as every table).

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
DETAILS = "organisation_details"


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
    op.create_table(
        DETAILS,
        sa.Column("code", sa.String(13), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("filing_number", sa.String(64), nullable=True),
        sa.Column("filing_from", sa.Date(), nullable=True),
        sa.Column("filing_until", sa.Date(), nullable=True),
        sa.Column("merged_into", sa.String(13), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["organisations.code"],
            name=op.f("fk_organisation_details_code_organisations"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisation_details")),
    )
    dialect = op.get_bind().dialect.name
    for table in (TABLE, DETAILS):
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'certreg: rows of {table} are never deleted'); END"
            )
        elif dialect == "postgresql":
            # certreg_refuse_delete() is the function migration 0001 created.
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION certreg_refuse_delete()"
            )
        else:
            raise NotImplementedError(f"no delete guards for dialect {dialect}")


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
