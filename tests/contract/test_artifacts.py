"""The committed artifact is exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_contracts", ROOT / "scripts" / "build_contracts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_artifacts_match_a_fresh_compile() -> None:
    build = _build_module()
    fresh = build.compile_contracts()
    assert set(fresh) == {"CertificateRegistry"}
    for name, artifact in fresh.items():
        committed = (ROOT / "contracts" / "artifacts" / f"{name}.json").read_text(encoding="utf-8")
        assert committed == build.render(artifact), f"{name}.json is stale: run make contracts"


def test_compiler_pin_is_recorded() -> None:
    data = json.loads((ROOT / "contracts/artifacts/CertificateRegistry.json").read_text())
    assert data["compiler"]["version"] == "0.8.37"
    assert data["compiler"]["settings"]["evmVersion"] == "paris"
    assert data["compiler"]["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert data["bytecode"].startswith("0x6080")
    assert any(item.get("name") == "anchor" for item in data["abi"])


def test_artifact_has_no_push0_for_paris() -> None:
    # PUSH0 (0x5f) is Shanghai; with evmVersion paris the compiler must not emit it. Walk the
    # runtime code opcode by opcode (skipping PUSH data) so data bytes are not mistaken for it.
    code = bytes.fromhex(
        json.loads(Path(ROOT / "contracts/artifacts/CertificateRegistry.json").read_text())[
            "deployedBytecode"
        ][2:]
    )
    i = 0
    while i < len(code):
        op = code[i]
        if op == 0xFE:  # INVALID marks the end of code before the data section.
            break
        assert op != 0x5F, f"PUSH0 at {i}"
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
