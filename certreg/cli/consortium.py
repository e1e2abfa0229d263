"""``certreg consortium …``: the consortium's governance from the command line (docs/OPERATIONS.md
"Governance").

```
certreg consortium list     [--open] [--json]                       the proposals, newest first
certreg consortium show     ID [--json]                             one proposal
certreg consortium members  [--json]                                members, operators, keys
certreg consortium propose  KIND --province P [--operator 0x… …] [--json]
certreg consortium approve  ID [--json]
certreg consortium execute  ID [--json]
certreg consortium set-key  PURPOSE HEX                             (empty HEX withdraws it)
```

Every command talks to the chain either as a node (``--dir DIR``: its ``node.json`` gives the
chain, the contract and the operator key) or directly (``--rpc URL --contract ADDRESS``, and for
the writes ``--key env:NAME``: the operator's private key read from that environment variable,
never from the command line). ``KIND`` is a row of ``anchor.governance.PROPOSAL_KINDS`` (admit,
remove, replace-operators), ``PURPOSE`` one of ``KEY_PURPOSES`` (node-api). Writes return once
the transaction has the chain's confirmations (``--confirmations``, else the engine's).

Exit status: 0 done, 2 refused (the contract's error is named: ``consortium.refused``) or the
chain could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from anchor.chain import ClientOptions, RegistryClient, connect
from anchor.engines import confirmations_for
from anchor.governance import KEY_PURPOSES, PROPOSAL_KINDS, Governance, ProposalView
from node.core.errors import InvalidInput

__all__ = ["add_parsers"]

ZERO_ADDRESS = "0x" + "00" * 20


def _secret(text: str) -> str:
    """``env:NAME``: the value of that environment variable (a key is never a CLI argument)."""
    if not text.startswith("env:"):
        raise InvalidInput(
            "--key", "consortium.key_source", "give the operator key as env:NAME (not its value)"
        )
    value = os.environ.get(text[4:])
    if not value:
        raise InvalidInput("--key", "config.env", f"environment variable {text[4:]} is not set")
    return value


def _client(args: argparse.Namespace, *, write: bool) -> RegistryClient:
    """The client of ``--dir``'s node configuration, or of ``--rpc``/``--contract``/``--key``."""
    if args.dir is not None:
        from province.config import load_config

        config = load_config(Path(args.dir))
        w3 = connect(config.rpc)
        confirmations = args.confirmations or confirmations_for(
            w3, config.confirmations, config.engine
        )
        options = ClientOptions(confirmations=confirmations, gas_price=config.gas_price)
        return RegistryClient(
            w3, config.contract, private_key=config.operator_private_key(), options=options
        )
    if args.rpc is None or args.contract is None:
        raise InvalidInput("--rpc", "cli.required", "give --dir DIR, or --rpc URL --contract ADDR")
    w3 = connect(args.rpc)
    options = ClientOptions(confirmations=confirmations_for(w3, args.confirmations))
    if write:
        if args.key is None:
            raise InvalidInput("--key", "cli.required", "a write needs --key env:NAME or --dir")
        return RegistryClient(w3, args.contract, private_key=_secret(args.key), options=options)
    return RegistryClient(w3, args.contract, sender=ZERO_ADDRESS, options=options)


def _line(view: ProposalView) -> str:
    value = view.to_json()
    operators = " ".join(value["operators"]) or "-"
    return (
        f"#{value['id']} {value['kind']} {value['province']} operators {operators}; proposed by "
        f"{value['proposer_province']}; approvals {','.join(value['approvals']) or '-'} "
        f"({len(value['approvals'])}/{value['needed']} needed of {value['members']}); "
        f"{value['state']}"
    )


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    print(json.dumps(value, ensure_ascii=False) if args.json else text)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    views = Governance(_client(args, write=False)).proposals(open_only=args.open)
    text = "\n".join(_line(v) for v in views) or "no proposals"
    return _emit(args, {"proposals": [v.to_json() for v in views]}, text)


def cmd_show(args: argparse.Namespace) -> int:
    view = Governance(_client(args, write=False)).proposal(args.id)
    return _emit(args, view.to_json(), _line(view))


def cmd_members(args: argparse.Namespace) -> int:
    members = Governance(_client(args, write=False)).members()
    text = "\n".join(
        f"{m['province']}: operators {' '.join(m['operators'])}"
        + "".join(f"; {name} key {key}" for name, key in m["keys"].items())
        for m in members
    )
    return _emit(args, {"members": members}, text)


def cmd_propose(args: argparse.Namespace) -> int:
    view = Governance(_client(args, write=True)).propose(
        args.kind, args.province, args.operator or (), growth=args.growth
    )
    return _emit(args, view.to_json(), f"proposed {_line(view)}")


def cmd_approve(args: argparse.Namespace) -> int:
    view = Governance(_client(args, write=True)).approve(args.id)
    return _emit(args, view.to_json(), f"approved {_line(view)}")


def cmd_execute(args: argparse.Namespace) -> int:
    view = Governance(_client(args, write=True)).execute(args.id)
    return _emit(args, view.to_json(), f"executed {_line(view)}")


def cmd_set_key(args: argparse.Namespace) -> int:
    try:
        key = bytes.fromhex(args.value.removeprefix("0x"))
    except ValueError:
        raise InvalidInput("value", "config.hex", "must be hex") from None
    Governance(_client(args, write=True)).set_key(args.purpose, key)
    done = "withdrawn" if not key else "published"
    return _emit(args, {"purpose": args.purpose, "key": key.hex()}, f"{args.purpose} key {done}")


def _connection(p: argparse.ArgumentParser, *, write: bool) -> None:
    p.add_argument("--dir", help="a node's folder: its node.json gives chain, contract and key")
    p.add_argument("--rpc", help="JSON-RPC URL of the chain (without --dir)")
    p.add_argument("--contract", help="contract address (without --dir)")
    if write:
        p.add_argument(
            "--key", help="without --dir: env:NAME, the variable holding the operator's key"
        )
    p.add_argument(
        "--confirmations",
        type=int,
        help="blocks that make a block final (default: node.json's, else the engine's)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``consortium`` command group."""
    group = subparsers.add_parser(
        "consortium", help="governance: proposals, approvals, members and their keys"
    )
    sub = group.add_subparsers(dest="consortium_command", required=True)

    p = sub.add_parser("list", help="the proposals, newest first")
    p.add_argument("--open", action="store_true", help="only those still open or ready")
    _connection(p, write=False)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="one proposal with its approvals")
    p.add_argument("id", type=int)
    _connection(p, write=False)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("members", help="the members, their operators and published keys")
    _connection(p, write=False)
    p.set_defaults(func=cmd_members)

    kinds = "; ".join(f"{k.name}: {k.summary}" for k in PROPOSAL_KINDS)
    p = sub.add_parser("propose", help=f"propose a change ({kinds})")
    p.add_argument("kind", choices=[k.name for k in PROPOSAL_KINDS])
    p.add_argument(
        "--province", help="the province concerned (two digits; not for max-checkpoint-growth)"
    )
    p.add_argument(
        "--growth", type=int, help="max-checkpoint-growth: the most entries one checkpoint may add"
    )
    p.add_argument(
        "--operator", action="append", metavar="0xADDRESS", help="an operator account (repeat)"
    )
    _connection(p, write=True)
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser("approve", help="approve a proposal for your province")
    p.add_argument("id", type=int)
    _connection(p, write=True)
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("execute", help="execute a proposal a majority approved")
    p.add_argument("id", type=int)
    _connection(p, write=True)
    p.set_defaults(func=cmd_execute)

    purposes = "; ".join(f"{k.name} ({k.number}): {k.summary}" for k in KEY_PURPOSES)
    p = sub.add_parser("set-key", help=f"publish your province's key for a purpose ({purposes})")
    p.add_argument("purpose", choices=[k.name for k in KEY_PURPOSES])
    p.add_argument("value", help="the key, hex (empty to withdraw it)")
    _connection(p, write=True)
    p.set_defaults(func=cmd_set_key)
