"""Copy the browser's third-party JavaScript from node_modules into api/static/vendor/.

The verification page (docs/WEB.md) loads these files as they are, with no build step: ES modules
of @noble/curves and @noble/hashes (resolved through the page's import map), jsQR's browser script,
qrcode-generator's ES module and zxing-wasm's reader (ES module and WebAssembly); and Swagger UI
(swagger-ui-dist: its bundle, stylesheet and icon), which the API's ``/v1/docs`` page loads from
``/static`` so that it works with no internet. Only the files the page reaches are copied: the
import closure of the entry points below, found by following ``import``/``export ... from``
statements, and :data:`EXTRA_FILES`.
``vendor/MANIFEST.json`` records each package's pinned version and each file's SHA-256;
``--check`` compares the committed copy with a fresh one from node_modules (tests/web does too).

Usage: python scripts/vendor_js.py [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "api" / "static" / "vendor"

#: Entry points per package: (package, path inside the package).
ENTRY_POINTS: tuple[tuple[str, str], ...] = (
    ("@noble/curves", "ed25519.js"),
    ("@noble/curves", "secp256k1.js"),
    ("@noble/curves", "abstract/weierstrass.js"),
    ("jsqr", "dist/jsQR.js"),
    ("qrcode-generator", "dist/qrcode.mjs"),
    ("zxing-wasm", "dist/es/reader/index.js"),
    ("swagger-ui-dist", "swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css"),
    ("swagger-ui-dist", "favicon-32x32.png"),
    ("swagger-ui-dist", "swagger-ui-bundle.js.LICENSE.txt"),
)
#: Entry points copied as they are: self-contained bundles, stylesheets and images (their text
#: is not searched for imports).
SELF_CONTAINED: frozenset[tuple[str, str]] = frozenset(
    {
        ("jsqr", "dist/jsQR.js"),
        ("swagger-ui-dist", "swagger-ui-bundle.js"),
        ("swagger-ui-dist", "swagger-ui.css"),
        ("swagger-ui-dist", "favicon-32x32.png"),
        ("swagger-ui-dist", "swagger-ui-bundle.js.LICENSE.txt"),
    }
)
#: Files the page loads that no import statement names: zxing-wasm's WebAssembly, which the page
#: points its loader at (js/qr.js ``locateFile``) instead of the package's default CDN address.
EXTRA_FILES: tuple[tuple[str, str], ...] = (("zxing-wasm", "dist/reader/zxing_reader.wasm"),)
#: Licence files shipped alongside the code.
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "NOTICE")

_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]"""
    r"""|^\s*import\s*['"]([^'"]+)['"]""",
    re.M,
)


def _package_of(specifier: str) -> tuple[str, str]:
    """Split a bare specifier ``@scope/name/path.js`` into (package, path)."""
    parts = specifier.split("/")
    if specifier.startswith("@"):
        return "/".join(parts[:2]), "/".join(parts[2:])
    return parts[0], "/".join(parts[1:])


def closure() -> dict[str, set[str]]:
    """Return, per package, the files reachable from :data:`ENTRY_POINTS`."""
    files: dict[str, set[str]] = {}
    for package, path in EXTRA_FILES:
        files.setdefault(package, set()).add(path)
    todo = list(ENTRY_POINTS)
    while todo:
        package, path = todo.pop()
        if path in files.setdefault(package, set()):
            continue
        files[package].add(path)
        if (package, path) in SELF_CONTAINED:
            continue
        source = (NODE_MODULES / package / path).read_text(encoding="utf-8")
        for match in _IMPORT.finditer(source):
            specifier = match.group(1) or match.group(2)
            if specifier.startswith("."):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), specifier))
                todo.append((package, target))
            else:
                todo.append(_package_of(specifier))
    return files


def _version(package: str) -> str:
    meta = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))
    return str(meta["version"])


def build(target: Path) -> dict[str, object]:
    """Copy the closure and licences into ``target``; return the manifest written there."""
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    manifest: dict[str, object] = {"packages": {}, "files": {}}
    packages: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for package, paths in sorted(closure().items()):
        version = _version(package)
        if pinned.get(package) != version:
            raise SystemExit(
                f"{package}: node_modules has {version}, package.json pins {pinned.get(package)}"
            )
        packages[package] = version
        extra = [name for name in LICENCES if (NODE_MODULES / package / name).exists()]
        for path in sorted(paths) + extra:
            source = NODE_MODULES / package / path
            dest = target / package / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            hashes[f"{package}/{path}"] = hashlib.sha256(source.read_bytes()).hexdigest()
    manifest["packages"] = packages
    manifest["files"] = hashes
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def differences(fresh: Path, committed: Path) -> list[str]:
    """Return the relative paths that differ between two vendor trees (missing, extra, changed)."""

    def listing(base: Path) -> dict[str, bytes]:
        return {
            p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()
        }

    a, b = listing(fresh), listing(committed)
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            diff = differences(Path(tmp), VENDOR)
        for name in diff:
            print(f"vendor differs: {name}", file=sys.stderr)
        return 1 if diff else 0
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    manifest = build(VENDOR)
    print(f"vendored {len(manifest['files'])} files into {VENDOR.relative_to(ROOT)}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
