"""The API's tables: hashed API keys and bulk upload jobs, on the node's metadata.

They are registered on :data:`node.storage.schema.Base.metadata`, so the node's migrations
(``node/storage/migrations/versions/0003_api.py`` creates exactly these) and the test comparing
models with migrations see one schema. Neither table holds personal data: keys are stored as the
SHA-256 of a 32-byte random secret, and job results carry row numbers, certificate numbers,
commitments and rule ids only (InvalidInput messages never contain personal data, node/errors.py).
Rows are never deleted: a key is revoked by setting ``revoked_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from node.storage.schema import Base, BigId, Hash, UtcDateTime

ROLES = ("operator", "issuer", "auditor", "public")
JOB_STATES = ("queued", "running", "done", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ApiKey(Base):
    """An API key bound to a role and its scope (a province code for ``operator``, an
    organisation code for ``issuer``, empty for ``auditor`` and ``public``)."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: SHA-256 of the key's text; the key itself is shown once and never stored.
    key_hash: Mapped[bytes] = mapped_column(Hash, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(13))
    label: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class BulkJob(Base):
    """A bulk upload: its progress and one result per row (no personal data)."""

    __tablename__ = "api_jobs"
    __table_args__ = (CheckConstraint(_in("state", JOB_STATES), name="state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    #: The key that submitted it (``api_keys.id``); it and the province's operators may read it.
    owner_key: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    #: ``[{"row", "certificate_number", "commitment", "log_index"} | {"row", "field", "rule",
    #: "message"}]``.
    results: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
