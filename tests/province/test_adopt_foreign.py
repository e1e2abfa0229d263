"""Recovery from a stolen operator key (issue #18, item 5), end to end on the in-process EVM:
a thief anchors a checkpoint of Guangdong's log with Guangdong's operator key and a certificate
of their own; Guangdong's worker halts; the consortium replaces Guangdong's operators by vote;
the node adopts the thief's entry as foreign (``certreg node adopt-foreign``); anchoring
resumes on top; the auditor reports the foreign entry and nothing else; a snapshot carrying
that finding makes verifiers answer ``DISPUTED`` for the thief's bundle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from anchor.audit_statements import audit_records, publish_statement, store_fetch
from anchor.chain import RegistryClient, connect
from anchor.governance import Governance
from anchor.manifest import Manifest
from anchor.snapshot import take_snapshot
from anchor.trust_roots import signable_snapshot
from audit.auditor import AuditOptions, audit
from audit.statements import statements_of
from node.core.errors import InconsistencyError, InvalidInput, StorageError
from node.core.formats.bundle import Bundle
from node.core.formats.entry import LogEntry
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.reasons import Reason
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.core.verify import ResultCode, verify_bundle
from node.services.intake_checks import Accepted
from node.storage import Database, ProvinceLog, open_database
from node.storage.access_log import AccessLog
from node.storage.foreign import ForeignEntries
from province.adopt import adopt_foreign
from province.node import LogState, ProvinceNode
from province.organisations import parse_filing
from tests.conftest import today_calendar
from tests.node.storage.conftest import access_record
from tests.province.helpers import (
    ACTOR,
    KEY,
    ORG,
    SCOPE,
    SUITE,
    certificate,
    certificate_number,
    make_node,
    salted,
    sign,
)

FILING = {
    "code": ORG,
    "name": "广州市示例职业技能评价中心有限公司",
    "scope": SCOPE,
    "keys": [
        {"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(), "valid_from": "2025-01-01"}
    ],
}


@dataclasses.dataclass
class World:
    w3: Any
    address: str
    accounts: list[str]
    tmp_path: Path
    today: dt.date
    now: dt.datetime

    def client(self, account: int) -> RegistryClient:
        return RegistryClient(self.w3, self.address, sender=self.accounts[account])

    def node(self, db: Database, account: int) -> ProvinceNode:
        # Every node publishes to the same manifest store (the consortium's IPFS).
        return make_node(
            db,
            self.client(account),
            self.tmp_path,
            clock=lambda: self.now,
            calendar=today_calendar(),
        )

    def issue(self, node: ProvinceNode, serial: int) -> Accepted:
        issued = self.today - dt.timedelta(days=2)
        s = salted(
            certificate(
                serial,
                issue_date=issued.isoformat(),
                certificate_number=certificate_number(serial, issued),
            )
        )
        return node.intake.submit(
            s, sign(node, s), received_on=self.today, late_reason=None, actor=ACTOR
        )


@pytest.fixture
def world(tmp_path: Path) -> World:
    w3 = connect("memory")
    accounts = [str(a) for a in w3.eth.accounts]
    founders = [(44, accounts[0]), (41, accounts[1]), (43, accounts[2])]
    client, _ = RegistryClient.deploy(w3, founders)
    today = dt.datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], CHINA).date()
    return World(w3, client.address, accounts, tmp_path, today, dt.datetime.now(dt.UTC))


def _steal(world: World, db: Database) -> tuple[Bundle, Accepted]:
    """The thief: Guangdong's operator key (account 0) and the organisation's signing key, and
    a copy of Guangdong's log; issues a certificate of their own and anchors it."""
    thief_db = open_database(f"sqlite:///{world.tmp_path / 'thief.db'}")
    try:
        thief = world.node(thief_db, 0)
        thief.organisations.file(parse_filing(FILING), actor="thief")  # on chain already
        with db.transaction() as session:
            ours = [s.entry for s in ProvinceLog(session, "44").entries()]
        with thief_db.transaction() as session:
            ProvinceLog(session, "44").append(ours, now=world.now)
        fake = world.issue(thief, 3)
        # And a revocation of Guangdong's first certificate, anchored (not sent as a status).
        first = ours[0]
        revoke = LogEntry(
            kind="revoke",
            province="44",
            organisation_code=first.organisation_code,
            certificate_number=first.certificate_number,
            commitment=first.commitment,
            reason=int(Reason.CANDIDATE_CHEATING),
        )
        with thief_db.transaction() as session:
            ProvinceLog(session, "44").append([revoke], now=world.now)
            # The thief's manifest carries an access-log head of the thief's (more records
            # than Guangdong's: its next head must not be judged against it).
            for _ in range(3):
                AccessLog(session, "44").append(access_record)
        foreign = thief.worker.run_once(world.now, force=True)
        assert foreign is not None
        assert (foreign.index, foreign.previous_size, foreign.tree_size) == (1, 2, 4)
        return thief.bundles.bundle(fake.commitment), fake
    finally:
        thief_db.dispose()


def _replace_operators(world: World, new: int) -> None:
    view = Governance(world.client(1)).propose("replace-operators", "44", [world.accounts[new]])
    Governance(world.client(2)).approve(view.proposal.id)
    Governance(world.client(2)).execute(view.proposal.id)


def test_a_thiefs_entries_are_adopted_as_foreign_and_anchoring_resumes(world: World) -> None:
    db = open_database(f"sqlite:///{world.tmp_path / 'node.db'}")
    node = world.node(db, 0)
    node.organisations.file(parse_filing(FILING), actor=ACTOR)
    genuine = [world.issue(node, serial) for serial in (1, 2)]
    node.anchor_all()

    thief_bundle, fake = _steal(world, db)

    # The worker halts; the log shows as diverged.
    halted = world.node(db, 0)
    with pytest.raises(InconsistencyError, match=r"size 4, past our log \(2\)"):
        halted.anchor_once(force=True)
    assert halted.log_state().state == "diverged"

    # While the thief's account is still Guangdong's operator, adopting is refused.
    with pytest.raises(InvalidInput) as refused:
        adopt_foreign(halted, actor=ACTOR)
    assert refused.value.rule == "adopt.operator_unchanged"
    assert world.accounts[0] in refused.value.message
    assert halted.status().log_size == 2  # nothing written

    # The consortium replaces Guangdong's operators; the node runs with the new key (7).
    _replace_operators(world, 7)
    recovered = world.node(db, 7)
    result = adopt_foreign(recovered, actor=ACTOR)
    assert (result.adopted, result.checkpoints) == (2, ((1, world.accounts[0]),))
    assert (result.log_size, result.anchored_size, result.log_state) == (4, 4, "ok")
    assert recovered.log_state() == LogState("ok")
    with db.transaction() as session:
        foreign = ForeignEntries(session, "44")
        assert [(r.checkpoint_index, r.start, r.end) for r in foreign.ranges()] == [(1, 2, 4)]
        assert foreign.contains(2) and not foreign.contains(1)
        assert ProvinceLog(session, "44").entry(2).entry.commitment == fake.commitment
    # Again: nothing more to adopt.
    assert adopt_foreign(recovered, actor=ACTOR).adopted == 0

    # Never served as Guangdong's certificate.
    with pytest.raises(InvalidInput) as unknown:
        recovered.bundles.bundle(fake.commitment)
    assert unknown.value.rule == "certificate.unknown"

    # Anchoring resumes on top; the next manifest declares the foreign leaf.
    later = world.issue(recovered, 4)
    [outcome] = recovered.anchor_all()
    assert (outcome.index, outcome.previous_size, outcome.tree_size) == (2, 4, 5)
    manifest = Manifest.from_bytes(recovered.store.get(outcome.manifest_cid))
    assert manifest.version == 3
    assert [(f.checkpoint_index, f.start, f.end) for f in manifest.foreign] == [(1, 2, 4)]
    # The thief's revocation is never sent to the contract as Guangdong's.
    assert recovered.client.certificate_status(44, genuine[0].commitment).status == 0
    assert recovered.status().status_synced == 5
    assert recovered.bundles.bundle(later.commitment).anchor.checkpoint_index == 2
    assert recovered.bundles.bundle(genuine[0].commitment).anchor.checkpoint_index == 0
    with pytest.raises(Exception, match="NotOperator"):  # the stolen key no longer anchors
        world.client(0).anchor(5, b"\x01" * 32, [], "Qm", final=False)

    # The auditor reports the foreign leaves, and nothing else (not the revocation that never
    # reached the chain either).
    report = audit(recovered.client, recovered.store, AuditOptions(calendar=recovered.calendar))
    assert report.kinds() == {"log.foreign_entries"}, report.to_json()
    found = [
        (f.evidence["leaf_index"], f.evidence["hashes"]["commitment"]) for f in report.findings
    ]
    assert found == [(2, fake.commitment.hex()), (3, genuine[0].commitment.hex())]
    assert {(f.province, f.evidence["checkpoint_index"]) for f in report.findings} == {("44", 1)}
    assert {f.evidence["declared_in"] for f in report.findings} == {2}

    # A snapshot carrying the audit statement: the thief's bundle is DISPUTED (without it, it
    # passes every check against the chain: that is what the theft bought).
    snapshot = take_snapshot(recovered.client)
    at = snapshot.block.timestamp
    plain = verify_bundle(thief_bundle, SnapshotTrustSource(snapshot), at=at)
    assert plain.code is ResultCode.VALID, plain.to_json()
    # The auditor publishes its statement (stored, referenced on chain); the snapshot a node
    # signs carries it.
    [statement] = [s for s in statements_of(report, recovered.client) if s.findings]
    assert (statement.province, statement.checkpoint_index) == ("44", 2)
    publish_statement(recovered.client, recovered.store, statement)
    head = recovered.client.block_number()
    records = audit_records(recovered.client, store_fetch(recovered.store), to_block=head)
    assert [r.statement for r in records] == [statement]
    carried = signable_snapshot(take_snapshot(recovered.client), at, None, records)
    disputed = verify_bundle(thief_bundle, SnapshotTrustSource(carried), at=at)
    assert disputed.code is ResultCode.DISPUTED, disputed.to_json()
    assert "log.foreign_entries" in json.dumps(disputed.to_json())
    genuine_bundle = recovered.bundles.bundle(genuine[1].commitment)
    assert verify_bundle(genuine_bundle, SnapshotTrustSource(carried), at=at).valid
    recovered.close()


def test_a_log_with_entries_the_chain_lacks_is_not_rewritten(world: World) -> None:
    """Intake went on after the theft: the log's entry 2 is Guangdong's own, the chain's is the
    thief's. Adopting would rewrite an entry of the append-only log: refused, nothing
    written."""
    db = open_database(f"sqlite:///{world.tmp_path / 'node.db'}")
    node = world.node(db, 0)
    node.organisations.file(parse_filing(FILING), actor=ACTOR)
    for serial in (1, 2):
        world.issue(node, serial)
    node.anchor_all()
    _steal(world, db)
    world.issue(node, 5)
    _replace_operators(world, 7)
    recovered = world.node(db, 7)
    with pytest.raises(InvalidInput) as forked:
        adopt_foreign(recovered, actor=ACTOR)
    assert forked.value.rule == "adopt.forked"
    assert "anchored up to 2" in forked.value.message
    assert recovered.status().log_size == 3
    with db.transaction() as session:
        assert ForeignEntries(session, "44").count() == 0
    recovered.close()


def test_adoption_that_fails_half_way_writes_nothing_and_runs_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The append and the foreign marks are one transaction: a failure after the entries were
    appended (here the marking fails, as a crash there would) leaves the log as it was; run
    again, the adoption completes."""
    db = open_database(f"sqlite:///{world.tmp_path / 'node.db'}")
    node = world.node(db, 0)
    node.organisations.file(parse_filing(FILING), actor=ACTOR)
    for serial in (1, 2):
        world.issue(node, serial)
    node.anchor_all()
    _steal(world, db)
    _replace_operators(world, 7)
    recovered = world.node(db, 7)

    def fail(*args: object, **kwargs: object) -> None:
        raise StorageError("cannot mark foreign entries of log 44: OperationalError")

    with monkeypatch.context() as patch:
        patch.setattr(ForeignEntries, "add", fail)
        with pytest.raises(StorageError):
            adopt_foreign(recovered, actor=ACTOR)
    assert recovered.status().log_size == 2
    assert recovered.log_state().state == "diverged"
    result = adopt_foreign(recovered, actor=ACTOR)
    assert (result.adopted, result.log_size, result.log_state) == (2, 4, "ok")
    recovered.close()
