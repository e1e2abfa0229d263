"""The ``certreg contract …`` commands and the contract benchmark.

``certreg contract deploy --rpc URL --founder 44:0xADDR [--founder …] [--json]`` deploys the
consortium contract with its founding members and prints its address. The deployer is the
account of ``--private-key`` (or ``$CERTREG_PRIVATE_KEY``), else the chain's first unlocked
account. The deployer keeps no rights: only the founders govern afterwards.
"""

from __future__ import annotations

import argparse
import json
import os

from anchor.chain import RegistryClient, connect
from anchor.registry import DEFAULT_MAX_CHECKPOINT_GROWTH
from certreg.bench.contract import bench_contract
from certreg.cli.explanations import print_error
from node.core.errors import ChainError, InvalidInput

__all__ = ["add_parsers", "bench_contract", "cmd_deploy", "parse_founder"]

PRIVATE_KEY_ENV = "CERTREG_PRIVATE_KEY"


def parse_founder(text: str) -> tuple[int, str]:
    """Parse ``PROVINCE:ADDRESS`` (``44:0x…``); raises InvalidInput."""
    province, sep, address = text.partition(":")
    if not sep or not province.isdigit() or len(province) != 2:
        raise InvalidInput("founder", "format", f"expected PROVINCE:ADDRESS, got {text!r}")
    if not (address.startswith("0x") and len(address) == 42):
        raise InvalidInput("founder", "address", f"not an address: {address!r}")
    try:
        int(address[2:], 16)
    except ValueError as exc:
        raise InvalidInput("founder", "address", f"not an address: {address!r}") from exc
    return int(province), address


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy the contract; print its address (``{"address": …}`` with ``--json``)."""
    try:
        founders = [parse_founder(f) for f in args.founder]
        key = args.private_key or os.environ.get(PRIVATE_KEY_ENV) or None
        w3 = connect(args.rpc)
        client, _ = RegistryClient.deploy(
            w3, founders, private_key=key, max_checkpoint_growth=args.max_checkpoint_growth
        )
    except (ChainError, InvalidInput) as exc:
        print_error(exc)
        return 1
    if args.json:
        print(json.dumps({"address": client.address}))
    else:
        print(client.address)
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``contract`` command group."""
    contract = subparsers.add_parser("contract", help="deploy the consortium contract")
    sub = contract.add_subparsers(dest="contract_command", required=True)
    p = sub.add_parser("deploy", help="deploy with the founding members; print the address")
    p.add_argument("--rpc", required=True, help="'memory' (in-process EVM) or http(s):// URL")
    p.add_argument(
        "--founder",
        action="append",
        required=True,
        metavar="PROVINCE:ADDRESS",
        help="founding member and one operator account (repeat for more)",
    )
    p.add_argument(
        "--private-key",
        help=f"deployer key (default ${PRIVATE_KEY_ENV}, else the first unlocked account)",
    )
    p.add_argument(
        "--max-checkpoint-growth",
        type=int,
        default=DEFAULT_MAX_CHECKPOINT_GROWTH,
        metavar="N",
        help="most entries one checkpoint may add to a log; changed later only by governance "
        f"(default {DEFAULT_MAX_CHECKPOINT_GROWTH:,}; docs/CONTRACT.md)",
    )
    p.add_argument("--json", action="store_true", help='print {"address": "0x…"}')
    p.set_defaults(func=cmd_deploy)
