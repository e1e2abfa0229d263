"""``certreg verify`` answers hostile files instead of dying (issue "Hostile input and
contention": an 80 KB file of ``[`` killed it with SIGSEGV, exit 139; a 4,301-digit integer gave a
traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.certreg.test_cli import run, sample_dir

__all__ = ["sample_dir"]


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("nested", b"[" * 80_000, "json.depth"),
        ("integer", b'{"version": ' + b"7" * 4301 + b"}", "json.number"),
        ("surrogate", b'{"version": "\\ud800"}', "json.surrogate"),
    ],
)
def test_a_hostile_bundle_is_malformed(
    sample_dir: Path, tmp_path: Path, name: str, content: bytes, rule: str
) -> None:
    bundle = tmp_path / f"{name}.json"
    bundle.write_bytes(content)
    done = run("verify", str(bundle), "--snapshot", str(sample_dir / "snapshot.json"), "--json")
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["result"] == "MALFORMED"
    assert f"[{rule}]" in result["checks"][0]["detail"]
    assert "Traceback" not in done.stderr


def test_a_hostile_snapshot_is_an_error_not_a_crash(sample_dir: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(b"[" * 80_000)
    done = run("verify", str(sample_dir / "bundle.json"), "--snapshot", str(snapshot))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "json.depth" in done.stderr and "Traceback" not in done.stderr
