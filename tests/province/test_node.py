"""A province node end to end: intake → log → anchoring → bundles → on-chain statuses, on
SQLite and PostgreSQL, against the in-process EVM and a real anvil."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from anchor.status import StatusSync
from node.core.errors import ChainError, InconsistencyError, InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.entry import LogEntry
from node.core.merkle import verify_inclusion
from node.storage import CertificateRepository, Database, ProvinceLog, open_database
from province.node import LogState
from tests.anchor.entries import make_entries
from tests.contract.conftest import Registry
from tests.province.helpers import NOW, file_sample_organisation, issue, make_node


@pytest.fixture
def node_parts(
    database: Database, reg: Registry, tmp_path: Path
) -> tuple[Database, Registry, Path]:
    file_sample_organisation(database, reg.as_(0))
    return database, reg, tmp_path


def test_issued_certificates_are_anchored_and_get_bundles(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    db, reg, tmp_path = node_parts
    client = reg.as_(0)
    node = make_node(db, client, tmp_path, batch_size=3)
    accepted = [issue(node, serial) for serial in range(1, 6)]
    assert node.status().log_size == 5 and node.status().anchored_size == 0

    # Five entries ≥ batch size 3: due.
    first = node.anchor_once()
    assert first is not None and (first.index, first.tree_size) == (0, 5)
    assert node.anchor_once() is None  # nothing new
    status = node.status()
    assert (status.anchored_size, status.checkpoints, status.open_checkpoint) == (5, 1, None)

    root = client.root_at(44, 5)
    assert root == first.root
    on_chain = client.checkpoint(44, 0)
    for a in accepted:
        bundle = node.bundles.bundle(a.commitment)
        assert bundle.entry.commitment == a.commitment
        assert bundle.certificate.commitment() == a.commitment
        assert bundle.anchor.checkpoint_index == 0
        assert bundle.anchor.tree_size == 5 and bundle.anchor.root == root
        assert bundle.anchor.block_number == on_chain.block_number
        assert "0x" + bundle.anchor.transaction_hash.hex() == on_chain.transaction_hash
        verify_inclusion(bundle.entry.leaf_hash(), a.log_index, 5, bundle.proof.hashes, root)
        # The JSON form parses back to the same bundle.
        assert Bundle.from_json(bundle.to_json()) == bundle

    # A later checkpoint does not move earlier bundles: they keep their first checkpoint.
    later = issue(node, 6)
    [second] = node.anchor_all()
    assert (second.index, second.previous_size, second.tree_size) == (1, 5, 6)
    assert node.bundles.bundle(accepted[0].commitment).anchor.checkpoint_index == 0
    assert node.bundles.bundle(later.commitment).anchor.checkpoint_index == 1
    exported = list(node.bundles.iter_bundles())
    # The API's path: the bundle of a record it has read is the same bundle.
    for record, bundle in exported:
        assert node.bundles.bundle_of(record) == bundle
    assert [b.entry.commitment for _, b in exported] == [
        *(a.commitment for a in accepted),
        later.commitment,
    ]


def test_bundle_refusals(node_parts: tuple[Database, Registry, Path]) -> None:
    db, reg, tmp_path = node_parts
    node = make_node(db, reg.as_(0), tmp_path)
    accepted = issue(node, 1)
    with pytest.raises(InvalidInput) as caught:
        node.bundles.bundle(accepted.commitment)
    assert (caught.value.field, caught.value.rule) == ("commitment", "bundle.not_anchored")
    with pytest.raises(InvalidInput) as caught:
        node.bundles.bundle(b"\x42" * 32)
    assert (caught.value.field, caught.value.rule) == ("commitment", "certificate.unknown")
    with db.transaction() as session:
        record = CertificateRepository(session, node.cipher, node.blind_index).get(
            accepted.commitment
        )
    assert record is not None
    with pytest.raises(InvalidInput) as caught:
        node.bundles.bundle_of(record)
    assert (caught.value.field, caught.value.rule) == ("commitment", "bundle.not_anchored")
    with pytest.raises(InvalidInput) as caught:
        node.bundles.bundle_of(dataclasses.replace(record, province="11"))
    assert (caught.value.field, caught.value.rule) == ("commitment", "certificate.unknown")
    assert list(node.bundles.iter_bundles()) == []


def test_batch_size_and_age_decide_when_a_checkpoint_is_due(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    db, reg, tmp_path = node_parts
    clock = [NOW]
    node = make_node(
        db, reg.as_(0), tmp_path, batch_size=10, max_age_seconds=60, clock=lambda: clock[0]
    )
    issue(node, 1)
    assert node.anchor_once() is None  # 1 < 10 entries, and fresh
    clock[0] = NOW + dt.timedelta(seconds=61)
    outcome = node.anchor_once()
    assert outcome is not None and outcome.tree_size == 1


def _status_entry(db: Database, kind: str, target: LogEntry, reason: int, **kw: object) -> None:
    entry = LogEntry(
        kind=kind,
        province="44",
        organisation_code=target.organisation_code,
        certificate_number=target.certificate_number,
        commitment=target.commitment,
        reason=reason,
        **kw,  # type: ignore[arg-type]
    )
    with db.transaction() as session:
        ProvinceLog(session, "44").append([entry], now=NOW)


def test_status_entries_reach_the_chain_once_anchored(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    db, reg, tmp_path = node_parts
    client = reg.as_(0)
    node = make_node(db, client, tmp_path, batch_size=1000)
    a, b = issue(node, 1), issue(node, 2)
    node.anchor_all()
    with db.transaction() as session:
        log = ProvinceLog(session, "44")
        entry_a, entry_b = log.entry(a.log_index).entry, log.entry(b.log_index).entry
    _status_entry(db, "suspend", entry_a, 201)
    _status_entry(db, "reinstate", entry_a, 301)
    _status_entry(db, "revoke", entry_b, 101)
    # A status entry makes the log due at once, whatever the batch size.
    outcome = node.anchor_once()
    assert outcome is not None and outcome.tree_size == 5
    record_a, record_b = (
        client.certificate_status(44, a.commitment),
        client.certificate_status(44, b.commitment),
    )
    assert (record_a.status, record_a.reason, record_a.changes) == (0, 301, 2)
    assert (record_b.status, record_b.reason, record_b.changes) == (1, 101, 1)
    assert node.status().status_synced == 5
    assert node.statuses.run_once() == 0


def test_status_sync_after_a_crash_does_not_resend(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    """The chain took the batch but the process died before recording progress: the next run
    sees the contract's change counts and sends nothing twice."""
    db, reg, tmp_path = node_parts
    client = reg.as_(0)
    node = make_node(db, client, tmp_path)
    a = issue(node, 1)
    node.anchor_all()
    with db.transaction() as session:
        entry_a = ProvinceLog(session, "44").entry(a.log_index).entry
    _status_entry(db, "suspend", entry_a, 201)
    node.worker.run_once(NOW, force=True)  # anchored, statuses not yet sent
    sync = StatusSync(db, "44", client)
    pending, end = sync._next_batch()
    client.set_status_batch(44, [p.change for p in pending])  # sent; "crash" before progress
    assert end == 2
    assert sync.run_once() == 0
    record = client.certificate_status(44, a.commitment)
    assert (record.status, record.changes) == (2, 1)
    assert node.status().status_synced == 2


def test_chain_down_keeps_work_pending(
    node_parts: tuple[Database, Registry, Path], tmp_path: Path
) -> None:
    """With the chain unreachable, intake goes on and anchoring resumes when it is back."""
    db, reg, _ = node_parts
    from anchor.chain import ClientOptions, RegistryClient, RetryPolicy

    dead = RegistryClient.connect(
        "http://127.0.0.1:9",
        reg.address,
        sender=reg.chain.accounts[0],
        options=ClientOptions(retry=RetryPolicy(attempts=1, initial_delay=0.0)),
    )
    node = make_node(db, reg.as_(0), tmp_path)
    down = make_node(db, reg.as_(0), tmp_path)
    down.worker.client = dead
    issue(node, 1)
    with pytest.raises(ChainError):
        down.anchor_once(force=True)
    assert node.status().checkpoints == 0  # the reconciliation failed first: nothing recorded
    issue(node, 2)
    outcomes = node.anchor_all()
    assert [(o.index, o.tree_size) for o in outcomes] == [(0, 2)]


def test_a_checkpoint_anchored_with_a_stolen_key_shows_as_a_diverged_log(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    db, reg, tmp_path = node_parts
    node = make_node(db, reg.as_(0), tmp_path)
    for serial in (1, 2):
        issue(node, serial)
    node.anchor_all()
    assert node.log_state() == LogState("ok")

    # Someone holding 44's operator key anchors a log that extends 44's with an entry of theirs.
    thief_db = open_database(f"sqlite:///{tmp_path / 'thief.db'}")
    try:
        with db.transaction() as session:
            ours = [s.entry for s in ProvinceLog(session, "44").entries()]
        with thief_db.transaction() as session:
            ProvinceLog(session, "44").append([*ours, *make_entries(1, start=50)], now=NOW)
        thief = make_node(thief_db, reg.as_(0), tmp_path / "thief")
        [foreign] = thief.anchor_all()
        assert (foreign.index, foreign.tree_size) == (1, 3)
    finally:
        thief_db.dispose()

    state = node.log_state()
    assert state.state == "diverged"
    assert state.reason == "chain checkpoint 1 of log 44 has size 3, past our log (2)"
    restarted = make_node(db, reg.as_(0), tmp_path)  # a worker starting halts with the reason
    with pytest.raises(InconsistencyError, match=r"past our log \(2\)"):
        restarted.anchor_once(force=True)
    issue(node, 3)  # intake goes on; the log now forks from the chain's at size 3
    state = restarted.log_state()
    assert state.state == "diverged" and "different roots at size 3" in str(state.reason)
    assert restarted.status().anchored_size == 2


def test_a_running_worker_that_meets_a_thiefs_checkpoint_halts_instead_of_retrying(
    node_parts: tuple[Database, Registry, Path],
) -> None:
    """A worker already past its start-up reconciliation: the contract refuses its next
    checkpoint because a thief anchored one first. It halts with the InconsistencyError that
    says why (which stops ProvinceNode.run) rather than the contract's refusal as a ChainError
    (which ProvinceNode.run retries with backoff forever)."""
    db, reg, tmp_path = node_parts
    node = make_node(db, reg.as_(0), tmp_path)
    issue(node, 1)
    node.anchor_all()  # reconciled and anchored: this worker is running
    thief_db = open_database(f"sqlite:///{tmp_path / 'thief.db'}")
    try:
        with db.transaction() as session:
            ours = [s.entry for s in ProvinceLog(session, "44").entries()]
        with thief_db.transaction() as session:
            ProvinceLog(session, "44").append([*ours, *make_entries(2, start=50)], now=NOW)
        thief = make_node(thief_db, reg.as_(0), tmp_path)  # publishes to the same store
        [foreign] = thief.anchor_all()
        assert (foreign.index, foreign.tree_size) == (1, 3)
    finally:
        thief_db.dispose()

    issue(node, 2)  # our checkpoint 1 (size 2) is refused: the chain holds a size-3 one
    with pytest.raises(InconsistencyError, match=r"checkpoint 1 of log 44 has size 3, past our"):
        node.anchor_once(force=True)
    assert node.log_state().state == "diverged"
    assert node.status().anchored_size == 1
    assert reg.as_(0).checkpoint_count(44) == 2  # nothing more was anchored
