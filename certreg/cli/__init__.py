"""``certreg``: the one command-line front door.

Settings and the clock are read here, once, and passed down; the core stays pure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from certreg.cli.audit import add_parsers as add_audit_parsers
from certreg.cli.bundle import add_parsers as add_bundle_parsers
from certreg.cli.contract import add_parsers as add_contract_parsers
from certreg.cli.dev import add_parsers as add_dev_parsers
from certreg.cli.explanations import (
    meaning_lines,
    print_error,
    result_json,
    result_lines,
)
from certreg.cli.node import add_parsers as add_node_parsers
from certreg.cli.search import add_parsers as add_search_parsers
from certreg.cli.serve import add_parsers as add_serve_parsers
from node.core.certificate import CERTIFICATE_TYPES, SKILL_LEVEL
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact, parse_bundle_text
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.rules.ids import explain_check, explain_result
from node.core.verify import CHECKS, Check, ResultCode, VerificationResult, verify_bundle_text
from node.storage.files import write_private, write_private_json
from province.calendars import ENVIRONMENT, calendar_from_environment

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")


def cmd_sample(args: argparse.Namespace) -> int:
    from certreg.dev.sample import make_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sample = make_sample(args.seed, args.suite, certificate_type=args.type)
    # The sample's holder is invented, but its bundles are written as real ones are (0600).
    write_private_json(out / "bundle.json", sample.bundle.to_json())
    write_private_json(out / "bundle-redacted.json", sample.redacted.to_json())
    write_private_json(out / "snapshot.json", sample.snapshot.to_json())
    write_private(out / "bundle.qr.txt", encode_compact(sample.bundle) + "\n", "ascii")
    print(
        f"wrote a {args.type} sample: {out}/bundle.json, bundle-redacted.json, bundle.qr.txt "
        "and snapshot.json"
    )
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
    """The result code and what it means (and the status's reason code), each check, what a
    failed check requires, and the computed hashes."""
    marks = {True: "ok  ", False: "FAIL", None: "skip"}
    print(f"{name}: {result.code.value} (as of block {result.as_of_block})")
    for line in result_lines(result):
        print(line)
    for check in result.checks:
        print(f"  [{marks[check.passed]}] {check.name:<10} {check.detail}")
        if check.passed is False:
            for line in meaning_lines(explain_check(check.name), " " * 9):
                print(line)
    for key in ("commitment", "leaf_hash", "root"):
        if key in result.hashes:
            print(f"  {key}: {result.hashes[key]}")


def _read_snapshot(path: str) -> Snapshot:
    """Parse a snapshot file (``docs/FORMATS.md`` "Snapshot").

    Raises OSError, ValueError (not JSON) or InvalidInput (not a snapshot).
    """
    return Snapshot.from_text(Path(path).read_bytes())


def _contract_address(text: str) -> str:
    """``--contract``: 0x and 40 hex digits (any case)."""
    if not _ADDRESS_RE.fullmatch(text):
        raise InvalidInput("--contract", "cli.address", "must be 0x followed by 40 hex digits")
    return text


def _registry(args: argparse.Namespace) -> Any:
    """A read-only client of ``--contract`` on ``--rpc`` (``anchor.chain.RegistryClient``).

    The zero address is the caller of views, so no account is needed on the node.
    """
    from anchor.chain import RegistryClient

    address = _contract_address(args.contract)
    return RegistryClient.connect(args.rpc, address, sender="0x" + "00" * 20)


def _bar(args: argparse.Namespace, **kw: Any) -> tqdm[Any]:
    """A progress bar on stderr, off with ``--quiet`` or when stderr is not a terminal."""
    return tqdm(file=sys.stderr, disable=args.quiet or None, dynamic_ncols=True, **kw)


def _chain_snapshot(
    args: argparse.Namespace, client: Any, block: int | None, since: Snapshot | None
) -> Snapshot:
    """``anchor.snapshot.take_snapshot`` with a progress bar over the blocks replayed."""
    from anchor.snapshot import take_snapshot

    end = client.block_number() if block is None else block
    start = client.options.from_block if since is None else since.block.number + 1
    with _bar(args, total=max(0, end - start + 1), unit="block", desc="replaying") as bar:

        def advance(number: int) -> None:
            bar.update(max(0, number - start + 1 - bar.n))

        snapshot: Snapshot = take_snapshot(client, block=end, since=since, progress=advance)
    return snapshot


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Write the contract's state at ``--block`` (default: the latest) to ``-o``; with
    ``--since``, continue an older snapshot of the same network instead of replaying all."""
    from anchor.snapshot import write_snapshot

    since = None
    if args.since is not None:
        try:
            since = _read_snapshot(args.since)
        except (OSError, ValueError, InvalidInput) as exc:
            print_error(exc, f"error: cannot read snapshot {args.since}: ")
            return 2
    snapshot = _chain_snapshot(args, _registry(args), args.block, since)
    write_snapshot(snapshot, args.out)
    print(
        f"wrote {args.out}: block {snapshot.block.number} (0x{snapshot.block.hash.hex()}), "
        f"{len(snapshot.members)} members, {len(snapshot.organisations)} organisations, "
        f"{len(snapshot.checkpoints)} checkpoints, {len(snapshot.statuses)} status records"
    )
    return 0


def _trust_source(args: argparse.Namespace) -> SnapshotTrustSource:
    """The snapshot file (offline: nothing touches the network), or a fresh snapshot of the
    chain at its latest block (online; see docs/SNAPSHOT.md for why).

    Raises OSError, ValueError, InvalidInput (a bad snapshot or flag), ChainError.
    """
    if args.snapshot is not None:
        return SnapshotTrustSource(_read_snapshot(args.snapshot))
    if args.contract is None:
        raise InvalidInput("--contract", "cli.required", "--rpc needs --contract ADDRESS")
    return SnapshotTrustSource(_chain_snapshot(args, _registry(args), None, None))


def bundle_files(folder: Path) -> list[Path]:
    """The bundle files of a folder, sorted by name: ``*.json`` and ``*.txt`` (which covers the
    compact ``*.qr.txt``); sub-folders are not searched."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".txt"))


def _verify_path(path: Path, trust: SnapshotTrustSource, at: int) -> VerificationResult:
    """Verify one bundle file; a file that cannot be read as UTF-8 text is ``MALFORMED``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        checks: tuple[Check, ...] = (
            Check("format", False, f"cannot read the file: {type(exc).__name__}"),
        )
        checks += tuple(Check(name, None, "skipped") for name, _ in CHECKS[1:])
        return VerificationResult(ResultCode.MALFORMED, checks, {}, trust.block.number)
    return verify_bundle_text(text, trust, at=at)


def _first_failure(result: VerificationResult) -> str:
    failed = next((c for c in result.checks if c.passed is False), None)
    return "" if failed is None else f" ({failed.name}: {failed.detail})"


def _verify_folder(
    args: argparse.Namespace, folder: Path, trust: SnapshotTrustSource, at: int
) -> int:
    """Verify every bundle file of ``folder``; print each result and a summary (count per
    result code); exit 0 only when every one is VALID."""
    files = bundle_files(folder)
    if not files:
        print(f"error: no bundle files (*.json, *.txt) in {folder}", file=sys.stderr)
        return 2
    results: list[tuple[Path, VerificationResult]] = []
    for path in _bar(args, iterable=files, unit="bundle", desc="verifying"):
        results.append((path, _verify_path(path, trust, at)))
    counts: dict[str, int] = {}
    for _, result in results:
        counts[result.code.value] = counts.get(result.code.value, 0) + 1
    ordered = {code.value: counts[code.value] for code in ResultCode if code.value in counts}
    valid = ordered.get(ResultCode.VALID.value, 0)
    summary = {"total": len(results), "valid": valid, "counts": ordered}
    if args.json:
        report = {
            "folder": str(folder),
            "as_of_block": trust.block.number,
            "results": [{"file": p.name, **result_json(r)} for p, r in results],
            "summary": summary,
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for path, result in results:
            detail = "" if result.valid else _first_failure(result)
            print(f"{path.name}: {result.code.value}{detail}")
        # What each result code seen means, once; the summary stays the last line.
        for code in ordered:
            print(f"{code}:")
            for line in meaning_lines(explain_result(code)):
                print(line)
        shown = ", ".join(f"{code} {n}" for code, n in ordered.items())
        print(f"{len(results)} bundles as of block {trust.block.number}: {shown}")
    return 0 if valid == len(results) else 1


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a bundle file, or every bundle of a folder, offline against ``--snapshot`` or
    online against ``--rpc``/``--contract``; exit 0 only when all are VALID."""
    at = _parse_time(args.at)
    try:
        trust = _trust_source(args)
    except (OSError, ValueError, InvalidInput) as exc:
        source = f"snapshot {args.snapshot}" if args.snapshot is not None else args.rpc
        print_error(exc, f"error: cannot use {source}: ")
        return 2
    target = Path(args.bundle)
    if target.is_dir():
        return _verify_folder(args, target, trust, at)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read bundle {args.bundle}: {exc}", file=sys.stderr)
        return 2
    result = verify_bundle_text(text, trust, at=at)
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        _print_result(result, args.bundle)
    return 0 if result.code is ResultCode.VALID else 1


def cmd_qr(args: argparse.Namespace) -> int:
    raw = parse_bundle_text(Path(args.bundle).read_text(encoding="utf-8"))
    print(encode_compact(Bundle.from_json(raw)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from certreg.bench import core as bench

    figures: dict[str, Any]
    if args.what == "core":
        figures = bench.bench_core(entries=args.entries)
    elif args.what == "audit":
        from certreg.cli.audit import bench_audit

        figures = bench_audit(entries=args.entries)
    elif args.what == "federation":
        from certreg.bench.federation import bench_federation

        figures = bench_federation(requests=args.requests)
        print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
        return 0
    elif args.what == "node":
        from certreg.bench.node import bench_node

        figures = bench_node(
            certificates=args.certificates,
            database=args.database,
            workers=args.workers,
            chunk_size=args.chunk_size,
        )
    elif args.what == "scale":
        from certreg.bench.scale import ScaleOptions, bench_scale, format_table

        options = ScaleOptions(peer_documents=args.peer_documents or None, rpc=args.rpc)
        figures = bench_scale(
            certificates=args.certificates, peer=not args.no_peer, options=options
        )
        if args.json:
            print(format_table(figures), file=sys.stderr)
            print(json.dumps(figures, ensure_ascii=False))
        else:
            print(format_table(figures))
        return 0
    else:
        from certreg.cli.contract import bench_contract

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
    p.add_argument(
        "--type",
        choices=CERTIFICATE_TYPES,
        default=SKILL_LEVEL,
        help="certificate type (default skill_level; the others are written in format 2)",
    )
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("verify", help="verify a bundle (JSON or compact QR text) or a folder")
    p.add_argument("bundle", help="bundle file (JSON or compact CR1: text), or a folder of them")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", help="snapshot JSON (offline verification)")
    source.add_argument("--rpc", help="JSON-RPC URL of the chain (online verification)")
    p.add_argument("--contract", help="contract address (with --rpc)")
    p.add_argument("--at", help="verification time: unix seconds or ISO 8601 with zone")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("snapshot", help="write the contract's state at a block to a file")
    p.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    p.add_argument("--contract", required=True, help="contract address")
    p.add_argument("--block", type=int, help="block number (default: the latest)")
    p.add_argument("-o", "--out", required=True, help="snapshot file to write")
    p.add_argument("--since", help="an older snapshot of the same network to bring up to date")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("qr", help="print the compact QR text of a bundle")
    p.add_argument("bundle")
    p.set_defaults(func=cmd_qr)

    p = sub.add_parser("bench", help="benchmarks that print figures")
    p.add_argument("what", choices=("core", "contract", "node", "audit", "scale", "federation"))
    p.add_argument(
        "--requests", type=int, default=500, help="bench federation: searches of each kind"
    )
    p.add_argument(
        "--entries", type=int, default=1_000_000, help="log size for bench core and bench audit"
    )
    p.add_argument(
        "--certificates", type=int, default=100_000, help="bench node, bench scale: certificates"
    )
    p.add_argument(
        "--peer-documents",
        type=int,
        default=100_000,
        help="bench scale: documents for the peer (OpenAttestation); 0 = as many as --certificates",
    )
    p.add_argument("--no-peer", action="store_true", help="bench scale: skip the peer")
    p.add_argument("--rpc", help="bench scale: an existing chain's JSON-RPC URL (default: anvil)")
    p.add_argument("--database", help="bench node: database URL (default: a temporary SQLite)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="bench node: intake worker processes (default: the machine's cores; 0 = none)",
    )
    p.add_argument("--chunk-size", type=int, default=5000, help="bench node: rows per transaction")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    add_contract_parsers(sub)
    add_node_parsers(sub)
    add_audit_parsers(sub)
    add_serve_parsers(sub)
    add_dev_parsers(sub)
    add_bundle_parsers(sub)
    add_search_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # The working-day calendar: chinese-calendar's years plus those published after it
        # (province/calendars.py). Commands that judge deadlines take it from args.calendar.
        args.calendar = calendar_from_environment()
    except InvalidInput as exc:
        print_error(exc, f"error: {ENVIRONMENT}: ")
        return 2
    try:
        status: int = args.func(args)
    except RegistryError as exc:
        print_error(exc)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
