"""Audit findings: what the auditor (``audit/auditor.py``) reports, and the bounded sink that
collects them.

A finding names a stable dotted ``kind`` (the list is :data:`FINDING_KINDS`, read from the
rule-id catalogue ``node/core/rules/ids.py`` and documented in ``docs/AUDIT.md``), the province
it concerns (``None`` for chain-wide ones), the evidence a reader needs to check it
independently (block, transaction, checkpoint index, leaf index, hashes) and a message. Nothing
in a finding is personal data: log entries and the chain hold none (docs/FORMATS.md "Log
entries"), and messages only quote codes, sizes, dates and hashes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Final

from node.core.rules.ids import CATALOGUE, Role

#: Every finding kind, with its English meaning, in report order: the audit findings of the
#: rule-id catalogue (node/core/rules/ids.py, which also has the Chinese sentence and the
#: source; docs/AUDIT.md and docs/RULES.md list them). A new kind is a new catalogue entry.
FINDING_KINDS: Final[dict[str, str]] = {
    entry.id: entry.en for entry in CATALOGUE.with_role(Role.FINDING)
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
