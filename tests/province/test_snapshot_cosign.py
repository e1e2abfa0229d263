"""Snapshots signed by a threshold of members, collected by the node that serves them.

Three province nodes (tests/province/federation_nodes.py: one in-process EVM, real uvicorn
servers on loopback), each with its checkpoint-signing key published on the contract:
Guangdong's ``GET /v1/snapshot`` carries its own signature and those of Henan and Hunan, each
of which rebuilt the snapshot from its own reading of the chain (``POST /v1/snapshot/cosign``),
so a verifier holding only the trust root trusts it. With one peer down, two of three members
still sign (the threshold); a peer's refusal leaves its signature out and is logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from anchor.trust_roots import assemble, root_body_from_chain, sign_root
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.formats.trust import TrustRootBody
from node.core.verify import verify_bundle_text
from tests.api.helpers import genuine_but_late
from tests.province.federation_nodes import PROVINCES, Consortium, checkpoint_key, start_consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    started = start_consortium(tmp_path_factory.mktemp("cosign"), checkpoint_keys=True)
    try:
        yield started
    finally:
        started.close()


def _root(consortium: Consortium) -> TrustRootBody:
    client = consortium["44"].node.client
    body = root_body_from_chain(client)
    signatures = [sign_root(body, p, "ed25519", checkpoint_key(p)) for p in PROVINCES]
    return assemble(body, signatures).verify()


def _verify(consortium: Consortium, snapshot: Snapshot) -> dict[str, Any]:
    bundle = consortium["44"].node.bundles.bundle(consortium.issued[0].commitment)
    return verify_bundle_text(
        json.dumps(bundle.to_json()),
        SnapshotTrustSource(snapshot),
        at=max(int(time.time()), snapshot.block.timestamp),
        root=_root(consortium),
        max_age=3600,
    ).to_json()


def test_the_served_snapshot_carries_every_members_signature(consortium: Consortium) -> None:
    served = requests.get(consortium["44"].url + "/v1/snapshot", timeout=30).json()
    assert [s["province"] for s in served["signatures"]] == ["41", "43", "44"]
    verdict = _verify(consortium, Snapshot.from_json(served))
    trust = next(c for c in verdict["checks"] if c["name"] == "trust")
    assert trust["passed"] is True and "41, 43, 44" in trust["detail"], trust
    # Issued in June 2025 on a chain running on today's clock: every check but the deadline.
    assert genuine_but_late(verdict)


def test_with_a_peer_down_the_threshold_still_signs(
    consortium: Consortium, caplog: pytest.LogCaptureFixture
) -> None:
    hunan = consortium["43"]
    hunan.server.stop()
    try:
        guangdong = consortium["44"]
        # Guangdong signs afresh on this request (as it does when the chain moves or its
        # signed snapshot is ten minutes old).
        guangdong.server.app.state.context.snapshots.resign_seconds = 0
        with caplog.at_level(logging.WARNING, logger="api.snapshots"):
            served = requests.get(guangdong.url + "/v1/snapshot", timeout=30).json()
        assert [s["province"] for s in served["signatures"]] == ["41", "44"]
        assert "snapshot cosignature of 43 left out" in caplog.text
        verdict = _verify(consortium, Snapshot.from_json(served))
        assert genuine_but_late(verdict)
        # Only Guangdong's own signature: below the threshold of two.
        alone = Snapshot.from_json({**served, "signatures": served["signatures"][1:]})
        assert _verify(consortium, alone)["result"] == "UNTRUSTED_SNAPSHOT"
    finally:
        hunan.server.start()
