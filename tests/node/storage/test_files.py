"""Owner-only files (node/storage/files.py): personal data and keys are never world-readable."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from node.storage.files import write_private, write_private_json


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_are_owner_only(tmp_path: Path) -> None:
    write_private(tmp_path / "a.txt", "CR1:abc\n", "ascii")
    write_private_json(tmp_path / "b.json", {"holder_name": "张三"})
    assert _mode(tmp_path / "a.txt") == 0o600
    assert _mode(tmp_path / "b.json") == 0o600
    assert json.loads((tmp_path / "b.json").read_text("utf-8")) == {"holder_name": "张三"}


def test_an_existing_readable_file_is_made_owner_only(tmp_path: Path) -> None:
    """Regression: ``certreg node export`` wrote bundles 0644, and re-exporting over an
    existing file kept its mode."""
    path = tmp_path / "bundle.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private_json(path, {"id_number": "110101199003074511"})
    assert _mode(path) == 0o600
    assert "old" not in path.read_text()
