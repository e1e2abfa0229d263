"""The anchoring worker on SQLite, against the in-process EVM and a real anvil node."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import AnchorResult, ClientOptions, RegistryClient, RetryPolicy
from anchor.manifest import LocalManifestStore, Manifest
from anchor.worker import AnchoringWorker
from certreg.dev.servers import free_port
from node.core.errors import ChainError, InconsistencyError, ManifestStoreError
from node.core.formats.entry import LogEntry
from node.core.merkle import MerkleLog
from node.storage import CheckpointRepository, Database, ProvinceLog, open_database
from tests.anchor.entries import make_entries
from tests.contract.conftest import Registry

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def store(tmp_path: Path) -> LocalManifestStore:
    return LocalManifestStore(tmp_path / "manifests")


def append(db: Database, entries: Sequence[LogEntry], now: dt.datetime = T0) -> None:
    with db.transaction() as session:
        ProvinceLog(session, "44").append(entries, now=now)


def log_state(db: Database, size: int | None = None) -> tuple[int, bytes, list[bytes]]:
    with db.transaction() as session:
        log = ProvinceLog(session, "44")
        n = log.size if size is None else size
        return n, log.merkle.root(n), [s.leaf_hash for s in log.entries(0, n)]


def checkpoints(db: Database) -> list[Any]:
    with db.transaction() as session:
        repo = CheckpointRepository(session, "44")
        latest = repo.latest()
        count = 0 if latest is None else latest.index + 1
        return [repo.get(i) for i in range(count)]


def worker(
    db: Database, client: RegistryClient, store: Any, batch: int = 3, age: float = 3600
) -> AnchoringWorker:
    return AnchoringWorker(db, "44", client, store, batch_size=batch, max_age_seconds=age)


def test_anchors_and_manifest_rebuilds_the_entries(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    first = make_entries(5)
    append(db, first)
    w = worker(db, client, store)
    outcome = w.run_once(T0)
    assert outcome is not None and outcome.sent
    size, root, leaves = log_state(db)
    assert (outcome.index, outcome.previous_size, outcome.tree_size) == (0, 0, 5)
    latest = client.latest_checkpoint(44)
    assert latest is not None
    assert (latest.index, latest.size, latest.root) == (0, size, root)
    assert latest.manifest_cid == outcome.manifest_cid
    assert latest.transaction_hash == outcome.transaction_hash
    [record] = checkpoints(db)
    assert record.state == "confirmed" and record.root == root
    assert record.block_number == latest.block_number
    assert record.manifest_cid == outcome.manifest_cid

    manifest = Manifest.from_bytes(store.get(outcome.manifest_cid))
    assert list(manifest.entries) == first
    assert (manifest.previous_size, manifest.tree_size, manifest.root) == (0, 5, root)
    rebuilt = MerkleLog()
    rebuilt.append_many(manifest.leaf_hashes())
    assert rebuilt.root() == root

    second = make_entries(4, start=5)
    append(db, second, T0 + dt.timedelta(seconds=10))
    assert w.run_once(T0 + dt.timedelta(seconds=20)) is not None
    size, root, leaves = log_state(db)
    latest = client.latest_checkpoint(44)
    assert latest is not None and (latest.index, latest.size, latest.root) == (1, 9, root)
    manifest = Manifest.from_bytes(store.get(latest.manifest_cid))
    assert list(manifest.entries) == second
    assert (manifest.checkpoint_index, manifest.previous_size) == (1, 5)
    rebuilt = MerkleLog()
    rebuilt.append_many(leaves[:5] + manifest.leaf_hashes())
    assert rebuilt.root() == manifest.root == root
    assert w.run_once(T0 + dt.timedelta(seconds=30)) is None  # nothing new
    assert client.checkpoint_count(44) == 2


def test_batching_by_size_and_by_age(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    w = worker(db, client, store, batch=10, age=60)
    assert w.run_once(T0) is None  # empty log
    append(db, make_entries(3), T0)
    assert w.run_once(T0 + dt.timedelta(seconds=59)) is None  # 3 < 10, 59 s < 60 s
    assert client.checkpoint_count(44) == 0 and checkpoints(db) == []
    outcome = w.run_once(T0 + dt.timedelta(seconds=60))  # by age
    assert outcome is not None and outcome.tree_size == 3

    t1 = T0 + dt.timedelta(minutes=5)
    append(db, make_entries(9, start=3), t1)
    assert w.run_once(t1) is None  # 9 < 10, fresh
    append(db, make_entries(1, start=12), t1)
    outcome = w.run_once(t1)  # by size: 10 new entries
    assert outcome is not None and (outcome.previous_size, outcome.tree_size) == (3, 13)
    assert client.checkpoint_count(44) == 2


class LosingClient(RegistryClient):
    """A real client whose first anchoring reaches the chain but whose answer is lost."""

    lost = 0

    def anchor(self, *args: Any, **kwargs: Any) -> AnchorResult:
        result = super().anchor(*args, **kwargs)
        if self.lost == 0:
            self.lost += 1
            raise ChainError("connection reset after sending (simulated crash)")
        return result


def _losing(reg: Registry) -> LosingClient:
    return LosingClient(
        reg.chain.w3, reg.address, sender=reg.chain.accounts[0], artifact=reg.chain.artifact
    )


def test_crash_after_send_then_reconcile_does_not_anchor_twice(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    append(db, make_entries(4))
    crashed = worker(db, _losing(reg), store)
    with pytest.raises(ChainError):
        crashed.run_once(T0)
    [record] = checkpoints(db)
    assert record.state == "pending"
    client = reg.as_(0)
    assert client.checkpoint_count(44) == 1  # the transaction did land

    restarted = worker(db, client, store)  # a new process
    assert restarted.reconcile(T0) == [0]
    assert client.checkpoint_count(44) == 1
    [record] = checkpoints(db)
    on_chain = client.checkpoint(44, 0)
    assert record.state == "confirmed"
    assert record.transaction_hash == on_chain.transaction_hash
    assert record.block_number == on_chain.block_number
    assert restarted.run_once(T0) is None
    assert client.checkpoint_count(44) == 1


def test_retry_after_lost_answer_without_restart_is_idempotent(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    append(db, make_entries(4))
    w = worker(db, _losing(reg), store)
    with pytest.raises(ChainError):
        w.run_once(T0)
    outcome = w.run_once(T0)  # same process: retries the pending checkpoint
    assert outcome is not None and not outcome.sent
    assert reg.as_(0).checkpoint_count(44) == 1
    [record] = checkpoints(db)
    assert record.state == "confirmed"
    assert record.transaction_hash == reg.as_(0).checkpoint(44, 0).transaction_hash


def test_reconcile_adopts_a_matching_unknown_checkpoint(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    append(db, make_entries(6))
    size, root, _ = log_state(db, 4)
    client = reg.as_(0)
    # Another process of ours anchored size 4 and crashed before writing the row.
    client.anchor(size, root, [], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    w = worker(db, client, store)
    assert w.reconcile(T0) == [0]
    [record] = checkpoints(db)
    assert (record.state, record.tree_size, record.root) == ("confirmed", 4, root)
    outcome = w.run_once(T0)  # 2 new entries: below the batch size, not yet old
    assert outcome is None
    append(db, make_entries(1, start=6))
    outcome = w.run_once(T0)
    assert outcome is not None and (outcome.index, outcome.previous_size) == (1, 4)
    assert client.checkpoint_count(44) == 2


def test_reconcile_refuses_a_foreign_root(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    append(db, make_entries(4))
    client = reg.as_(0)
    client.anchor(4, b"\x42" * 32, [], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    w = worker(db, client, store)
    with pytest.raises(InconsistencyError):
        w.reconcile(T0)
    with pytest.raises(InconsistencyError):
        w.run_once(T0)
    assert checkpoints(db) == []


def test_chain_down_leaves_pending_then_anchors(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    append(db, make_entries(3))
    w = worker(db, client, store)
    w.reconcile(T0)
    # The chain goes away: an RPC URL nobody listens on.
    w.client = RegistryClient.connect(
        f"http://127.0.0.1:{free_port()}",
        reg.address,
        sender=reg.chain.accounts[0],
        options=ClientOptions(retry=RetryPolicy(attempts=2, initial_delay=0.01)),
    )
    for _ in range(2):
        with pytest.raises(ChainError):
            w.run_once(T0)
        [record] = checkpoints(db)
        assert record.state == "pending"
    w.client = client  # the chain is back
    outcome = w.run_once(T0 + dt.timedelta(seconds=5))
    assert outcome is not None and outcome.sent and outcome.index == 0
    assert client.checkpoint_count(44) == 1
    assert [c.state for c in checkpoints(db)] == ["confirmed"]


class FlakyStore(LocalManifestStore):
    """A local store whose disk fails once."""

    failures = 1

    def put(self, data: bytes) -> str:
        if self.failures:
            self.failures -= 1
            raise ManifestStoreError("disk full (simulated)")
        return super().put(data)


def test_store_down_leaves_pending_then_anchors(
    reg: Registry, db: Database, tmp_path: Path
) -> None:
    client = reg.as_(0)
    append(db, make_entries(3))
    w = worker(db, client, FlakyStore(tmp_path / "m"))
    with pytest.raises(ManifestStoreError):
        w.run_once(T0)
    assert [c.state for c in checkpoints(db)] == ["pending"]
    assert client.checkpoint_count(44) == 0
    outcome = w.run_once(T0)
    assert outcome is not None and outcome.sent
    assert client.checkpoint_count(44) == 1


def test_a_backlog_longer_than_the_growth_bound_goes_out_in_several_checkpoints(
    reg: Registry, db: Database, store: LocalManifestStore
) -> None:
    # A deployment whose checkpoints add at most 4 entries: a backlog of 10 is anchored as
    # 4 + 4 + 2, each checkpoint accepted by the contract.
    chain = reg.chain
    snap = chain.snapshot()
    try:
        small, _ = RegistryClient.deploy(
            chain.w3,
            [(44, chain.accounts[0])],
            sender=chain.accounts[0],
            artifact=chain.artifact,
            max_checkpoint_growth=4,
        )
        append(db, make_entries(10))
        w = worker(db, small, store, batch=1)
        sizes = []
        while (outcome := w.run_once(T0)) is not None:
            sizes.append((outcome.previous_size, outcome.tree_size))
        assert w.max_growth == 4
        assert sizes == [(0, 4), (4, 8), (8, 10)]
        assert small.checkpoint_count(44) == 3
    finally:
        chain.revert(snap)
