"""Fault injection: a province node killed with SIGKILL at random moments during intake and
anchoring (at least 20 kills), restarted each time. Afterwards every accepted certificate is
anchored exactly once and has a bundle that verifies, and no checkpoint was anchored twice.

The node runs as a child process against a real anvil with a SQLite file and a local manifest
store; the parent kills it after a random delay (seeded, so a failure can be replayed with the
same ``CERTREG_FAULT_SEED``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore, Manifest
from anchor.snapshot import take_snapshot
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.merkle import verify_consistency, verify_inclusion
from node.core.verify import ResultCode, verify_bundle
from node.storage import CertificateRepository, CheckpointRepository, ProvinceLog
from province.config import load_config, new_config, write_config
from province.node import ProvinceNode
from tests.conftest import ROOT
from tests.province.helpers import file_sample_organisation
from tests.province.submissions import write_submission

pytestmark = pytest.mark.anvil

PER_RUN = 30
KILLS = 22
OPERATOR_KEY = ANVIL_DEV_KEYS[0]  # anvil account 0, operator of province 44


def _start(home: Path, submission: Path, workers: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.province.fault_driver",
            str(home),
            str(submission),
            str(workers),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    anvil_node: AnvilNode, tmp_path: Path
) -> None:
    seed = int(os.environ.get("CERTREG_FAULT_SEED", "20261123"))
    rng = random.Random(seed)
    w3 = connect(anvil_node.url)
    accounts = w3.eth.accounts
    deployer, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1]), (43, accounts[2])], sender=accounts[0]
    )
    home = tmp_path / "node44"
    write_config(
        new_config(
            home,
            province="44",
            rpc=anvil_node.url,
            contract=deployer.address,
            operator_key=OPERATOR_KEY,
            batch_size=7,
            max_age_seconds=3600,
        ),
        home,
    )
    node = ProvinceNode.open(load_config(home))
    file_sample_organisation(node.db, node.client)
    network = node.network
    node.close()
    submission = tmp_path / "batch.jsonl"
    submission.touch()

    kills = runs = written = 0
    landed = {"anchoring": 0, "intake": 0, "between": 0}
    while kills < KILLS:
        runs += 1
        assert runs <= 4 * KILLS, f"only {kills} of {runs} runs were killed while working"
        # Each run has new certificates to take in (and resubmits the whole file).
        write_submission(submission, network, range(written + 1, written + PER_RUN + 1),
                         append=True)  # fmt: skip
        written += PER_RUN
        # Every third run takes the file in through worker processes, as `node ingest
        # --workers` does; the kill (of the process group) then lands with chunks in flight.
        pooled = runs % 3 == 0
        child = _start(home, submission, workers=2 if pooled else 0)
        assert child.stdout is not None and child.stderr is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.0, 0.3 if pooled else 0.8))
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            kills += 1
            node = ProvinceNode.open(load_config(home))
            state = node.status()
            node.close()
            # Where the kill landed: with a checkpoint open (during anchoring), or with
            # entries not yet in a checkpoint (during intake), or neither.
            if state.open_checkpoint is not None:
                landed["anchoring"] += 1
            elif state.log_size > state.anchored_size:
                landed["intake"] += 1
            else:
                landed["between"] += 1
        else:
            assert child.returncode == 0, child.stderr.read()[-2000:]
        child.stdout.close()
        child.stderr.close()

    print(f"SIGKILL landed: {landed} in {runs} runs")
    # A last run to completion.
    child = _start(home, submission)
    out, err = child.communicate(timeout=600)
    assert child.returncode == 0 and out.split() == ["ready", "done"], err[-2000:]

    node = ProvinceNode.open(load_config(home))
    try:
        _check_everything_once(node, home, written)
    finally:
        node.close()


def _check_everything_once(node: ProvinceNode, home: Path, expected: int) -> None:
    client = node.client
    with node.db.transaction() as session:
        log = ProvinceLog(session, "44")
        size = log.size
        entries = list(log.entries(0, size))
        checkpoints = CheckpointRepository(session, "44")
        latest = checkpoints.latest()
        assert latest is not None
        ours = [checkpoints.get(i) for i in range(latest.index + 1)]
        certificates = CertificateRepository(session, node.cipher, node.blind_index)
        records = [certificates.get(e.entry.commitment) for e in entries]

    # Every certificate accepted exactly once: one entry per number, one row per entry.
    assert size == expected
    numbers = [e.entry.certificate_number for e in entries]
    assert len(set(numbers)) == expected
    assert len({e.entry.commitment for e in entries}) == expected
    assert all(r is not None and r.log_index == i for i, r in enumerate(records))

    # The chain holds exactly our checkpoints, each once, each extending the one before.
    count = client.checkpoint_count(44)
    assert count == len(ours) and all(c is not None and c.state == "confirmed" for c in ours)
    events = list(client.iter_events(names=["CheckpointAnchored"]))
    assert len(events) == count, "a checkpoint was anchored twice"
    assert len({int(e.args["size"]) for e in events}) == count
    previous = None
    for index in range(count):
        on_chain = client.checkpoint(44, index)
        record = ours[index]
        assert record is not None
        assert (on_chain.size, on_chain.root) == (record.tree_size, record.root)
        assert on_chain.transaction_hash == record.transaction_hash
        if previous is not None:
            with node.db.transaction() as session:
                proof = ProvinceLog(session, "44").merkle.consistency_proof(
                    previous.size, on_chain.size
                )
            verify_consistency(previous.size, on_chain.size, proof, previous.root, on_chain.root)
        # Every manifest is in the store and lists exactly the checkpoint's new entries.
        store = LocalManifestStore(home / "manifests")
        manifest = Manifest.from_bytes(store.get(on_chain.manifest_cid))
        first = 0 if previous is None else previous.size
        assert manifest.previous_size == first and manifest.tree_size == on_chain.size
        assert [e.leaf_hash() for e in manifest.entries] == [
            s.leaf_hash for s in entries[first : on_chain.size]
        ]
        previous = on_chain
    assert previous is not None and previous.size == expected

    # Every certificate has a bundle that verifies against a snapshot of the chain.
    bundles = list(node.bundles.iter_bundles())
    assert len(bundles) == expected
    trust = SnapshotTrustSource(take_snapshot(client))
    now = int(time.time()) + 60
    for _, bundle in bundles:
        result = verify_bundle(bundle, trust, at=now)
        assert result.code is ResultCode.VALID, result.to_json()
    for record, bundle in bundles:
        root = client.root_at(44, bundle.proof.tree_size)
        assert root is not None and root == bundle.anchor.root
        verify_inclusion(
            bundle.entry.leaf_hash(), record.log_index or 0, bundle.proof.tree_size,
            bundle.proof.hashes, root,
        )  # fmt: skip
        assert json.loads(json.dumps(bundle.to_json()))["entry"]["commitment"] == (
            record.commitment.hex()
        )
