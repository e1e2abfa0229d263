"""The access log as a service: append a record for every read of personal data, show a holder
who read their certificate, export the hashes for an auditor and check the chain against the
heads anchored with checkpoints (docs/SHARING.md "Access log").

Records are appended and committed *before* the data goes out: a read whose record cannot be
written fails (fail closed), so nothing is read unrecorded. Reads recorded at the same time
share a commit (group commit: the first writes its record and those of the reads that arrive
meanwhile in one transaction, then hands over; each read still answers only after its own
record is committed), so a busy API pays one ``fsync`` per group, not per read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from node.core.formats.access import (
    AccessRecord,
    LogHead,
    Requester,
    check_heads,
    record_hash,
)
from node.core.formats.federation import HEADER_NONCE, RequestRefused
from node.storage import Database
from node.storage.access_log import AccessLog
from node.storage.federation import remember_nonce


@dataclasses.dataclass(frozen=True, slots=True)
class Read:
    """What one read was, before it becomes a record (the log gives index and time)."""

    operation: str
    requester: Requester
    result: str
    audit: tuple[tuple[str, str | None], ...]
    agreement: str | None = None
    purpose: str | None = None
    query: tuple[str, ...] = ()
    name_tag: bytes | None = None
    commitments: tuple[bytes, ...] = ()
    rule: str | None = None


@dataclasses.dataclass(eq=False, slots=True)
class _Waiting:
    """A read waiting for its record to be committed (group commit)."""

    read: Read
    time: dt.datetime
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    #: Set with ``done`` when this read is to write the next group itself.
    lead: bool = False
    record: AccessRecord | None = None
    error: BaseException | None = None


class AccessLogService:
    """One province's access log over a database."""

    def __init__(self, db: Database, province: str, *, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.province = province
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: list[_Waiting] = []
        self._writing = False

    def _make(self, read: Read, now: dt.datetime) -> Callable[[int], AccessRecord]:
        def make(index: int) -> AccessRecord:
            return AccessRecord(
                index=index,
                time=now,
                province=self.province,
                operation=read.operation,
                requester=read.requester,
                agreement=read.agreement,
                purpose=read.purpose,
                audit=read.audit,
                query=read.query,
                name_tag=read.name_tag,
                commitments=read.commitments,
                result=read.result,
                rule=read.rule,
            )

        return make

    def _grouped(self, read: Read, now: dt.datetime) -> AccessRecord:
        """Group commit: join the reads waiting to be written; the first one writes them all
        (and those arriving meanwhile) in one transaction, then hands the next group to the
        first read that arrived during it."""
        me = _Waiting(read, now)
        with self._lock:
            self._pending.append(me)
            me.lead = not self._writing
            self._writing = True
        if not me.lead:
            me.done.wait()
        if me.lead:
            with self._lock:
                group, self._pending = self._pending, []
            try:
                self._write_group(group)
            finally:
                with self._lock:
                    if self._pending:
                        self._pending[0].lead = True
                        self._pending[0].done.set()
                    else:
                        self._writing = False
        if me.error is not None:
            raise me.error
        assert me.record is not None
        return me.record

    def _write_group(self, group: list[_Waiting]) -> None:
        """Every read of ``group`` recorded (one transaction; when it fails, one transaction
        each, so one bad record fails only its own read), each waiter woken with its record
        or its error."""
        try:
            with self.db.transaction() as session:
                makes = [self._make(w.read, w.time) for w in group]
                records, _ = AccessLog(session, self.province).append_many(makes)
            for waiting, record in zip(group, records, strict=True):
                waiting.record = record
        except Exception:
            for waiting in group:
                try:
                    with self.db.transaction() as session:
                        made = self._make(waiting.read, waiting.time)
                        waiting.record = AccessLog(session, self.province).append(made)[0]
                except Exception as exc:
                    waiting.error = exc
        finally:
            for waiting in group:
                if waiting.record is None and waiting.error is None:
                    waiting.error = RuntimeError("the access record was not written")
                if not waiting.lead:
                    waiting.done.set()

    def record(self, read: Read, *, nonce: tuple[str, bytes] | None = None) -> AccessRecord:
        """Append ``read`` as the next record (its own transaction); return the record.

        ``nonce``: the asking province and nonce of a signed province-to-province request,
        recorded in the same transaction (one commit), refused when seen before.

        Without a nonce the record may share its commit with reads recorded at the same time
        (group commit, see the module docstring); it is committed when this returns.

        Raises:
            StorageError: the record could not be written (the read must not be answered).
            RequestRefused: ``Certreg-Nonce`` / ``federation.replay`` (nothing is written).
        """
        now = self.clock()
        if nonce is None:
            return self._grouped(read, now)
        make = self._make(read, now)
        with self.db.transaction() as session:
            if nonce is not None and not remember_nonce(session, nonce[0], nonce[1], now):
                raise RequestRefused(
                    HEADER_NONCE, "federation.replay", "this nonce was used before"
                )
            record, _ = AccessLog(session, self.province).append(make)
        return record

    def head(self) -> LogHead:
        """The log's size and head now."""
        with self.db.transaction() as session:
            return AccessLog(session, self.province).head()

    def about(self, commitments: Sequence[bytes]) -> list[dict[str, Any]]:
        """The records that read any of ``commitments`` (a holder's certificate versions),
        newest first, as the holder sees them: when, what, who (role, organisation, person,
        agreement), why (purpose, the five fields) and the result; no key ids."""
        with self.db.transaction() as session:
            texts = AccessLog(session, self.province).about(commitments)
        out: list[dict[str, Any]] = []
        for text in texts:
            record = json.loads(text)
            out.append(
                {
                    "time": record["time"],
                    "province": record["province"],
                    "operation": record["operation"],
                    "role": record["requester"]["role"],
                    "via": record["requester"]["via"],
                    "agreement": record["agreement"],
                    "purpose": record["purpose"],
                    **record["audit"],
                    "result": record["result"],
                }
            )
        return out

    def export(self) -> Iterator[dict[str, Any]]:
        """One ``{"index", "record_hash"}`` per record in order: what an auditor needs to check
        the anchored heads, and nothing else (no record content)."""
        with self.db.transaction() as session:
            for index, _text, digest in AccessLog(session, self.province).rows():
                yield {"index": index, "record_hash": digest.hex()}

    def verify(self) -> list[tuple[int, str]]:
        """Check the stored records: each record's hash against its text, the indexes without
        gaps, and the chain against every head anchored with a checkpoint and the current head.
        Returns the problems as ``(checkpoint index or -1 for the current head / a record,
        message)``; empty when the log is whole.

        Raises:
            StorageError: the database could not be read.
        """
        problems: list[tuple[int, str]] = []
        hashes: list[bytes] = []
        with self.db.transaction() as session:
            log = AccessLog(session, self.province)
            for index, text, digest in log.rows():
                if index != len(hashes):
                    problems.append((-1, f"record {len(hashes)} is missing"))
                    break
                if record_hash(text.encode("utf-8")) != digest:
                    problems.append((-1, f"record {index} does not match its hash"))
                hashes.append(digest)
            anchored = log.anchors()
            current = log.head()
        problems.extend(check_heads(hashes, anchored))
        problems.extend(
            (-1, f"current head: {message}") for _, message in check_heads(hashes, [(-1, current)])
        )
        return problems
