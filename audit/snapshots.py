"""Comparing an older snapshot with the replayed chain (``history.rewritten``).

Optionally the auditor is given an older :class:`node.core.formats.snapshot.Snapshot` of the
same contract: a checkpoint, status change, key or block hash that differs means the history was
rewritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from web3.exceptions import BlockNotFound

from anchor.chain import ChainEvent, RegistryClient, with_retries
from anchor.snapshot import CERTIFICATE_STATUS_NAMES
from audit.chainstate import ChainState
from audit.findings import FindingSink
from node.core.errors import InvalidInput
from node.core.formats.snapshot import Snapshot

ZERO32: Final = b"\x00" * 32


class SnapshotComparison:
    """Compares an older snapshot with the replayed chain (``history.rewritten``).

    Everything the snapshot holds happened at or before its block, so the chain must hold
    exactly the same checkpoints and status changes up to that block, the same block hash,
    and the same keys (a later revocation may only shorten a key's validity).
    """

    def __init__(
        self,
        snapshot: Snapshot | None,
        *,
        client: RegistryClient,
        chain_id: int,
        contract: bytes,
        findings: FindingSink,
        state: ChainState,
    ) -> None:
        self.snapshot = snapshot
        self.client = client
        self.chain_id = chain_id
        self.contract = contract
        self.findings = findings
        self.state = state
        self.checkpoints: dict[tuple[str, int], Any] = {}
        self.statuses: Counter[tuple[Any, ...]] = Counter()
        if snapshot is not None:
            self.checkpoints = {(c.province, c.index): c for c in snapshot.checkpoints}
            self.statuses = Counter(
                (
                    s.province,
                    s.commitment,
                    "reinstated" if s.status == "active" else s.status,
                    s.reason,
                    s.successor or ZERO32,
                    s.block_number,
                    "0x" + s.transaction_hash.hex(),
                )
                for s in snapshot.statuses
            )

    def _rewritten(self, province: str | None, message: str, **evidence: Any) -> None:
        self.findings("history.rewritten", province, message, **evidence)

    def check_network(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        if snapshot.network.chain_id != self.chain_id or snapshot.network.contract != self.contract:
            raise InvalidInput(
                "snapshot", "audit.snapshot_network", "the snapshot is of another network"
            )

    def _covers(self, block: int) -> bool:
        return self.snapshot is not None and block <= self.snapshot.block.number

    def checkpoint(
        self, province: str, index: int, size: int, root: bytes, cid: str, event: ChainEvent
    ) -> None:
        if not self._covers(event.block_number):
            return
        held = self.checkpoints.pop((province, index), None)
        evidence = {
            "block": event.block_number,
            "transaction": event.transaction_hash,
            "checkpoint_index": index,
            "hashes": {"root": root.hex()},
        }
        if held is None:
            self._rewritten(
                province, f"checkpoint {index} is on chain but not in the snapshot", **evidence
            )
            return
        chain = (size, root, event.block_number, event.transaction_hash, cid)
        kept = (
            held.tree_size,
            held.root,
            held.block_number,
            "0x" + held.transaction_hash.hex(),
            held.manifest_cid,
        )
        if chain != kept:
            self._rewritten(
                province,
                f"checkpoint {index} differs from the snapshot's",
                **{**evidence, "hashes": {"root": root.hex(), "snapshot_root": held.root.hex()}},
                snapshot={"tree_size": held.tree_size, "block": held.block_number},
            )

    def status(
        self,
        province: str,
        commitment: bytes,
        status: int,
        reason: int,
        successor: bytes,
        event: ChainEvent,
    ) -> None:
        if not self._covers(event.block_number):
            return
        key = (
            province,
            commitment,
            CERTIFICATE_STATUS_NAMES.get(status, str(status)),
            reason,
            successor,
            event.block_number,
            event.transaction_hash,
        )
        if self.statuses[key] > 0:
            self.statuses[key] -= 1
            return
        self._rewritten(
            province,
            "a status change up to the snapshot's block is not in the snapshot",
            block=event.block_number,
            transaction=event.transaction_hash,
            hashes={"commitment": commitment.hex()},
        )

    def finish(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        for (province, index), held in sorted(self.checkpoints.items()):
            self._rewritten(
                province,
                f"checkpoint {index} of the snapshot is no longer on chain",
                block=held.block_number,
                checkpoint_index=index,
                hashes={"root": held.root.hex()},
            )
        for key, count in self.statuses.items():
            for _ in range(count):
                self._rewritten(
                    key[0],
                    "a status change of the snapshot is no longer on chain",
                    block=key[5],
                    transaction=key[6],
                    hashes={"commitment": key[1].hex()},
                )
        self._compare_block(snapshot)
        self._compare_keys(snapshot.organisations)

    def _compare_block(self, snapshot: Snapshot) -> None:
        client = self.client
        try:
            block = with_retries(
                lambda: client.w3.eth.get_block(snapshot.block.number),
                "get block",
                client.options.retry,
            )
        except BlockNotFound:
            self._rewritten(
                None,
                f"block {snapshot.block.number} of the snapshot is past the chain's head",
                block=snapshot.block.number,
                hashes={"snapshot_block": snapshot.block.hash.hex()},
            )
            return
        chain_hash = bytes(block["hash"])
        if chain_hash != snapshot.block.hash:
            self._rewritten(
                None,
                f"block {snapshot.block.number} has another hash than in the snapshot",
                block=snapshot.block.number,
                hashes={"block": chain_hash.hex(), "snapshot_block": snapshot.block.hash.hex()},
            )

    def _compare_keys(self, organisations: Iterable[Any]) -> None:
        for held in organisations:
            org = self.state.organisations.get(held.code)
            if org is None or org.province != held.province:
                self._rewritten(
                    held.province,
                    f"organisation {held.code} of the snapshot is not filed on chain",
                    organisation_code=held.code,
                )
                continue
            for key in held.keys:
                now = org.keys[key.key_id] if key.key_id < len(org.keys) else None
                shortened_only = now is not None and (
                    key.valid_until == 0 or 0 < now.valid_until <= key.valid_until
                )
                if (
                    now is None
                    or (now.suite, now.public_key, now.valid_from)
                    != (key.suite, key.public_key, key.valid_from)
                    or not shortened_only
                ):
                    self._rewritten(
                        held.province,
                        f"key {key.key_id} of {held.code} differs from the snapshot's",
                        organisation_code=held.code,
                        key_id=key.key_id,
                    )


__all__ = ["SnapshotComparison"]
