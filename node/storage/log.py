"""A province's log: entry rows plus the Merkle tree over them, appended together in the
caller's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import func, select, text, update

from node.core.errors import InvalidInput, StorageError
from node.core.formats.entry import STATUS_KINDS, LogEntry
from node.core.merkle import MerkleLog, leaf_hash
from node.storage.bulk import insert_tuples
from node.storage.common import BULK_ROWS, Executor, aware, storage_errors
from node.storage.nodestore import DatabaseNodeStore
from node.storage.schema import NOT_ISSUE_ENTRY, CertificateRow, LogEntryRow, LogState, table_of

_CERTS: Final = table_of(CertificateRow)
_ENTRIES: Final = table_of(LogEntryRow)
_STATE: Final = table_of(LogState)


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEntry:
    """A log entry with its position and leaf hash."""

    leaf_index: int
    entry: LogEntry
    leaf_hash: bytes
    created_at: dt.datetime


class EncodedEntry(NamedTuple):
    """A log entry ready to append (:meth:`ProvinceLog.append_encoded`)."""

    kind: str
    commitment: bytes
    certificate_number: str
    data: bytes
    """``JCS(entry)``."""
    leaf: bytes
    """``SHA-256(0x00 || data)``."""


_ENTRY_COLUMNS = (
    "province",
    "leaf_index",
    "kind",
    "commitment",
    "certificate_number",
    "entry",
    "leaf_hash",
    "created_at",
)


class ProvinceLog:
    """A province's log: entry rows plus the Merkle tree over them, appended together.

    ``append`` writes the entry rows and the Merkle nodes in the caller's transaction; roots
    and proofs come from :attr:`merkle`.
    """

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self._province = province
        self._store = DatabaseNodeStore(db, province)
        self.merkle = MerkleLog(self._store)

    def __repr__(self) -> str:
        return f"ProvinceLog(province={self._province!r})"

    @property
    def size(self) -> int:
        """The number of entries."""
        return self._store.get_size()

    @property
    def status_synced(self) -> int:
        """The log size up to which status-changing entries were written to the contract."""
        with storage_errors(f"cannot read log {self._province}"):
            value = self._db.execute(
                select(_STATE.c.status_synced).where(_STATE.c.province == self._province)
            ).scalar_one_or_none()
        return int(value or 0)

    def set_status_synced(self, size: int) -> None:
        """Record that status entries below ``size`` are on the contract (never moves back).

        Raises:
            InvalidInput: ``size`` is past the log or behind the recorded value.
        """
        if not self.status_synced <= size <= self.size:
            raise InvalidInput("size", "log.status_synced", "must be between the last and the size")
        with storage_errors(f"cannot update log {self._province}"):
            self._db.execute(
                update(_STATE).where(_STATE.c.province == self._province).values(status_synced=size)
            )

    def append(self, entries: Sequence[LogEntry], *, now: dt.datetime) -> list[int]:
        """Append entries in order and return their leaf indexes.

        Takes the log's row lock first (PostgreSQL), so concurrent appenders queue.

        Raises:
            InvalidInput: an entry belongs to another province.
            StorageError: the database failed; the caller's transaction must roll back.
        """
        for entry in entries:
            if entry.province != self._province:
                raise InvalidInput("province", "log.province", "entry is for another province")
        encoded = []
        for entry in entries:
            data = entry.canonical_bytes()
            encoded.append(
                EncodedEntry(
                    entry.kind, entry.commitment, entry.certificate_number, data, leaf_hash(data)
                )
            )
        return self.append_encoded(encoded, now=now)

    def append_encoded(self, entries: Sequence[EncodedEntry], *, now: dt.datetime) -> list[int]:
        """:meth:`append` for entries already encoded (bulk intake encodes them in its worker
        processes, from entries of this province): each ``data`` must be ``JCS(entry)`` and
        ``leaf`` its leaf hash.

        Raises:
            StorageError: the database failed; the caller's transaction must roll back.
        """
        if not entries:
            return []
        aware(now)
        first = self._store.lock()
        province = self._province
        rows = [
            (
                province,
                first + i,
                e.kind,
                e.commitment,
                e.certificate_number,
                e.data.decode(),
                e.leaf,
                now,
            )
            for i, e in enumerate(entries)
        ]
        with storage_errors(f"cannot append to log {self._province}"):
            insert_tuples(self._db, _ENTRIES, _ENTRY_COLUMNS, rows, BULK_ROWS)
        indexes = self.merkle.append_many([e.leaf for e in entries])
        if indexes[0] != first:
            raise StorageError(f"log {self._province} moved during the append")
        return indexes

    def _entry_page(self, columns: Any, start: int, end: int) -> Sequence[Any]:
        """The stored entry rows ``[start, end)`` of this log (``columns`` of them), in order."""
        with storage_errors(f"cannot read log {self._province}"):
            return self._db.execute(
                select(*columns)
                .where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.leaf_index >= start,
                    _ENTRIES.c.leaf_index < end,
                )
                .order_by(_ENTRIES.c.leaf_index)
            ).all()

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[StoredEntry]:
        """Yield the entries ``[start, end)`` in order, streaming in pages of 1,000."""
        end = self.size if end is None else end
        page = 1000
        position = start
        while position < end:
            rows = self._entry_page(_ENTRIES.c, position, min(end, position + page))
            if not rows:
                return
            for row in rows:
                yield StoredEntry(
                    row.leaf_index,
                    LogEntry.from_json(json.loads(row.entry)),
                    bytes(row.leaf_hash),
                    row.created_at,
                )
            position = rows[-1].leaf_index + 1

    def entry_bytes(self, start: int, end: int) -> Iterator[bytes]:
        """Yield ``JCS(entry)`` of the entries ``[start, end)`` as stored, in order, in pages of
        10,000, without parsing them (the anchoring worker's manifest,
        :func:`anchor.manifest.manifest_bytes`).

        Raises:
            StorageError: an entry is missing, or its bytes do not hash to its stored leaf
                hash (the row was altered).
        """
        page = 10_000
        position = start
        while position < end:
            columns = (_ENTRIES.c.leaf_index, _ENTRIES.c.entry, _ENTRIES.c.leaf_hash)
            rows = self._entry_page(columns, position, min(end, position + page))
            for leaf_index, stored_text, stored_leaf in rows:
                data = stored_text.encode("utf-8")
                if leaf_index != position or leaf_hash(data) != bytes(stored_leaf):
                    raise StorageError(
                        f"log {self._province} entry {position} is missing or altered"
                    )
                position += 1
                yield data
            if not rows:
                raise StorageError(f"log {self._province} entry {position} is missing")

    def entry(self, leaf_index: int) -> StoredEntry:
        """Return the entry at ``leaf_index``.

        Raises:
            InvalidInput: no such entry.
        """
        for stored in self.entries(leaf_index, leaf_index + 1):
            return stored
        raise InvalidInput("leaf_index", "log.index_range", "no entry at this index")

    def status_changes_of(self, commitment: bytes, end: int) -> int:
        """Count the status-changing entries (revoke, suspend, reinstate, delete) about
        ``commitment`` below leaf index ``end``; corrections are counted by the caller, which
        knows the corrected commitment from the entry's ``links``."""
        # The commitment's few non-issue entries through the partial index (its condition is
        # repeated so the planner may use it); the bound on the index is applied here, as a
        # range on the primary key would tempt the planner into scanning the log.
        with storage_errors(f"cannot read log {self._province}"):
            rows = self._db.execute(
                select(_ENTRIES.c.leaf_index).where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.commitment == commitment,
                    _ENTRIES.c.kind.in_(STATUS_KINDS),
                    text(NOT_ISSUE_ENTRY),
                )
            )
            return sum(1 for (leaf_index,) in rows if leaf_index < end)

    def first_status_entry(self, start: int, end: int) -> int | None:
        """Return the index of the first entry in ``[start, end)`` that changes a status
        (correct, revoke, suspend, reinstate, delete), or ``None``."""
        with storage_errors(f"cannot read log {self._province}"):
            value = self._db.execute(
                select(func.min(_ENTRIES.c.leaf_index)).where(
                    _ENTRIES.c.province == self._province,
                    _ENTRIES.c.leaf_index >= start,
                    _ENTRIES.c.leaf_index < end,
                    _ENTRIES.c.kind != "issue",
                )
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def indexes_of(self, commitment: bytes) -> list[int]:
        """Return the leaf indexes of every entry about ``commitment``, ascending.

        Corrections and status changes come from the partial index
        ``ix_log_entries_status_commitment``; ``issue`` entries, which it leaves out, through
        the ``log_index`` of the certificates with that commitment.
        """
        here = _ENTRIES.c.province == self._province
        about = _ENTRIES.c.commitment == commitment
        logged = select(_CERTS.c.log_index).where(
            _CERTS.c.commitment == commitment, _CERTS.c.log_index.is_not(None)
        )
        queries = (
            select(_ENTRIES.c.leaf_index).where(here, about, text(NOT_ISSUE_ENTRY)),
            select(_ENTRIES.c.leaf_index).where(
                here, about, _ENTRIES.c.kind == "issue", _ENTRIES.c.leaf_index.in_(logged)
            ),
        )
        with storage_errors(f"cannot read log {self._province}"):
            return sorted({int(r[0]) for query in queries for r in self._db.execute(query)})


__all__ = [
    "EncodedEntry",
    "ProvinceLog",
    "StoredEntry",
]
