"""``certreg serve --demo`` stopped by SIGTERM or SIGINT (as scripts/load_api.py and a terminal
stop it): it serves, then exits 0 and leaves no ``certreg-demo-*`` folder behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    """uvicorn starts after the demo prints its first line."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with urllib.request.urlopen(f"{url}/v1/status", timeout=2) as answer:
                assert answer.status == 200
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the demo did not start serving")


def _demo(tmp_path: Path, port: int, *options: str) -> subprocess.Popen[str]:
    """``certreg serve --demo`` on ``port`` (its temporary folder under ``tmp_path``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "certreg", "serve", "--demo", "--port", str(port),
         "--no-access-log", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_demo_cleans_up_and_exits_0_when_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    port = _free_port()
    process = _demo(tmp_path, port, "--certificates", "2")
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["url"] == f"http://127.0.0.1:{port}"
        assert [p.name for p in tmp_path.glob("certreg-demo-*")]  # the demo's folder exists
        _wait_until_serving(first["url"], process)
        process.send_signal(stop)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert list(tmp_path.glob("certreg-demo-*")) == []


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_several_server_processes_share_the_port_the_limits_and_the_cleanup(
    tmp_path: Path,
) -> None:
    # Issue #19 item 4: `serve --workers N` over one database; the search bucket (burst 3, no
    # refill to speak of) is one for the client whichever process answers.
    port = _free_port()
    info = tmp_path / "info.json"
    process = _demo(
        tmp_path, port, "--certificates", "3", "--workers", "2", "--info", str(info),
        "--search-burst", "3", "--search-rate", "0.0001",
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = json.loads(process.stdout.readline())["url"]
        _wait_until_serving(url, process)
        servers = _children(process.pid)
        assert len(servers) == 2
        demo = json.loads(info.read_text("utf-8"))
        first = demo["certificates"][0]
        proofs = [
            _get(f"{url}/v1/proofs/inclusion?commitment={c['commitment']}")
            for c in demo["certificates"] * 10  # a new connection each: both processes answer
        ]
        assert proofs == [200] * 30
        query = urllib.parse.urlencode(
            {"certificate_number": first["certificate_number"], "id_number": first["id_number"]}
        )
        answers = [_get(f"{url}/v1/certificates/search?{query}") for _ in range(8)]
        assert answers.count(429) == 5 and answers[:3] == [200] * 3, answers
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 0, process.stderr.read() if process.stderr else ""
    assert list(tmp_path.glob("certreg-demo-*")) == []
    assert all(not Path(f"/proc/{pid}").exists() for pid in servers)


def test_server_processes_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    port = _free_port()
    process = _demo(tmp_path, port, "--certificates", "1", "--workers", "2")
    try:
        assert process.stdout is not None
        _wait_until_serving(json.loads(process.stdout.readline())["url"], process)
        servers = _children(process.pid)
        assert len(servers) == 2
    finally:
        process.kill()  # SIGKILL: the supervisor cannot stop them itself
        process.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in servers):
        assert time.monotonic() < deadline, "orphaned server processes kept running"
        time.sleep(0.2)
