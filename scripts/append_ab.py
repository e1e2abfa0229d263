"""Single Merkle appends of two or more versions of the log, interleaved in one process.

``certreg bench core`` times ``MerkleLog.append`` over 10^6 leaves; on a shared machine two such
runs minutes apart do not compare. This script loads the log module of each git revision given
(``node/core/merkle.py``, or ``node/merkle.py`` before the layered tree; ``.`` is the working
tree), then runs rounds of ``--entries`` single appends into a fresh in-memory log, the versions
in turn (A B … then … B A), and prints each version's median, min and max rate, its ratio to the
first version round by round, the root (the same for every version, or it stops) and the load
average before and after, as JSON::

    .venv/bin/python scripts/append_ab.py 55efaf3~1 . --entries 1000000 --rounds 6

docs/NODE-BENCH.md "Merkle appends" has the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import node.core.errors

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("node/core/merkle.py", "node/merkle.py")


def _source(revision: str) -> str:
    if revision == ".":
        return (ROOT / PATHS[0]).read_text()
    for path in PATHS:
        shown = subprocess.run(
            ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            return shown.stdout
    raise SystemExit(f"no Merkle log module at {revision}")


def _load(revision: str, index: int, folder: Path) -> types.ModuleType:
    path = folder / f"merkle_{index}.py"
    path.write_text(_source(revision))
    spec = importlib.util.spec_from_file_location(f"merkle_{index}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revisions", nargs="+", help="git revisions ('.' = working tree)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    # The module before the layered tree imported its errors from node.errors.
    sys.modules.setdefault("node.errors", node.core.errors)
    load_before = os.getloadavg()
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(args.entries)]
    rates: dict[str, list[float]] = {revision: [] for revision in args.revisions}
    roots: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        modules = [_load(r, i, Path(folder)) for i, r in enumerate(args.revisions)]
        versions = list(zip(args.revisions, modules, strict=True))
        for round_ in range(args.rounds):
            for revision, module in versions if round_ % 2 == 0 else versions[::-1]:
                log = module.MerkleLog()
                start = time.perf_counter()
                for leaf in leaves:
                    log.append(leaf)
                rates[revision].append(args.entries / (time.perf_counter() - start))
                roots.add(log.root().hex())
    if len(roots) != 1:
        raise SystemExit(f"the versions disagree on the root: {sorted(roots)}")
    first = rates[args.revisions[0]]
    report: dict[str, Any] = {
        "entries": args.entries,
        "rounds": args.rounds,
        "root": roots.pop(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "appends_per_s": {},
    }
    for revision, values in rates.items():
        ratios = [a / b for a, b in zip(values, first, strict=True)]
        report["appends_per_s"][revision] = {
            "median": round(statistics.median(values)),
            "min": round(min(values)),
            "max": round(max(values)),
            "ratio_to_first": {
                "median": round(statistics.median(ratios), 2),
                "min": round(min(ratios), 2),
                "max": round(max(ratios), 2),
            },
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
