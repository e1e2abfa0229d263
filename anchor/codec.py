"""The compiled contract and its ABI: the committed artifact of ``CertificateRegistry``, and
decoding of revert data (into :class:`anchor.errors.ContractRevert`) and raw event logs (into
:class:`ChainEvent`) by the ABI's error selectors and event topics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from anchor.errors import ContractRevert
from node.core.errors import ChainError

ARTIFACT_PATH = (
    Path(__file__).resolve().parent.parent / "contracts" / "artifacts" / "CertificateRegistry.json"
)


@dataclass(frozen=True)
class Artifact:
    """The compiled contract: ABI, creation bytecode and compiler pin."""

    abi: list[dict[str, Any]]
    bytecode: str
    compiler: dict[str, Any]


def load_artifact(path: Path = ARTIFACT_PATH) -> Artifact:
    """Return the committed artifact of ``CertificateRegistry``.

    Raises ChainError when the file is missing or not an artifact.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Artifact(abi=data["abi"], bytecode=data["bytecode"], compiler=data["compiler"])
    except (OSError, ValueError, KeyError) as exc:
        raise ChainError(f"cannot read contract artifact {path}: {exc}") from exc


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if kind == "address[]":
        return [to_checksum_address(v) for v in value]
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class _AbiItem:
    name: str
    params: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)


class AbiCodec:
    """Decodes revert data and raw logs with a contract ABI."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self.errors: dict[bytes, _AbiItem] = {}
        self.events: dict[bytes, _AbiItem] = {}
        self.event_topics: dict[str, bytes] = {}
        for item in abi:
            if item["type"] not in ("error", "event"):
                continue
            params = tuple(
                (str(p["name"]), _abi_type(p), bool(p.get("indexed", False)))
                for p in item["inputs"]
            )
            signature = f"{item['name']}({','.join(t for _, t, _ in params)})"
            parsed = _AbiItem(str(item["name"]), params)
            if item["type"] == "error":
                self.errors[keccak(text=signature)[:4]] = parsed
            else:
                topic = keccak(text=signature)
                self.events[topic] = parsed
                self.event_topics[parsed.name] = topic
        self.errors[bytes.fromhex("08c379a0")] = _AbiItem("Error", (("message", "string", False),))
        self.errors[bytes.fromhex("4e487b71")] = _AbiItem("Panic", (("code", "uint256", False),))

    def decode_revert(self, data: bytes) -> ContractRevert:
        """Return the typed exception for revert ``data`` (never raises)."""
        item = self.errors.get(data[:4])
        if item is None:
            return ContractRevert("", {}, data)
        try:
            values = abi_decode([t for _, t, _ in item.params], data[4:])
        except Exception:  # Malformed revert data: report it undecoded.
            return ContractRevert("", {}, data)
        args = {n: _normalise(t, v) for (n, t, _), v in zip(item.params, values, strict=True)}
        return ContractRevert(item.name, args, data)

    def decode_log(self, log: dict[str, Any]) -> ChainEvent | None:
        """Return the decoded event of a raw log entry, or None for an unknown topic."""
        topics = [HexBytes(t) for t in log["topics"]]
        if not topics:
            return None
        item = self.events.get(bytes(topics[0]))
        if item is None:
            return None
        indexed = [(n, t) for n, t, i in item.params if i]
        plain = [(n, t) for n, t, i in item.params if not i]
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(indexed, topics[1:], strict=True):
            args[name] = _normalise(kind, abi_decode([kind], bytes(topic))[0])
        values = abi_decode([t for _, t in plain], bytes(HexBytes(log["data"])))
        for (name, kind), value in zip(plain, values, strict=True):
            args[name] = _normalise(kind, value)
        return ChainEvent(
            name=item.name,
            args=args,
            block_number=_to_int(log["blockNumber"]),
            transaction_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
            log_index=_to_int(log["logIndex"]),
        )


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value)


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event."""

    name: str
    args: dict[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int


__all__ = ["ARTIFACT_PATH", "AbiCodec", "Artifact", "ChainEvent", "load_artifact"]
