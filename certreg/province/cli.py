"""``certreg node …``: set up and run a province node (see docs/NODE.md)."""

from __future__ import annotations

import argparse


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``node`` command group."""
    node = subparsers.add_parser("node", help="set up and run a province node")
    node.add_subparsers(dest="node_command", required=True)
