"""Audit findings: what the auditor (``audit/auditor.py``) reports, and the bounded sink that
collects them.

A finding names a stable dotted ``kind`` (the list is :data:`FINDING_KINDS`, documented in
``docs/AUDIT.md``), the province it concerns (``None`` for chain-wide ones), the evidence a
reader needs to check it independently (block, transaction, checkpoint index, leaf index,
hashes) and a message. Nothing in a finding is personal data: log entries and the chain hold
none (docs/FORMATS.md "Log entries"), and messages only quote codes, sizes, dates and hashes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Final

#: Every finding kind, with a one-line meaning (the table of docs/AUDIT.md).
FINDING_KINDS: Final[dict[str, str]] = {
    "checkpoint.order": "checkpoint indexes of a province are not 0, 1, 2 … or sizes do not grow",
    "checkpoint.conflict": "two checkpoints of a province have the same size and other roots",
    "checkpoint.inconsistent": "the anchoring consistency proof does not verify",
    "manifest.missing": "the manifest CID of a checkpoint cannot be fetched (or bytes differ)",
    "manifest.malformed": "the manifest bytes are not a canonical version 1 or 2 manifest",
    "manifest.mismatch": "the manifest does not match its checkpoint (header or rebuilt root)",
    "organisation.unknown": "a certificate's organisation was not filed when it was anchored",
    "organisation.not_active": "a certificate's organisation was suspended or terminated",
    "scope.missing": "the organisation's scope document cannot be fetched or read",
    "scope.outside": "occupation, work type or level outside the filed scope",
    "entry.key_unknown": "the signature names a key id the organisation does not have",
    "entry.key_suite": "the signature's suite differs from the key's",
    "entry.key_not_valid": "the key was not valid on the certificate's issue date",
    "entry.signature": "the issuer's signature does not verify",
    "entry.number_mismatch": "certificate number positions 14-16 disagree with year or level",
    "entry.unknown_target": "a status entry names a commitment not in the province's log",
    "entry.transition": "a status entry changes a certificate in a way the rules forbid",
    "entry.reason": "a status entry's reason code is not one of its action",
    "entry.status_not_on_chain": "a status entry has no matching status change on chain",
    "deadline.late": "anchored after the 30-working-day upload deadline without a late reason",
    "deadline.over_six_months": "anchored more than 6 months after the issue date",
    "deadline.issue_after_anchor": "the issue date is after the anchoring day",
    "deadline.late_reason": "the late-upload reason code is not a late-upload reason",
    "deadline.calendar": "the working-day calendar does not cover the dates",
    "certificate.duplicate_number": "a certificate number issued twice",
    "commitment.duplicate": "a commitment logged twice",
    "serial.gap": "serials skipped within one organisation, year and level",
    "correction.rule": "a correction breaks the correction rule",
    "status.no_entry": "an on-chain status change with no matching log entry",
    "history.rewritten": "the chain disagrees with an older snapshot of it",
    "access_log.missing": "a manifest after a version 2 one carries no access-log head",
    "access_log.shrunk": "an anchored access-log head has fewer records than an earlier one, "
    "or as many with another hash",
    "access_log.mismatch": "the access-log export does not chain to an anchored head "
    "(a record dropped, added before it or changed)",
    "api.unreachable": "a node's API gave no usable answer",
    "api.certificate_missing": "a node's API does not know an anchored certificate",
    "api.status_mismatch": "a node's API gives another status, number or log index",
    "api.proof_invalid": "a node's API serves an inclusion proof that does not check",
    "api.checkpoint_mismatch": "a node's API lists a checkpoint unlike the chain's",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One thing the auditor found wrong.

    ``evidence`` holds JSON values only: ``block``, ``transaction``, ``checkpoint_index``,
    ``leaf_index``, ``hashes`` (hex) and kind-specific details; never personal data.
    """

    kind: str
    province: str | None
    message: str
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "province": self.province,
            "message": self.message,
            "evidence": self.evidence,
        }


class FindingSink:
    """Counts every finding and keeps the first ``keep_per_kind`` of each kind in full, so a
    history with millions of bad entries still produces a report of bounded size."""

    def __init__(self, keep_per_kind: int = 1000) -> None:
        self.keep_per_kind = keep_per_kind
        self.counts: Counter[str] = Counter()
        self.kept: list[Finding] = []

    def add(self, finding: Finding) -> None:
        """Count ``finding`` and keep it when its kind has room."""
        self.counts[finding.kind] += 1
        if self.counts[finding.kind] <= self.keep_per_kind:
            self.kept.append(finding)

    def __call__(self, kind: str, province: str | None, message: str, **evidence: Any) -> None:
        """Shorthand: build the finding and :meth:`add` it."""
        self.add(Finding(kind, province, message, evidence))

    @property
    def total(self) -> int:
        """Every finding counted, kept or not."""
        return sum(self.counts.values())


__all__ = ["FINDING_KINDS", "Finding", "FindingSink"]
