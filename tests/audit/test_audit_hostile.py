"""One dishonest province cannot stop everyone's audit (issue "Hostile input and contention"):
a manifest of 200 KB of nested arrays is one ``manifest.malformed`` finding, not a crash (it
killed ``certreg audit`` with SIGSEGV once web3 had raised the recursion limit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit.histories import ORG, clean_history, run
from tests.contract.conftest import Registry

NESTED = b"[" * 100_000 + b"]" * 100_000  # 200 KB


@pytest.mark.parametrize("chain", ["memory"], indirect=True)
def test_a_deeply_nested_manifest_is_a_finding(reg: Registry, tmp_path: Path) -> None:
    clean = clean_history(reg, tmp_path)
    clean.writer.issue(ORG, 7)
    clean.writer.anchor(
        alter=lambda data: data.replace(b'"entries":[', b'"entries":[' + NESTED + b",", 1)
    )
    report = run(clean)
    assert dict(report.finding_counts) == {"manifest.malformed": 1}
    [finding] = report.findings
    assert finding.evidence["rule"] == "json.depth"


def test_parsing_a_nested_manifest_survives_a_raised_recursion_limit(tmp_path: Path) -> None:
    # As in a process where a library raised the limit (py_ecc sets 100,000): the readers do not
    # rely on the limit, so the process answers instead of dying with SIGSEGV.
    manifest = tmp_path / "manifest"
    manifest.write_bytes(b'{"checkpoint_index":0,"entries":[' + NESTED + b'],"previous_size":0}')
    program = (
        "import sys; sys.setrecursionlimit(100_000)\n"
        "from pathlib import Path\n"
        "from audit.log import read_manifest\n"
        "from anchor.manifest import Manifest\n"
        "from node.core.errors import InvalidInput\n"
        "import sys as s; s.setrecursionlimit(100_000)\n"
        f"data = Path({str(manifest)!r}).read_bytes()\n"
        "for read in (read_manifest, Manifest.from_bytes):\n"
        "    try:\n"
        "        read(data)\n"
        "    except InvalidInput as exc:\n"
        "        print(exc.rule)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["json.depth", "json.depth"]
