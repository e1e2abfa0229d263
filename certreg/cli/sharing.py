"""``certreg node sharing …``, ``certreg node holder-code``, ``certreg node access-log …`` and
``certreg node federation …`` (docs/SHARING.md).

- ``sharing add FILE [--key]``: record an agreement from its JSON terms (``--key`` also prints a
  partner key bound to it, once); ``sharing list``; ``sharing end ID --reason R
  [--deletion-instruction T]`` (its keys are revoked at once); ``sharing key ID``: a partner
  key; ``sharing report [--days N] [--agreement ID]``: reads per partner and day, with the
  harvesting flags (exit 1 when a partner is flagged).
- ``holder-code --certificate-number N [--ttl-days D]``: a one-time code for a holder.
- ``access-log head | export [--out F] | verify``: the log's head, its record hashes for an
  auditor (``certreg audit --access-log 44=F``), and a check of every record against the heads
  the checkpoints anchored (exit 1 on a problem).
- ``federation register | status | peers [P=URL …]``: publish the node's request-signing key
  on the contract, show what the contract holds, set other provinces' addresses.

The sharing, code and access-log verbs need only the database (they work while the chain is
down); the federation verbs need the chain.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from node.core.errors import InvalidInput
from node.core.sharing import parse_terms
from node.storage import Database, open_database
from node.storage.files import write_private
from province.config import NodeConfig, load_config, replace_config

NODE_DIR_ENV = "CERTREG_NODE_DIR"


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.dir or os.environ.get(NODE_DIR_ENV) or ".")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _emit(args: argparse.Namespace, value: Any, text: str) -> None:
    print(json.dumps(value, ensure_ascii=False) if args.json else text)


def _services(args: argparse.Namespace) -> tuple[NodeConfig, Database, Any, Any, Any]:
    """The node's configuration, database and its sharing, access-log and code services (no
    chain)."""
    from node.services.access import AccessLogService
    from node.services.holder_codes import HolderCodeService
    from node.services.sharing import SharingService

    config = load_config(_dir(args))
    db = open_database(config.database)
    return (
        config,
        db,
        SharingService(db, config.province, clock=_now),
        AccessLogService(db, config.province, clock=_now),
        HolderCodeService(db, clock=_now),
    )


# -- sharing -----------------------------------------------------------------------------------


def cmd_sharing(args: argparse.Namespace) -> int:
    from api.auth import create_api_key

    config, db, sharing, _access, _codes = _services(args)
    try:
        if args.verb == "add":
            value = json.loads(Path(args.file).read_text(encoding="utf-8"))
            agreement = sharing.add(parse_terms(value), actor=args.actor)
            out: dict[str, Any] = agreement.to_json()
            if args.key:
                out["key"] = create_api_key(db, "partner", agreement.id, label=args.label)
            text = f"agreement {agreement.id} recorded for {agreement.terms.partner_name}"
            _emit(
                args, out, text + (f"\npartner key (shown once): {out['key']}" if args.key else "")
            )
            return 0
        if args.verb == "list":
            found = [a.to_json() for a in sharing.all()]
            lines = [
                f"{a['id']}  {a['state']:<6}  {a['partner_name']}  {a['credit_code']}  "
                f"{a['starts_at']} → {a['ends_at']}  quota {a['daily_quota']}/day  "
                f"{','.join(a['operations'])}  full: {','.join(a['fields']) or '-'}"
                for a in found
            ]
            _emit(args, {"agreements": found}, "\n".join(lines) or "no agreements")
            return 0
        if args.verb == "end":
            ended, revoked = sharing.end(
                args.agreement,
                actor=args.actor,
                reason=args.reason,
                deletion_instruction=args.deletion_instruction,
            )
            _emit(
                args,
                {**ended.to_json(), "keys_revoked": revoked},
                f"agreement {ended.id} ended; {revoked} partner key(s) revoked; deletion "
                f"instruction recorded: {ended.deletion_instruction}",
            )
            return 0
        if args.verb == "key":
            agreement = sharing.get(args.agreement)
            key = create_api_key(db, "partner", agreement.id, label=args.label)
            _emit(args, {"agreement": agreement.id, "key": key}, key)
            return 0
        reports = sharing.report(days=args.days, agreement_id=args.agreement)
        lines = []
        for report in reports:
            mark = "FLAGGED" if report.flagged else "ok"
            lines.append(f"{report.agreement.id} {report.agreement.terms.partner_name}: {mark}")
            for day in report.days:
                lines.append(
                    f"  {day.day}  {day.queries} queries, {day.found} found, {day.misses} "
                    f"misses, {day.refused} refused, {day.distinct_names} distinct names"
                    + (f"  [{', '.join(day.flags)}]" if day.flags else "")
                )
        _emit(
            args,
            {"days": args.days, "partners": [r.to_json() for r in reports]},
            "\n".join(lines) or "no agreements",
        )
        return 1 if any(r.flagged for r in reports) else 0
    finally:
        db.dispose()
        del config


# -- holder codes ------------------------------------------------------------------------------


def cmd_holder_code(args: argparse.Namespace) -> int:
    from node.storage import CertificateRepository

    config, db, _sharing, _access, codes = _services(args)
    try:
        number = args.certificate_number.strip().upper()
        with db.transaction() as session:
            found = CertificateRepository(
                session, config.cipher(), config.blind_index()
            ).get_current(number)
        if found is None or found.status != "active" or found.province != config.province:
            raise InvalidInput(
                "--certificate-number", "holder.not_active", "no active certificate here"
            )
        code, expires = codes.issue(number, actor=args.actor, ttl=dt.timedelta(days=args.ttl_days))
        _emit(
            args,
            {"certificate_number": number, "code": code, "expires_at": expires.isoformat()},
            f"{code}  (for {number}; once, until {expires.isoformat()})",
        )
        return 0
    finally:
        db.dispose()


# -- access log --------------------------------------------------------------------------------


def cmd_access_log(args: argparse.Namespace) -> int:
    _config, db, _sharing, access, _codes = _services(args)
    try:
        if args.verb == "head":
            head = access.head()
            _emit(args, head.to_json(), f"{head.count} records, head {head.head.hex()}")
            return 0
        if args.verb == "export":
            text = "".join(json.dumps(line) + "\n" for line in access.export())
            if args.out:
                write_private(Path(args.out), text, "ascii")
            else:
                print(text, end="")
            return 0
        problems = access.verify()
        _emit(
            args,
            {"problems": [{"checkpoint_index": i, "message": m} for i, m in problems]},
            "\n".join(f"{'checkpoint ' + str(i) if i >= 0 else 'log'}: {m}" for i, m in problems)
            or "the access log reaches every anchored head",
        )
        return 1 if problems else 0
    finally:
        db.dispose()


# -- federation --------------------------------------------------------------------------------


def cmd_federation(args: argparse.Namespace) -> int:
    directory = _dir(args)
    config = load_config(directory)
    if args.verb == "peers":
        peers = dict(config.peers)
        for item in args.peers or ():
            province, sep, url = item.partition("=")
            if not sep:
                raise InvalidInput("peers", "config.peers", "give PROVINCE=URL")
            peers[province] = url
        updated = dataclasses.replace(config, peers=peers)
        NodeConfig.from_json(updated.to_json())  # checks the codes and addresses
        replace_config(updated, directory)
        _emit(args, {"peers": peers}, "\n".join(f"{p} {u}" for p, u in sorted(peers.items())))
        return 0
    from province.node import ProvinceNode

    node = ProvinceNode.open(config)
    try:
        federation = node.federation
        if federation is None:
            raise InvalidInput(
                "config.federation", "federation.disabled", "node.json has no federation key"
            )
        if args.verb == "register":
            result = federation.register()
            _emit(
                args,
                {"public_key": federation.public_key.hex(), "transaction": result.transaction_hash},
                f"node API key {federation.public_key.hex()} published for {config.province} "
                f"({result.transaction_hash})",
            )
            return 0
        registered = federation.registered()
        _emit(
            args,
            {
                "province": config.province,
                "public_key": federation.public_key.hex(),
                "registered": registered,
                "members": federation.members(),
                "peers": dict(sorted(federation.peers.items())),
            },
            f"{config.province}: key {federation.public_key.hex()} "
            f"{'published' if registered else 'NOT published (run federation register)'}; "
            f"members {', '.join(federation.members())}; peers "
            + (", ".join(f"{p}={u}" for p, u in sorted(federation.peers.items())) or "none"),
        )
        return 0 if registered else 1
    finally:
        node.close()


def add_parsers(node_sub: argparse._SubParsersAction, common: Any, run: Any) -> None:  # type: ignore[type-arg]
    """Register the verbs under ``certreg node`` (``common`` adds ``--dir``/``--json``/
    ``--quiet``; ``run`` wraps a command with the exit statuses of ``certreg node``)."""
    sharing = node_sub.add_parser("sharing", help="sharing agreements with partners (art. 22)")
    verbs = sharing.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("add", help="record an agreement from its JSON terms")
    p.add_argument("file", help='the terms (docs/SHARING.md "Agreements")')
    p.add_argument("--key", action="store_true", help="also create a partner key (shown once)")
    p.add_argument("--label", default="", help="the key's label")
    p.add_argument("--actor", default="cli", help="who records it (audit trail)")
    common(p)
    p.set_defaults(func=run(cmd_sharing))
    p = verbs.add_parser("list", help="this province's agreements")
    common(p)
    p.set_defaults(func=run(cmd_sharing))
    p = verbs.add_parser("end", help="end an agreement: its keys stop at once")
    p.add_argument("agreement", help="the agreement id, e.g. 41-000001")
    p.add_argument("--reason", required=True)
    p.add_argument("--deletion-instruction", help="what the partner must do with what it read")
    p.add_argument("--actor", default="cli")
    common(p)
    p.set_defaults(func=run(cmd_sharing))
    p = verbs.add_parser("key", help="a partner key bound to an active agreement (shown once)")
    p.add_argument("agreement")
    p.add_argument("--label", default="")
    common(p)
    p.set_defaults(func=run(cmd_sharing))
    p = verbs.add_parser("report", help="reads per partner and day, harvesting flags")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--agreement", help="one agreement only")
    common(p)
    p.set_defaults(func=run(cmd_sharing))

    p = node_sub.add_parser("holder-code", help="a one-time code for a holder's own bundle")
    p.add_argument("--certificate-number", required=True)
    p.add_argument("--ttl-days", type=int, default=7, choices=range(1, 31), metavar="1-30")
    p.add_argument("--actor", default="cli")
    common(p)
    p.set_defaults(func=run(cmd_holder_code))

    log = node_sub.add_parser("access-log", help="the access log of reads of personal data")
    verbs = log.add_subparsers(dest="verb", required=True)
    for verb, what in (
        ("head", "the record count and head hash"),
        ("export", "the record hashes, for an auditor"),
        ("verify", "check the records against the anchored heads"),
    ):
        p = verbs.add_parser(verb, help=what)
        if verb == "export":
            p.add_argument("--out", help="file to write (owner-only), default stdout")
        common(p)
        p.set_defaults(func=run(cmd_access_log))

    federation = node_sub.add_parser("federation", help="queries to and from other provinces")
    verbs = federation.add_subparsers(dest="verb", required=True)
    for verb, what in (
        ("register", "publish this node's request-signing key on the contract"),
        ("status", "the key, whether the contract holds it, members and peers"),
        ("peers", "set other provinces' API addresses: PROVINCE=URL …"),
    ):
        p = verbs.add_parser(verb, help=what)
        if verb == "peers":
            p.add_argument("peers", nargs="*", metavar="PROVINCE=URL")
        common(p)
        p.set_defaults(func=run(cmd_federation))
