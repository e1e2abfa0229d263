"""Fewer random-key indexes on the intake path (docs/STORAGE.md "Indexes", docs/NODE-BENCH.md).

Every certificate accepted inserts into each index of the tables it writes; an index on a hash
(a commitment, a blind index) takes each new key at a random place, so once the index outgrows
the page cache every insert dirties a page of its own and the database slows as it grows. Three
such indexes were not needed for any query in the form they had:

- ``ix_certificates_holder_name_index`` goes: a two-of-three query always names the certificate
  number or the ID number too, whose indexes find the rows (the name's blind index is then
  compared on those few rows).
- ``ix_log_entries_commitment`` becomes ``ix_log_entries_status_commitment``, partial, over the
  entries that are not ``issue`` entries (corrections and status changes, a few): the ``issue``
  entry of a certificate is found through ``certificates.log_index`` instead.
- ``ix_audit_events_target`` becomes partial, over events other than ``issue`` (one is written
  per certificate accepted): an ``issue`` event is found through its certificate, whose
  ``submitted_at`` is the event's ``occurred_at`` (``ix_audit_events_occurred_at``).

And one that no query used: ``ix_certificates_checkpoint_index`` (the column is only ever
tested for ``NULL`` beside an indexed log range or id), which every anchoring also rewrote.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NOT_ISSUE_ENTRY = "kind <> 'issue'"
_NOT_ISSUE_EVENT = "action <> 'issue'"


def upgrade() -> None:
    op.drop_index("ix_certificates_holder_name_index", table_name="certificates")
    op.drop_index("ix_certificates_checkpoint_index", table_name="certificates")
    op.drop_index("ix_log_entries_commitment", table_name="log_entries")
    op.create_index(
        "ix_log_entries_status_commitment",
        "log_entries",
        ["commitment"],
        sqlite_where=sa.text(_NOT_ISSUE_ENTRY),
        postgresql_where=sa.text(_NOT_ISSUE_ENTRY),
    )
    op.drop_index("ix_audit_events_target", table_name="audit_events")
    op.create_index(
        "ix_audit_events_target",
        "audit_events",
        ["target_type", "target_id"],
        sqlite_where=sa.text(_NOT_ISSUE_EVENT),
        postgresql_where=sa.text(_NOT_ISSUE_EVENT),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_target", table_name="audit_events")
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id"])
    op.drop_index("ix_log_entries_status_commitment", table_name="log_entries")
    op.create_index("ix_log_entries_commitment", "log_entries", ["commitment"])
    op.create_index("ix_certificates_holder_name_index", "certificates", ["holder_name_index"])
    op.create_index("ix_certificates_checkpoint_index", "certificates", ["checkpoint_index"])
