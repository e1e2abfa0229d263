"""``rate_buckets`` rows may be deleted: a token bucket untouched for ``burst / rate`` seconds is
full again, as a missing one is, and the API deletes those (api/ratelimit.py). The table held
every client address ever seen (an IP address is personal information) and grew without
bound; it is the one table that is not a record (schema.py ``EPHEMERAL_TABLES``), so its
delete guard of migration 0010 goes. Every other table keeps its guard.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = "rate_buckets"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER {TABLE}_no_delete")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_no_delete ON {TABLE}")
    else:
        raise NotImplementedError(f"no delete guards for dialect {dialect}")
    # The sweep's condition (name prefix, last refill) over the table's recent rows.
    op.create_index("ix_rate_buckets_updated", TABLE, ["updated"])


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
