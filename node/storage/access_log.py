"""The access log in the database: ``access_records`` (append-only, hash-chained),
``access_record_commitments`` (which certificates each record read), ``access_log_state`` (size
and head) and ``access_log_anchors`` (the head each checkpoint's manifest carries).

The format and the chain are :mod:`node.core.formats.access`. Appending starts with the write
that advances the size (``UPDATE … RETURNING``), so concurrent appenders queue on the state
row (PostgreSQL row lock, SQLite write lock) and each gets its own index and the head before
it: the chain never forks. Call :meth:`AccessLog.append` in a transaction of its own, with no
read before it (on SQLite an earlier read would pin an older snapshot).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.core.errors import StorageError
from node.core.formats.access import (
    EMPTY_HEAD,
    AccessRecord,
    LogHead,
    chain_hash,
)
from node.storage.guard import Executor, dialect_of, storage_errors
from node.storage.schema import (
    AccessLogAnchor,
    AccessLogState,
    AccessRecordCommitment,
    AccessRecordRow,
    table_of,
)

_RECORDS = table_of(AccessRecordRow)
_COMMITMENTS = table_of(AccessRecordCommitment)
_STATE = table_of(AccessLogState)
_ANCHORS = table_of(AccessLogAnchor)


class AccessLog:
    """One province's access log, in the caller's transaction."""

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self.province = province

    def append(self, make: Callable[[int], AccessRecord]) -> tuple[AccessRecord, LogHead]:
        """Append the record ``make(index)`` builds for the next index; return it and the new
        head.

        Raises:
            StorageError: the database failed (the caller's transaction must roll back).
        """
        [record], head = self.append_many([make])
        return record, head

    def append_many(
        self, makes: Sequence[Callable[[int], AccessRecord]]
    ) -> tuple[list[AccessRecord], LogHead]:
        """:meth:`append` for several records in order (the next indexes), with one write of
        the size, one of the head and one multi-row insert each for the records and their
        commitments (a group commit's records, node/services/access.py); return them and the
        new head. The same rows and chain as appending them one by one.

        Raises:
            StorageError: the database failed (the caller's transaction must roll back).
        """
        if not makes:
            return [], self.head()
        dialect = dialect_of(self._db)
        first = (pg_insert if dialect == "postgresql" else sqlite_insert)(_STATE).values(
            province=self.province, size=0, head=EMPTY_HEAD
        )
        with storage_errors("cannot append to the access log"):
            self._db.execute(first.on_conflict_do_nothing(index_elements=[_STATE.c.province]))
            row = self._db.execute(
                update(_STATE)
                .where(_STATE.c.province == self.province)
                .values(size=_STATE.c.size + len(makes))
                .returning(_STATE.c.size, _STATE.c.head)
            ).one()
            start = int(row.size) - len(makes)
            head = bytes(row.head)
            records: list[AccessRecord] = []
            rows: list[dict[str, Any]] = []
            links: list[dict[str, Any]] = []
            for index, make in enumerate(makes, start):
                record = make(index)
                if record.index != index or record.province != self.province:
                    raise StorageError("the access record does not fit the log")
                digest = record.record_hash()
                head = chain_hash(head, digest)
                records.append(record)
                rows.append(
                    {
                        "province": self.province,
                        "record_index": index,
                        "occurred_at": record.time,
                        "operation": record.operation,
                        "role": record.requester.role,
                        "key_id": record.requester.key_id,
                        "agreement": record.agreement,
                        "result": record.result,
                        "name_tag": record.name_tag,
                        "record": record.to_bytes().decode("utf-8"),
                        "record_hash": digest,
                    }
                )
                links.extend(
                    {"commitment": c, "province": self.province, "record_index": index}
                    for c in dict.fromkeys(record.commitments)
                )
            self._db.execute(insert(_RECORDS), rows)
            if links:
                self._db.execute(insert(_COMMITMENTS), links)
            self._db.execute(
                update(_STATE).where(_STATE.c.province == self.province).values(head=head)
            )
        return records, LogHead(start + len(makes), head)

    def head(self) -> LogHead:
        """The log's size and head (``(0, zeros)`` before the first record)."""
        with storage_errors("cannot read the access log head"):
            row = self._db.execute(
                select(_STATE.c.size, _STATE.c.head).where(_STATE.c.province == self.province)
            ).first()
        return LogHead(0, EMPTY_HEAD) if row is None else LogHead(int(row.size), bytes(row.head))

    def rows(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, str, bytes]]:
        """``(index, record JSON text, record hash)`` of records ``[start, end)`` in order."""
        statement = (
            select(_RECORDS.c.record_index, _RECORDS.c.record, _RECORDS.c.record_hash)
            .where(_RECORDS.c.province == self.province, _RECORDS.c.record_index >= start)
            .order_by(_RECORDS.c.record_index)
        )
        if end is not None:
            statement = statement.where(_RECORDS.c.record_index < end)
        with storage_errors("cannot read the access log"):
            for row in self._db.execute(statement):
                yield int(row.record_index), str(row.record), bytes(row.record_hash)

    def about(self, commitments: Sequence[bytes], limit: int = 1000) -> list[str]:
        """The record texts that read any of ``commitments``, newest first."""
        if not commitments:
            return []
        with storage_errors("cannot read the access log"):
            indexes = (
                select(_COMMITMENTS.c.record_index)
                .where(
                    _COMMITMENTS.c.province == self.province,
                    _COMMITMENTS.c.commitment.in_(list(commitments)),
                )
                .scalar_subquery()
            )
            rows = self._db.execute(
                select(_RECORDS.c.record)
                .where(_RECORDS.c.province == self.province, _RECORDS.c.record_index.in_(indexes))
                .order_by(_RECORDS.c.record_index.desc())
                .limit(limit)
            )
            return [str(r.record) for r in rows]

    def traffic(
        self, since: dt.datetime, until: dt.datetime, *, agreement: str | None = None
    ) -> list[Any]:
        """Rows ``(occurred_at, agreement, key_id, role, operation, result, name_tag)`` of
        records in ``[since, until)`` (of one agreement when given), oldest first."""
        statement = (
            select(
                _RECORDS.c.occurred_at,
                _RECORDS.c.agreement,
                _RECORDS.c.key_id,
                _RECORDS.c.role,
                _RECORDS.c.operation,
                _RECORDS.c.result,
                _RECORDS.c.name_tag,
            )
            .where(
                _RECORDS.c.province == self.province,
                _RECORDS.c.occurred_at >= since,
                _RECORDS.c.occurred_at < until,
            )
            .order_by(_RECORDS.c.record_index)
        )
        if agreement is not None:
            statement = statement.where(_RECORDS.c.agreement == agreement)
        with storage_errors("cannot read the access log"):
            return list(self._db.execute(statement))

    # -- heads anchored with checkpoints ------------------------------------------------------

    def anchor_head(self, checkpoint_index: int, now: dt.datetime) -> LogHead:
        """The head checkpoint ``checkpoint_index``'s manifest carries: fixed the first time it
        is asked for (the current head then), the same ever after."""
        with storage_errors("cannot read the anchored access log head"):
            row = self._db.execute(
                select(_ANCHORS.c.size, _ANCHORS.c.head).where(
                    _ANCHORS.c.province == self.province,
                    _ANCHORS.c.checkpoint_index == checkpoint_index,
                )
            ).first()
            if row is not None:
                return LogHead(int(row.size), bytes(row.head))
            current = self.head()
            self._db.execute(
                insert(_ANCHORS).values(
                    province=self.province,
                    checkpoint_index=checkpoint_index,
                    size=current.count,
                    head=current.head,
                    created_at=now,
                )
            )
        return current

    def anchors(self) -> list[tuple[int, LogHead]]:
        """Every fixed ``(checkpoint_index, head)``, in checkpoint order."""
        with storage_errors("cannot read the anchored access log heads"):
            rows = self._db.execute(
                select(_ANCHORS.c.checkpoint_index, _ANCHORS.c.size, _ANCHORS.c.head)
                .where(_ANCHORS.c.province == self.province)
                .order_by(_ANCHORS.c.checkpoint_index)
            )
            return [(int(r.checkpoint_index), LogHead(int(r.size), bytes(r.head))) for r in rows]
