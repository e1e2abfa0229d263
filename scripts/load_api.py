"""Load benchmark of the HTTP API on loopback: p50 / p99 latency and throughput for
bundle fetch, proof fetch, search and verify.

Starts ``certreg serve --demo`` (uvicorn; ``--workers`` server processes on one socket over
the demo's SQLite file, default 1; ``--certificates`` anchored) on a free 127.0.0.1 port, then
drives each endpoint in turn with an **open-loop** load: requests are *sent* at ``--rate`` per
second whatever the server's speed (a closed loop such as ``wrk`` would slow down with the
server and hide queueing), for ``--seconds``, over ``--connections`` keep-alive HTTP/1.1
connections. Latency is measured from each request's *scheduled* send time,
so time spent waiting for a free connection counts. The generator is
``certreg/bench/load.py`` (``certreg bench province`` drives its API processes with it too).

The generator is deliberately light so that it does not take the server's CPU on a 2-core
machine: raw asyncio protocols, request bytes built before the clock starts, responses parsed
only as far as the status line and ``Content-Length`` (about 0.1 ms of CPU per request, against
several for an httpx client). ``--pin`` pins it to one CPU (``os.sched_setaffinity``) and the
server to the others. Besides the latencies it reports the CPU the server and the generator
spent per request (``/proc``; robust on a shared machine, where wall-clock figures are noisy)
and the load average before and after each run (``load_average``: the 1-minute figure;
``load_average_1_5_15``: all three, before and after).

Prints one JSON object: per endpoint ``p50_ms``, ``p99_ms``, ``throughput_rps`` (completed
requests per second of the run), ``max_ms``, ``failures``, ``server_cpu_ms_per_request``; exits
1 when a request failed. Target: p99 < 50 ms at 300 requests/s for bundle and proof
fetch. The server process is stopped by its PID at the end.

    .venv/bin/python scripts/load_api.py [--rate 300] [--seconds 10] [--certificates 200]
        [--connections 16] [--only bundle_fetch] [--pin] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from certreg.bench.load import (
    SetupRequestFailed,
    drive,
    fetch,
    free_port,
    http_get,
    http_post,
    tree,
    tree_cpu_seconds,
    wait_answering,
)

ROOT = Path(__file__).resolve().parent.parent


# -- the server --------------------------------------------------------------------------------


def start_server(
    port: int, info: Path, certificates: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``certreg serve --demo`` in its own session (stopped by PID at the end)."""
    certreg = ROOT / ".venv" / "bin" / "certreg"
    command = [str(certreg)] if certreg.exists() else [sys.executable, "-m", "certreg"]
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
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (the one we started), SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def wait_ready(port: int, process: subprocess.Popen[bytes], info: Path) -> None:
    """Until the demo wrote its info file and ``GET /v1/status`` answers 200."""

    def exited() -> str | None:
        if process.poll() is not None:
            return f"server exited with {process.returncode}"
        return None

    try:
        wait_answering(port, exited, timeout=180.0)
    except SetupRequestFailed as exc:
        raise SystemExit(str(exc)) from exc
    if not info.exists():  # written before the server starts
        raise SystemExit("the demo wrote no info file")


def scenarios(port: int, info: dict[str, Any]) -> dict[str, list[bytes]]:
    """The request bytes of each scenario, one per sample certificate, in a random order."""
    certificates = list(info["certificates"])
    random.Random(1).shuffle(certificates)
    auth = f"Bearer {info['keys']['operator']}"
    bundle = [
        http_get(f"/v1/certificates/{c['commitment']}/bundle", authorization=auth)
        for c in certificates
    ]
    proof = [
        http_get("/v1/proofs/inclusion", {"commitment": c["commitment"]}) for c in certificates
    ]
    search = [
        http_get(
            "/v1/certificates/search",
            {"certificate_number": c["certificate_number"], "id_number": c["id_number"]},
        )
        for c in certificates
    ]
    verify = [
        http_post("/v1/verify", fetch(port, bundle[i]), "application/json")
        for i in range(min(20, len(bundle)))
    ]
    return {"bundle_fetch": bundle, "proof_fetch": proof, "search": search, "verify": verify}


def run(
    port: int, name: str, requests: list[bytes], args: argparse.Namespace, server: int
) -> dict[str, Any]:
    loads_before = os.getloadavg()
    load_before = loads_before[0]
    server_cpu = tree_cpu_seconds(server)
    own_cpu = time.process_time()
    figures = asyncio.run(drive(port, requests, args.rate, args.seconds, args.connections))
    served = figures["requests"] + len(requests)  # with the warm-up
    figures["server_cpu_ms_per_request"] = round(
        1000 * (tree_cpu_seconds(server) - server_cpu) / served, 3
    )
    figures["generator_cpu_ms_per_request"] = round(
        1000 * (time.process_time() - own_cpu) / served, 3
    )
    loads_after = os.getloadavg()
    figures["load_average"] = [round(load_before, 2), round(loads_after[0], 2)]
    figures["load_average_1_5_15"] = {
        "before": [round(x, 2) for x in loads_before],
        "after": [round(x, 2) for x in loads_after],
    }
    print(f"{name}: {json.dumps(figures)}", file=sys.stderr, flush=True)
    return figures


def pin(server: int) -> dict[str, list[int]]:
    """The generator on the last CPU, the server on the others (when there are two or more)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {}
    mine, theirs = cpus[-1:], cpus[:-1]
    os.sched_setaffinity(0, mine)
    for pid in tree(server):
        with contextlib.suppress(OSError):
            for thread in os.listdir(f"/proc/{pid}/task"):  # every thread, not only the first
                os.sched_setaffinity(int(thread), theirs)
    return {"generator": mine, "server": theirs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--pin", action="store_true", help="generator and server on own CPUs")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    args = parser.parse_args(argv)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="certreg-load-") as tmp:
        info_path = Path(tmp) / "demo.json"
        process = start_server(port, info_path, args.certificates, args.workers)
        try:
            wait_ready(port, process, info_path)
            info = json.loads(info_path.read_text("utf-8"))
            figures: dict[str, Any] = {
                "cpus": os.cpu_count(),
                "seconds": args.seconds,
                "connections": args.connections,
                "certificates": args.certificates,
                "generator": "asyncio open loop",
                "server_processes": args.workers,
                "offered_rate": args.rate,
            }
            if args.pin:
                figures["pinned"] = pin(process.pid)
            for name, requests in scenarios(port, info).items():
                if args.only and name not in args.only:
                    continue
                figures[name] = run(port, name, requests, args, process.pid)
        finally:
            stop_server(process)
    print(json.dumps(figures, indent=2))
    failed = any(isinstance(v, dict) and v.get("failures") for v in figures.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
