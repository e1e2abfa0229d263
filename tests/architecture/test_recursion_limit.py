"""The process keeps CPython's recursion limit after importing everything the CLI and the API
import (issue "Hostile input": py_ecc, imported by web3, raises it to 100,000 and a deeply nested
document then crashed the process with SIGSEGV instead of raising ``RecursionError``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import pkgutil, importlib, sys
    import certreg.cli
    import certreg.cli as cli_package
    for module in pkgutil.iter_modules(cli_package.__path__):
        importlib.import_module(f"certreg.cli.{module.name}")
    import api.app, audit.auditor, anchor.chain, anchor.worker, province.node
    import web3, eth_account, eth_tester.backends.pyevm.main  # the libraries that raise it
    from anchor.transport import connect
    connect("memory")  # an in-process EVM imports py-evm on first use
    print(sys.getrecursionlimit())
    """
)


def test_recursion_limit_is_cpython_default_after_every_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "1000"


def test_a_fresh_interpreter_starts_at_1000() -> None:
    # The reference value the test above compares with (CPython's default).
    done = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.getrecursionlimit())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "1000"
