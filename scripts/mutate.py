"""Mutation testing of the three verifiers (``make mutation``, docs/TESTING.md).

    python scripts/mutate.py [python] [js] [solidity] [--list] [--skip N] [--limit N]
        [--module PATH ...]

* python: mutmut (configured in pyproject.toml ``[tool.mutmut]``) over node/core/merkle.py,
  verify.py and time.py, each mutant against the core's fast tests.
* js: the operators below, one mutation at a time, in a copy of the repository's
  ``api/static/js`` (the real files are never touched); each mutant runs the vectors of
  tests/web/vectors.mjs that concern its module in Node, stopping at the first failure.
* solidity: the same operators (and a few Yul ones) over contracts/MerkleVerifier.sol and
  ProvinceLogs.sol; each mutant is compiled with the pinned solc into a temporary artifact and
  the contract tests that reach the code run against it on anvil (CERTREG_TEST_ARTIFACT).

Prints, per module, killed/total and every survivor (line, original, mutant); exits 1 when a
module stays under :data:`TARGET`. A mutant that does not compile or load is "stillborn" and not
counted. The operators are textual, on code with comments and string literals masked out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.90
PY = ROOT / ".venv" / "bin" / "python"


@dataclasses.dataclass(frozen=True)
class Mutant:
    path: Path
    line: int
    start: int
    end: int
    replacement: str
    operator: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]

    def describe(self, text: str) -> tuple[str, str]:
        """The mutated line before and after."""
        line_start = text.rfind("\n", 0, self.start) + 1
        line_end = text.find("\n", self.end)
        line_end = len(text) if line_end < 0 else line_end
        shift = len(self.replacement) - (self.end - self.start)
        mutated = self.apply(text)[line_start : line_end + shift]
        return text[line_start:line_end].strip(), mutated.strip()


def mask(text: str, *, js: bool) -> str:
    """``text`` with comments, string and regex literals blanked (same length, newlines kept)."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i) or (not js and text.startswith("///", i)):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2) + 2
            blank(i, j)
            i = j
        elif c in "'\"`":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        elif js and c == "/" and re.search(r"[(=,:!&|?{};]\s*$|return\s*$", text[:i]):
            j = i + 1
            while j < n and text[j] != "/":
                j += 2 if text[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        else:
            i += 1
    return "".join(out)


#: (name, pattern, replacement) applied at every match of the masked code.
OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("===", r"===", "!=="),
    ("!==", r"!==", "==="),
    ("==", r"(?<![=!<>])==(?!=)", "!="),
    ("!=", r"!=(?!=)", "=="),
    ("<=", r"(?<![<])<=", "<"),
    (">=", r"(?<![>])>=", ">"),
    ("<", r"(?<![<])<(?![<=])", "<="),
    (">", r"(?<![=>-])>(?![>=])", ">="),
    ("&&", r"&&", "||"),
    ("||", r"\|\|", "&&"),
    ("&", r"(?<![&])&(?![&=])", "|"),
    ("|", r"(?<![|])\|(?![|=])", "&"),
    (">>", r"(?<![>])>>(?![>])", "<<"),
    ("<<", r"<<", ">>"),
    ("+", r"(?<![+])\+(?![+=])", "-"),
    ("-", r"(?<![-])-(?![-=>])", "+"),
    ("!x", r"!(?=[\w(])", ""),
    ("true", r"\btrue\b", "false"),
    ("false", r"\bfalse\b", "true"),
    ("0n", r"\b0n\b", "1n"),
    ("1n", r"\b1n\b", "0n"),
    ("0", r"(?<![\w.])0(?![\w.x])", "1"),
    ("1", r"(?<![\w.])1(?![\w.])", "0"),
    # Yul (Solidity assembly).
    ("or(", r"\bor\(", "and("),
    ("and(", r"\band\(", "or("),
    ("lt(", r"\blt\(", "gt("),
    ("gt(", r"\bgt\(", "lt("),
    ("shr(", r"\bshr\(", "shl("),
    ("shl(", r"\bshl\(", "shr("),
    ("add(", r"\badd\(", "sub("),
    ("sub(", r"\bsub\(", "add("),
)

#: Whole statements that may be deleted (the line is blanked): not declarations or control flow.
_DELETABLE_JS = re.compile(
    r"^\s*(?!const |let |var |import |export |return |if |for |while |\}|\]|\)|function )\S.*;\s*$"
)
_DELETABLE_SOL = re.compile(
    r"^\s*(?!return |if |for |while |\}|\)|function |uint|int|bytes|bool|mapping|LogHead |emit |"
    r"error |event |pragma |import |using |let |switch |case |default )\S.*(;|:=.*)\s*$"
)


def _balanced_args(masked: str, open_paren: int) -> tuple[int, int, int] | None:
    """For ``name(A, B)`` with the paren at ``open_paren``: (end of A, start of B, close)."""
    depth, comma = 0, -1
    for k in range(open_paren, len(masked)):
        ch = masked[k]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return (comma, comma + 1, k) if comma > 0 else None
        elif ch == "," and depth == 1:
            comma = k
    return None


def mutants(path: Path) -> list[Mutant]:
    text = path.read_text(encoding="utf-8")
    js = path.suffix == ".js"
    masked = mask(text, js=js)
    found: list[Mutant] = []

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    # Skip the pragma/licence lines and imports.
    skip = re.compile(r"^\s*(pragma |import |// SPDX)")
    for name, pattern, replacement in OPERATORS:
        if (js and name.endswith("(")) or (not js and name in ("===", "!==", "0n", "1n")):
            continue
        for match in re.finditer(pattern, masked):
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_text = text[line_start : text.find("\n", match.start())]
            if skip.match(line_text):
                continue
            found.append(
                Mutant(path, line_of(match.start()), match.start(), match.end(), replacement, name)
            )
    # Yul: keep one branch of or(A, B) / and(A, B); drop iszero().
    if not js:
        for match in re.finditer(r"\b(or|and)\(", masked):
            args = _balanced_args(masked, match.end() - 1)
            if args is None:
                continue
            comma, second, close = args
            a = text[match.end() : comma].strip()
            b = text[second:close].strip()
            for keep in (a, b):
                found.append(
                    Mutant(
                        path,
                        line_of(match.start()),
                        match.start(),
                        close + 1,
                        keep,
                        f"{match.group(1)}(A,B)->one",
                    )
                )
        for match in re.finditer(r"\biszero\(", masked):
            depth, close = 0, match.end() - 1
            for close in range(match.end() - 1, len(masked)):
                depth += {"(": 1, ")": -1}.get(masked[close], 0)
                if depth == 0:
                    break
            inner = text[match.end() : close]
            found.append(
                Mutant(
                    path, line_of(match.start()), match.start(), close + 1, inner, "iszero(x)->x"
                )
            )
    deletable = _DELETABLE_JS if js else _DELETABLE_SOL
    offset = 0
    for line_number, line in enumerate(text.splitlines(keepends=True), start=1):
        code = masked[offset : offset + len(line)]
        if code.strip() and deletable.match(code.rstrip("\n")) and not skip.match(line):
            found.append(
                Mutant(
                    path,
                    line_number,
                    offset,
                    offset + len(line.rstrip("\n")),
                    "",
                    "delete statement",
                )
            )
        offset += len(line)
    found.sort(key=lambda m: (m.start, m.operator))
    return found


# ---- runners -------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    killed: int = 0
    stillborn: int = 0
    survivors: list[tuple[int, str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def rate(self) -> float:
        return self.killed / self.total if self.total else 1.0


def _run_mutants(path: Path, run: Callable[[str], str], window: slice, label: str) -> Outcome:
    """``run(mutated text)`` returns 'killed', 'survived' or 'stillborn', for the mutants in
    ``window`` (all by default; ``--skip``/``--limit`` resume or shorten a run)."""
    text = path.read_text(encoding="utf-8")
    outcome = Outcome()
    todo = mutants(path)[window]
    started = time.monotonic()
    for number, mutant in enumerate(todo, start=1):
        verdict = run(mutant.apply(text))
        if verdict == "killed":
            outcome.killed += 1
        elif verdict == "stillborn":
            outcome.stillborn += 1
        else:
            original, mutated = mutant.describe(text)
            outcome.survivors.append((mutant.line, mutant.operator, original, mutated))
            # At once too, so a long run that is stopped still says what survived.
            print(
                f"\n{label}:{mutant.line}: survived {mutant.operator}: {original!r} -> {mutated!r}",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"\r{label}: {number}/{len(todo)} killed {outcome.killed} survived "
            f"{len(outcome.survivors)} stillborn {outcome.stillborn} "
            f"({time.monotonic() - started:.0f} s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
    print(file=sys.stderr)
    return outcome


#: JS modules and the vector groups of tests/web/vectors.mjs that concern them.
JS_MODULES = {
    "api/static/js/merkle.js": ["arguments", "tlog", "merkle", "bundles", "boundaries"],
    "api/static/js/verify.js": [
        "bundles",
        "bundles_v2",
        "hostile",
        "trust",
        "trust_roots",
        "boundaries",
        "time",
    ],
}


def _js_payload(tmp: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.web.conftest import vector_payload

    path = tmp / "payload.json"
    path.write_text(json.dumps(vector_payload()), encoding="utf-8")
    return path


def run_js(window: slice, only: list[str] | None = None) -> dict[str, Outcome]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        payload = _js_payload(tmp)
        # A copy of what the runner imports: api/static (js + vendor) and tests/web.
        copy = tmp / "repo"
        shutil.copytree(ROOT / "api" / "static", copy / "api" / "static")
        shutil.copytree(ROOT / "tests" / "web", copy / "tests" / "web")
        if (ROOT / "node_modules").exists():
            (copy / "node_modules").symlink_to(ROOT / "node_modules")
        runner = copy / "tests" / "web" / "run_vectors_node.mjs"
        for module, groups in JS_MODULES.items():
            if only and module not in only:
                continue
            target = copy / module
            # The unmutated module passes its groups (else every mutant would count as killed);
            # a mutant that takes three times as long (at least 20 s) is taken to loop.
            started = time.monotonic()
            command = ["node", str(runner), str(payload), "auto", ",".join(groups), "fail-fast"]
            clean = subprocess.run(command, capture_output=True, text=True, check=True, cwd=copy)
            if any(g["failed"] for g in json.loads(clean.stdout).values()):
                raise SystemExit(f"{module}: the unmutated code fails its vectors")
            limit_s = max(20.0, 3 * (time.monotonic() - started))
            print(f"{module}: mutants time out after {limit_s:.0f} s", file=sys.stderr)

            def run(
                mutated: str,
                target: Path = target,
                command: list[str] = command,
                limit_s: float = limit_s,
            ) -> str:
                original = target.read_text(encoding="utf-8")
                target.write_text(mutated, encoding="utf-8")
                try:
                    done = subprocess.run(
                        command, capture_output=True, text=True, timeout=limit_s, cwd=copy
                    )
                except subprocess.TimeoutExpired:
                    return "killed"
                finally:
                    target.write_text(original, encoding="utf-8")
                if done.returncode != 0:
                    return "stillborn" if "SyntaxError" in done.stderr else "killed"
                summary = json.loads(done.stdout)
                return "killed" if any(g["failed"] for g in summary.values()) else "survived"

            results[module] = _run_mutants(ROOT / module, run, window, module)
    return results


#: Solidity sources and the contract tests (on anvil) that reach them, besides
#: tests/contract/test_merkle_vectors.py, whose whole file every mutant meets first.
SOLIDITY_MODULES = {
    "contracts/MerkleVerifier.sol": [
        "tests/contract/test_vectors.py",
        "tests/contract/test_logs.py",
    ],
    "contracts/ProvinceLogs.sol": [
        "tests/contract/test_logs.py",
        "tests/contract/test_gas.py",
        # The checkpoint growth bound and its governance.
        "tests/contract/test_hostile.py",
    ],
}


class _Solc:
    """One solcjs process compiling input after input (scripts/solc_compile.js --serve)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.process = subprocess.Popen(
            ["node", str(ROOT / "scripts" / "solc_compile.js"), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )

    def compile(self, sources: dict[str, str]) -> dict[str, object]:
        import build_contracts

        inp, out = self.tmp / "input.json", self.tmp / "output.json"
        standard = {
            "language": "Solidity",
            "sources": {name: {"content": text} for name, text in sources.items()},
            # Code for the deployed contract only (its bases are compiled into it): a third of
            # the work of building every contract.
            "settings": {
                **build_contracts.SETTINGS,
                "outputSelection": {
                    "CertificateRegistry.sol": {
                        "CertificateRegistry": [
                            "abi",
                            "evm.bytecode.object",
                            "evm.deployedBytecode.object",
                        ]
                    }
                },
            },
        }
        inp.write_text(json.dumps(standard), encoding="utf-8")
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{inp} {out}\n")
        self.process.stdin.flush()
        self.process.stdout.readline()
        output = json.loads(out.read_text(encoding="utf-8"))
        if any(e.get("severity") == "error" for e in output.get("errors", [])):
            raise RuntimeError("does not compile")
        compiled = output["contracts"]["CertificateRegistry.sol"]["CertificateRegistry"]
        return {
            "contractName": "CertificateRegistry",
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            "compiler": {"name": "solc", "settings": build_contracts.SETTINGS},
        }

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def run_solidity(window: slice, only: list[str] | None = None) -> dict[str, Outcome]:
    """Each mutant first against every case of tests/vectors/merkle.json on one anvil node (what
    tests/contract/test_merkle_vectors.py does); a mutant that passes them all then runs the
    module's contract tests (pytest, anvil), so a survivor has met every relevant test."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_contracts

    from anchor.chain import Artifact, RegistryClient, connect
    from certreg.dev.anvil import AnvilNode
    from tests.contract.test_merkle_vectors import all_calls, batched_eth_call, in_process_calls

    # The in-process test's share of the file first (~4,000 calls, every valid consistency proof):
    # most mutants fail there, in a tenth of the time; one that passes then meets the whole file.
    first, calls = in_process_calls(), all_calls()
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name, AnvilNode() as node:
        tmp = Path(tmp_name)
        solc = _Solc(tmp)
        w3 = connect(node.url)
        account = w3.eth.accounts[0]
        artifact_path = tmp / "CertificateRegistry.json"
        try:
            for module, tests in SOLIDITY_MODULES.items():
                if only and module not in only:
                    continue
                source = ROOT / module

                def run(mutated: str, name: str = source.name, tests: list[str] = tests) -> str:
                    try:
                        compiled = solc.compile({**build_contracts.sources(), name: mutated})
                    except RuntimeError:
                        return "stillborn"
                    artifact = Artifact(
                        abi=compiled["abi"],  # type: ignore[arg-type]
                        bytecode=str(compiled["bytecode"]),
                        compiler=compiled["compiler"],  # type: ignore[arg-type]
                    )
                    try:
                        client, _ = RegistryClient.deploy(
                            w3, [(44, account)], sender=account, artifact=artifact
                        )
                    except Exception:
                        return "killed"  # every contract test deploys first
                    address = client.contract.address
                    for cases in (first, calls):
                        replies = batched_eth_call(node.url, address, [d for _, d, _ in cases])
                        for (_, _, want), reply in zip(cases, replies, strict=True):
                            if reply != (b"\x00" * 31 + bytes([want])):
                                return "killed"
                    artifact_path.write_text(json.dumps(compiled), encoding="utf-8")
                    command = [str(PY), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
                    done = subprocess.run(
                        [*command, "-k", "not memory", *tests],
                        capture_output=True,
                        text=True,
                        timeout=900,
                        cwd=ROOT,
                        env={**os.environ, "CERTREG_TEST_ARTIFACT": str(artifact_path)},
                    )
                    return "survived" if done.returncode == 0 else "killed"

                results[module] = _run_mutants(source, run, window, module)
        finally:
            solc.close()
    return results


def run_python() -> dict[str, Outcome]:
    """Run mutmut (pyproject.toml [tool.mutmut]) and read its verdicts per module."""
    subprocess.run([str(ROOT / ".venv" / "bin" / "mutmut"), "run"], cwd=ROOT, check=False)
    listing = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mutmut"), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    results: dict[str, Outcome] = {}
    for line in listing.splitlines():
        match = re.match(r"\s*(node\.core\.\w+)\.(\S+): (.+)$", line)
        if not match:
            continue
        module = match.group(1).replace(".", "/") + ".py"
        outcome = results.setdefault(module, Outcome())
        status = match.group(3).strip()
        if status in ("killed", "timeout", "segfault"):
            outcome.killed += 1
        elif status in ("skipped", "not checked", "check was interrupted by user"):
            outcome.stillborn += 1
        else:
            shown = subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "mutmut"),
                    "show",
                    f"{match.group(1)}.{match.group(2)}",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            minus = [
                ln[1:].strip()
                for ln in shown.splitlines()
                if ln.startswith("-") and not ln.startswith("---")
            ]
            plus = [
                ln[1:].strip()
                for ln in shown.splitlines()
                if ln.startswith("+") and not ln.startswith("+++")
            ]
            outcome.survivors.append(
                (0, f"{match.group(2)} ({status})", " / ".join(minus), " / ".join(plus))
            )
    return results


def report(results: dict[str, Outcome]) -> bool:
    ok = True
    print()
    for module, outcome in results.items():
        mark = "ok" if outcome.rate >= TARGET else "BELOW TARGET"
        ok &= outcome.rate >= TARGET
        print(
            f"{module}: {outcome.killed}/{outcome.total} killed ({100 * outcome.rate:.1f} %), "
            f"{outcome.stillborn} stillborn — {mark}"
        )
        for line, operator, original, mutated in outcome.survivors:
            where = f"line {line}, " if line else ""
            print(f"    survived: {where}{operator}: {original!r} -> {mutated!r}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("languages", nargs="*", default=["python", "js", "solidity"])
    parser.add_argument("--list", action="store_true", help="list the JS/Solidity mutants only")
    parser.add_argument("--limit", type=int, default=None, help="at most N mutants per module")
    parser.add_argument(
        "--skip", type=int, default=0, help="leave out each module's first N mutants (to resume)"
    )
    parser.add_argument(
        "--module", action="append", help="only this JS or Solidity module (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.list:
        for module in [*JS_MODULES, *SOLIDITY_MODULES]:
            path = ROOT / module
            text = path.read_text(encoding="utf-8")
            for mutant in mutants(path):
                original, mutated = mutant.describe(text)
                print(f"{module}:{mutant.line}: {mutant.operator}: {original} -> {mutated}")
        return 0
    window = slice(args.skip, None if args.limit is None else args.skip + args.limit)
    results: dict[str, Outcome] = {}
    runners: dict[str, Callable[[], dict[str, Outcome]]] = {
        "python": run_python,
        "js": lambda: run_js(window, args.module),
        "solidity": lambda: run_solidity(window, args.module),
    }
    for language in args.languages:
        results.update(runners[language]())
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
