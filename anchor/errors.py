"""Errors of the chain adapter, all under :class:`node.core.errors.ChainError`."""

from __future__ import annotations

from typing import Any

from node.core.errors import ChainError


class ContractRevert(ChainError):
    """The contract reverted; ``name`` and ``args`` are the decoded custom error.

    ``name`` is the Solidity error name (``ProvinceLogsCheckpointAlreadyAnchored``), or
    ``Error`` for a ``require`` message, ``Panic`` for a panic code, and ``""`` when the revert
    data matches no error of the ABI (``data`` then holds the raw bytes). ``args`` maps each
    parameter name to its decoded value (bytes for ``bytesN``, int for integers, checksummed
    strings for addresses).
    """

    def __init__(self, name: str, args: dict[str, Any], data: bytes) -> None:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        super().__init__(f"contract reverted: {name or 'unknown error'}({shown})")
        self.name = name
        self.args_by_name = args
        self.data = data

    @property
    def arguments(self) -> dict[str, Any]:
        """The decoded error arguments by name (``args`` is taken by ``BaseException``)."""
        return self.args_by_name


class CheckpointNotFound(ChainError):
    """The province log has no checkpoint ``index`` (checked against the contract's count)."""

    def __init__(self, province: int, index: int) -> None:
        super().__init__(f"province {province} has no checkpoint {index}")
        self.province = province
        self.index = index


class TransactionTimeout(ChainError):
    """A sent transaction was not mined (or not confirmed) in time; it may still be mined."""

    def __init__(self, message: str, transaction_hash: str) -> None:
        super().__init__(message)
        self.transaction_hash = transaction_hash


class TransactionDropped(ChainError):
    """A mined transaction is no longer in the canonical chain (a reorganisation dropped its
    block) and the node does not hold it any more: it must be sent again."""

    def __init__(self, message: str, transaction_hash: str) -> None:
        super().__init__(message)
        self.transaction_hash = transaction_hash


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)
