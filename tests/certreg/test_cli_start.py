"""What ``certreg`` loads at start (issue "verifier trust", item 6): command groups are lazy, so
``certreg verify BUNDLE --snapshot FILE`` and ``certreg --help`` import no chain library, no
database, no web framework, no auditor. The set of modules is checked (not the time, which
``certreg bench verify-start`` measures), so a heavy import creeping back in fails here."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certreg.bench.verify_start import VERIFY_AT
from certreg.cli import ALL_GROUPS, GROUPS, build_parser, main
from certreg.dev.sample import make_sample
from node.core.formats.compact import encode_compact

#: Top-level packages a verification against a snapshot file must not import.
HEAVY = (
    "web3",
    "eth_account",
    "eth_tester",
    "py_ecc",
    "eth",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "reportlab",
    "tqdm",
    "chinese_calendar",  # loaded, and the default calendar's day table built, on first use
    "urllib3",
    "requests",
    "anchor",
    "audit",
    "api",
)
#: Project packages above the core that it must not import either.
HEAVY_PROJECT = (
    "node.storage",
    "node.services",
    "province",
    "certreg.cli.node",
)

PROGRAM = """
import json, sys
from certreg.cli import main
try:
    status = main(sys.argv[2:])
except SystemExit as exc:  # --help
    status = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "modules": sorted(sys.modules),
               "limit": sys.getrecursionlimit()}, out)
"""


def _loaded(tmp_path: Path, *argv: str) -> dict[str, Any]:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(report), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.exists(), done.stderr
    loaded: dict[str, Any] = json.loads(report.read_text())
    loaded["stdout"] = done.stdout
    return loaded


def _heavy(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if m.split(".")[0] in HEAVY or any(m == p or m.startswith(p + ".") for p in HEAVY_PROJECT)
    ]


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("start")
    sample = make_sample()
    bundle = folder / "bundle.json"
    bundle.write_text(json.dumps(sample.bundle.to_json(), ensure_ascii=False), "utf-8")
    compact = folder / "bundle.qr.txt"
    compact.write_text(encode_compact(sample.bundle) + "\n", "ascii")
    snapshot = folder / "snapshot.json"
    snapshot.write_text(json.dumps(sample.snapshot.to_json()), "utf-8")
    return bundle, compact, snapshot


@pytest.mark.parametrize("which", [0, 1], ids=["json", "compact"])
def test_verify_with_a_snapshot_file_loads_nothing_heavy(
    tmp_path: Path, sample_files: tuple[Path, Path, Path], which: int
) -> None:
    bundle, snapshot = sample_files[which], sample_files[2]
    loaded = _loaded(
        tmp_path, "verify", str(bundle), "--snapshot", str(snapshot), "--at", str(VERIFY_AT)
    )
    # The verification really ran to the end (a VALID bundle), so its imports are all counted.
    assert loaded["status"] == 0, loaded["stdout"]
    assert f"{bundle}: VALID" in loaded["stdout"]
    assert "node.core.verify" in loaded["modules"]
    assert _heavy(loaded["modules"]) == []
    assert loaded["limit"] == 1000


def test_a_folder_with_a_snapshot_file_loads_nothing_heavy_but_the_bar(
    tmp_path: Path, sample_files: tuple[Path, Path, Path]
) -> None:
    bundle, _, snapshot = sample_files
    loaded = _loaded(
        tmp_path,
        "verify",
        str(bundle.parent),
        "--snapshot",
        str(snapshot),
        "--at",
        str(VERIFY_AT),
        "--quiet",
    )
    assert loaded["status"] == 1  # snapshot.json is not a bundle: MALFORMED
    assert "bundle.json: VALID" in loaded["stdout"]
    assert [m for m in _heavy(loaded["modules"]) if not m.startswith("tqdm")] == []


def test_help_loads_no_group_module(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "--help")
    assert loaded["status"] == 0
    for name in GROUPS:
        assert name in loaded["stdout"]
    assert _heavy(loaded["modules"]) == []
    assert [m for m in loaded["modules"] if m in {module for module, _ in GROUPS.values()}] == []


def test_a_group_command_loads_its_module_and_parses_in_full(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["node", "init", "--help"])
    assert exited.value.code == 0
    assert "--province" in capsys.readouterr().out


def _choices(parser: argparse.ArgumentParser) -> dict[str, str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {choice.dest: str(choice.help) for choice in action._choices_actions}


def test_the_lazy_listing_matches_the_groups_own_registration() -> None:
    # The help text of a group in GROUPS is the one its module registers, so `certreg --help`
    # reads the same whether the groups are loaded or not.
    full = _choices(build_parser(ALL_GROUPS))
    lazy = _choices(build_parser(None))
    assert lazy == full
    assert set(GROUPS) <= set(full)


def test_the_benchmark_prints_whole_process_medians(capsys: pytest.CaptureFixture[str]) -> None:
    # Not timed: the command runs each case as a fresh process that must exit 0 (a verify that
    # did not find the sample VALID would raise) and prints medians that are real durations.
    assert main(["bench", "verify-start", "--runs", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["runs"] == 1
    for case in ("verify_json", "verify_compact", "help", "python_bare"):
        assert 0 < figures[f"{case}_min_s"] <= figures[f"{case}_median_s"]
        assert figures[f"{case}_median_s"] <= figures[f"{case}_max_s"]
        assert figures[f"{case}_cpu_median_s"] > 0
