"""The access log as a service: append a record for every read of personal data, show a holder
who read their certificate, export the hashes for an auditor and check the chain against the
heads anchored with checkpoints (docs/SHARING.md "Access log").

Records are appended in a transaction of their own, *before* the data goes out: a read whose
record cannot be written fails (fail closed), so nothing is read unrecorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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


class AccessLogService:
    """One province's access log over a database."""

    def __init__(self, db: Database, province: str, *, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.province = province
        self.clock = clock

    def record(self, read: Read, *, nonce: tuple[str, bytes] | None = None) -> AccessRecord:
        """Append ``read`` as the next record (its own transaction); return the record.

        ``nonce``: the asking province and nonce of a signed province-to-province request,
        recorded in the same transaction (one commit), refused when seen before.

        Raises:
            StorageError: the record could not be written (the read must not be answered).
            RequestRefused: ``Certreg-Nonce`` / ``federation.replay`` (nothing is written).
        """
        now = self.clock()

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
