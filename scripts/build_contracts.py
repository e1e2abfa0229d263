"""Compile the consortium contract and write its committed artifact.

    python scripts/build_contracts.py           # compile and write contracts/artifacts/
    python scripts/build_contracts.py --check   # compile and fail if the artifacts differ

The compiler is pinned (solc 0.8.37, optimizer on with 200 runs, EVM version ``paris``, no
metadata hash in the bytecode). A native ``solc`` 0.8.37 on PATH is used through py-solc-x;
otherwise solcjs from ``node_modules`` through ``scripts/solc_compile.js`` (the solcjs CLI
truncates its output above 64 KiB when stdout is a pipe). Both give the same bytecode because the
metadata hash, the one part that names the exact compiler build, is left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from hashlib import sha256
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
ARTIFACTS = CONTRACTS / "artifacts"
SOLC_VERSION = "0.8.37"
DEPLOYABLE = ("CertificateRegistry",)

# Pinned compiler settings. `paris` (no PUSH0) runs on every engine we target, FISCO BCOS and
# Besu included. `bytecodeHash: none` keeps the bytecode identical between native solc and
# solcjs builds.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "paris",
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def sources() -> dict[str, str]:
    """Return the Solidity sources by file name, in name order."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(CONTRACTS.glob("*.sol"))}


def _native_solc() -> str | None:
    path = shutil.which("solc")
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return path if f"Version: {SOLC_VERSION}+" in out.stdout else None


def _compile_native(solc: str, standard_input: dict[str, Any]) -> dict[str, Any]:
    import solcx  # Only needed when a native compiler exists.

    result: dict[str, Any] = solcx.compile_standard(
        standard_input, solc_binary=solc, allow_paths=str(CONTRACTS)
    )
    return result


def _compile_solcjs(standard_input: dict[str, Any]) -> dict[str, Any]:
    script = ROOT / "scripts" / "solc_compile.js"
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "input.json"
        out = Path(tmp) / "output.json"
        inp.write_text(json.dumps(standard_input), encoding="utf-8")
        proc = subprocess.run(
            ["node", str(script), str(inp), str(out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"solcjs failed: {proc.stderr.strip()}")
        version = proc.stdout.strip()
        if not version.startswith(f"{SOLC_VERSION}+"):
            raise RuntimeError(f"solcjs is {version}, expected {SOLC_VERSION}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def compile_contracts() -> dict[str, dict[str, Any]]:
    """Compile the sources with the pinned compiler and return one artifact per deployable.

    Raises RuntimeError when the compiler reports an error.
    """
    srcs = sources()
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in srcs.items()},
        "settings": SETTINGS,
    }
    native = _native_solc()
    output = (
        _compile_native(native, standard_input)
        if native is not None
        else _compile_solcjs(standard_input)
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("\n".join(e["formattedMessage"] for e in errors))
    warnings = [e for e in output.get("errors", []) if e.get("severity") == "warning"]
    for warning in warnings:
        print(warning["formattedMessage"], file=sys.stderr)
    artifacts = {}
    for name in DEPLOYABLE:
        compiled = output["contracts"][f"{name}.sol"][name]
        artifacts[name] = {
            "contractName": name,
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            "compiler": {"name": "solc", "version": SOLC_VERSION, "settings": SETTINGS},
            "sources": {n: sha256(t.encode("utf-8")).hexdigest() for n, t in srcs.items()},
        }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """Return the artifact's committed text (sorted keys, two-space indent, final newline)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed artifacts differ"
    )
    args = parser.parse_args(argv)
    artifacts = compile_contracts()
    stale = []
    for name, artifact in artifacts.items():
        path = ARTIFACTS / f"{name}.json"
        text = render(artifact)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)} ({len(artifact['bytecode']) // 2 - 1} bytes)")
    if stale:
        print("stale artifacts (run scripts/build_contracts.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
