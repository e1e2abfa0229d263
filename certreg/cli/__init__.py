"""``certreg``: the one command-line front door.

Settings and the clock are read here, once, and passed down; the core stays pure.

Start-up stays fast (issue "verifier trust", item 6): this module imports only the standard
library and the pure core at start. Each command group (``node``, ``audit``, ``serve``, ...) is
registered from :data:`GROUPS` by name and help text alone, and its module is imported only when
its command is the one run (or ``--help`` of it is asked for); ``certreg verify --snapshot``
therefore loads no web3, SQLAlchemy, FastAPI or auditor (``tests/certreg/test_cli_start.py``
checks the module set, ``certreg bench verify-start`` times the whole process).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from certreg.cli.explanations import (
    meaning_lines,
    print_error,
    result_json,
    result_lines,
)
from node.core.certificate import CERTIFICATE_TYPES, SKILL_LEVEL
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact, parse_bundle_text
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource
from node.core.formats.trust import TrustRootBody, TrustRootFile
from node.core.rules.ids import explain_check, explain_result
from node.core.verify import (
    DEFAULT_MAX_AGE,
    ResultCode,
    VerificationResult,
    describe_time,
    malformed_result,
    verify_bundle_text,
)

if TYPE_CHECKING:
    from tqdm import tqdm

#: The command groups registered lazily: name -> (module, help). The module's
#: ``add_parsers(subparsers)`` registers the group; it is imported only when the group runs.
GROUPS: Final[dict[str, tuple[str, str]]] = {
    "contract": ("certreg.cli.contract", "deploy the consortium contract"),
    "consortium": (
        "certreg.cli.consortium",
        "governance: proposals, approvals, members and their keys",
    ),
    "node": ("certreg.cli.node", "set up and run a province node"),
    "audit": ("certreg.cli.audit", "replay the chain from genesis and check every province log"),
    "serve": ("certreg.cli.serve", "run the HTTP API (or --demo: a throw-away province)"),
    "dev": ("certreg.cli.dev", "a local three-province consortium (docs/DEV.md)"),
    "bundle": ("certreg.cli.bundle", "work on a holder's bundle"),
    "trust-root": (
        "certreg.cli.trust",
        "build (and sign) the consortium's trust root from the chain",
    ),
    "search": (
        "certreg.cli.search",
        "find certificates by two of number, name, ID number (any province)",
    ),
}
#: :func:`build_parser`'s default: register every group in full.
ALL_GROUPS: Final = "*"

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")


def cmd_sample(args: argparse.Namespace) -> int:
    from certreg.dev.sample import make_sample
    from node.storage.files import write_private, write_private_json

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


_DURATION_RE = re.compile(r"([0-9]{1,9})([dhms])")
_DURATION_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """``--max-age``: a number and a unit, ``7d``, ``12h``, ``15m`` or ``30s``; in seconds.

    Raises:
        InvalidInput: ``cli.duration``.
    """
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput("--max-age", "cli.duration", "a number and d, h, m or s, e.g. 7d or 12h")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _print_result(result: VerificationResult, name: str) -> None:
    """The result code and what it means (and the status's reason code), each check, what a
    failed check requires, and the computed hashes."""
    marks = {True: "ok  ", False: "FAIL", None: "skip"}
    when = "" if result.as_of_time is None else f", {describe_time(result.as_of_time)}"
    basis = " from the checkpoint's cosignatures" if result.basis == "witnessed" else ""
    print(f"{name}: {result.code.value} (as of block {result.as_of_block}{when}{basis})")
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


def add_confirmations_argument(parser: argparse.ArgumentParser) -> None:
    """``--confirmations N``: blocks that make a block final for this command's reads."""
    parser.add_argument(
        "--confirmations",
        type=int,
        help="blocks (itself included) that make a block final; default: the chain engine's "
        "(1 for anvil and BFT engines, 3 for Clique)",
    )


def _registry(args: argparse.Namespace) -> Any:
    """A read-only client of ``--contract`` on ``--rpc`` (``anchor.chain.RegistryClient``).

    The zero address is the caller of views, so no account is needed on the node. Reads stop
    at the latest final block: ``--confirmations``, else the default of the chain's engine
    (``anchor.engines``).
    """
    from anchor.chain import ClientOptions, RegistryClient, connect
    from anchor.engines import confirmations_for

    address = _contract_address(args.contract)
    w3 = connect(args.rpc)
    confirmations = confirmations_for(w3, getattr(args, "confirmations", None))
    return RegistryClient(
        w3, address, sender="0x" + "00" * 20, options=ClientOptions(confirmations=confirmations)
    )


def _bar(args: argparse.Namespace, **kw: Any) -> tqdm[Any]:
    """A progress bar on stderr, off with ``--quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=args.quiet or None, dynamic_ncols=True, **kw)


def _chain_snapshot(
    args: argparse.Namespace, client: Any, block: int | None, since: Snapshot | None
) -> Snapshot:
    """``anchor.snapshot.take_snapshot`` with a progress bar over the blocks replayed."""
    from anchor.snapshot import take_snapshot

    end = client.final_block() if block is None else block
    start = client.options.from_block if since is None else since.block.number + 1
    with _bar(args, total=max(0, end - start + 1), unit="block", desc="replaying") as bar:

        def advance(number: int) -> None:
            bar.update(max(0, number - start + 1 - bar.n))

        snapshot: Snapshot = take_snapshot(client, block=end, since=since, progress=advance)
    return snapshot


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Write the contract's state at ``--block`` (default: the latest) to ``-o``; with
    ``--since``, continue an older snapshot of the same network instead of replaying all.

    With ``--sign-key`` and ``--province`` the snapshot is written as version 2 (taken now, with
    the working-day calendar, and with ``--ipfs``/``--manifests`` the audit statements published
    on chain) and signed by that member; with ``--cosign FILE`` as well, the member instead
    rebuilds FILE from its own reading of the chain at FILE's block (its calendar, the statements
    it can fetch, FILE's time: at most a day old) and adds its signature only when the digests
    agree."""
    from anchor.snapshot import write_snapshot
    from anchor.trust_roots import sign_snapshot, signable_snapshot

    since = None
    if args.since is not None:
        try:
            since = _read_snapshot(args.since)
        except (OSError, ValueError, InvalidInput) as exc:
            print_error(exc, f"error: cannot read snapshot {args.since}: ")
            return 2
    try:
        signing = _signing_key(args)
        cosign = None if args.cosign is None else _read_snapshot(args.cosign)
    except (OSError, ValueError, InvalidInput) as exc:
        print_error(exc, "error: cannot sign: ")
        return 2
    block = args.block if cosign is None else cosign.block.number
    client = _registry(args)
    snapshot = _chain_snapshot(args, client, block, since)
    if signing is not None:
        # The working-day calendar the snapshot carries (chinese-calendar's years plus those
        # published after it, CERTREG_CALENDAR): loaded here, the one command of this module
        # that needs it.
        from province.calendars import calendar_from_environment

        calendar = calendar_from_environment()
        audits = _audits(args, client, snapshot.block.number)
        if cosign is not None:
            from anchor.trust_roots import cosign_snapshot

            # This member rebuilds the file's snapshot from its own reading of the chain, its
            # calendar and the audit statements it can fetch, as a node does for its peers
            # (POST /v1/snapshot/cosign), allowing a file up to a day old.
            try:
                mine = cosign_snapshot(
                    snapshot,
                    block_hash=cosign.block.hash,
                    time=cosign.time,
                    digest=cosign.digest(),
                    now=int(time.time()),
                    calendar=calendar,
                    province=signing[0],
                    suite=signing[1],
                    private_key=signing[2],
                    audits=audits,
                    max_age=COSIGN_MAX_AGE,
                )
            except InvalidInput as exc:
                print_error(exc, f"error: {args.cosign} not signed: ")
                return 1
            others = tuple(s for s in cosign.signatures if s.province != mine.province)
            ordered = tuple(sorted((*others, mine), key=lambda s: s.province))
            snapshot = dataclasses.replace(cosign, signatures=ordered)
        else:
            snapshot = signable_snapshot(snapshot, int(time.time()), calendar, audits)
            snapshot = sign_snapshot(snapshot, *signing)
    write_snapshot(snapshot, args.out)
    signed = (
        f", version 2 signed by {', '.join(s.province for s in snapshot.signatures)}"
        if snapshot.signatures
        else ""
    )
    print(
        f"wrote {args.out}: block {snapshot.block.number} (0x{snapshot.block.hash.hex()}), "
        f"{len(snapshot.members)} members, {len(snapshot.organisations)} organisations, "
        f"{len(snapshot.checkpoints)} checkpoints, {len(snapshot.statuses)} status records"
        f"{signed}"
    )
    return 0


#: How old a snapshot file a member still cosigns offline (``certreg snapshot --cosign``).
COSIGN_MAX_AGE = 24 * 3600


def _audits(args: argparse.Namespace, client: Any, block: int) -> tuple[Any, ...]:
    """The audit statements published up to ``block``, with ``--ipfs`` or ``--manifests``
    (none without a store)."""
    if args.ipfs is None and args.manifests is None:
        return ()
    from anchor.audit_statements import audit_records, store_fetch
    from certreg.cli.audit import store_of

    return audit_records(client, store_fetch(store_of(args)), to_block=block)


def _signing_key(args: argparse.Namespace) -> tuple[str, str, bytes] | None:
    """``--sign-key FILE`` (hex), ``--province``, ``--suite``: who signs, or None."""
    if args.sign_key is None:
        if args.cosign is not None:
            raise InvalidInput("--sign-key", "cli.required", "--cosign needs --sign-key FILE")
        return None
    if args.province is None or not re.fullmatch(r"[1-8][0-9]", args.province):
        raise InvalidInput("--province", "cli.required", "--sign-key needs --province NN")
    private = bytes.fromhex(Path(args.sign_key).read_text("ascii").strip())
    return args.province, args.suite, private


@dataclasses.dataclass(frozen=True)
class _Trust:
    """What ``certreg verify`` verifies against: a trust source (None: only the trust root and
    the bundle's cosignatures), the trust root, the maximum age, and whether the verifier read
    the chain itself."""

    source: SnapshotTrustSource | None
    root: TrustRootBody | None = None
    max_age: int | None = None
    vouched: str | None = None

    def verify(self, text: str, at: int) -> VerificationResult:
        return verify_bundle_text(
            text, self.source, at=at, root=self.root, max_age=self.max_age, vouched=self.vouched
        )


def _trust(args: argparse.Namespace) -> _Trust:
    """The trust source, the trust root (``--trust-root``: its chain is checked from its first
    root) and the maximum age (``--max-age``; 7 days by default with a trust root, none without).

    Raises OSError, ValueError, InvalidInput (a bad file or flag), ChainError.
    """
    root = None
    if args.trust_root is not None:
        root = TrustRootFile.from_text(Path(args.trust_root).read_bytes()).verify()
    if args.max_age is not None:
        max_age: int | None = parse_duration(args.max_age)
    else:
        max_age = DEFAULT_MAX_AGE if root is not None else None
    if args.snapshot is None and args.rpc is None:
        if root is None:
            raise InvalidInput(
                "--snapshot", "cli.required", "give --snapshot FILE, --rpc URL or --trust-root FILE"
            )
        return _Trust(None, root, max_age)
    vouched = None
    if args.rpc is not None:
        vouched = f"read from {args.rpc} by this verifier"
    return _Trust(_trust_source(args), root, max_age, vouched)


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


def _verify_path(path: Path, trust: _Trust, at: int) -> VerificationResult:
    """Verify one bundle file; a file that cannot be read as UTF-8 text is ``MALFORMED``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return malformed_result(f"cannot read the file: {type(exc).__name__}", trust.source)
    return trust.verify(text, at)


def _first_failure(result: VerificationResult) -> str:
    failed = next((c for c in result.checks if c.passed is False), None)
    return "" if failed is None else f" ({failed.name}: {failed.detail})"


def _verify_folder(args: argparse.Namespace, folder: Path, trust: _Trust, at: int) -> int:
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
            "as_of_block": None if trust.source is None else trust.source.block.number,
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
        block = (
            "their checkpoints" if trust.source is None else f"block {trust.source.block.number}"
        )
        print(f"{len(results)} bundles as of {block}: {shown}")
    return 0 if valid == len(results) else 1


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a bundle file, or every bundle of a folder, offline against ``--snapshot`` or
    online against ``--rpc``/``--contract``; exit 0 only when all are VALID."""
    at = _parse_time(args.at)
    try:
        trust = _trust(args)
    except (OSError, ValueError, InvalidInput) as exc:
        source = (
            f"snapshot {args.snapshot}"
            if args.snapshot is not None
            else args.rpc or f"trust root {args.trust_root}"
        )
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
    result = trust.verify(text, at)
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
    elif args.what == "verify-start":
        from certreg.bench.verify_start import bench_verify_start

        figures = bench_verify_start(runs=args.runs)
    elif args.what == "node":
        from certreg.bench.node import bench_node

        figures = bench_node(
            certificates=args.certificates,
            database=args.database,
            workers=args.workers,
            chunk_size=args.chunk_size,
        )
    elif args.what == "province":
        from certreg.bench.province import bench_province

        figures = bench_province(
            certificates=args.certificates,
            database=args.database,
            workers=args.workers,
            chunk_size=args.chunk_size,
            fetches=args.fetches,
            status_changes=args.status_changes,
            http_processes=args.http_processes,
            http_rates=tuple(args.http_rate or (50.0, 100.0, 200.0)),
            http_seconds=args.http_seconds,
            http_connections=args.http_connections,
        )
        text = json.dumps(figures, ensure_ascii=False, indent=None if args.json else 2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)
        return 0
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


def _command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (``certreg`` itself
    takes no option but ``--help``), or None."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(only: str | None = ALL_GROUPS) -> argparse.ArgumentParser:
    """The ``certreg`` parser. Every group of :data:`GROUPS` is listed; ``only`` picks the one
    whose module is imported and registered in full (default :data:`ALL_GROUPS`: all of them;
    None: none, enough for ``certreg --help`` and the commands defined here)."""
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
    source = p.add_mutually_exclusive_group()
    source.add_argument("--snapshot", help="snapshot JSON (offline verification)")
    source.add_argument("--rpc", help="JSON-RPC URL of the chain (online verification)")
    p.add_argument("--contract", help="contract address (with --rpc)")
    add_confirmations_argument(p)
    p.add_argument(
        "--trust-root",
        help="trust-root JSON of the consortium: the snapshot must be signed by a threshold of "
        "its members; alone, a bundle with its checkpoint's cosignatures is verified as of then",
    )
    p.add_argument(
        "--max-age",
        help="maximum age of the snapshot, e.g. 7d, 12h or 30s (default 7d with --trust-root)",
    )
    p.add_argument("--at", help="verification time: unix seconds or ISO 8601 with zone")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("snapshot", help="write the contract's state at a block to a file")
    p.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    p.add_argument("--contract", required=True, help="contract address")
    p.add_argument("--block", type=int, help="block number (default: the latest final one)")
    add_confirmations_argument(p)
    p.add_argument("-o", "--out", required=True, help="snapshot file to write")
    p.add_argument("--since", help="an older snapshot of the same network to bring up to date")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--sign-key", help="this member's checkpoint-signing key (hex file): sign (version 2)"
    )
    p.add_argument("--province", help="this member's province (with --sign-key)")
    p.add_argument("--suite", choices=("ed25519", "sm2-sm3"), default="ed25519")
    p.add_argument(
        "--cosign", help="a signed snapshot to check against the chain and add a signature to"
    )
    store = p.add_mutually_exclusive_group()
    store.add_argument(
        "--ipfs", help="with --sign-key: fetch the audit statements published on chain from IPFS"
    )
    store.add_argument("--manifests", help="the same from a local content-addressed directory")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("qr", help="print the compact QR text of a bundle")
    p.add_argument("bundle")
    p.set_defaults(func=cmd_qr)

    p = sub.add_parser("bench", help="benchmarks that print figures")
    p.add_argument(
        "what",
        choices=(
            "core",
            "contract",
            "node",
            "audit",
            "scale",
            "federation",
            "verify-start",
            "province",
        ),
    )
    p.add_argument(
        "--runs", type=int, default=11, help="bench verify-start: processes timed per command"
    )
    p.add_argument(
        "--requests", type=int, default=500, help="bench federation: searches of each kind"
    )
    p.add_argument(
        "--entries", type=int, default=1_000_000, help="log size for bench core and bench audit"
    )
    p.add_argument(
        "--certificates", type=int, default=100_000, help="bench node, scale, province: how many"
    )
    p.add_argument(
        "--peer-documents",
        type=int,
        default=100_000,
        help="bench scale: documents for the peer (OpenAttestation); 0 = as many as --certificates",
    )
    p.add_argument("--no-peer", action="store_true", help="bench scale: skip the peer")
    p.add_argument("--rpc", help="bench scale: an existing chain's JSON-RPC URL (default: anvil)")
    p.add_argument(
        "--database",
        help="bench node: database URL (default: a temporary SQLite); bench province: an empty "
        "PostgreSQL database (default: a server started and stopped by the run)",
    )
    p.add_argument(
        "--fetches", type=int, default=2000, help="bench province: proofs and bundles timed"
    )
    p.add_argument("--out", help="bench province: also write the JSON report to this file")
    p.add_argument(
        "--status-changes",
        type=int,
        default=None,
        help="bench province: certificates revoked (default 1 %% of --certificates, at most "
        "10,000)",
    )
    p.add_argument(
        "--http-processes",
        type=int,
        default=2,
        help="bench province: API processes of the HTTP stage (0: no HTTP stage)",
    )
    p.add_argument(
        "--http-rate",
        type=float,
        action="append",
        help="bench province: HTTP requests per second of one run of each endpoint (repeat for "
        "several runs; default 50, 100 and 200)",
    )
    p.add_argument(
        "--http-seconds", type=float, default=10.0, help="bench province: seconds per endpoint"
    )
    p.add_argument(
        "--http-connections",
        type=int,
        default=64,
        help="bench province: keep-alive connections of the HTTP load generator",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="bench node: intake worker processes (default: the machine's cores; 0 = none)",
    )
    p.add_argument("--chunk-size", type=int, default=5000, help="bench node: rows per transaction")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    for name, (module, help_text) in GROUPS.items():
        if only in (ALL_GROUPS, name):
            importlib.import_module(module).add_parsers(sub)
        else:
            # Listed in ``certreg --help``; never parsed (the group's word selects ``only``).
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_word(words))
    args = parser.parse_args(words)
    if args.command in GROUPS:
        # The working-day calendar: chinese-calendar's years plus those published after it
        # (province/calendars.py). The groups' commands that judge deadlines take it from
        # args.calendar; the commands of this module judge none, and building the calendar's
        # day table would be most of `certreg verify`'s start-up.
        from province.calendars import ENVIRONMENT, calendar_from_environment

        try:
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
