"""Nonces of signed province-to-province requests (``federation_nonces``): each is accepted
once, by whichever API process sees it first (the primary key decides)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.storage.guard import Executor, dialect_of, storage_errors
from node.storage.schema import FederationNonce, table_of

_NONCES = table_of(FederationNonce)


def remember_nonce(db: Executor, province: str, nonce: bytes, now: dt.datetime) -> bool:
    """Record ``nonce`` of ``province``; False when it was seen before (a replay)."""
    dialect = dialect_of(db)
    statement = (
        (pg_insert if dialect == "postgresql" else sqlite_insert)(_NONCES)
        .values(province=province, nonce=nonce, seen_at=now)
        .on_conflict_do_nothing(index_elements=[_NONCES.c.province, _NONCES.c.nonce])
        .returning(_NONCES.c.nonce)
    )
    with storage_errors("cannot record the nonce"):
        return db.execute(statement).first() is not None
