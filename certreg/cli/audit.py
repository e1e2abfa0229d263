"""``certreg audit`` and ``certreg bench audit``.

``certreg audit --rpc URL --contract ADDRESS [--ipfs URL | --manifests DIR] [--json]
[--report FILE] [--snapshot FILE] [--workers N] [--status-grace-blocks N] [--api [P=]URL …
--api-key K --api-sample N] [--access-log PROVINCE=FILE …] [--publish --key env:NAME]`` replays the
contract from genesis (``audit/auditor.py``), prints a human summary (the JSON report with
``--json``), writes the JSON report to ``--report`` when given, and exits 0 on a clean history,
1 when it found anything and 2 when it could not audit (chain or store unreachable, bad
arguments). With ``--publish`` it then stores one audit statement per province in the store and
references it on chain (``anchor.audit_statements``; the key is a member operator's).
``bench audit`` calls :func:`bench_audit`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from anchor.chain import ClientOptions, RegistryClient, connect
from anchor.engines import confirmations_for
from anchor.manifest import IpfsManifestStore, LocalManifestStore, ManifestStore
from audit.auditor import AuditOptions, audit
from audit.node_api import ApiTarget
from audit.report import AuditReport
from certreg.bench.audit import bench_audit
from certreg.cli.explanations import print_error
from node.core.errors import InvalidInput, RegistryError
from node.core.formats.access import parse_export
from node.core.formats.snapshot import Snapshot
from province.calendars import calendar_from_environment

__all__ = ["add_parsers", "bench_audit", "cmd_audit", "store_of"]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def store_of(args: argparse.Namespace) -> ManifestStore:
    """The content-addressed store of ``--ipfs URL`` or ``--manifests DIR``."""
    if args.ipfs:
        return IpfsManifestStore(args.ipfs)
    return LocalManifestStore(args.manifests)


def _snapshot(path: str | None) -> Snapshot | None:
    if path is None:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput("--snapshot", "audit.snapshot_file", f"cannot read: {exc}") from exc
    return Snapshot.from_text(data)


def _access_logs(texts: list[str] | None) -> dict[str, list[bytes]]:
    """``--access-log 44=FILE``: each province's access-log export (``certreg node access-log
    export``), as record hashes."""
    found: dict[str, list[bytes]] = {}
    for text in texts or ():
        province, sep, path = text.partition("=")
        if not sep or len(province) != 2 or not province.isdigit():
            raise InvalidInput("--access-log", "audit.access_log", "give PROVINCE=FILE")
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInput("--access-log", "audit.access_log", f"cannot read: {exc}") from exc
        found[province] = parse_export(lines)
    return found


def cmd_audit(args: argparse.Namespace) -> int:
    """Run the audit; print the summary or JSON; return the exit code."""
    try:
        w3 = connect(args.rpc)
        confirmations = confirmations_for(w3, args.confirmations)
        client = RegistryClient(
            w3, args.contract, options=ClientOptions(confirmations=confirmations)
        )
        # The working-day calendar of CERTREG_CALENDAR (read once by certreg.cli.main).
        calendar = getattr(args, "calendar", None)
        if calendar is None:
            calendar = calendar_from_environment()
        options = AuditOptions(
            workers=args.workers,
            status_grace_blocks=args.status_grace_blocks,
            snapshot=_snapshot(args.snapshot),
            apis=tuple(ApiTarget.parse(text, args.api_key) for text in args.api or ()),
            api_sample=args.api_sample,
            calendar=calendar,
            access_logs=_access_logs(args.access_log),
        )
        store = store_of(args)
        # The publishing operator's key is read before the audit runs.
        sender = _publisher(args) if args.publish else None
        report = audit(client, store, options)
        published = [] if sender is None else _publish(sender, report, store)
    except RegistryError as exc:
        print_error(exc)
        return EXIT_ERROR
    document = report.to_json()
    if args.report:
        Path(args.report).write_text(
            json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        print(report.summary())
        for line in published:
            print(line)
    return EXIT_CLEAN if report.clean else EXIT_FINDINGS


def _publisher(args: argparse.Namespace) -> RegistryClient:
    """``--publish``: the client of the operator whose key is in ``--key env:NAME``."""
    from certreg.cli.consortium import _secret

    if args.key is None:
        raise InvalidInput("--key", "cli.required", "--publish needs --key env:NAME")
    return RegistryClient(
        connect(args.rpc), args.contract, private_key=_secret(args.key), options=ClientOptions()
    )


def _publish(sender: RegistryClient, report: AuditReport, store: ManifestStore) -> list[str]:
    """Store one statement per province and reference it on chain; one line per statement."""
    from anchor.audit_statements import publish_statement
    from audit.statements import statements_of

    lines = []
    for statement in statements_of(report, sender):
        cid, result = publish_statement(sender, store, statement)
        what = "clean" if statement.clean else f"{len(statement.findings)} findings"
        lines.append(
            f"published the audit statement of {statement.province} checkpoint "
            f"{statement.checkpoint_index} ({what}): {cid}, transaction {result.transaction_hash}"
        )
    return lines


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``audit`` command."""
    p = subparsers.add_parser(
        "audit", help="replay the chain from genesis and check every province log"
    )
    p.add_argument("--rpc", required=True, help="'memory' or http(s):// JSON-RPC URL")
    p.add_argument("--contract", required=True, help="contract address 0x…")
    p.add_argument(
        "--confirmations",
        type=int,
        help="blocks (itself included) that make a block final: the audit stops at the latest "
        "final block; default: the chain engine's (1 for anvil and BFT engines, 3 for Clique)",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--ipfs", help="IPFS HTTP API URL (http://host:port)")
    source.add_argument("--manifests", help="local content-addressed manifest directory")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.add_argument("--report", help="also write the JSON report to this file")
    p.add_argument("--snapshot", help="an older snapshot JSON to compare the chain with")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for signature checks (default: every core)",
    )
    p.add_argument(
        "--status-grace-blocks",
        type=int,
        default=0,
        help="do not report status entries anchored this many blocks before the head",
    )
    p.add_argument(
        "--api",
        action="append",
        metavar="[PROVINCE=]URL",
        help="a node API to compare with the replayed state (repeatable, one per province)",
    )
    p.add_argument("--api-key", help="API key sent to every --api (the endpoints are public)")
    p.add_argument(
        "--api-sample",
        type=int,
        default=100,
        help="certificates per province asked of each --api (a seeded sample; default 100)",
    )
    p.add_argument(
        "--access-log",
        action="append",
        metavar="PROVINCE=FILE",
        help="a province's access-log export, checked against the heads its manifests "
        "anchored (repeatable; docs/SHARING.md)",
    )
    p.add_argument(
        "--publish",
        action="store_true",
        help="publish one audit statement per province (clean, or the findings naming leaves) "
        "to the store and reference it on chain, so snapshots carry it to verifiers",
    )
    p.add_argument(
        "--key", help="with --publish: env:NAME, the variable holding a member operator's key"
    )
    p.set_defaults(func=cmd_audit)
