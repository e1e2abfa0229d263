"""The error hierarchy shared by every layer.

One root, :class:`RegistryError`, and a few meaningful subclasses. Checks that must not be
ignored raise; they never return ``False``.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Root of every error certreg raises on purpose."""


class InvalidInput(RegistryError):
    """Input broke a rule.

    ``field`` names the offending field (or position, for certificate numbers) and ``rule``
    names the rule that was broken, so callers can report both precisely. Messages never
    contain personal data (holder name, ID number).
    """

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message} [{rule}]")
        self.field = field
        self.rule = rule
        self.message = message


class VerificationError(RegistryError):
    """A cryptographic or structural verification failed."""


class InconsistencyError(VerificationError):
    """Two checkpoints of one log do not extend each other; carries the evidence."""

    def __init__(
        self,
        message: str,
        *,
        size1: int,
        root1: bytes,
        size2: int,
        root2: bytes,
        proof: tuple[bytes, ...] = (),
    ) -> None:
        super().__init__(message)
        self.size1 = size1
        self.root1 = root1
        self.size2 = size2
        self.root2 = root2
        self.proof = proof


class ChainError(RegistryError):
    """The chain (RPC endpoint or in-process EVM) failed or refused a call."""


class StorageError(RegistryError):
    """The database failed."""


class ManifestStoreError(RegistryError):
    """The manifest store (IPFS or the local content-addressed directory) failed."""
