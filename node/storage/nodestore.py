"""``DatabaseNodeStore``: the Merkle log's complete-subtree hashes in the node database.

Implements :class:`node.core.merkle.NodeStore` over the ``merkle_nodes`` and ``log_state`` tables.
It works inside the caller's transaction: it executes on the :class:`~sqlalchemy.orm.Session`
or :class:`~sqlalchemy.Connection` it is given and never commits, so log entries, Merkle nodes
and certificate updates of one append commit together (or roll back together).

Appends write each new leaf and every subtree it completes with one multi-row ``INSERT``
(about two rows per leaf), and move the size with one guarded ``UPDATE``: if another writer
appended meanwhile, the ``UPDATE`` matches nothing (or the primary key refuses a duplicate node)
and the append fails with :class:`~node.core.errors.StorageError` instead of forking the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from node.core.errors import StorageError
from node.core.merkle import HASH_SIZE, NodeId
from node.storage.bulk import insert_tuples
from node.storage.schema import LogState, MerkleNode, table_of

Executor = Session | Connection

_NODES = table_of(MerkleNode)
_STATE = table_of(LogState)

#: Rows per INSERT statement; keeps every backend under its bound-parameter limit.
_CHUNK = 4096
#: Node ids per SELECT (a proof needs at most about 2 log2(n), i.e. under 100 at 10^9 leaves).
_READ_CHUNK = 200


@lru_cache(maxsize=256)
def _select_nodes(count: int) -> TextClause:
    """Return ``SELECT`` of ``count`` nodes by full primary key, as an OR of key equalities.

    SQLite answers this with one primary-key search per term (MULTI-INDEX OR), PostgreSQL with
    a bitmap OR of index scans. A row-value ``IN``, or the province factored out of the OR,
    makes SQLite scan the whole province. Written as text, cached per count: building the
    same expression with the SQL expression language costs more than running it.
    """
    keys = " OR ".join(
        f"(province = :p AND level = :l{i} AND node_index = :i{i})" for i in range(count)
    )
    return text(f"SELECT level, node_index, hash FROM merkle_nodes WHERE {keys}")


class DatabaseNodeStore:
    """A :class:`node.core.merkle.NodeStore` for one province log, on the caller's transaction.

    Usage (the caller owns the transaction)::

        with database.transaction() as session:
            log = MerkleLog(DatabaseNodeStore(session, "44"))
            log.append_many(leaf_hashes)
    """

    def __init__(self, executor: Executor, province: str) -> None:
        self._db = executor
        self._province = province

    def __repr__(self) -> str:
        return f"DatabaseNodeStore(province={self._province!r})"

    @property
    def province(self) -> str:
        """The two-digit code of the province whose log this is."""
        return self._province

    def get_size(self) -> int:
        """Return the number of leaves in the log (0 before the first append).

        Raises:
            StorageError: the database failed.
        """
        try:
            size = self._db.execute(
                select(_STATE.c.size).where(_STATE.c.province == self._province)
            ).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read the size of log {self._province}") from exc
        return 0 if size is None else int(size)

    def lock(self) -> int:
        """Lock the log's size row for this transaction (PostgreSQL ``FOR UPDATE``) and return it.

        Concurrent appenders then wait instead of failing. On SQLite, writers are serialised by
        the database lock anyway and this is a plain read.

        Raises:
            StorageError: the database failed.
        """
        try:
            size = self._db.execute(
                select(_STATE.c.size).where(_STATE.c.province == self._province).with_for_update()
            ).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot lock log {self._province}") from exc
        return 0 if size is None else int(size)

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """Return the hashes of the given subtrees, in order, read with one ``SELECT``.

        Raises:
            StorageError: a node is missing or the database failed.
        """
        if not ids:
            return []
        wanted = sorted(set(ids))
        found: dict[NodeId, bytes] = {}
        try:
            for start in range(0, len(wanted), _READ_CHUNK):
                chunk = wanted[start : start + _READ_CHUNK]
                params: dict[str, Any] = {"p": self._province}
                for i, (level, index) in enumerate(chunk):
                    params[f"l{i}"] = level
                    params[f"i{i}"] = index
                rows = self._db.execute(_select_nodes(len(chunk)), params)
                for level, index, value in rows:
                    found[(int(level), int(index))] = bytes(value)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read Merkle nodes of log {self._province}") from exc
        out = []
        for node_id in ids:
            value = found.get(node_id)
            if value is None or len(value) != HASH_SIZE:
                raise StorageError(
                    f"Merkle node (level {node_id[0]}, index {node_id[1]}) of log "
                    f"{self._province} is missing"
                )
            out.append(value)
        return out

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]], new_size: int) -> None:
        """Insert new subtree hashes and move the size to ``new_size``, in the caller's transaction.

        The old size is taken from the first new leaf (level 0) of the batch; the size only
        moves if it still has that value.

        Raises:
            StorageError: another writer appended concurrently, a node already exists, or the
                database failed. The caller's transaction must then be rolled back.
        """
        old_size = next((index for (level, index), _ in nodes if level == 0), None)
        province = self._province
        rows = [(province, level, index, value) for (level, index), value in nodes]
        try:
            insert_tuples(
                self._db, _NODES, ("province", "level", "node_index", "hash"), rows, _CHUNK
            )
            statement = update(_STATE).where(_STATE.c.province == self._province)
            if old_size is not None:
                statement = statement.where(_STATE.c.size == old_size)
            result = self._db.execute(statement.values(size=new_size))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                if old_size not in (0, None) or self._has_state():
                    raise StorageError(
                        f"log {self._province} was appended to concurrently; roll back and retry"
                    )
                self._db.execute(insert(_STATE).values(province=self._province, size=new_size))
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot write Merkle nodes of log {self._province}") from exc

    def _has_state(self) -> bool:
        return (
            self._db.execute(
                select(_STATE.c.size).where(_STATE.c.province == self._province)
            ).first()
            is not None
        )
