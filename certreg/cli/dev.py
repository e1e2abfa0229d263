"""``certreg dev up|down|status|walkthrough``: the local consortium (docs/DEV.md).

Exit status: 0 done (``up`` when it is up, also when it already was; ``status`` when every
process runs; ``walkthrough`` when every step held), 1 a walkthrough step failed, or a process
``up`` started has exited (``up`` then reports ``degraded``, never ``restarted``; ``status``
names it), 2 the consortium could not be started, stopped or found (the message says why).
``up --json`` prints exactly one JSON object on stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from certreg.dev.consortium import (
    DEFAULT_CERTIFICATES,
    DEFAULT_DIR,
    DEV_ENGINES,
    PROVINCE_NAMES,
    DevOptions,
    dev_down,
    dev_status,
    dev_up,
)
from certreg.dev.processes import DevError


def _print_up(result: dict[str, Any]) -> None:
    lines = [
        f"chain        {result['chain_url']}  (chain id {result['chain_id']}, "
        f"{result.get('engine', 'anvil')})"
    ]
    lines.append(f"contract     {result['contract_address']}")
    lines.append(
        f"manifests    {result['ipfs_url'] or 'local folder ' + result['dir'] + '/manifests'}"
    )
    for code, province in result["provinces"].items():
        name = PROVINCE_NAMES.get(code, "")
        lines.append(
            f"{code} {name}      API {province['api_url']}  web page {province['web_url']}"
        )
        if province["chain_url"] != result["chain_url"]:
            lines.append(f"             validator {province['chain_url']}")
    lines.append(f"sample       {result['sample_bundle']}")
    lines.append(f"API keys     {result['keys_file']}")
    folder = result["dir"]
    snapshot = Path(result["sample_bundle"]).parent / "snapshot.json"
    lines.append("")
    lines.append(f"verify it:   certreg verify {result['sample_bundle']} --snapshot {snapshot}")
    lines.append(f"walkthrough: certreg dev walkthrough --dir {folder}")
    lines.append(f"stop:        certreg dev down --dir {folder}")
    print("\n".join(lines))


def cmd_up(args: argparse.Namespace) -> int:
    """Bring the consortium up (or restart it with its state kept)."""
    options = DevOptions(
        directory=Path(args.dir),
        certificates=args.certificates,
        seed=args.seed,
        ephemeral=args.ephemeral,
        ipfs=not args.no_ipfs,
        quiet=args.quiet,
        calendar=getattr(args, "calendar", None),
        engine=args.engine,
    )
    try:
        result = dev_up(options)
    except DevError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_up(result)
    dead = [p["name"] for p in result["processes"] if p["state"] != "running"]
    if dead:
        print(f"error: exited after starting: {', '.join(dead)} (certreg dev status)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Each process of the consortium: running or exited (with the last line it logged)."""
    try:
        report = dev_status(Path(args.dir))
    except DevError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        lines = [f"consortium in {report['dir']}: {report['status']} ({report['engine']})"]
        for process in report["processes"]:
            line = f"  {process['name']:<12} pid {process['pid']:<8} {process['state']}"
            if process["state"] != "running":
                line += f": {process['last_log_line']}"
            lines.append(line)
        print("\n".join(lines))
    return 0 if report["status"] == "up" else 1


def cmd_down(args: argparse.Namespace) -> int:
    """Stop what ``up`` started, by the recorded PIDs."""
    try:
        report = dev_down(Path(args.dir))
    except DevError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report) or "nothing was running")
    return 0


def cmd_walkthrough(args: argparse.Namespace) -> int:
    """Run the cross-province walkthrough; exit 0 only when every step held."""
    from certreg.dev.walkthrough import STEP_NAMES, run_walkthrough

    try:
        steps = run_walkthrough(Path(args.dir))
    except DevError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([s.to_json() for s in steps], ensure_ascii=False))
    held = bool(steps) and all(s.ok for s in steps) and len(steps) == len(STEP_NAMES)
    print(f"walkthrough: {'every step held' if held else 'FAILED'}", file=sys.stderr)
    return 0 if held else 1


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``dev`` command group."""
    dev = subparsers.add_parser("dev", help="a local three-province consortium (docs/DEV.md)")
    sub = dev.add_subparsers(dest="dev_command", required=True)

    p = sub.add_parser("up", help="start the consortium (or restart it, state kept)")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"its folder (default {DEFAULT_DIR})")
    p.add_argument(
        "--certificates",
        type=int,
        default=DEFAULT_CERTIFICATES,
        help="synthetic certificates in all (first start only)",
    )
    p.add_argument("--seed", type=int, default=1, help="data set seed (first start only)")
    p.add_argument(
        "--ephemeral", action="store_true", help="in-process EVM; nothing persists after down"
    )
    p.add_argument("--no-ipfs", action="store_true", help="local manifest folder, not IPFS")
    p.add_argument(
        "--engine",
        choices=DEV_ENGINES,
        default="anvil",
        help="the chain: one anvil node, or three geth validators sealing by Clique proof of "
        "authority (first start only)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop everything up started (by recorded PIDs)")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"its folder (default {DEFAULT_DIR})")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="each process up started: running or exited, and why")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"its folder (default {DEFAULT_DIR})")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("walkthrough", help="the cross-province walkthrough against a running up")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"its folder (default {DEFAULT_DIR})")
    p.add_argument("--json", action="store_true", help="also print the steps as JSON")
    p.set_defaults(func=cmd_walkthrough)
