"""Shared fixtures and paths for the test suite.

The servers (``postgres``, ``anvil_node``, ``ipfs_daemon``) are registered here and only here,
so one instance of each serves every suite in a run (tests/servers.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.servers import anvil_node, ipfs_daemon, postgres

__all__ = ["anvil_node", "ipfs_daemon", "postgres"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TLOG_VECTORS = SHARED / "vectors" / "tlog"
OUR_VECTORS = ROOT / "tests" / "vectors"
