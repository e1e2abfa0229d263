"""Several API processes over one database (docs/OPERATIONS.md "Several processes"):
bulk jobs keep their upload (``api_job_uploads``, in parts of 1 MiB) and what they need to run
in ``api_jobs`` (so whichever process claims a job can run it) with the lease of the process
running it; ``rate_buckets`` holds the API's token buckets on PostgreSQL (api/ratelimit.py).
An upload's rows are signed submissions (with personal data, as the spool file held them):
they are kept only until the job ends, then its parts' ``data`` is set to NULL (rows are never
deleted, the same guard as every table).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
TABLES = ("rate_buckets", "api_job_uploads")


def upgrade() -> None:
    with op.batch_alter_table("api_jobs") as batch:
        batch.add_column(sa.Column("upload_format", sa.String(8), nullable=True))
        batch.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(64), nullable=True))
        batch.add_column(sa.Column("organisation", sa.String(32), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", _TS, nullable=True))
    open_jobs = "state IN ('queued', 'running')"
    op.create_index(
        "ix_api_jobs_open",
        "api_jobs",
        ["created_at"],
        sqlite_where=sa.text(open_jobs),
        postgresql_where=sa.text(open_jobs),
    )
    op.create_table(
        "api_job_uploads",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "part", name="pk_api_job_uploads"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["api_jobs.id"], name="fk_api_job_uploads_job_id_api_jobs"
        ),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rate_buckets"),
    )
    dialect = op.get_bind().dialect.name
    for table in TABLES:
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
