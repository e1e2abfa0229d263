"""``certreg``: the one command-line front door.

Settings and the clock are read here, once, and passed down; the core stays pure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from node.bundle import Bundle
from node.compact import encode_compact, parse_bundle_text
from node.errors import InvalidInput, RegistryError
from node.signatures import SUITE_NAMES
from node.snapshot import Snapshot, SnapshotTrustSource
from node.verify import ResultCode, VerificationResult, verify_bundle_text


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def cmd_sample(args: argparse.Namespace) -> int:
    from node.sample import make_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample = make_sample(args.seed, args.suite)
    _write_json(out / "bundle.json", sample.bundle.to_json())
    _write_json(out / "bundle-redacted.json", sample.redacted.to_json())
    _write_json(out / "snapshot.json", sample.snapshot.to_json())
    (out / "bundle.qr.txt").write_text(encode_compact(sample.bundle) + "\n", encoding="ascii")
    print(f"wrote {out}/bundle.json, bundle-redacted.json, bundle.qr.txt and snapshot.json")
    return 0


def _parse_time(text: str | None) -> int:
    if text is None:
        return int(time.time())
    if text.isdigit():
        return int(text)
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise InvalidInput("--at", "cli.time", "give a timezone, e.g. 2026-01-01T00:00:00+08:00")
    return int(moment.timestamp())


def _print_result(result: VerificationResult, name: str) -> None:
    marks = {True: "ok  ", False: "FAIL", None: "skip"}
    print(f"{name}: {result.code.value} (as of block {result.as_of_block})")
    for check in result.checks:
        print(f"  [{marks[check.passed]}] {check.name:<10} {check.detail}")
    for key in ("commitment", "leaf_hash", "root"):
        if key in result.hashes:
            print(f"  {key}: {result.hashes[key]}")


def cmd_verify(args: argparse.Namespace) -> int:
    at = _parse_time(args.at)
    try:
        snapshot = Snapshot.from_json(json.loads(Path(args.snapshot).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, InvalidInput) as exc:
        print(f"error: cannot read snapshot {args.snapshot}: {exc}", file=sys.stderr)
        return 2
    trust = SnapshotTrustSource(snapshot)
    try:
        text = Path(args.bundle).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read bundle {args.bundle}: {exc}", file=sys.stderr)
        return 2
    result = verify_bundle_text(text, trust, at=at)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_result(result, args.bundle)
    return 0 if result.code is ResultCode.VALID else 1


def cmd_qr(args: argparse.Namespace) -> int:
    raw = parse_bundle_text(Path(args.bundle).read_text(encoding="utf-8"))
    print(encode_compact(Bundle.from_json(raw)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from certreg import bench

    figures: dict[str, Any]
    if args.what == "core":
        figures = bench.bench_core(entries=args.entries)
    else:
        from anchor.cli import bench_contract

        figures = dict(bench_contract())
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<40} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certreg",
        description="Blockchain-anchored registry of vocational skill certificates",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write a deterministic sample bundle and snapshot")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--suite", choices=SUITE_NAMES, default="ed25519")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("verify", help="verify a bundle (JSON or compact QR text)")
    p.add_argument("bundle", help="bundle file: JSON, or the compact CR1: text")
    p.add_argument("--snapshot", required=True, help="snapshot JSON (offline verification)")
    p.add_argument("--at", help="verification time: unix seconds or ISO 8601 with zone")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("qr", help="print the compact QR text of a bundle")
    p.add_argument("bundle")
    p.set_defaults(func=cmd_qr)

    p = sub.add_parser("bench", help="benchmarks that print figures")
    p.add_argument("what", choices=("core", "contract"))
    p.add_argument("--entries", type=int, default=1_000_000, help="log size for bench core")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    try:
        from anchor.cli import add_parsers
        from certreg.province.cli import add_parsers as add_node_parsers
    except ImportError:  # the chain adapter is optional for offline verification
        pass
    else:
        add_parsers(sub)
        add_node_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
