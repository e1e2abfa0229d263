"""The folder tree is the architecture (docs/ARCHITECTURE.md), and the build enforces it:
``make lint`` runs import-linter with the contracts of ``.importlinter``. These tests show the
contracts hold on the tree, and that they would catch a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("node", "anchor", "audit", "province", "api", "certreg")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy_tree(target: Path) -> None:
    """The project's Python packages and the import-linter configuration, in ``target``."""
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            path = target / source.relative_to(ROOT)
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
    shutil.copyfile(ROOT / ".importlinter", target / ".importlinter")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    done = _lint(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("node/core/verify.py", "import sqlalchemy", "The core is pure"),
        ("node/core/merkle.py", "import threading", "The core is pure"),
        ("node/core/rules/workdays.py", "import subprocess", "The core is pure"),
        ("node/core/formats/bundle.py", "import web3", "The core is pure"),
        ("node/storage/database.py", "import node.services.intake", "Layers"),
        ("node/services/bundler.py", "import anchor.chain", "Layers"),
        ("anchor/worker.py", "import audit.auditor", "Layers"),
        ("province/node.py", "import api.app", "Layers"),
        ("api/app.py", "import certreg.cli", "Layers"),
        ("node/core/rules/scope.py", "import node.core.formats.bundle", "No import cycles"),
    ],
)
def test_a_forbidden_import_breaks_the_lint(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    _copy_tree(tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    done = _lint(tmp_path)
    assert done.returncode != 0, done.stdout
    broken = done.stdout[done.stdout.index("Broken contracts") :]
    assert contract in broken, done.stdout


def test_the_verifier_loads_without_the_database_or_the_chain() -> None:
    """``import node.core.verify`` pulls in no SQLAlchemy, web3, FastAPI or Alembic (a verifier
    is a pure library). (``threading`` is loaded by the standard library's ``logging``; the
    import-linter contract keeps the core's own modules from importing it.)"""
    code = (
        "import node.core.verify, sys; "
        "print(sorted(m for m in ('sqlalchemy', 'web3', 'fastapi', 'alembic', 'eth_tester') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_nothing_under_node_imports_the_upper_layers() -> None:
    for path in (ROOT / "node").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for upper in ("api", "certreg", "province", "audit", "anchor"):
            assert f"from {upper}." not in text and f"import {upper}." not in text, path
