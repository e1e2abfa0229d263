"""The access-log heads that province manifests anchor (docs/SHARING.md "Access log").

Since manifest version 2, each checkpoint's manifest carries the province's access-log head
(record count and the hash chain's head) as it stood when the manifest was made. The heads of
one province never go back: a later manifest without a head, or with fewer records, or with as
many and another hash, is a finding. An access-log export (record hashes only, no personal
data) given to the auditor must chain to every head its province anchored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audit.findings import FindingSink
from node.core.formats.access import LogHead, check_heads


class AccessLogHeads:
    """Per province, the access-log heads its manifests anchored, in checkpoint order."""

    def __init__(self, findings: FindingSink) -> None:
        self.findings = findings
        #: Per province: (checkpoint index, head).
        self.heads: dict[str, list[tuple[int, LogHead]]] = {}

    def observe(
        self, province: str, index: int, head: LogHead | None, evidence: dict[str, Any]
    ) -> None:
        """Keep a manifest's access-log head; report one that is missing or goes back."""
        heads = self.heads.setdefault(province, [])
        if head is None:
            if heads:
                self.findings(
                    "access_log.missing",
                    province,
                    f"checkpoint {index}'s manifest carries no access-log head after "
                    f"checkpoint {heads[-1][0]}'s did",
                    **evidence,
                )
            return
        if heads:
            last = heads[-1][1]
            if head.count < last.count or (head.count == last.count and head.head != last.head):
                self.findings(
                    "access_log.shrunk",
                    province,
                    f"checkpoint {index} anchors {head.count} access records after "
                    f"{last.count} (checkpoint {heads[-1][0]})",
                    **{
                        **evidence,
                        "hashes": {"head": head.head.hex(), "previous_head": last.head.hex()},
                    },
                )
        heads.append((index, head))

    def forget(self, province: str, indexes: set[int]) -> None:
        """Drop the heads of checkpoints the province declared foreign (anchored by someone
        else with its operator key, audit/replay.py): later heads are compared with the
        province's own, and exports are checked against those only."""
        heads = self.heads.get(province, [])
        self.heads[province] = [(i, h) for i, h in heads if i not in indexes]

    def check_exports(self, exports: Mapping[str, Sequence[bytes]]) -> None:
        """Check each province's access-log export (record hashes) against its heads."""
        for province, hashes in sorted(exports.items()):
            for index, message in check_heads(hashes, self.heads.get(province, [])):
                self.findings("access_log.mismatch", province, message, checkpoint_index=index)
