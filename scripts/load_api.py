"""Load benchmark of the HTTP API on loopback (issue 5): p50 / p99 latency and throughput for
bundle fetch, proof fetch, search and verify.

Starts ``certreg serve --demo`` (uvicorn, one process) on a free 127.0.0.1 port, then drives each
endpoint in turn with an open-loop load: requests are *sent* at ``--rate`` per second whatever
the server's speed (a closed loop would hide queueing), for ``--seconds``, over ``--connections``
keep-alive connections. Latency is measured from each request's scheduled send time, so time
spent waiting for a free connection counts. Prints one JSON object; exits 1 when a request
failed. The target (issue 5) is p99 < 50 ms at 300 requests/s for bundle and proof fetch.

    .venv/bin/python scripts/load_api.py [--rate 300] [--seconds 10] [--certificates 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int, info: Path, certificates: int) -> subprocess.Popen[bytes]:
    """``certreg serve --demo`` (``python -m api.cli`` until ``serve`` is registered)."""
    certreg = ROOT / ".venv" / "bin" / "certreg"
    command = [str(certreg)] if certreg.exists() else [sys.executable, "-m", "api.cli"]
    probe = subprocess.run([*command, "serve", "--help"], capture_output=True, cwd=ROOT)
    if probe.returncode != 0:
        command = [sys.executable, "-m", "api.cli"]
    args = [
        *command,
        "serve",
        "--demo",
        "--port",
        str(port),
        "--certificates",
        str(certificates),
        "--info",
        str(info),
        "--search-rate",
        "1000000",
        "--search-burst",
        "1000000",
        "--no-access-log",
    ]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(url + "/v1/status", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


Request = Callable[[httpx.AsyncClient], Any]


async def drive(
    url: str, make: Request, rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    """Send ``make`` requests at ``rate``/s for ``seconds``; return the figures."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as client:
        # Warm up: open the connections and the server's caches.
        await asyncio.gather(*(make(client) for _ in range(connections)))

        async def one(scheduled: float) -> None:
            nonlocal failures
            try:
                response = await make(client)
                if response.status_code >= 400:
                    failures += 1
            except httpx.HTTPError:
                failures += 1
            latencies.append(time.perf_counter() - scheduled)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": total,
        "failures": failures,
        "offered_rate": rate,
        "throughput_rps": round(total / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def scenarios(info: dict[str, Any]) -> dict[str, Request]:
    certificates = info["certificates"]
    operator = {"Authorization": f"Bearer {info['keys']['operator']}"}
    rng = random.Random(1)
    bundle_text = httpx.get(
        f"{info['url']}/v1/certificates/{certificates[0]['commitment']}/bundle", headers=operator
    ).text

    def bundle(client: httpx.AsyncClient) -> Any:
        c = rng.choice(certificates)["commitment"]
        return client.get(f"/v1/certificates/{c}/bundle", headers=operator)

    def proof(client: httpx.AsyncClient) -> Any:
        c = rng.choice(certificates)["commitment"]
        return client.get("/v1/proofs/inclusion", params={"commitment": c})

    def search(client: httpx.AsyncClient) -> Any:
        c = rng.choice(certificates)
        query = {"certificate_number": c["certificate_number"], "id_number": c["id_number"]}
        return client.get("/v1/certificates/search", params=query)

    def verify(client: httpx.AsyncClient) -> Any:
        return client.post(
            "/v1/verify", content=bundle_text, headers={"content-type": "application/json"}
        )

    return {"bundle_fetch": bundle, "proof_fetch": proof, "search": search, "verify": verify}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    args = parser.parse_args(argv)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="certreg-load-") as tmp:
        info_path = Path(tmp) / "demo.json"
        process = start_server(port, info_path, args.certificates)
        try:
            wait_ready(url, process)
            info = json.loads(info_path.read_text("utf-8"))
            info["url"] = url
            figures: dict[str, Any] = {"cpus": os.cpu_count(), "seconds": args.seconds}
            for name, make in scenarios(info).items():
                if args.only and name not in args.only:
                    continue
                figures[name] = asyncio.run(
                    drive(url, make, args.rate, args.seconds, args.connections)
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(figures, indent=2))
    failed = any(isinstance(v, dict) and v.get("failures") for v in figures.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
