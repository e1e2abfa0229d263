"""The chain adapter's public names in one place, for code outside ``anchor``: deploy, read and
write the consortium contract through web3.py.

The adapter is three modules: :mod:`anchor.transport` (the JSON-RPC session: ``connect``,
retries with backoff, nonces, fees, receipts and confirmations, raw logs; transport errors
become :class:`~node.core.errors.ChainError`), :mod:`anchor.codec` (the committed artifact and
its ABI: revert and event decoding) and :mod:`anchor.registry` (:class:`RegistryClient`, the
typed binding of the contract, composed over a transport). Modules inside ``anchor`` import
from those directly.
"""

from anchor.codec import ARTIFACT_PATH, AbiCodec, Artifact, ChainEvent, load_artifact
from anchor.registry import (
    ZERO32,
    AnchorResult,
    Checkpoint,
    Organisation,
    OrganisationKey,
    Proposal,
    RegistryClient,
    StatusChange,
    StatusRecord,
)
from anchor.transport import (
    MEMORY_URL,
    ChainTransport,
    ClientOptions,
    NonceManager,
    RetryPolicy,
    TxResult,
    connect,
    is_tester_revert,
    revert_bytes,
    with_retries,
)
from node.core.errors import ChainError

__all__ = [
    "ARTIFACT_PATH",
    "MEMORY_URL",
    "ZERO32",
    "AbiCodec",
    "AnchorResult",
    "Artifact",
    "ChainError",
    "ChainEvent",
    "ChainTransport",
    "Checkpoint",
    "ClientOptions",
    "NonceManager",
    "Organisation",
    "OrganisationKey",
    "Proposal",
    "RegistryClient",
    "RetryPolicy",
    "StatusChange",
    "StatusRecord",
    "TxResult",
    "connect",
    "is_tester_revert",
    "load_artifact",
    "revert_bytes",
    "with_retries",
]
