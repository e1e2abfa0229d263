"""Two ``certreg serve`` processes over one real PostgreSQL database (issue "A province at full
size", item 1): a client's rate-limit bucket is one bucket whichever process it asks, and a bulk
job whose process is SIGKILLed mid-job is finished by the other process, each row once."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from anchor.chain import RegistryClient, connect
from api.auth import create_api_key
from certreg.cli import main
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.storage import open_database
from province.config import load_config
from province.node import ProvinceNode
from tests.province.helpers import ORG
from tests.province.submissions import write_submission
from tests.province.test_cli import file_org
from tests.servers import PostgresAdmin

pytestmark = pytest.mark.anvil

ROWS = 3000  # 15 chunks of 200: the job is SIGKILLed after its first chunks
LEASE = 2.0  # seconds (`serve --job-lease`): the other process takes over soon after a kill


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class Server:
    """A ``certreg serve`` child on a free loopback port."""

    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _serve(home: Path) -> Server:
    port = _free_port()
    argv = [
        sys.executable, "-m", "certreg", "serve", "--dir", str(home), "--port", str(port),
        "--search-rate", "0.001", "--search-burst", "4", "--bulk-workers", "1",
        "--job-lease", str(LEASE), "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.url + "/v1/status", timeout=5).status_code == 200:
                return server
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.2)


@pytest.fixture
def province(
    postgres: PostgresAdmin,
    anvil_node: AnvilNode,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[Path, str, list[Server]]]:
    """A node folder over a fresh PostgreSQL database, its URL, and two API processes."""
    w3 = connect(anvil_node.url)
    accounts = w3.eth.accounts
    client, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1])], sender=accounts[0]
    )
    home = tmp_path / "node44"
    url = postgres.create(migrated=False)
    assert main([
        "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", client.address, "--operator-key", ANVIL_DEV_KEYS[0], "--database", url,
        "--json",
    ]) == 0  # fmt: skip
    capsys.readouterr()
    file_org(capsys, home, tmp_path)
    servers: list[Server] = []
    try:
        servers.extend([_serve(home), _serve(home)])
        yield home, url, servers
    finally:
        for server in servers:
            server.stop()


def _job(url: str, job_id: str) -> dict[str, Any]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT state, processed, accepted, refused, lease_owner FROM api_jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    assert row is not None
    return dict(zip(("state", "processed", "accepted", "refused", "owner"), row, strict=True))


def test_a_clients_bucket_is_shared_by_both_processes(
    province: tuple[Path, str, list[Server]],
) -> None:
    _, _, (a, b) = province
    query = {"certificate_number": "S000144000001253000001", "name": "某"}
    # Burst 4 per client: four queries spread over both processes, then both refuse.
    answers = [
        httpx.get(server.url + "/v1/certificates/search", params=query, timeout=10)
        for server in (a, b, a, b)
    ]
    assert all(r.status_code != 429 for r in answers), [r.text for r in answers]
    for server in (a, b):
        refused = httpx.get(server.url + "/v1/certificates/search", params=query, timeout=10)
        assert refused.status_code == 429, refused.text
        assert refused.json()["rule"] == "rate.limited"
        assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.usefixtures("today_calendar_environment")  # certificates received today
def test_a_job_whose_process_is_killed_is_finished_by_the_other_each_row_once(
    province: tuple[Path, str, list[Server]], tmp_path: Path
) -> None:
    home, url, (a, b) = province
    node = ProvinceNode.open(load_config(home))
    network = node.network
    node.close()
    issued = dt.datetime.now(CHINA).date() - dt.timedelta(days=2)
    upload = write_submission(tmp_path / "rows.jsonl", network, range(1, ROWS + 1), issued=issued)
    db = open_database(url, migrate=False)
    try:
        key = create_api_key(db, "issuer", ORG)
    finally:
        db.dispose()
    auth = {"Authorization": f"Bearer {key}"}
    started = httpx.post(
        a.url + "/v1/certificates/bulk",
        content=upload.read_bytes(),
        headers={**auth, "content-type": "application/x-ndjson"},
        timeout=60,
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    # SIGKILL the process running the job once some chunks are in, well before the end.
    deadline = time.monotonic() + 60
    while (state := _job(url, job_id))["processed"] < 200:
        assert state["state"] in ("queued", "running"), state
        assert time.monotonic() < deadline, state
        time.sleep(0.002)
    owner = str(state["owner"])
    runner = a if owner.split("/")[1] == str(a.process.pid) else b
    other = b if runner is a else a
    runner.process.kill()
    runner.process.wait()
    killed_at = _job(url, job_id)
    assert killed_at["processed"] < ROWS, "the job ended before the kill"

    deadline = time.monotonic() + 120
    while (state := _job(url, job_id))["state"] != "done":
        assert state["state"] in ("queued", "running"), state
        assert time.monotonic() < deadline, state
        assert other.process.poll() is None
        time.sleep(0.2)
    assert str(state["owner"]) == "None"  # the lease is given up at the end
    view = httpx.get(other.url + f"/v1/jobs/{job_id}", headers=auth, timeout=30).json()
    assert (view["state"], view["total"], view["processed"]) == ("done", ROWS, ROWS)
    assert (view["accepted"], view["refused"]) == (ROWS, 0), view["results"][:3]
    # One result per row, in order, none twice; one log entry per certificate.
    assert [r["row"] for r in view["results"]] == list(range(1, ROWS + 1))
    assert [r["log_index"] for r in view["results"]] == list(range(ROWS))
    numbers = [r["certificate_number"] for r in view["results"]]
    assert len(set(numbers)) == ROWS
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        entries = conn.execute("SELECT count(*) FROM log_entries").fetchone()
        kept = conn.execute(
            "SELECT count(*) FROM api_job_uploads WHERE job_id = %s AND data IS NOT NULL",
            (job_id,),
        ).fetchone()
    assert entries is not None and entries[0] == ROWS
    assert kept is not None and kept[0] == 0  # the upload is dropped once the job ends
