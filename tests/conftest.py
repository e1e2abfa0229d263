"""Shared fixtures and paths for the test suite."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TLOG_VECTORS = SHARED / "vectors" / "tlog"
OUR_VECTORS = ROOT / "tests" / "vectors"
