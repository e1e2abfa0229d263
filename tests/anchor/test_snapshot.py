"""Chain snapshots (``anchor/snapshot.py``) on the in-process EVM and a real anvil node: a
history of members, organisations, keys, checkpoints and statuses is replayed, compared with the
contract's views, taken incrementally and in the past, checked against the schema, and used to
verify a bundle offline with every socket refused."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import socket
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from anchor.chain import RegistryClient, TxResult
from anchor.snapshot import snapshot_text, take_snapshot, write_snapshot
from certreg.dev.sample import KEY_VALID_FROM, sample_entry
from node.core.crypto.signatures import get_suite
from node.core.errors import ChainError, InvalidInput
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import LogEntry
from node.core.formats.snapshot import BlockRef, Network, Snapshot, SnapshotTrustSource
from node.core.merkle import MerkleLog
from node.core.verify import ResultCode, verify_bundle
from tests.contract.conftest import ORG_41, ORG_44, Registry

ROOT = Path(__file__).resolve().parents[2]
ORG = "S000144011001"  # the sample organisation (certreg/dev/sample.py), province 44
SUITE = get_suite("ed25519")
KEY = SUITE.generate_private_key(b"\x05" * 32)
OTHER_KEYS = [SUITE.public_key(SUITE.generate_private_key(bytes([i]) * 32)) for i in (6, 7, 8)]
ROTATION = KEY_VALID_FROM + 86_400 * 30
REVOCATION = KEY_VALID_FROM + 86_400 * 10
ENTRIES = 6


def _h(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


@dataclasses.dataclass
class History:
    """What :func:`build_history` did, for building bundles and checking snapshots."""

    network: Network
    certificates: list[tuple[SaltedCertificate, LogEntry]]
    log: MerkleLog
    anchors: list[TxResult]  # province 44's checkpoints 0 and 1
    past_block: int  # after the first checkpoint, before everything else

    def commitment(self, i: int) -> bytes:
        return self.certificates[i][1].commitment

    def bundle(self, i: int) -> Bundle:
        """The bundle of certificate ``i`` over checkpoint 1 (the whole log)."""
        salted, entry = self.certificates[i]
        tx = self.anchors[1]
        return Bundle(
            network=self.network,
            certificate=salted,
            entry=entry,
            proof=InclusionProof(i, ENTRIES, tuple(self.log.inclusion_proof(i, ENTRIES))),
            anchor=AnchorRef(
                province="44",
                checkpoint_index=1,
                tree_size=ENTRIES,
                root=self.log.root(ENTRIES),
                block_number=tx.block_number,
                transaction_hash=bytes.fromhex(tx.transaction_hash[2:]),
            ),
        )


def build_history(reg: Registry) -> History:
    """File three organisations, anchor two checkpoints of 44 (real Merkle roots, the second with
    a consistency proof) and one of 41, admit province 45, rotate and revoke keys, suspend and
    terminate organisations, update a scope and set statuses: suspend then reinstate
    certificate 0, supersede 1 by 2, revoke 3; 4 and 5 stay active."""
    c44, c41, c43 = reg.as_(0), reg.as_(1), reg.as_(2)
    network = Network(c44.chain_id(), bytes.fromhex(c44.address[2:]))
    c44.file_organisation(ORG, _h("scope", ORG), 1, SUITE.public_key(KEY), KEY_VALID_FROM)
    c44.file_organisation(ORG_44, _h("scope", ORG_44), 1, OTHER_KEYS[0], KEY_VALID_FROM)
    c41.file_organisation(ORG_41, _h("scope", ORG_41), 1, OTHER_KEYS[1], KEY_VALID_FROM)
    rng = random.Random(11)
    certificates = [sample_entry(rng, n, network, "ed25519", KEY) for n in range(1, ENTRIES + 1)]
    log = MerkleLog()
    log.append_many(entry.leaf_hash() for _, entry in certificates)
    first = c44.anchor(3, log.root(3), [], "cid-44-0").tx
    past_block = c44.block_number()
    second = c44.anchor(ENTRIES, log.root(), log.consistency_proof(3, ENTRIES), "cid-44-1").tx
    assert first is not None and second is not None
    c41.anchor(1, _h("leaf 41"), [], "cid-41-0")
    proposal = c44.propose(1, 45, [reg.chain.accounts[8]])
    c43.approve(proposal)
    c43.execute(proposal)
    c44.rotate_key(ORG_44, 1, OTHER_KEYS[2], ROTATION)
    c44.revoke_key(ORG_44, 0, REVOCATION)
    c44.set_organisation_status(ORG_44, 2)
    c41.set_organisation_status(ORG_41, 3)
    c44.update_scope(ORG, _h("scope v2", ORG))
    commitments = [entry.commitment for _, entry in certificates]
    c44.set_status(44, commitments[0], 2, 7)
    c44.set_status(44, commitments[0], 0, 8)
    c44.set_status(44, commitments[1], 3, 4, commitments[2])
    c44.set_status(44, commitments[3], 1, 1)
    return History(network, certificates, log, [first, second], past_block)


def _at(snapshot: Snapshot) -> int:
    return snapshot.block.timestamp + 1


def test_snapshot_matches_the_history_and_the_views(reg: Registry) -> None:
    history = build_history(reg)
    client = reg.as_(0)
    snapshot = take_snapshot(client)

    assert snapshot.network == history.network
    assert snapshot.block.number == client.block_number()
    header = client.w3.eth.get_block(snapshot.block.number)
    assert snapshot.block.hash == bytes(header["hash"])
    assert snapshot.block.timestamp == header["timestamp"]

    members = {m.province: m.operators for m in snapshot.members}
    assert list(members) == ["41", "43", "44", "45"]
    for province, operators in members.items():
        view = client.operators_of(int(province))
        assert operators == tuple(bytes.fromhex(a[2:]) for a in view)
    assert len(members["44"]) == 2

    orgs = {o.code: o for o in snapshot.organisations}
    assert list(orgs) == [ORG, ORG_44, ORG_41]  # filing order
    assert {c: o.status for c, o in orgs.items()} == {
        ORG: "active",
        ORG_44: "suspended",
        ORG_41: "terminated",
    }
    assert orgs[ORG].scope_hash == _h("scope v2", ORG)
    assert orgs[ORG_41].province == "41"
    for code, org in orgs.items():
        view = client.organisation(code)
        assert (view.scope_hash, view.key_count) == (org.scope_hash, len(org.keys))
        for key in org.keys:
            on_chain = client.organisation_key(code, key.key_id)
            assert (on_chain.public_key, on_chain.valid_from, on_chain.valid_until) == (
                key.public_key,
                key.valid_from,
                key.valid_until,
            )
    assert [(k.key_id, k.valid_from, k.valid_until) for k in orgs[ORG_44].keys] == [
        (0, KEY_VALID_FROM, REVOCATION),
        (1, ROTATION, 0),
    ]

    assert [(c.province, c.index, c.tree_size) for c in snapshot.checkpoints] == [
        ("44", 0, 3),
        ("44", 1, ENTRIES),
        ("41", 0, 1),
    ]
    for checkpoint in snapshot.checkpoints:
        view = client.checkpoint(int(checkpoint.province), checkpoint.index)
        assert (view.root, view.block_number, view.timestamp, view.manifest_cid) == (
            checkpoint.root,
            checkpoint.block_number,
            checkpoint.timestamp,
            checkpoint.manifest_cid,
        )
        assert "0x" + checkpoint.transaction_hash.hex() == view.transaction_hash
    assert snapshot.checkpoints[1].root == history.log.root()

    c = history.commitment
    assert [(s.commitment, s.status, s.reason, s.successor) for s in snapshot.statuses] == [
        (c(0), "suspended", 7, None),
        (c(0), "reinstated", 8, None),
        (c(1), "superseded", 4, c(2)),
        (c(3), "revoked", 1, None),
    ]
    blocks = [s.block_number for s in snapshot.statuses]
    assert blocks == sorted(blocks) and len(set(blocks)) == 4
    for record in snapshot.statuses:
        assert record.timestamp == client.w3.eth.get_block(record.block_number)["timestamp"]
    view = client.certificate_status(44, c(1))
    assert (view.status, view.changes, view.block_number) == (3, 1, blocks[2])


def test_incremental_equals_full_and_past_block_gives_past_state(
    reg: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    history = build_history(reg)
    client = reg.as_(1)
    with caplog.at_level("WARNING", logger="anchor.snapshot"):
        past = take_snapshot(client, block=history.past_block)
    # The in-process EVM keeps every state, so the past is checked against its views; anvil
    # runs with --prune-history (latest state only), so there the views are skipped, said so.
    warned = [r.getMessage() for r in caplog.records]
    if reg.chain.name == "memory":
        assert warned == []
    else:
        assert warned == [
            f"views not checked: the node keeps no state at block {past.block.number}"
        ]
    assert past.block.number == history.past_block
    assert [(c.province, c.index) for c in past.checkpoints] == [("44", 0)]
    assert past.statuses == ()
    assert {o.status for o in past.organisations} == {"active"}
    assert [m.province for m in past.members] == ["41", "43", "44"]
    assert [len(o.keys) for o in past.organisations] == [1, 1, 1]
    assert all(k.valid_until == 0 for o in past.organisations for k in o.keys)

    full = take_snapshot(client)
    incremental = take_snapshot(client, since=past)
    assert incremental == full
    assert take_snapshot(client, since=full) == full  # nothing new: the same snapshot

    # One more change after the full snapshot: the incremental step picks it up.
    reg.as_(0).set_status(44, history.commitment(4), 1, 2)
    later = take_snapshot(client, since=full)
    assert later == take_snapshot(client)
    assert later.statuses[:-1] == full.statuses
    assert (later.statuses[-1].commitment, later.statuses[-1].status) == (
        history.commitment(4),
        "revoked",
    )


def test_snapshot_refusals(reg: Registry) -> None:
    history = build_history(reg)
    client = reg.as_(0)
    full = take_snapshot(client)
    head = client.block_number()

    with pytest.raises(InvalidInput) as info:
        take_snapshot(client, block=head + 5)
    assert (info.value.field, info.value.rule) == ("block", "snapshot.block")

    other = dataclasses.replace(full, network=Network(full.network.chain_id + 1, bytes(20)))
    with pytest.raises(InvalidInput) as info:
        take_snapshot(client, since=other)
    assert (info.value.field, info.value.rule) == ("since.network", "snapshot.since_network")

    with pytest.raises(InvalidInput) as info:
        take_snapshot(client, block=history.past_block, since=full)
    assert (info.value.field, info.value.rule) == ("since.block.number", "snapshot.since_block")

    forged_block = BlockRef(full.block.number, b"\x01" * 32, full.block.timestamp)
    with pytest.raises(ChainError, match="no longer on the chain"):
        take_snapshot(client, since=dataclasses.replace(full, block=forged_block))

    # An older snapshot missing a checkpoint: the replay disagrees with the contract's count.
    dropped = dataclasses.replace(full, checkpoints=full.checkpoints[:-1])
    with pytest.raises(ChainError, match="checkpoint count of 41"):
        take_snapshot(client, since=dropped)


def test_written_file_is_canonical_and_valid_under_the_schema(
    reg: Registry, tmp_path: Path
) -> None:
    build_history(reg)
    snapshot = take_snapshot(reg.as_(0))
    path = tmp_path / "snapshot.json"
    write_snapshot(snapshot, path)
    data = path.read_bytes()
    assert data == snapshot_text(snapshot).encode("ascii")
    assert data == (json.dumps(snapshot.to_json(), separators=(",", ":")) + "\n").encode()
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone
    doc = json.loads(data)
    schema = json.loads((ROOT / "schemas" / "snapshot.schema.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(doc))
    assert errors == []
    assert Snapshot.from_json(doc) == snapshot

    empty = dataclasses.replace(snapshot, members=(), organisations=(), statuses=())
    write_snapshot(empty, path)
    assert path.read_bytes() == snapshot_text(empty).encode("ascii")


def _refuse_sockets(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access refused by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_bundle_verifies_offline_with_sockets_refused_then_revoked(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = build_history(reg)
    client: RegistryClient = reg.as_(0)
    path = tmp_path / "snapshot.json"
    write_snapshot(take_snapshot(client), path)

    with monkeypatch.context() as patch:
        attempts = _refuse_sockets(patch)
        with pytest.raises(OSError, match="refused by the test"):
            socket.create_connection(("127.0.0.1", 9))  # the refusal is in force
        attempts.clear()
        snapshot = Snapshot.from_json(json.loads(path.read_text(encoding="utf-8")))
        trust = SnapshotTrustSource(snapshot)
        expected = {
            0: ResultCode.VALID,  # suspended, then reinstated
            1: ResultCode.SUPERSEDED,
            3: ResultCode.REVOKED,
            5: ResultCode.VALID,
        }
        for i, code in expected.items():
            result = verify_bundle(history.bundle(i), trust, at=_at(snapshot))
            assert result.code is code, (i, result.checks)
            assert result.as_of_block == snapshot.block.number
        assert attempts == []

    reg.chain.advance_time(100)  # the revocation is clearly after the first snapshot's time
    client.set_status(44, history.commitment(5), 1, 3)
    write_snapshot(take_snapshot(client, since=snapshot), path)
    with monkeypatch.context() as patch:
        attempts = _refuse_sockets(patch)
        later = Snapshot.from_json(json.loads(path.read_text(encoding="utf-8")))
        result = verify_bundle(history.bundle(5), SnapshotTrustSource(later), at=_at(later))
        assert result.code is ResultCode.REVOKED
        # As of a time before the revocation, the same snapshot still says VALID.
        result = verify_bundle(history.bundle(5), SnapshotTrustSource(later), at=_at(snapshot))
        assert result.code is ResultCode.VALID
        assert attempts == []
