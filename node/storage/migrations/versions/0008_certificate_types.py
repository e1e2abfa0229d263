"""Certificate types (docs/FORMATS.md "Certificate types (format 2)"): a special_ability
certificate is not graded, so ``certificates.level`` admits 0 (不划分等级); the certificate's
type itself lives in its encrypted record (version 3) and in its log entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEVELS = "level BETWEEN 0 AND 5"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a constraint: the table is rebuilt (its trigger goes with the
        # old table; SQLite fires no trigger for the drop) and its DELETE guard made again.
        with op.batch_alter_table("certificates", recreate="always") as batch:
            batch.drop_constraint("ck_certificates_level", type_="check")
            batch.create_check_constraint(op.f("ck_certificates_level"), LEVELS)
        op.execute(
            "CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates "
            "BEGIN SELECT RAISE(ABORT, 'certreg: rows of certificates are never deleted'); END"
        )
    else:
        op.drop_constraint("ck_certificates_level", "certificates", type_="check")
        op.create_check_constraint(op.f("ck_certificates_level"), "certificates", LEVELS)


def downgrade() -> None:
    raise NotImplementedError("history is permanent: this schema cannot be downgraded")
