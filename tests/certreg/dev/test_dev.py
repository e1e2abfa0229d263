"""``certreg dev up`` / ``down`` / ``walkthrough`` end to end: real anvil (and the real js-ipfs
daemon when it is installed), real API servers and workers in the background, the walkthrough
through them, every process gone after ``down``, and a restart that keeps the state.

Each ``certreg`` call is a separate process, as a user runs it, so the background processes
must outlive the command that started them. N is small (60 certificates) to stay fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from certreg.dev.anvil import find_anvil
from certreg.dev.processes import is_running, read_records
from node.core.errors import ChainError
from tests.servers import missing

CERTIFICATES = 60


def certreg(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certreg", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def up(folder: Path, *extra: str) -> dict[str, Any]:
    done = certreg("dev", "up", "--dir", str(folder), "--certificates", str(CERTIFICATES),
                   "--json", "--quiet", *extra)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = done.stdout.splitlines()  # exactly one JSON object on stdout
    result: dict[str, Any] = json.loads(line)
    return result


def down(folder: Path) -> list[int]:
    """Stop the consortium; return the PIDs it had recorded, all checked to be gone."""
    pids = [r.pid for r in read_records(folder)]
    done = certreg("dev", "down", "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    assert pids and not [p for p in pids if is_running(p)]
    return pids


def certificate_count(result: dict[str, Any]) -> int:
    return sum(
        requests.get(p["api_url"] + "/v1/status", timeout=10).json()["log_size"]
        for p in result["provinces"].values()
    )


def block_number(url: str) -> int:
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=5
    )
    return int(reply.json()["result"], 16)


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    try:
        find_anvil()
    except ChainError as exc:
        missing(os.environ, str(exc))
    path = tmp_path / "consortium"
    yield path
    if path.exists():  # whatever a failed test left running
        certreg("dev", "down", "--dir", str(path))


def test_up_walkthrough_down_up_again(folder: Path) -> None:
    result = up(folder)
    assert result["status"] == "started"
    assert set(result["provinces"]) == {"44", "41", "43"}
    assert result["chain_id"] == 31337  # anvil, not the in-process EVM
    for code, province in result["provinces"].items():
        status = requests.get(province["api_url"] + "/v1/status", timeout=10).json()
        assert status["province"] == code
        assert status["anchored_size"] == status["log_size"] == CERTIFICATES // 3
        page = requests.get(province["web_url"], timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
    assert Path(result["sample_bundle"]).is_file()
    assert (folder / "api-keys.json").stat().st_mode & 0o777 == 0o600
    verified = certreg("verify", result["sample_bundle"], "--snapshot",
                       str(folder / "sample" / "snapshot.json"), "--json")  # fmt: skip
    assert json.loads(verified.stdout)["result"] == "VALID"

    again = up(folder)
    assert again["status"] == "already_up"

    walk = certreg("dev", "walkthrough", "--dir", str(folder), "--json")
    assert walk.returncode == 0, walk.stdout + walk.stderr[-3000:]
    steps = json.loads(walk.stdout.splitlines()[-1])
    assert [s["name"] for s in steps if s["ok"]] == [
        "issue in Guangdong", "isolate Guangdong", "Henan names Guangdong unreachable",
        "verify through Henan", "verify offline", "Guangdong untouched, restored",
        "an employer platform queries across provinces", "revoke", "correct",
        "admit Beijing by vote", "witnessing", "audit", "a backdated certificate is disputed",
        "audit statements reach verifiers through a signed snapshot",
    ]  # fmt: skip
    witnessing = next(s for s in steps if s["name"] == "witnessing")["detail"]
    assert "cosigned by 41, 43, 44" in witnessing and "witnessed" in witnessing
    signed = steps[-1]["detail"]
    assert "signed by 41, 43, 44" in signed and "the backdated one DISPUTED" in signed
    beijing = next(s for s in steps if s["name"] == "admit Beijing by vote")["detail"]
    assert "checkpoint 0 of log 11 is on chain" in beijing
    count, height = certificate_count(result), block_number(result["chain_url"])
    assert count == CERTIFICATES + 4  # log entries: two issued, a revocation, a correction

    pids = down(folder)
    with pytest.raises(requests.ConnectionError):
        requests.get(result["provinces"]["41"]["api_url"] + "/v1/status", timeout=2)

    restarted = up(folder)
    assert restarted["status"] == "restarted"
    assert restarted["contract_address"] == result["contract_address"]
    assert restarted["provinces"] == result["provinces"]
    assert certificate_count(restarted) == count
    assert block_number(restarted["chain_url"]) >= height
    assert not set(pids) & {r.pid for r in read_records(folder)}
    down(folder)


def test_ephemeral_up_and_down(folder: Path) -> None:
    result = up(folder, "--ephemeral", "--no-ipfs")
    assert result["chain_id"] != 31337 and result["ephemeral"] and result["ipfs_url"] is None
    assert certificate_count(result) == CERTIFICATES
    # the in-process EVM serves JSON-RPC: the online verifier reads it like any chain
    verified = certreg("verify", result["sample_bundle"], "--rpc", result["chain_url"],
                       "--contract", result["contract_address"], "--json", "--quiet")  # fmt: skip
    assert json.loads(verified.stdout)["result"] == "VALID", verified.stderr[-2000:]
    # The sample snapshot is signed by every member: VALID with the consortium's trust root,
    # which each node serves beside its page.
    trusted = certreg("verify", result["sample_bundle"], "--snapshot",
                      str(folder / "sample" / "snapshot.json"), "--trust-root",
                      result["trust_root"], "--json")  # fmt: skip
    report = json.loads(trusted.stdout)
    assert report["result"] == "VALID", report
    trust = next(c for c in report["checks"] if c["name"] == "trust")
    assert trust["detail"].startswith("snapshot signed by 41, 43, 44 (3 of 3")
    served = requests.get(
        result["provinces"]["41"]["api_url"] + "/static/trust-root.json", timeout=10
    )
    assert served.json() == json.loads(Path(result["trust_root"]).read_text("ascii"))

    assert {p["state"] for p in result["processes"]} == {"running"}

    status = certreg("dev", "status", "--dir", str(folder), "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "up"
    [worker] = [r for r in read_records(folder) if r.name == "worker-43"]
    os.kill(worker.pid, signal.SIGKILL)  # Hunan's anchoring worker dies
    deadline = time.monotonic() + 10
    while is_running(worker.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    status = certreg("dev", "status", "--dir", str(folder), "--json")
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert report["status"] == "degraded"
    assert [p["name"] for p in report["processes"] if p["state"] == "exited"] == ["worker-43"]
    text = certreg("dev", "status", "--dir", str(folder))
    assert "degraded" in text.stdout and "worker-43" in text.stdout and "exited" in text.stdout
    again = certreg("dev", "up", "--dir", str(folder), "--json", "--quiet")
    assert again.returncode == 2 and "run dev down first" in again.stderr  # not "already up"
    down(folder)
    assert not (folder / "nodes").exists()  # nothing of an ephemeral consortium persists


def test_up_refuses_a_taken_port(folder: Path) -> None:
    import socket

    # a persistent consortium whose API port is then taken by another program
    result = up(folder, "--no-ipfs")
    down(folder)
    port = int(result["provinces"]["43"]["api_url"].rsplit(":", 1)[1])
    with socket.socket() as blocker:
        # The nodes' witnessing asked each other's APIs: connections the API closed may still
        # hold the port in TIME_WAIT, which only a listener that allows it can bind over.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        done = certreg("dev", "up", "--dir", str(folder), "--quiet")
    assert done.returncode == 2
    assert f"API of 43 {port}" in done.stderr and "port(s) taken" in done.stderr
    assert read_records(folder) == []  # nothing was left running


def test_up_names_a_process_that_exits_after_starting(tmp_path: Path) -> None:
    """What ``up`` runs before it reports the consortium up: a process that exits meanwhile is
    named with the last line it logged (``up`` then says ``degraded``, not ``restarted``)."""
    from certreg.dev.consortium import _settle
    from certreg.dev.processes import spawn, stop

    lasting = spawn("api-44", [sys.executable, "-c", "import time; time.sleep(60)"], logs=tmp_path)
    dying = spawn(
        "worker-43",
        [sys.executable, "-c", "print('chain checkpoint 1 of log 43 is past our log'); exit(3)"],
        logs=tmp_path,
    )
    try:
        assert _settle([lasting], seconds=1.0) == ""
        assert _settle([lasting, dying], seconds=10.0) == (
            "worker-43 (chain checkpoint 1 of log 43 is past our log)"
        )
    finally:
        stop([lasting])
    assert not is_running(lasting.pid)
