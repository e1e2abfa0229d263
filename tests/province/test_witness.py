"""Witnessing (anchor/witness.py, docs/FORMATS.md "Witness statements"): three province nodes on
the in-process EVM, each with its checkpoint-signing key published on the contract and its API
served over real HTTP, check and cosign each other's checkpoints, collect each other's
statements, serve them at ``GET /v1/cosignatures``, and refuse a checkpoint whose log was
rewritten; the auditor reports the refusal."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from web3.types import RPCEndpoint

from anchor.manifest import Manifest, manifest_bytes
from anchor.trust_roots import assemble, publish_checkpoint_key, root_body_from_chain, sign_root
from anchor.witness import CheckpointWitness, CosignedBundles, WitnessPass
from audit.auditor import AuditOptions, audit
from audit.node_api import ApiTarget
from node.core.crypto.signatures import get_suite
from node.core.errors import InvalidInput
from node.core.formats.compact import decode_compact, encode_compact
from node.core.formats.trust import WitnessKey
from node.core.verify import verify_bundle
from node.core.witnessing import StatementDocument
from node.storage import ProvinceLog
from node.storage.schema import WitnessStatementRow
from node.storage.witness import WitnessStatements
from province.node import ProvinceNode
from tests.province.federation_nodes import PROVINCES, Consortium, start_consortium
from tests.province.helpers import issue

ED25519 = get_suite("ed25519")


def witness_key(province: str) -> bytes:
    return ED25519.generate_private_key(f"witness key {province}".encode().ljust(32, b".")[:32])


def add_witness(node: ProvinceNode, peers: dict[str, str]) -> CheckpointWitness:
    """Give ``node`` a witness, as ``node.json``'s ``witness`` key would."""
    return CheckpointWitness(
        node.db,
        node.province,
        node.client,
        node.store,
        node.network,
        suite="ed25519",
        private_key=witness_key(node.province),
        peers=peers,
        clock=node.clock,
    )


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[Consortium]:
    found = start_consortium(tmp_path)
    try:
        peers = {p: found[p].url for p in PROVINCES}
        for code in PROVINCES:
            node = found[code].node
            publish_checkpoint_key(node.client, "ed25519", ED25519.public_key(witness_key(code)))
            node.witness = add_witness(node, peers)
        yield found
    finally:
        found.close()


def everyone_witnesses(consortium: Consortium) -> WitnessPass:
    done = WitnessPass()
    for code in PROVINCES:
        done += consortium[code].node.witness_once()
    return done


def rows(node: ProvinceNode) -> int:
    with node.db.transaction() as session:
        return int(session.execute(select(func.count()).select_from(WitnessStatementRow)).one()[0])


def test_members_cosign_and_collect_each_others_checkpoints(consortium: Consortium) -> None:
    guangdong = consortium["44"].node
    # Guangdong anchored checkpoint 0 (3 certificates); a second checkpoint adds two more.
    issue(guangdong, 4)
    issue(guangdong, 5)
    guangdong.anchor_all()
    first = everyone_witnesses(consortium)
    assert (first.cosigned, first.refused) == (6, 0)  # 3 members x 2 checkpoints
    second = everyone_witnesses(consortium)
    # Each node now holds the two other members' statements about both checkpoints (those
    # made before it asked in the first pass, the rest in the second).
    assert (second.cosigned, second.refused) == (0, 0)
    assert first.collected + second.collected == 12

    answer = consortium["41"].get("/v1/cosignatures", {"province": "44", "index": "1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["threshold"] == 2 and body["members"] == ["41", "43", "44"]
    [checkpoint] = body["checkpoints"]
    on_chain = guangdong.client.checkpoint(44, 1)
    assert checkpoint == {
        "province": "44",
        "index": 1,
        "tree_size": 5,
        "root": on_chain.root.hex(),
        "cosigned_by": ["41", "43", "44"],
        "refused_by": [],
        "witnessed": True,
    }
    keys = {p: WitnessKey("ed25519", ED25519.public_key(witness_key(p))) for p in PROVINCES}
    for value in body["statements"]:
        cid = value.pop("cid")
        document = StatementDocument.from_json(value)
        assert document.verify(keys) and document.refusal is None
        statement = document.statement
        assert (statement.previous_size, statement.tree_size, statement.root) == (
            3,
            5,
            on_chain.root,
        )
        assert statement.transaction_hash.hex() == on_chain.transaction_hash.removeprefix("0x")
        # Published: the store gives the same document back under its CID.
        assert guangdong.store.get(cid) == document.to_bytes()

    # Idempotent, also after a restart (a new witness over the same databases).
    counts = {p: rows(consortium[p].node) for p in PROVINCES}
    peers = {p: consortium[p].url for p in PROVINCES}
    for code in PROVINCES:
        consortium[code].node.witness = add_witness(consortium[code].node, peers)
    assert everyone_witnesses(consortium) == WitnessPass()
    assert {p: rows(consortium[p].node) for p in PROVINCES} == counts == dict.fromkeys(PROVINCES, 6)

    # The cosignatures make a bundle that verifies with the trust root alone, as of then.
    body_ = root_body_from_chain(guangdong.client)
    root = assemble(body_, [sign_root(body_, p, "ed25519", witness_key(p)) for p in PROVINCES])
    bundle = guangdong.bundles.bundle(consortium.issued[0].commitment)
    assert bundle.anchor.checkpoint_index == 0 and bundle.witness is None
    # What `certreg node export --cosigned` writes: a threshold (2) of the cosignatures held.
    cosigned = CosignedBundles(guangdong.db, guangdong.client).attach(bundle)
    witness = cosigned.witness
    assert witness is not None and witness.previous_size == 0
    assert [c.province for c in witness.cosignatures] == ["41", "43"]
    text = encode_compact(cosigned)
    assert decode_compact(text) == cosigned  # compact array version 2
    # Now, or the checkpoint's time when the in-process EVM (a second a block) runs ahead.
    now = max(int(time.time()), witness.timestamp)
    result = verify_bundle(cosigned, None, at=now, root=root.verify())
    checks = {c.name: c for c in result.checks}
    assert result.basis == "witnessed" and checks["trust"].passed
    assert "witnessed by 41, 43 (2 of 3, 2 needed)" in checks["trust"].detail
    # The tests' certificates are dated by a fixed clock (2025) while the in-process chain runs
    # on real time: the verifier's own rule check disputes the late anchoring, nothing else.
    assert [c.name for c in result.checks if c.passed is False] == ["rules"]
    assert [d.kind for d in result.disputes] == ["deadline.over_six_months"]
    # One cosignature is below the threshold: not witnessed.
    alone = dataclasses.replace(witness, cosignatures=witness.cosignatures[:1])
    result = verify_bundle(
        dataclasses.replace(bundle, witness=alone), None, at=now, root=root.verify()
    )
    assert result.code != "VALID" and not {c.name: c for c in result.checks}["trust"].passed


def test_a_rewritten_log_is_refused_and_the_auditor_reports_it(consortium: Consortium) -> None:
    guangdong = consortium["44"].node
    everyone_witnesses(consortium)  # checkpoint 0 cosigned by all
    # Guangdong's next checkpoint: a true root and consistency proof (the contract checks
    # those), but a manifest whose entries are not the log's (two swapped): the log it
    # publishes is not the one the root commits to.
    issue(guangdong, 4)
    issue(guangdong, 5)
    with guangdong.db.transaction() as session:
        log = ProvinceLog(session, "44")
        entries = list(log.entry_bytes(3, 5))
        root, proof = log.merkle.root(5), log.merkle.consistency_proof(3, 5)
    data = manifest_bytes("44", 1, 3, 5, root, [entries[1], entries[0]])
    Manifest.from_bytes(data)  # a well-formed manifest
    cid = guangdong.store.put(data)
    assert guangdong.client.anchor(5, root, proof, cid).index == 1

    done = everyone_witnesses(consortium)
    assert (done.cosigned, done.refused) == (0, 3)
    everyone_witnesses(consortium)  # collect
    answer = (
        consortium["43"]
        .get("/v1/cosignatures", {"province": "44", "index": "1", "kind": "refusal"})
        .json()
    )
    [checkpoint] = answer["checkpoints"]
    assert checkpoint["refused_by"] == ["41", "43", "44"] and not checkpoint["witnessed"]
    rules = {s["witness"]: s["rule"] for s in answer["statements"]}
    assert rules == dict.fromkeys(PROVINCES, "witness.inconsistent")
    assert "give root" in answer["statements"][0]["detail"]
    # Nothing more on another pass.
    assert everyone_witnesses(consortium) == WitnessPass()

    report = audit(
        guangdong.client,
        guangdong.store,
        AuditOptions(apis=(ApiTarget(consortium["41"].url, "41"),), api_sample=1),
    )
    refused = [f for f in report.findings if f.kind == "witness.refused"]
    assert {f.evidence["witness"] for f in refused} == set(PROVINCES)
    for finding in refused:
        assert finding.province == "44"
        assert finding.evidence["checkpoint_index"] == 1
        assert finding.evidence["rule"] == "witness.inconsistent"
        assert finding.evidence["on_chain"] is True


def test_the_endpoint_checks_its_parameters_and_needs_no_key(consortium: Consortium) -> None:
    everyone_witnesses(consortium)
    empty = consortium["44"].get("/v1/cosignatures", {"province": "41"})
    assert empty.status_code == 200 and empty.json()["checkpoints"] == []
    for params in ({"province": "4"}, {}, {"province": "44", "index": "-1"},
                   {"province": "44", "kind": "other"}):  # fmt: skip
        refused = consortium["44"].get("/v1/cosignatures", params)
        assert refused.status_code == 422, params
    listed = consortium["44"].get("/v1/cosignatures", {"province": "44", "witness": "44"}).json()
    assert [s["witness"] for s in listed["statements"]] == ["44"]


def test_a_key_that_is_not_the_published_one_is_refused(consortium: Consortium) -> None:
    node = consortium["41"].node
    node.witness = CheckpointWitness(
        node.db, "41", node.client, node.store, node.network, suite="ed25519",
        private_key=witness_key("99"), clock=node.clock,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as raised:
        node.witness_once()
    assert raised.value.rule == "witness.key"
    assert rows(node) == 0


def test_the_node_loop_witnesses_and_a_wrong_key_does_not_stop_it(
    consortium: Consortium,
) -> None:
    henan = consortium["41"].node
    henan.witness_interval = 0.05
    stop = threading.Event()
    loop = threading.Thread(target=henan.run, args=(stop,), kwargs={"poll_seconds": 0.05})
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while rows(henan) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=30)
    assert rows(henan) >= 1  # Henan cosigned Guangdong's checkpoint 0 in its loop
    with henan.db.transaction() as session:
        [mine] = WitnessStatements(session).of("44", index=0, witness="41")
    assert mine.kind == "cosignature"

    # A key that is not the published one: witnessing stops, the loop goes on.
    before = rows(henan)
    henan.witness = CheckpointWitness(
        henan.db, "41", henan.client, henan.store, henan.network,
        suite="ed25519", private_key=witness_key("99"), clock=henan.clock,
    )  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=henan.run, args=(stop,), kwargs={"poll_seconds": 0.05})
    loop.start()
    try:
        deadline = time.monotonic() + 30
        while henan.witness is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert loop.is_alive()  # still anchoring (nothing due) after witnessing stopped
    finally:
        stop.set()
        loop.join(timeout=30)
    assert henan.witness is None and rows(henan) == before


def test_a_checkpoint_rewritten_after_it_was_cosigned_is_refused(consortium: Consortium) -> None:
    """The chain replaced checkpoint 1 after the members cosigned it (a reorganisation past the
    confirmations, simulated by reverting the in-process EVM): same index, another size and
    root, so every member refuses it (``witness.rewritten``)."""
    guangdong = consortium["44"].node
    w3 = guangdong.client.w3
    before = w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]
    issue(guangdong, 4)
    issue(guangdong, 5)
    guangdong.anchor_all()
    assert everyone_witnesses(consortium).cosigned == 6
    w3.provider.make_request(RPCEndpoint("evm_revert"), [before])
    assert guangdong.client.checkpoint_count(44) == 1
    with guangdong.db.transaction() as session:
        log = ProvinceLog(session, "44")
        entries = list(log.entry_bytes(3, 4))
        root, proof = log.merkle.root(4), log.merkle.consistency_proof(3, 4)
    cid = guangdong.store.put(manifest_bytes("44", 1, 3, 4, root, entries))
    assert guangdong.client.anchor(4, root, proof, cid).index == 1

    done = everyone_witnesses(consortium)
    assert (done.cosigned, done.refused) == (0, 3)
    answer = consortium["44"].get("/v1/cosignatures", {"province": "44", "index": "1"}).json()
    by_root = {c["root"]: c for c in answer["checkpoints"]}
    assert by_root[root.hex()]["refused_by"] == ["44"] and not by_root[root.hex()]["witnessed"]
    [refusal] = [s for s in answer["statements"] if s["kind"] == "refusal"]
    assert refusal["rule"] == "witness.rewritten"
    assert "witnessed with size 5" in refusal["detail"] and "now has size 4" in refusal["detail"]
    assert everyone_witnesses(consortium).refused == 0  # (collects the others' refusals)
    assert everyone_witnesses(consortium) == WitnessPass()
