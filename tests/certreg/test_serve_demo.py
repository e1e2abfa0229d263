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


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_demo_cleans_up_and_exits_0_when_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "certreg", "serve", "--demo", "--port", str(port),
         "--certificates", "2", "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
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
