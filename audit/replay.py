"""The auditor's replay of the province logs: each ``CheckpointAnchored`` event is checked
(index order, no conflicting size, the consistency proof from the anchoring transaction) and its
manifest is fetched by CID, parsed one entry at a time and replayed into the province's rebuilt
log (``audit/log.py``): the rebuilt root must equal the anchored root, and every entry goes
through ``audit/entries.py``. Each ``CertificateStatusChanged`` event must match the next status
entry its certificate's log asked for.
"""

from __future__ import annotations

from collections import Counter
from hashlib import sha256 as _sha256
from typing import Any

from anchor.chain import ChainEvent, RegistryClient, with_retries
from anchor.manifest import ForeignDeclaration, ManifestStore, header_mismatch
from anchor.snapshot import CERTIFICATE_STATUS_NAMES, province_of
from audit.access import AccessLogHeads
from audit.entries import Anchor, EntryChecker
from audit.findings import FindingSink
from audit.log import ProvinceLog, read_manifest
from audit.node_api import ChainCheckpoint
from audit.snapshots import SnapshotComparison
from node.core.errors import ChainError, InvalidInput, ManifestStoreError, VerificationError
from node.core.merkle import verify_consistency
from node.core.time import china_date_of_unix


class LogReplay:
    """The province logs rebuilt from the anchored checkpoints and their manifests."""

    def __init__(
        self,
        client: RegistryClient,
        store: ManifestStore,
        *,
        findings: FindingSink,
        counts: Counter[str],
        entries: EntryChecker,
        snapshot: SnapshotComparison,
        manifest_timeout: float,
        keep_checkpoints: bool,
        access_heads: AccessLogHeads,
    ) -> None:
        self.client = client
        self.store = store
        self.findings = findings
        self.counts = counts
        self.entries = entries
        self.snapshot = snapshot
        self.manifest_timeout = manifest_timeout
        #: The access-log heads the manifests anchored (audit/access.py).
        self.access_heads = access_heads
        #: The rebuilt log of each province that anchored.
        self.logs: dict[str, ProvinceLog] = {}
        #: For the API comparison only (``keep_checkpoints``): the chain's checkpoints.
        self.chain_checkpoints: dict[str, list[ChainCheckpoint]] = {}
        self._keep_checkpoints = keep_checkpoints
        self._block_times: dict[int, int] = {}

    # -- checkpoints and manifests -------------------------------------------------------

    def _block_time(self, number: int) -> int:
        if number not in self._block_times:
            block = with_retries(
                lambda: self.client.w3.eth.get_block(number),
                "get block",
                self.client.options.retry,
            )
            if len(self._block_times) > 1024:
                self._block_times.clear()
            self._block_times[number] = int(block["timestamp"])
        return self._block_times[number]

    def _consistency_proof(self, transaction: str) -> list[bytes] | None:
        """The consistency proof passed to ``anchor`` in ``transaction`` (None when the
        transaction is not a direct ``anchor`` call, e.g. through another contract)."""
        tx = with_retries(
            lambda: self.client.w3.eth.get_transaction(transaction),  # type: ignore[arg-type]
            "get transaction",
            self.client.options.retry,
        )
        try:
            function, args = self.client.contract.decode_function_input(tx["input"])
        except ValueError:
            return None
        if function.fn_name != "anchor":
            return None
        return [bytes(node) for node in args["consistencyProof"]]

    def on_checkpoint(self, event: ChainEvent) -> None:
        """A ``CheckpointAnchored`` event: check it and replay its manifest."""
        province = province_of(event.args["province"])
        index = int(event.args["index"])
        size = int(event.args["size"])
        root = bytes(event.args["root"])
        cid = str(event.args["manifestCid"])
        self.counts["checkpoints"] += 1
        log = self.logs.setdefault(province, ProvinceLog(province))
        evidence: dict[str, Any] = {
            "block": event.block_number,
            "transaction": event.transaction_hash,
            "checkpoint_index": index,
            "tree_size": size,
            "manifest_cid": cid,
            "hashes": {"root": root.hex()},
        }
        timestamp = self._block_time(event.block_number)
        self.snapshot.checkpoint(province, index, size, root, cid, event)
        if self._keep_checkpoints:
            self.chain_checkpoints.setdefault(province, []).append(
                ChainCheckpoint(index, size, root, cid, event.transaction_hash, event.block_number)
            )
        previous_size, previous_root = log.last_size, log.last_root
        self.check_checkpoint(log, index, size, root, evidence)
        if previous_root is not None and size > previous_size:
            self.check_consistency(
                province, previous_size, previous_root, size, root, event, evidence
            )
        log.roots.setdefault(size, root)
        log.next_index = index + 1
        if size > log.last_size:
            log.last_size, log.last_root = size, root
        anchor = Anchor(
            province,
            index,
            event.block_number,
            event.transaction_hash,
            timestamp,
            china_date_of_unix(timestamp),
        )
        if size > previous_size:
            self.replay_manifest(log, anchor, previous_size, size, root, cid, evidence)

    def check_checkpoint(
        self, log: ProvinceLog, index: int, size: int, root: bytes, evidence: dict[str, Any]
    ) -> None:
        """Checkpoint order and conflicts (the contract enforces both; the auditor does not
        take that on trust)."""
        if size in log.roots and log.roots[size] != root:
            self.findings(
                "checkpoint.conflict",
                log.province,
                f"checkpoint {index} anchors size {size} with another root than before",
                **{**evidence, "hashes": {"root": root.hex(), "earlier": log.roots[size].hex()}},
            )
        elif index != log.next_index or size <= log.last_size:
            self.findings(
                "checkpoint.order",
                log.province,
                f"checkpoint {index} of size {size} follows checkpoint {log.next_index - 1} "
                f"of size {log.last_size}",
                **evidence,
            )

    def check_consistency(
        self,
        province: str,
        size1: int,
        root1: bytes,
        size2: int,
        root2: bytes,
        event: ChainEvent,
        evidence: dict[str, Any],
    ) -> None:
        """Verify the RFC 9162 §2.1.4 proof sent with the anchoring transaction."""
        proof = self._consistency_proof(event.transaction_hash)
        if proof is None:
            return
        try:
            verify_consistency(size1, size2, proof, root1, root2)
        except VerificationError as exc:
            self.findings(
                "checkpoint.inconsistent",
                province,
                f"consistency proof {size1} -> {size2} does not verify: {exc}",
                **{
                    **evidence,
                    "previous_size": size1,
                    "hashes": {
                        "root": root2.hex(),
                        "previous_root": root1.hex(),
                        "proof": [node.hex() for node in proof],
                    },
                },
            )

    def replay_manifest(
        self,
        log: ProvinceLog,
        anchor: Anchor,
        previous_size: int,
        size: int,
        root: bytes,
        cid: str,
        evidence: dict[str, Any],
    ) -> None:
        """Fetch the manifest of one checkpoint, replay its entries and compare the rebuilt
        root. A missing or wrong manifest stops the rebuild of this province's log (later
        roots cannot be recomputed), but later manifests are still read for entry checks."""
        province = log.province
        try:
            data = self.store.get(cid, self.manifest_timeout)
        except ManifestStoreError as exc:
            self.findings("manifest.missing", province, str(exc), **evidence)
            log.rebuildable = False
            return
        check = self.entries.check
        try:
            header, entries = read_manifest(data)
            wrong = header_mismatch(header, province, anchor.index, previous_size, size, root)
            if wrong:
                self.findings(
                    "manifest.mismatch",
                    province,
                    f"manifest header disagrees with the checkpoint: {', '.join(wrong)}",
                    **evidence,
                    fields=wrong,
                )
                log.rebuildable = False
                return
            if header.foreign:
                self.report_foreign(province, header.foreign, evidence)
            self.access_heads.observe(province, anchor.index, header.access_log, evidence)
            leaf_index = previous_size
            rebuild = log.rebuildable and log.frontier.size == previous_size
            for text, entry in entries:
                if entry.province != province:
                    raise InvalidInput(
                        f"manifest.entries[{leaf_index - previous_size}].province",
                        "manifest.province",
                        "entry of another province",
                    )
                leaf = _sha256(b"\x00" + text.encode("ascii")).digest()
                if rebuild:
                    log.frontier.append(leaf)
                self.counts["entries"] += 1
                check(log, anchor, entry, leaf_index, leaf)
                leaf_index += 1
        except InvalidInput as exc:
            self.findings("manifest.malformed", province, str(exc), **evidence, rule=exc.rule)
            log.rebuildable = False
            return
        if leaf_index != size:
            self.findings(
                "manifest.mismatch",
                province,
                f"manifest holds {leaf_index - previous_size} entries, the checkpoint adds "
                f"{size - previous_size}",
                **evidence,
            )
            log.rebuildable = False
            return
        if rebuild:
            rebuilt = log.frontier.root()
            if rebuilt != root:
                self.findings(
                    "manifest.mismatch",
                    province,
                    f"the manifest's entries rebuild root {rebuilt.hex()} at size {size}, "
                    "not the anchored root",
                    **{**evidence, "hashes": {"root": root.hex(), "rebuilt": rebuilt.hex()}},
                )
                log.rebuildable = False

    def report_foreign(
        self,
        province: str,
        declared: tuple[ForeignDeclaration, ...],
        evidence: dict[str, Any],
    ) -> None:
        """The leaves a version 3 manifest declares foreign (anchored by someone else with the
        province's operator key, adopted by the province): one ``log.foreign_entries`` finding
        per leaf, with the checkpoint that carried it and the entry's commitment, read again
        from that checkpoint's manifest; a foreign status entry no longer waits for its change
        on chain (``entry.status_not_on_chain``). A declaration of leaves its checkpoint does
        not hold is a ``manifest.mismatch``."""
        declared_in = evidence["checkpoint_index"]
        # The thief's manifests carried their own access-log heads: compare the province's
        # next head with its own last one.
        self.access_heads.forget(province, {item.checkpoint_index for item in declared})
        for item in declared:
            try:
                anchored = self.client.checkpoint(int(province), item.checkpoint_index)
                previous = (
                    0
                    if item.checkpoint_index == 0
                    else self.client.checkpoint(int(province), item.checkpoint_index - 1).size
                )
                if not previous <= item.start < item.end <= anchored.size:
                    raise VerificationError(
                        f"checkpoint {item.checkpoint_index} holds leaves {previous} to "
                        f"{anchored.size}, not the declared {item.start} to {item.end}"
                    )
                data = self.store.get(anchored.manifest_cid, self.manifest_timeout)
                _, entries = read_manifest(data)
                for leaf_index, (_, entry) in enumerate(entries, start=previous):
                    if item.start <= leaf_index < item.end:
                        self.logs[province].forget_foreign(entry.commitment, leaf_index)
                        self.findings(
                            "log.foreign_entries",
                            province,
                            f"leaf {leaf_index} ({entry.kind} of certificate "
                            f"{entry.certificate_number}) was anchored in checkpoint "
                            f"{item.checkpoint_index} by someone else with the province's "
                            f"operator key; the province declared it foreign in checkpoint "
                            f"{declared_in}",
                            **{
                                **evidence,
                                "checkpoint_index": item.checkpoint_index,
                                "declared_in": declared_in,
                                "leaf_index": leaf_index,
                                "hashes": {"commitment": entry.commitment.hex()},
                            },
                        )
            except (ChainError, VerificationError, ManifestStoreError, InvalidInput) as exc:
                self.findings(
                    "manifest.mismatch",
                    province,
                    f"foreign leaves {item.start} to {item.end} declared in checkpoint "
                    f"{declared_in}: {exc}",
                    **evidence,
                    fields=["foreign"],
                )

    # -- statuses ------------------------------------------------------------------------

    def on_status_changed(self, event: ChainEvent) -> None:
        """A ``CertificateStatusChanged`` event: it must match the next status change the
        certificate's log entries asked for."""
        province = province_of(event.args["province"])
        commitment = bytes(event.args["commitment"])
        status = int(event.args["status"])
        reason = int(event.args["reason"])
        successor = bytes(event.args["successor"])
        self.counts["status_changes"] += 1
        self.snapshot.status(province, commitment, status, reason, successor, event)
        log = self.logs.get(province)
        if log is None or not log.match(commitment, status, reason, successor):
            self.findings(
                "status.no_entry",
                province,
                f"status {CERTIFICATE_STATUS_NAMES.get(status, status)} (reason {reason}) set "
                "with no matching anchored log entry",
                block=event.block_number,
                transaction=event.transaction_hash,
                hashes={"commitment": commitment.hex(), "successor": successor.hex()},
            )


__all__ = ["LogReplay"]
