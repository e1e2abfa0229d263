"""Which chain and contract a bundle, snapshot or trust root belongs to, and a block of it.

Shared by the snapshot (``node.core.formats.snapshot``, which re-exports both) and the trust
formats (``node.core.formats.trust``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from node.core.formats.jsonfmt import Reader, hex0x

MAX_UINT64: Final = 2**64 - 1
#: The largest tree size, leaf or checkpoint index and key time a bundle or snapshot may carry:
#: 2^53 - 1, the largest integer a JSON number holds exactly in JavaScript, so that the Python
#: and the in-browser verifier read every document alike (no real log or clock comes near it;
#: the chain itself stores uint64).
MAX_INDEX: Final = 2**53 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class Network:
    """Which chain and contract a bundle or snapshot belongs to."""

    chain_id: int
    contract: bytes  # 20 bytes

    def to_json(self) -> dict[str, Any]:
        return {"chain_id": self.chain_id, "contract": hex0x(self.contract)}

    @classmethod
    def from_json(cls, r: Reader) -> Network:
        r.keys({"chain_id", "contract"})
        return cls(r.integer("chain_id", 1), r.hex0x("contract", 20))

    def describe(self) -> str:
        return f"chain {self.chain_id} contract 0x{self.contract.hex()}"


@dataclasses.dataclass(frozen=True, slots=True)
class BlockRef:
    number: int
    hash: bytes
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "hash": hex0x(self.hash), "timestamp": self.timestamp}
