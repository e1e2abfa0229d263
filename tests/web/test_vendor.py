"""The vendored browser libraries (api/static/vendor/) are exactly the pinned npm packages.

scripts/vendor_js.py copies the import closure from node_modules; a fresh copy must equal the
committed one byte for byte, and each package's version must be the one package.json pins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

VENDOR = ROOT / "api" / "static" / "vendor"


@pytest.fixture(scope="module")
def vendor_js() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("vendor_js", ROOT / "scripts" / "vendor_js.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_files_match_the_pinned_packages(vendor_js: object, tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / "@noble" / "curves").is_dir():
        pytest.fail("node_modules is not installed: run scripts/setup.sh")
    manifest = vendor_js.build(tmp_path)  # type: ignore[attr-defined]
    assert vendor_js.differences(tmp_path, VENDOR) == []  # type: ignore[attr-defined]
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert manifest["packages"] == {name: pinned[name] for name in manifest["packages"]}
    assert set(manifest["packages"]) == {
        "@noble/curves",
        "@noble/hashes",
        "jsqr",
        "qrcode-generator",
        "swagger-ui-dist",
        "zxing-wasm",
    }
    # The QR reader's WebAssembly, which no import names, is vendored too (the page's js/qr.js
    # loads it from there, not from the package's default CDN address).
    assert "zxing-wasm/dist/reader/zxing_reader.wasm" in manifest["files"]


def test_a_changed_vendored_file_is_detected(vendor_js: object, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    vendor_js.build(fresh)  # type: ignore[attr-defined]
    changed = tmp_path / "changed"
    vendor_js.build(changed)  # type: ignore[attr-defined]
    target = changed / "@noble" / "curves" / "ed25519.js"
    target.write_bytes(target.read_bytes() + b"\n")
    assert vendor_js.differences(fresh, changed) == ["@noble/curves/ed25519.js"]  # type: ignore[attr-defined]
