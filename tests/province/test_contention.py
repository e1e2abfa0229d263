"""``certreg node run`` and ``certreg node ingest`` on one SQLite file, the documented way to run
a node: they wait for each other and never abort (issue "Hostile input and contention": 5 of 20
ingest runs aborted with "database is locked" and the worker exited 6 times)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from anchor.chain import RegistryClient, connect
from certreg.cli import main
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from province.config import load_config
from province.node import ProvinceNode
from tests.province.helpers import ON_TIME
from tests.province.submissions import write_submission
from tests.province.test_cli import file_org

pytestmark = pytest.mark.anvil

ROUNDS = 20
ROWS = 12


def test_twenty_rounds_of_run_and_ingest_never_abort(
    anvil_node: AnvilNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w3 = connect(anvil_node.url)
    accounts = w3.eth.accounts
    client, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1])], sender=accounts[0]
    )
    home = tmp_path / "node44"
    assert main([
        "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", client.address, "--operator-key", ANVIL_DEV_KEYS[0], "--batch-size", "1",
        "--json",
    ]) == 0  # fmt: skip
    capsys.readouterr()
    file_org(capsys, home, tmp_path)
    network = ProvinceNode.open(load_config(home)).network
    files = [
        write_submission(tmp_path / f"{r}.jsonl", network, range(r * ROWS + 1, (r + 1) * ROWS + 1))
        for r in range(ROUNDS + 1)
    ]
    # Entries for the worker to anchor as soon as it is up.
    assert main(["node", "ingest", str(files.pop(0)), "--dir", str(home), "--received-on",
                 ON_TIME.isoformat(), "--json", "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    # The worker anchors a checkpoint for every entry (batch size 1, polling every 10 ms), so it
    # writes to the database all the time the ingests do.
    worker = subprocess.Popen(
        [sys.executable, "-m", "certreg", "node", "run", "--dir", str(home), "--poll", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert worker.stdout is not None
        first = worker.stdout.readline()  # blocks until its first checkpoint is anchored
        assert first.startswith("anchored checkpoint"), first
        totals = []
        for path in files:
            status = main([
                "node", "ingest", str(path), "--dir", str(home), "--received-on",
                ON_TIME.isoformat(), "--chunk-size", "2", "--json", "--quiet",
            ])  # fmt: skip
            out = capsys.readouterr().out
            totals.append((status, json.loads(out)))
            assert worker.poll() is None, "the worker exited"
        assert [s for s, _ in totals] == [0] * ROUNDS, totals
        assert [t["accepted"] for _, t in totals] == [ROWS] * ROUNDS
        assert all("aborted" not in t for _, t in totals)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, err = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    status = main(["node", "status", "--dir", str(home), "--json"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["log_size"] == (ROUNDS + 1) * ROWS
