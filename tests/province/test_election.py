"""Two ``certreg node run`` processes over one real PostgreSQL database (issue "A province at
full size", item 1): one is active, the other waits as a standby; the active one is SIGKILLed
while checkpoints are still due and the standby takes over. Every entry ends up anchored,
no checkpoint twice (CheckpointAnchored events counted on the chain), and the audit is clean."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from anchor.chain import RegistryClient, connect
from certreg.cli import main
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.storage import open_database
from node.storage.leader import LeaderLock
from province.config import load_config
from province.node import ProvinceNode
from tests.province.submissions import write_submission
from tests.province.test_cli import file_org
from tests.province.test_faults import _check_everything_once
from tests.servers import PostgresAdmin

pytestmark = pytest.mark.anvil

FIRST = 20  # rows taken in before the workers start
ROUND = 5  # rows taken in per kill (one checkpoint's worth: batch size 5)
KILLS = 3


class Worker:
    """A ``certreg node run`` child and the lines it printed (read on a thread)."""

    def __init__(self, home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "certreg", "node", "run", "--dir", str(home), "--poll", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.process.poll() is None, self.stderr()
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line within {timeout} s: {self.seen}")

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()[-3000:] if self.process.poll() is not None else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _role(worker: Worker, timeout: float = 60) -> str:
    return worker.wait_for("anchoring worker ", timeout).removeprefix("anchoring worker ")


def _anchored(home: Path) -> tuple[int, int]:
    node = ProvinceNode.open(load_config(home))
    try:
        status = node.status()
        return status.log_size, status.anchored_size
    finally:
        node.close()


def _ingest(home: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["node", "ingest", str(path), "--dir", str(home), "--json", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out


def test_leader_lock_is_exclusive_and_freed_when_its_connection_ends(
    postgres: PostgresAdmin,
) -> None:
    a = open_database(postgres.create(migrated=True), migrate=False)
    b = open_database(a.engine.url.render_as_string(hide_password=False), migrate=False)
    try:
        first, second = LeaderLock(a, "test:lock"), LeaderLock(b, "test:lock")
        assert first.try_acquire() and first.held()
        assert not second.try_acquire() and not second.held()
        assert LeaderLock(b, "test:other").try_acquire()  # another name is another lock
        first._connection.invalidate()  # type: ignore[union-attr]  # the holder's socket dies
        assert not first.held()
        assert second.try_acquire() and second.held()
        second.release()
        assert not second.held() and first.try_acquire()
        first.release()
    finally:
        a.dispose()
        b.dispose()


def _open_checkpoint(url: str, timeout: float) -> bool:
    """Wait (polling every millisecond) until province 44 has a checkpoint on its way to the
    chain (``pending`` or ``submitted``); False when none was seen within ``timeout``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:  # fmt: skip
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM checkpoints WHERE province = '44' "
                "AND state IN ('pending', 'submitted')"
            ).fetchone()
            if row is not None and row[0]:
                return True
            time.sleep(0.001)
    return False


@pytest.mark.usefixtures("today_calendar_environment")  # certificates received today
def test_standby_takes_over_from_a_killed_worker_and_nothing_is_anchored_twice(
    postgres: PostgresAdmin,
    anvil_node: AnvilNode,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    w3 = connect(anvil_node.url)
    accounts = w3.eth.accounts
    client, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1])], sender=accounts[0]
    )
    home = tmp_path / "node44"
    url = postgres.create(migrated=False)
    assert main([
        "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", client.address, "--operator-key", ANVIL_DEV_KEYS[0], "--batch-size", "5",
        "--database", url, "--json",
    ]) == 0  # fmt: skip
    capsys.readouterr()
    file_org(capsys, home, tmp_path)
    network = ProvinceNode.open(load_config(home)).network
    written = 0
    # Issued two days ago and received today (the audit checks the deadlines against blocks).
    issued = dt.datetime.now(CHINA).date() - dt.timedelta(days=2)

    def ingest(rows: int) -> None:
        nonlocal written
        path = write_submission(tmp_path / f"{written}.jsonl", network,
                                range(written + 1, written + rows + 1), issued=issued)  # fmt: skip
        _ingest(home, path, capsys)
        written += rows

    ingest(FIRST)
    workers = [Worker(home), Worker(home)]
    mid_anchoring = 0
    try:
        roles = {id(w): _role(w) for w in workers}
        assert sorted(roles.values()) == ["active", "standby"], roles
        active = next(w for w in workers if roles[id(w)] == "active")
        standby = next(w for w in workers if w is not active)
        active.wait_for("anchored checkpoint")
        for _ in range(KILLS):
            # New entries make a checkpoint due; the active worker is SIGKILLed as soon as
            # that checkpoint is on its way (pending or submitted, not yet confirmed).
            ingest(ROUND)
            mid_anchoring += _open_checkpoint(url, timeout=10)
            active.process.kill()
            active.process.wait()
            assert _role(standby) == "active"
            # A new standby joins; the old one is the active worker now.
            active, standby = standby, Worker(home)
            workers.append(standby)
            assert _role(standby) == "standby"
        ingest(ROUND)
        deadline = time.monotonic() + 90
        while _anchored(home) != (written, written):
            assert time.monotonic() < deadline, _anchored(home)
            assert active.process.poll() is None, active.stderr()
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop()
    assert active.process.returncode == 0, active.stderr()
    assert standby.process.returncode == 0, standby.stderr()
    assert mid_anchoring == KILLS, "a kill did not land while a checkpoint was being anchored"

    node = ProvinceNode.open(load_config(home))
    try:
        _check_everything_once(node, home, written)
    finally:
        node.close()
    status = main(["audit", "--rpc", anvil_node.url, "--contract", client.address,
                   "--manifests", str(home / "manifests"), "--json", "--workers", "1"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["clean"] is True, (
        report["finding_counts"],
        report["findings"][:3],
    )
