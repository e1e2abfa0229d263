"""The chain adapter: the JSON-RPC transport and the typed binding of the consortium contract
(web3.py), manifests on IPFS, snapshots from the chain's events, on-chain statuses and the
anchoring worker.

Importing web3 imports ``py_ecc`` (through ``eth_account``), which raises the interpreter's
recursion limit from CPython's 1,000 to 100,000 (and py-evm, imported by eth-tester, to 12,288).
CPython's guard then no longer protects the C stack, and a deeply nested JSON or CBOR document
crashes the process with SIGSEGV instead of raising ``RecursionError``. This package is the one
place the chain libraries come in, so it puts the limit back right after importing them
(:func:`keep_recursion_limit`); ``tests/architecture/test_recursion_limit.py`` imports everything
the CLI and the API import and checks it. The parsers of untrusted input do not rely on it
either: ``node.core.safejson`` bounds the nesting before any recursive parser runs.
"""

from __future__ import annotations

import sys
from typing import Final

#: CPython's default recursion limit, kept for the whole process.
RECURSION_LIMIT: Final = 1000


def keep_recursion_limit() -> None:
    """Put the recursion limit back to :data:`RECURSION_LIMIT` (call right after importing a
    library that raises it: web3/py_ecc here, eth-tester/py-evm where an in-process chain is
    made)."""
    sys.setrecursionlimit(RECURSION_LIMIT)


import web3  # noqa: E402,F401  (imports py_ecc, which raises the limit: put it back below)

keep_recursion_limit()
