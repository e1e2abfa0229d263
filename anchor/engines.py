"""Consensus engines and how many confirmations make a block final on each.

A block is final for the registry once ``confirmations`` blocks hold it (itself included):
the anchoring worker confirms a checkpoint, snapshots, statuses and the auditor read the chain
only up to ``head − confirmations + 1`` (:meth:`anchor.transport.ChainTransport.final_block`).
``chain.confirmations`` in ``node.json`` sets it; without it the default of the chain's engine
applies (``chain.engine``, or the engine :func:`detect_engine` recognises):

==========  =====  ==========================================================================
engine      conf.  why
==========  =====  ==========================================================================
``memory``  1      the in-process EVM: one process, no forks
``anvil``   1      one node, no consensus, no forks (reorganisations only by ``anvil_reorg``)
``qbft``    1      BFT (Besu, GoQuorum): a block is final once sealed by a 2/3 quorum
``ibft2``   1      the same
``clique``  3      proof of authority without finality: two signers may seal competing
                   blocks, resolved by difficulty. With three signers a minority fork holds at
                   most one block (each signer may seal only one block in two), so three
                   confirmations leave a margin
``unknown`` 1      none of the above recognised: set ``chain.confirmations`` for such a chain
==========  =====  ==========================================================================
"""

from __future__ import annotations

from web3 import EthereumTesterProvider, Web3
from web3.types import RPCEndpoint

#: Default confirmations per engine (see the module docstring).
DEFAULT_CONFIRMATIONS = {
    "memory": 1,
    "anvil": 1,
    "qbft": 1,
    "ibft2": 1,
    "clique": 3,
    "unknown": 1,
}
ENGINES = tuple(DEFAULT_CONFIRMATIONS)
#: The JSON-RPC method only nodes of each engine answer, tried in this order.
_PROBES = (
    ("clique", "clique_getSigners", ["latest"]),
    ("qbft", "qbft_getValidatorsByBlockNumber", ["latest"]),
    ("ibft2", "ibft_getValidatorsByBlockNumber", ["latest"]),
)


def _answers(w3: Web3, method: str, params: list[object]) -> bool:
    try:
        reply = w3.provider.make_request(RPCEndpoint(method), params)
    except Exception:  # a transport error or a refusal: the node does not offer the method
        return False
    return isinstance(reply, dict) and "result" in reply and "error" not in reply


def detect_engine(w3: Web3) -> str:
    """The engine of ``w3``'s chain: ``memory`` for the in-process EVM, ``anvil`` by its client
    version, else the first engine whose own JSON-RPC method answers; ``unknown`` otherwise."""
    if isinstance(w3.provider, EthereumTesterProvider):
        return "memory"
    try:
        version = str(w3.provider.make_request(RPCEndpoint("web3_clientVersion"), []).get("result"))
    except Exception:  # an unreachable node is reported by the first real request
        return "unknown"
    if version.lower().startswith("anvil"):
        return "anvil"
    for engine, method, params in _PROBES:
        if _answers(w3, method, list(params)):
            return engine
    return "unknown"


def default_confirmations(engine: str) -> int:
    """The confirmations of ``engine`` (1 for an engine not in the table)."""
    return DEFAULT_CONFIRMATIONS.get(engine, 1)


def confirmations_for(w3: Web3, configured: int | None, engine: str | None = None) -> int:
    """``configured`` when given, else the default of ``engine`` (recognised from ``w3``'s chain
    when None)."""
    if configured is not None:
        return configured
    return default_confirmations(engine or detect_engine(w3))


__all__ = [
    "DEFAULT_CONFIRMATIONS",
    "ENGINES",
    "confirmations_for",
    "default_confirmations",
    "detect_engine",
]
