"""The node's own verification re-runs the public rules, and its snapshot is signed.

Over the demo province (certreg/dev/demo.py: SQLite, the in-process EVM, certificates issued
today): ``POST /v1/verify`` answers ``VALID`` for a certificate anchored on time and ``DISPUTED``
for one anchored seven months after its issue date (a backdated certificate), as the CLI and the
page do with a version 2 snapshot; ``GET /v1/snapshot`` is version 2, signed by the node with
its checkpoint-signing key (``certreg serve --checkpoint-key``) so that a verifier holding the
trust root trusts it, and unsigned (``UNTRUSTED_SNAPSHOT`` under a trust root) without one;
``POST /v1/snapshot/cosign`` signs only the snapshot this node rebuilds itself.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from anchor.audit_statements import publish_statement
from anchor.errors import ContractRevert
from anchor.trust_roots import assemble, publish_checkpoint_key, root_body_from_chain, sign_root
from api.app import create_app
from api.context import ApiSettings
from certreg.dev.demo import PROVINCE, Demo, make_demo, next_row
from node.core.crypto.signatures import get_suite
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.formats.trust import AuditFinding, AuditStatement, TrustRootBody, snapshot_message
from node.core.verify import verify_bundle_text

ROOT = Path(__file__).resolve().parents[2]
ED25519 = get_suite("ed25519")
CHECKPOINT_KEY = ED25519.generate_private_key(b"api checkpoint key".ljust(32, b"."))
SEVEN_MONTHS = 213 * 24 * 3600


@dataclasses.dataclass
class Node:
    demo: Demo
    client: TestClient
    root: TrustRootBody

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.demo.keys[role]}"}

    def bundle(self, commitment: str) -> dict[str, Any]:
        reply = self.client.get(
            f"/v1/certificates/{commitment}/bundle", headers=self.auth("issuer")
        )
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body


def _node(folder: Path, *, signed: bool) -> Iterator[Node]:
    demo = make_demo(folder, certificates=2)
    publish_checkpoint_key(demo.node.client, "ed25519", ED25519.public_key(CHECKPOINT_KEY))
    body = root_body_from_chain(demo.node.client)
    root = assemble(body, [sign_root(body, PROVINCE, "ed25519", CHECKPOINT_KEY)]).verify()
    key_file = folder / "checkpoint-key.hex"
    key_file.write_text(CHECKPOINT_KEY.hex() + "\n", encoding="ascii")
    settings = ApiSettings(verify_burst=1000, checkpoint_key=key_file if signed else None)
    try:
        with TestClient(create_app(demo.node, settings)) as client:
            yield Node(demo, client, root)
    finally:
        demo.node.close()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    yield from _node(tmp_path, signed=True)


def _wait_for_the_chain_clock(node: Node) -> None:
    """The in-process EVM stamps each block at least a second after its parent; verifying "now"
    before the wall clock reaches the head block would see a checkpoint from the future."""
    head = node.demo.node.client.w3.eth.get_block("latest")["timestamp"]
    while time.time() <= head:
        time.sleep(0.1)


def test_a_certificate_anchored_on_time_is_valid_and_the_rules_say_why(node: Node) -> None:
    _wait_for_the_chain_clock(node)
    bundle = node.bundle(node.demo.certificates[0]["commitment"])
    verdict = node.client.post("/v1/verify", json=bundle).json()
    assert verdict["result"] == "VALID", verdict
    rules = next(c for c in verdict["checks"] if c["name"] == "rules")
    assert rules["passed"] is True
    assert rules["detail"].startswith("number carries the issue year and level; anchored ")


def test_a_backdated_certificate_is_disputed_by_the_node_and_offline(node: Node) -> None:
    """Issued today, anchored seven months later: the node, and a verifier holding the node's
    signed snapshot and the trust root, answer DISPUTED naming the deadline rule."""
    issued = node.client.post(
        "/v1/certificates", json=next_row(node.demo, 900), headers=node.auth("issuer")
    )
    assert issued.status_code == 201, issued.text
    w3 = node.demo.node.client.w3
    latest = w3.eth.get_block("latest")["timestamp"]
    w3.provider.ethereum_tester.time_travel(latest + SEVEN_MONTHS)  # type: ignore[attr-defined]
    node.client.post("/v1/checkpoints", headers=node.auth("operator")).raise_for_status()
    bundle = node.bundle(issued.json()["commitment"])

    verdict = node.client.post("/v1/verify", json=bundle).json()
    assert verdict["result"] == "DISPUTED"
    assert [d["kind"] for d in verdict["disputes"]] == ["deadline.over_six_months"]
    # The certificates anchored on the day of issue stay VALID on the same chain.
    on_time = node.bundle(node.demo.certificates[0]["commitment"])
    assert node.client.post("/v1/verify", json=on_time).json()["result"] == "VALID"

    # Offline, with the node's signed snapshot and the trust root (verified as of the head
    # block: the test chain's clock now runs seven months ahead of the snapshot's time).
    snapshot = Snapshot.from_json(node.client.get("/v1/snapshot").json())
    offline = verify_bundle_text(
        encode_compact_of(bundle),
        SnapshotTrustSource(snapshot),
        at=snapshot.block.timestamp,
        root=node.root,
    )
    assert offline.code.value == "DISPUTED"
    assert [d.kind for d in offline.disputes] == ["deadline.over_six_months"]


def encode_compact_of(bundle: dict[str, Any]) -> str:
    from node.core.formats.bundle import Bundle

    return encode_compact(Bundle.from_json(bundle))


def test_the_snapshot_is_signed_by_the_node_and_trusted_with_the_root(node: Node) -> None:
    _wait_for_the_chain_clock(node)
    served = node.client.get("/v1/snapshot").json()
    assert served["version"] == 2 and [s["province"] for s in served["signatures"]] == [PROVINCE]
    schema = json.loads((ROOT / "schemas" / "snapshot-v2.schema.json").read_text("utf-8"))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(served)] == []
    snapshot = Snapshot.from_json(served)
    assert abs(snapshot.time - time.time()) < 120
    assert snapshot.extras is not None and snapshot.extras.calendar is not None
    text = json.dumps(node.bundle(node.demo.certificates[0]["commitment"]))
    at = int(time.time())
    trusted = verify_bundle_text(
        text, SnapshotTrustSource(snapshot), at=at, root=node.root, max_age=3600
    )
    assert trusted.code.value == "VALID", trusted.to_json()
    # The same snapshot is served again while the chain does not move (signed once).
    assert node.client.get("/v1/snapshot").json() == served
    # Any change to what was signed, and the signature no longer counts.
    forged = dict(served, time=served["time"] - 1)
    untrusted = verify_bundle_text(
        text, SnapshotTrustSource(Snapshot.from_json(forged)), at=at, root=node.root, max_age=3600
    )
    assert untrusted.code.value == "UNTRUSTED_SNAPSHOT"


def test_without_a_checkpoint_key_the_snapshot_is_unsigned(tmp_path: Path) -> None:
    for unsigned in _node(tmp_path, signed=False):
        _wait_for_the_chain_clock(unsigned)
        served = unsigned.client.get("/v1/snapshot").json()
        assert served["version"] == 2 and served["signatures"] == []
        text = json.dumps(unsigned.bundle(unsigned.demo.certificates[0]["commitment"]))
        snapshot = SnapshotTrustSource(Snapshot.from_json(served))
        at = int(time.time())
        assert verify_bundle_text(text, snapshot, at=at).code.value == "VALID"
        refused = verify_bundle_text(text, snapshot, at=at, root=unsigned.root, max_age=3600)
        assert refused.code.value == "UNTRUSTED_SNAPSHOT"
        reply = unsigned.client.post("/v1/snapshot/cosign", json=_request(served))
        assert reply.status_code == 422
        assert reply.json()["rule"] == "snapshot.cosign_unavailable"


def _request(snapshot: dict[str, Any], **changes: Any) -> dict[str, Any]:
    parsed = Snapshot.from_json(snapshot)
    body: dict[str, Any] = {
        "block": {"number": parsed.block.number, "hash": "0x" + parsed.block.hash.hex()},
        "time": parsed.time,
        "digest": parsed.digest().hex(),
    }
    body.update(changes)
    return body


def test_the_node_cosigns_only_the_snapshot_it_rebuilds(node: Node) -> None:
    served = node.client.get("/v1/snapshot").json()
    parsed = Snapshot.from_json(served)
    good = node.client.post("/v1/snapshot/cosign", json=_request(served))
    assert good.status_code == 200, good.text
    signature = bytes.fromhex(good.json()["signature"])
    assert good.json()["province"] == PROVINCE
    ED25519.verify(
        ED25519.public_key(CHECKPOINT_KEY),
        snapshot_message(parsed.digest(), parsed.time),
        signature,
    )
    cases = {
        "snapshot.cosign_digest": {"digest": "00" * 32},
        "snapshot.cosign_time": {"time": parsed.time - 3600},
        "snapshot.cosign_block": {
            "block": {"number": parsed.block.number, "hash": "0x" + "11" * 32}
        },
    }
    for rule, change in cases.items():
        reply = node.client.post("/v1/snapshot/cosign", json=_request(served, **change))
        assert (reply.status_code, reply.json()["rule"]) == (422, rule), reply.text
    # A block this node does not keep (long past, or not final here yet).
    later = {"number": parsed.block.number + 50, "hash": "0x" + parsed.block.hash.hex()}
    reply = node.client.post("/v1/snapshot/cosign", json=_request(served, block=later))
    assert reply.json()["rule"] == "snapshot.cosign_block"
    # Malformed requests are refused by shape, naming the field.
    bad = node.client.post("/v1/snapshot/cosign", json=_request(served, digest="xyz"))
    assert bad.status_code == 422


def test_an_audit_finding_published_on_chain_reaches_the_verifiers(node: Node) -> None:
    """An auditor's statement naming leaf 0 (stored, then referenced on chain): the node's
    snapshot carries it, and the node and an offline verifier answer DISPUTED for that leaf
    only."""
    chain = node.demo.node.client
    checkpoint = chain.latest_checkpoint(int(PROVINCE))
    assert checkpoint is not None
    first, second = (node.bundle(c["commitment"]) for c in node.demo.certificates[:2])
    statement = AuditStatement(
        node.demo.node.network,
        PROVINCE,
        checkpoint.index,
        checkpoint.size,
        checkpoint.root,
        (
            AuditFinding(
                0, "signature.invalid", bytes.fromhex(node.demo.certificates[0]["commitment"])
            ),
        ),
    )
    cid, _ = publish_statement(chain, node.demo.node.store, statement)
    _wait_for_the_chain_clock(node)

    verdict = node.client.post("/v1/verify", json=first).json()
    assert verdict["result"] == "DISPUTED", verdict
    assert [d["kind"] for d in verdict["disputes"]] == ["signature.invalid"]
    assert node.client.post("/v1/verify", json=second).json()["result"] == "VALID"

    served = node.client.get("/v1/snapshot").json()
    assert [(a["cid"], a["statement"]) for a in served["audits"]] == [(cid, statement.to_json())]
    snapshot = SnapshotTrustSource(Snapshot.from_json(served))
    offline = verify_bundle_text(json.dumps(first), snapshot, at=int(time.time()), root=node.root)
    assert offline.code.value == "DISPUTED"
    assert [d.kind for d in offline.disputes] == ["signature.invalid"]


def test_a_statement_that_does_not_match_its_checkpoint_is_left_out(node: Node) -> None:
    chain = node.demo.node.client
    checkpoint = chain.latest_checkpoint(int(PROVINCE))
    assert checkpoint is not None
    wrong = AuditStatement(
        node.demo.node.network, PROVINCE, checkpoint.index, checkpoint.size, b"\x01" * 32, ()
    )
    publish_statement(chain, node.demo.node.store, wrong)
    assert node.client.get("/v1/snapshot").json()["audits"] == []
    # Refused on chain: a checkpoint that does not exist, a zero content hash.
    with pytest.raises(ContractRevert, match="ProvinceLogsUnknownCheckpoint"):
        chain.publish_audit_statement(int(PROVINCE), 99, b"\x01" * 32, "Qm")
    with pytest.raises(ContractRevert, match="ProvinceLogsInvalidAuditStatement"):
        chain.publish_audit_statement(int(PROVINCE), 0, b"\x00" * 32, "Qm")
