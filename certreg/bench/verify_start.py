"""``certreg bench verify-start``: how long the whole ``certreg verify`` process takes for one
bundle checked offline against a snapshot file, and ``certreg --help`` (issue "verifier trust",
item 6: at most 0.4 s on the reference machine).

Each run is a fresh process started the way a user starts it (the ``certreg`` console script
beside the interpreter, else ``python -m certreg``), timed from spawn to exit; the figure is the
median of the runs. The bundle and snapshot are the deterministic sample (``certreg sample``),
verified at a fixed time after its anchoring, so each run does the full verification and
exits 0 (a run that does not is an error, not a figure).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from certreg.dev.sample import SAMPLE_TIME, make_sample
from node.core.formats.compact import encode_compact

#: Verification time of the runs: a day after the sample's checkpoints were anchored.
VERIFY_AT = SAMPLE_TIME + 86_400


def certreg_command() -> list[str]:
    """How a user starts ``certreg`` with this interpreter: the console script installed
    beside it, else ``python -m certreg``."""
    script = Path(sys.executable).with_name("certreg")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "certreg"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_runs(command: Sequence[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of ``runs`` fresh processes of ``command``;
    each must exit 0. The CPU time hardly moves with the machine's load; the wall-clock time
    is the figure a user sees."""
    wall, cpu = [], []
    for _ in range(runs):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - cpu_before)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-500:]}"
            )
    return wall, cpu


def bench_verify_start(runs: int = 11) -> dict[str, Any]:
    """Median (and min/max) whole-process wall-clock seconds, and the median CPU seconds, of
    ``certreg verify BUNDLE --snapshot FILE`` for the sample bundle (JSON and compact ``CR1:``
    text), of ``certreg --help`` and of a bare interpreter; with the machine's load average
    before and after (a figure taken on a busy machine says so)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    sample = make_sample()
    base = certreg_command()
    figures: dict[str, Any] = {
        "runs": runs,
        "command": " ".join(base),
        "load_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="certreg-bench-start-") as folder:
        root = Path(folder)
        bundle = root / "bundle.json"
        bundle.write_text(json.dumps(sample.bundle.to_json(), ensure_ascii=False), "utf-8")
        compact = root / "bundle.qr.txt"
        compact.write_text(encode_compact(sample.bundle) + "\n", "ascii")
        snapshot = root / "snapshot.json"
        snapshot.write_text(json.dumps(sample.snapshot.to_json()), "utf-8")
        options = ["--snapshot", str(snapshot), "--at", str(VERIFY_AT), "--quiet"]
        cases = {
            "verify_json": [*base, "verify", str(bundle), *options],
            "verify_compact": [*base, "verify", str(compact), *options],
            "help": [*base, "--help"],
            "python_bare": [sys.executable, "-c", "pass"],
        }
        _time_runs(cases["verify_json"], 1)  # warm the file cache and .pyc files
        for name, command in cases.items():
            wall, cpu = _time_runs(command, runs)
            figures[f"{name}_median_s"] = round(statistics.median(wall), 4)
            figures[f"{name}_min_s"] = round(min(wall), 4)
            figures[f"{name}_max_s"] = round(max(wall), 4)
            figures[f"{name}_cpu_median_s"] = round(statistics.median(cpu), 4)
    figures["load_after"] = round(os.getloadavg()[0], 2)
    return figures
