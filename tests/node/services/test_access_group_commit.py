"""Group commit of the access log (issue #19 item 4: one ``fsync`` per read capped a node at
~70 recorded reads a second): reads recorded at the same time share one transaction, each
still answers only once its own record is committed, the chain has no fork or gap, and a
record that cannot be written fails only its own read."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import event

from node.core.errors import StorageError
from node.core.formats.access import AccessRecord, Requester, audit_fields, chain_heads
from node.services.access import AccessLogService, Read, _Waiting
from node.storage import Database
from node.storage.access_log import AccessLog
from tests.node.storage.conftest import NOW, PROVINCE, backend, database

__all__ = ["backend", "database"]

READERS = 12


def _read(n: int, result: str = "found") -> Read:
    return Read(
        operation="bundle",
        requester=Requester("operator", key_id=n, scope=PROVINCE),
        result=result,
        audit=audit_fields({}),
        commitments=(bytes([n]) * 32,),
    )


def _count_commits(db: Database) -> list[int]:
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    return commits


def test_reads_at_the_same_time_share_a_commit_and_each_is_committed_first(
    database: Database,
) -> None:
    service = AccessLogService(database, PROVINCE, clock=lambda: NOW)
    writing = service._write_group
    first = threading.Event()

    def held_first_group(group: list) -> None:  # type: ignore[type-arg]
        # The first group (one read) waits until every other reader is queued behind it.
        if not first.is_set():
            first.set()
            deadline = time.monotonic() + 30
            while len(service._pending) < READERS - 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        writing(group)

    service._write_group = held_first_group  # type: ignore[method-assign]
    commits = _count_commits(database)
    answers: dict[int, AccessRecord] = {}
    seen_committed: dict[int, int] = {}
    errors: list[BaseException] = []

    def reader(n: int) -> None:
        try:
            record = service.record(_read(n))
            answers[n] = record
            with database.transaction() as session:  # committed before record() returned
                seen_committed[n] = AccessLog(session, PROVINCE).head().count
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    threads[0].start()
    assert first.wait(30)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Commits: the first group, the second with the other eleven, plus the readers' checks.
    assert len(commits) == 2 + READERS
    assert sorted(r.index for r in answers.values()) == list(range(READERS))
    assert all(seen_committed[n] > answers[n].index for n in answers)
    with database.transaction() as session:
        log = AccessLog(session, PROVINCE)
        rows = list(log.rows())
        head = log.head()
    assert [index for index, _, _ in rows] == list(range(READERS))
    for index, text, _ in rows:
        stored = AccessRecord.from_json(json.loads(text))
        assert stored == answers[stored.requester.key_id or 0]
        assert stored.index == index
    assert head.count == READERS and head.head == chain_heads([d for _, _, d in rows])[-1]


def test_a_record_that_cannot_be_written_fails_only_its_own_read(database: Database) -> None:
    service = AccessLogService(database, PROVINCE, clock=lambda: NOW)
    original, original_many = AccessLog.append, AccessLog.append_many

    def refusing(self: AccessLog, make):  # type: ignore[no-untyped-def]
        if make(0).result == "refuse-me":
            raise StorageError("cannot append to the access log")
        return original(self, make)

    def refusing_many(self: AccessLog, makes):  # type: ignore[no-untyped-def]
        if any(make(0).result == "refuse-me" for make in makes):
            raise StorageError("cannot append to the access log")
        return original_many(self, makes)

    writing = service._write_group

    def as_one_group(group: list) -> None:  # type: ignore[type-arg]
        AccessLog.append = refusing  # type: ignore[method-assign]
        AccessLog.append_many = refusing_many  # type: ignore[method-assign]
        try:
            writing(group)
        finally:
            AccessLog.append = original  # type: ignore[method-assign]
            AccessLog.append_many = original_many  # type: ignore[method-assign]

    service._write_group = as_one_group  # type: ignore[method-assign]
    # Three reads in one group, the middle one's record refused.
    group = [_Waiting(_read(1), NOW), _Waiting(_read(2, "refuse-me"), NOW), _Waiting(_read(3), NOW)]
    service._write_group(group)
    assert [w.error is None for w in group] == [True, False, True]
    assert isinstance(group[1].error, StorageError)
    assert all(w.done.is_set() for w in group)
    assert [w.record.index for w in (group[0], group[2])] == [0, 1]  # type: ignore[union-attr]
    with database.transaction() as session:
        assert AccessLog(session, PROVINCE).head().count == 2


def test_a_nonce_still_commits_with_its_own_record(database: Database) -> None:
    service = AccessLogService(database, PROVINCE, clock=lambda: NOW)
    commits = _count_commits(database)
    service.record(_read(1), nonce=("41", b"\x01" * 16))
    assert len(commits) == 1
