"""Bulk job results as rows (``api_job_results``, ``BulkJobResult`` in node/storage/schema.py),
appended once per chunk instead of rewriting the job's whole ``results`` list (40,000 rows took
16 s, quadratic). No personal data; rows are never deleted (the same guard as every table).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "api_job_results"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "position", name="pk_api_job_results"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["api_jobs.id"], name="fk_api_job_results_job_id_api_jobs"
        ),
    )
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
