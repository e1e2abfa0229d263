"""Refuse DELETE on the HTTP API's tables too (``api_keys``, ``api_jobs``), as on every other.

Migration 0003 created them without the guards 0001 and 0002 install: their models were
registered on the schema only when the API was imported, so the check that every table refuses
DELETE never saw them. A key is revoked by ``revoked_at`` and a job keeps its results; nothing
deletes their rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("api_keys", "api_jobs")


def upgrade() -> None:
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
