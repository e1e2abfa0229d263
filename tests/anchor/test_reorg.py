"""Reorganisations and confirmations on a real anvil node: ``anvil_reorg`` replaces the newest
blocks with empty ones, dropping the anchoring transaction they held.

The anchoring worker confirms a checkpoint only once its block has the configured
confirmations and is still canonical; a dropped anchoring is sent again, and the chain holds
each checkpoint once (counted from its ``CheckpointAnchored`` events). Snapshots and the
auditor read up to the latest final block only.

This module starts its own anvil, without ``--prune-history``: ``anvil_reorg`` needs the
history that the run's shared node (``anvil_node``) does not keep.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import RPCEndpoint

from anchor.chain import ClientOptions, RegistryClient, connect, load_artifact
from anchor.errors import TransactionDropped
from anchor.manifest import LocalManifestStore
from anchor.snapshot import take_snapshot
from anchor.status import StatusSync
from anchor.worker import AnchoringWorker
from audit.auditor import AuditOptions, audit
from certreg.dev.anvil import AnvilNode, find_anvil
from node.core.errors import ChainError
from node.storage import CheckpointRepository, Database, ProvinceLog, open_database
from tests.anchor.entries import make_entries
from tests.servers import missing

pytestmark = pytest.mark.anvil

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
CONFIRMATIONS = 3


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    try:
        find_anvil()
    except ChainError as exc:
        missing(os.environ, str(exc))
    with AnvilNode(prune_history=False) as node:
        yield connect(node.url)


def rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    reply = w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply.get("result")


def mine(w3: Web3, blocks: int) -> None:
    rpc(w3, "anvil_mine", [hex(blocks)])


def reorg(w3: Web3, depth: int) -> None:
    """Replace the newest ``depth`` blocks with empty ones (their transactions are gone)."""
    rpc(w3, "anvil_reorg", [depth, []])


@pytest.fixture
def client(w3: Web3) -> Iterator[RegistryClient]:
    """A fresh deployment (founders 44, 41 on accounts 0, 1) and the client of 44, waiting for
    ``CONFIRMATIONS``; the chain is rolled back afterwards."""
    snapshot = rpc(w3, "evm_snapshot", [])
    accounts = list(w3.eth.accounts)
    artifact = load_artifact()
    deployed, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1])], sender=accounts[0], artifact=artifact
    )
    options = ClientOptions(confirmations=CONFIRMATIONS, receipt_timeout=5.0, poll_interval=0.02)
    yield RegistryClient(
        w3, deployed.address, sender=accounts[0], options=options, artifact=artifact
    )
    rpc(w3, "evm_revert", [snapshot])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def worker(db: Database, client: RegistryClient, tmp_path: Path) -> AnchoringWorker:
    store = LocalManifestStore(tmp_path / "manifests")
    return AnchoringWorker(
        db, "44", client, store, batch_size=1, max_age_seconds=0, final_wait_seconds=0
    )


def append(db: Database, count: int, start: int = 0) -> None:
    with db.transaction() as session:
        ProvinceLog(session, "44").append(make_entries(count, start=start), now=T0)


def states(db: Database) -> list[tuple[str, str | None, int | None]]:
    with db.transaction() as session:
        repo = CheckpointRepository(session, "44")
        latest = repo.latest()
        records = [repo.get(i) for i in range(0 if latest is None else latest.index + 1)]
    return [(r.state, r.transaction_hash, r.block_number) for r in records if r is not None]


def anchored_events(client: RegistryClient) -> list[tuple[int, int, str]]:
    """(index, size, transaction) of every CheckpointAnchored event of 44 in the canonical
    chain."""
    return [
        (int(e.args["index"]), int(e.args["size"]), e.transaction_hash)
        for e in client.iter_events(0, names=["CheckpointAnchored"])
        if int(e.args["province"]) == 44
    ]


def test_a_checkpoint_is_confirmed_only_once_final(
    w3: Web3, client: RegistryClient, db: Database, worker: AnchoringWorker
) -> None:
    append(db, 3)
    assert worker.run_once(T0) is None  # mined, not final
    [(state, tx_hash, block)] = states(db)
    assert state == "submitted" and tx_hash is not None and block == client.block_number()
    mine(w3, CONFIRMATIONS - 2)
    assert worker.run_once(T0) is None  # one confirmation short
    assert states(db)[0][0] == "submitted"
    mine(w3, 1)
    outcome = worker.run_once(T0)
    assert outcome is not None and outcome.transaction_hash == tx_hash
    assert outcome.block_number == block and not outcome.sent  # sent by the earlier pass
    assert states(db) == [("confirmed", tx_hash, block)]
    assert anchored_events(client) == [(0, 3, tx_hash)]


def test_a_dropped_anchoring_is_sent_again_and_anchored_once(
    w3: Web3, client: RegistryClient, db: Database, worker: AnchoringWorker
) -> None:
    append(db, 3)
    assert worker.run_once(T0) is None
    [(_, dropped, dropped_block)] = states(db)
    mine(w3, 1)
    reorg(w3, 2)  # the anchoring's block and the next are replaced by empty blocks
    assert anchored_events(client) == [] and client.checkpoint_count(44) == 0
    assert client.transport.canonical_receipt(dropped or "") is None

    assert worker.run_once(T0) is None  # notices, sends again, not final yet
    [(state, resent, block)] = states(db)
    assert state == "submitted" and resent != dropped and block is not None
    assert block > dropped_block
    mine(w3, CONFIRMATIONS)
    outcome = worker.run_once(T0)
    assert outcome is not None and outcome.transaction_hash == resent
    assert states(db) == [("confirmed", resent, block)]
    assert anchored_events(client) == [(0, 3, resent)]  # once
    # Anchoring goes on from there.
    append(db, 2, start=3)
    assert worker.run_once(T0) is None
    mine(w3, CONFIRMATIONS)
    assert worker.run_once(T0) is not None
    assert [e[:2] for e in anchored_events(client)] == [(0, 3), (1, 5)]


def test_a_dropped_anchoring_that_another_process_sent_is_not_sent_twice(
    w3: Web3, client: RegistryClient, db: Database, worker: AnchoringWorker
) -> None:
    append(db, 3)
    assert worker.run_once(T0) is None
    [(_, dropped, _)] = states(db)
    reorg(w3, 1)
    # Meanwhile another process of the province anchored the same checkpoint.
    with db.transaction() as session:
        log = ProvinceLog(session, "44")
        root = log.merkle.root(3)
    process = RegistryClient(w3, client.address, sender=client.sender, options=client.options)
    other = process.anchor(
        3, root, [], "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", final=False
    )
    assert other.tx is not None
    assert worker.run_once(T0) is None  # finds it on chain, records that transaction
    assert states(db)[0][:2] == ("submitted", other.tx.transaction_hash)
    mine(w3, CONFIRMATIONS)
    outcome = worker.run_once(T0)
    assert outcome is not None and outcome.transaction_hash == other.tx.transaction_hash
    assert outcome.transaction_hash != dropped
    assert anchored_events(client) == [(0, 3, other.tx.transaction_hash)]


def test_a_dropped_status_write_is_reported_and_sent_again(
    w3: Web3, client: RegistryClient, db: Database, worker: AnchoringWorker
) -> None:
    """A write waiting for its confirmations notices the reorganisation (TransactionDropped);
    the status sync then sends the change again, once."""
    from node.core.formats.entry import LogEntry

    append(db, 1)
    assert worker.run_once(T0) is None
    mine(w3, CONFIRMATIONS)
    assert worker.run_once(T0) is not None
    with db.transaction() as session:
        issued = next(iter(ProvinceLog(session, "44").entries(0, 1))).entry
    revocation = LogEntry(
        kind="revoke",
        province="44",
        organisation_code=issued.organisation_code,
        certificate_number=issued.certificate_number,
        commitment=issued.commitment,
        reason=106,
    )
    with db.transaction() as session:
        ProvinceLog(session, "44").append([revocation], now=T0)
    assert worker.run_once(T0) is None
    mine(w3, CONFIRMATIONS)
    assert worker.run_once(T0) is not None  # checkpoint 1 holds the revocation
    transport = client.transport
    change_fn = client.contract.functions.setStatus(44, issued.commitment, 1, 106, b"\x00" * 32)
    result, receipt = transport.transact(change_fn, final=False)
    reorg(w3, 1)
    mine(w3, CONFIRMATIONS)
    with pytest.raises(TransactionDropped):
        transport.await_final(result.transaction_hash, receipt, timeout=1.0)
    assert client.certificate_status(44, issued.commitment).changes == 0
    # The sync's writes wait for their confirmations: this client mines them.
    mining = dataclasses.replace(client.options, mine_for_confirmations=True)
    sync = StatusSync(db, "44", RegistryClient(w3, client.address, options=mining))
    assert sync.run_once() == 1
    assert sync.run_once() == 0
    assert client.certificate_status(44, issued.commitment).changes == 1


def test_snapshots_and_the_auditor_stop_at_the_final_block(
    w3: Web3, client: RegistryClient, db: Database, worker: AnchoringWorker, tmp_path: Path
) -> None:
    append(db, 3)
    assert worker.run_once(T0) is None
    mine(w3, CONFIRMATIONS)
    assert worker.run_once(T0) is not None
    append(db, 2, start=3)
    assert worker.run_once(T0) is None  # checkpoint 1 mined, not final
    head = client.block_number()
    assert client.final_block() == head - CONFIRMATIONS + 1
    snapshot = take_snapshot(client)
    assert snapshot.block.number == head - CONFIRMATIONS + 1
    assert [c.tree_size for c in snapshot.checkpoints if c.province == "44"] == [3]
    report = audit(client, LocalManifestStore(tmp_path / "manifests"), AuditOptions())
    assert report.head_block == head - CONFIRMATIONS + 1
    assert report.counts["checkpoints"] == 1  # checkpoint 1 is past the final block
