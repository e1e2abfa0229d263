"""``certreg bench federation``: what a query across provinces costs over a local one
(docs/SHARING.md "Benchmark").

Brings up an ephemeral local consortium (``certreg dev up --ephemeral --no-ipfs``: the
in-process EVM behind JSON-RPC, three ``certreg serve`` API processes, their workers), with the
search buckets raised so the rate limit does not count, and times the public search by
certificate number and holder name of a Guangdong certificate:

- **local**: asked of Guangdong's API (it answers from its own database, records the read);
- **across**: asked of Henan's API, which routes the number to Guangdong with a signed request
  (Guangdong checks the signature, the nonce, answers and records the read), then records its
  own read and answers.

Requests alternate (local, across, local, …) on one keep-alive connection per API after a
warm-up, so both see the same machine load; the figures are wall-clock milliseconds per request
(p50, p90, p99) and the difference of the medians. Everything started is stopped at the end.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import urllib3

from certreg.dev.consortium import DevOptions, dev_down, dev_up

WARM_UP = 30


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _figures(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 3),
        "p90_ms": round(_percentile(values, 0.90), 3),
        "p99_ms": round(_percentile(values, 0.99), 3),
        "mean_ms": round(statistics.fmean(values), 3),
    }


def bench_federation(*, requests: int = 500, certificates: int = 30) -> dict[str, Any]:
    """Run the benchmark (see the module docstring); return its figures."""
    with tempfile.TemporaryDirectory(prefix="certreg-bench-federation-") as tmp:
        folder = Path(tmp) / "consortium"
        options = DevOptions(
            directory=folder,
            certificates=certificates,
            ephemeral=True,
            ipfs=False,
            quiet=True,
            search_rate=1e9,
            search_burst=10**9,
        )
        summary = dev_up(options)
        try:
            return _measure(folder, summary, requests)
        finally:
            dev_down(folder)


def _measure(folder: Path, summary: dict[str, Any], requests: int) -> dict[str, Any]:
    with (folder / "data" / "44" / "submissions.jsonl").open(encoding="utf-8") as rows:
        row = json.loads(rows.readline())
    fields = {"certificate_number": row["certificate_number"], "name": row["holder_name"]}
    urls = {
        "local": summary["provinces"]["44"]["api_url"],
        "across": summary["provinces"]["41"]["api_url"],
    }
    pools = {
        kind: urllib3.connection_from_url(url, maxsize=1, retries=False, timeout=30.0)
        for kind, url in urls.items()
    }
    times: dict[str, list[float]] = {kind: [] for kind in urls}

    def ask(kind: str) -> float:
        started = time.perf_counter()
        reply = pools[kind].request("GET", "/v1/certificates/search", fields=fields)
        elapsed = (time.perf_counter() - started) * 1000
        body = json.loads(reply.data)
        if reply.status != 200 or len(body["matches"]) != 1 or body["unanswered"]:
            raise RuntimeError(f"{kind} search answered {reply.status}: {reply.data[:200]!r}")
        return elapsed

    for _ in range(WARM_UP):
        for kind in urls:
            ask(kind)
    for i in range(requests):
        order = ("local", "across") if i % 2 == 0 else ("across", "local")
        for kind in order:
            times[kind].append(ask(kind))
    local, across = _figures(times["local"]), _figures(times["across"])
    return {
        "requests_each": requests,
        "local": local,
        "across": across,
        "added_p50_ms": round(across["p50_ms"] - local["p50_ms"], 3),
        "target_added_p50_ms": 20.0,
        "met": across["p50_ms"] - local["p50_ms"] < 20.0,
    }
