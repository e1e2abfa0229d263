"""Witness statements (``witness_statements``, migration 0012): members' cosignatures and
refusals of checkpoints of province logs (docs/FORMATS.md "Witness statements").

A statement is keyed by (witness, province, checkpoint index, root): adding one that is already
there changes nothing (:meth:`WitnessStatements.add` returns False), so a witness that crashed
after publishing and before recording, or collects the same statement twice, records it once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.storage.guard import Executor, dialect_of, storage_errors
from node.storage.schema import WitnessStatementRow, table_of

_TABLE: Final = table_of(WitnessStatementRow)
#: Statements returned per page (the API's limit).
PAGE: Final = 100


@dataclasses.dataclass(frozen=True, slots=True)
class StoredStatement:
    """One stored statement (public data only)."""

    witness: str
    province: str
    index: int
    tree_size: int
    root: bytes
    kind: str
    statement: dict[str, Any]
    signature: bytes
    rule: str | None
    detail: str | None
    cid: str | None
    frontier: bytes | None
    created_at: dt.datetime

    @property
    def refused(self) -> bool:
        return self.kind == "refusal"


def _record(row: Any) -> StoredStatement:
    return StoredStatement(
        witness=row.witness,
        province=row.province,
        index=int(row.checkpoint_index),
        tree_size=int(row.tree_size),
        root=bytes(row.root),
        kind=row.kind,
        statement=dict(row.statement),
        signature=bytes(row.signature),
        rule=row.rule,
        detail=row.detail,
        cid=row.cid,
        frontier=None if row.frontier is None else bytes(row.frontier),
        created_at=row.created_at,
    )


class WitnessStatements:
    """The witness statements a node holds."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(self, item: StoredStatement) -> bool:
        """Record ``item``; False when the same (witness, province, index, root) is there."""
        dialect = dialect_of(self._db)
        values = {
            "witness": item.witness,
            "province": item.province,
            "checkpoint_index": item.index,
            "tree_size": item.tree_size,
            "root": item.root,
            "kind": item.kind,
            "statement": item.statement,
            "signature": item.signature,
            "rule": item.rule,
            "detail": item.detail,
            "cid": item.cid,
            "frontier": item.frontier,
            "created_at": item.created_at,
        }
        statement = (
            (pg_insert if dialect == "postgresql" else sqlite_insert)(_TABLE)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[
                    _TABLE.c.witness,
                    _TABLE.c.province,
                    _TABLE.c.checkpoint_index,
                    _TABLE.c.root,
                ]
            )
            .returning(_TABLE.c.id)
        )
        with storage_errors("cannot record the witness statement"):
            return self._db.execute(statement).first() is not None

    def last_cosigned(self, witness: str, province: str) -> StoredStatement | None:
        """``witness``'s cosignature of the latest checkpoint of ``province`` it cosigned."""
        query = (
            select(_TABLE)
            .where(
                and_(
                    _TABLE.c.witness == witness,
                    _TABLE.c.province == province,
                    _TABLE.c.kind == "cosignature",
                )
            )
            .order_by(_TABLE.c.checkpoint_index.desc())
            .limit(1)
        )
        with storage_errors("cannot read the witness statements"):
            row = self._db.execute(query).first()
        return None if row is None else _record(row)

    def latest_index(self, witness: str, province: str) -> int:
        """The highest checkpoint index of ``province`` ``witness`` made a statement about, or
        -1."""
        query = select(func.max(_TABLE.c.checkpoint_index)).where(
            and_(_TABLE.c.witness == witness, _TABLE.c.province == province)
        )
        with storage_errors("cannot read the witness statements"):
            value = self._db.execute(query).scalar()
        return -1 if value is None else int(value)

    def of(
        self,
        province: str,
        *,
        index: int | None = None,
        witness: str | None = None,
        after: int = -1,
        kind: str | None = None,
        limit: int = PAGE,
    ) -> list[StoredStatement]:
        """Statements about ``province``'s checkpoints (``index`` exactly, else those after
        index ``after``), oldest checkpoint first, at most ``limit``."""
        conditions = [_TABLE.c.province == province]
        if index is not None:
            conditions.append(_TABLE.c.checkpoint_index == index)
        else:
            conditions.append(_TABLE.c.checkpoint_index > after)
        if witness is not None:
            conditions.append(_TABLE.c.witness == witness)
        if kind is not None:
            conditions.append(_TABLE.c.kind == kind)
        query = (
            select(_TABLE)
            .where(and_(*conditions))
            .order_by(_TABLE.c.checkpoint_index, _TABLE.c.witness, _TABLE.c.id)
            .limit(limit)
        )
        with storage_errors("cannot read the witness statements"):
            return [_record(row) for row in self._db.execute(query)]


__all__ = ["PAGE", "StoredStatement", "WitnessStatements"]
