"""The storage of sharing (migration 0006) on SQLite and PostgreSQL: agreements and their keys,
daily counters and the access log under concurrent writers, anchored heads, holder codes and
nonces."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from node.core.errors import InvalidInput, StorageError
from node.core.formats.access import EMPTY_HEAD, AccessRecord, chain_heads, record_hash
from node.core.sharing import parse_terms
from node.storage import Database
from node.storage.access_log import AccessLog
from node.storage.agreements import AgreementRepository
from node.storage.counters import DailyCounters
from node.storage.federation import remember_nonce
from node.storage.holder_codes import HolderCodes
from node.storage.schema import ApiKey, table_of
from tests.node.storage.conftest import NOW, PROVINCE, access_record
from tests.sharing_data import terms_json

THREADS = 4
PER_THREAD = 15


def run_threads(work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_agreements_get_ids_per_province_and_end_revokes_their_keys(database: Database) -> None:
    terms = parse_terms(terms_json())
    with database.transaction() as session:
        repo = AgreementRepository(session, "41")
        first = repo.add(terms, actor="operator:41", now=NOW)
        second = repo.add(terms, actor="operator:41", now=NOW)
        AgreementRepository(session, "44").add(terms, actor="operator:44", now=NOW)
        keys = table_of(ApiKey)
        for scope, hash_byte in ((first.id, 1), (first.id, 2), (second.id, 3)):
            session.execute(
                insert(keys).values(
                    key_hash=bytes([hash_byte]) * 32, role="partner", scope=scope, label="",
                    created_at=NOW,
                )
            )  # fmt: skip
    assert (first.id, second.id) == ("41-000001", "41-000002")
    assert first.terms == terms and first.state == "active"
    later = NOW + dt.timedelta(days=3)
    with database.transaction() as session:
        repo = AgreementRepository(session, "41")
        assert [a.id for a in repo.all()] == ["41-000001", "41-000002"]
        ended, revoked = repo.end(
            first.id, actor="operator:41", reason="期满", deletion_instruction="删除", now=later
        )
        assert revoked == 2 and ended.state == "ended" and ended.ended_at == later
        assert ended.deletion_instruction == "删除"
        with pytest.raises(InvalidInput) as info:
            repo.end(first.id, actor="x", reason="r", deletion_instruction="d", now=later)
        assert info.value.rule == "sharing.ended"
        with pytest.raises(InvalidInput) as info:
            repo.end("41-000009", actor="x", reason="r", deletion_instruction="d", now=later)
        assert info.value.rule == "sharing.unknown"
        rows = session.execute(select(keys.c.scope, keys.c.revoked_at).order_by(keys.c.id)).all()
    assert [(r.scope, r.revoked_at) for r in rows] == [
        (first.id, later),
        (first.id, later),
        (second.id, None),  # another agreement's key keeps working
    ]


def test_daily_counters_lose_no_count_under_concurrent_writers(database: Database) -> None:
    def work(_n: int) -> None:
        for _ in range(PER_THREAD):
            with database.transaction() as session:
                DailyCounters(session).add("quota:41-000001", 20000)

    run_threads(work)
    with database.transaction() as session:
        counters = DailyCounters(session)
        assert counters.get("quota:41-000001", 20000) == THREADS * PER_THREAD
        assert counters.get("quota:41-000001", 20001) == 0
        assert counters.add("quota:41-000001", 20001, 3) == 3


def test_access_log_chains_concurrent_appends_without_a_fork(database: Database) -> None:
    def work(n: int) -> None:
        for i in range(PER_THREAD):
            with database.transaction() as session:
                AccessLog(session, PROVINCE).append(
                    lambda index, i=i: access_record(index, commitments=(bytes([n, i]) * 16,))
                )

    run_threads(work)
    with database.transaction() as session:
        log = AccessLog(session, PROVINCE)
        rows = list(log.rows())
        head = log.head()
    total = THREADS * PER_THREAD
    assert [index for index, _, _ in rows] == list(range(total))
    for index, text_, digest in rows:
        assert AccessRecord.from_json(json.loads(text_)).index == index
        assert record_hash(text_.encode()) == digest
    assert head.count == total and head.head == chain_heads([d for _, _, d in rows])[-1]


def test_anchored_heads_are_fixed_once_and_records_are_found_by_commitment(
    database: Database,
) -> None:
    with database.transaction() as session:
        log = AccessLog(session, PROVINCE)
        assert log.head().count == 0 and log.head().head == EMPTY_HEAD
        assert log.anchor_head(0, NOW).count == 0
        one, _ = log.append(lambda i: access_record(i, commitments=(b"\x01" * 32, b"\x02" * 32)))
        log.append(lambda i: access_record(i, commitments=(b"\x02" * 32,), agreement="41-000001"))
        fixed = log.anchor_head(1, NOW)
        log.append(lambda i: access_record(i, commitments=()))
        assert log.anchor_head(1, NOW) == fixed  # asked again: the same head
        assert fixed.count == 2 and log.head().count == 3
        assert [i for i, _ in log.anchors()] == [0, 1]
        about = log.about([b"\x02" * 32])
        assert [json.loads(t)["index"] for t in about] == [1, 0]
        assert log.about([b"\x03" * 32]) == []
        traffic = log.traffic(NOW, NOW + dt.timedelta(seconds=1), agreement="41-000001")
        assert [(r.agreement, r.result) for r in traffic] == [("41-000001", "found")]
        # A record built for another index is refused, nothing written.
        with pytest.raises(StorageError):
            log.append(lambda i: access_record(i + 1))
    assert one.index == 0


def test_the_database_refuses_to_change_an_access_record(database: Database) -> None:
    with database.transaction() as session:
        AccessLog(session, PROVINCE).append(lambda i: access_record(i))
    with pytest.raises(StorageError), database.transaction() as session:
        session.execute(text("UPDATE access_records SET result = 'not_found'"))


def test_holder_codes_work_once_and_expire(database: Database) -> None:
    later = NOW + dt.timedelta(days=1)
    with database.transaction() as session:
        codes = HolderCodes(session)
        codes.add("AAAA-BBBB-CCCC-DDDD", "N1", expires_at=later, actor="t", now=NOW)
        codes.add("EEEE-FFFF-GGGG-HHHH", "N2", expires_at=later, actor="t", now=NOW)
    results: list[Any] = []

    def work(_n: int) -> None:
        with database.transaction() as session:
            results.append(HolderCodes(session).use("AAAA-BBBB-CCCC-DDDD", NOW))

    run_threads(work)
    assert sorted(results, key=str) == ["N1", None, None, None]  # one winner among racers
    with database.transaction() as session:
        codes = HolderCodes(session)
        assert codes.use("EEEE-FFFF-GGGG-HHHH", later) is None  # expired
        assert codes.use("ZZZZ-ZZZZ-ZZZZ-ZZZZ", NOW) is None


def test_a_nonce_is_accepted_once(database: Database) -> None:
    with database.transaction() as session:
        assert remember_nonce(session, "41", b"\x01" * 16, NOW)
        assert not remember_nonce(session, "41", b"\x01" * 16, NOW)
        assert remember_nonce(session, "43", b"\x01" * 16, NOW)  # another province's
