"""The audit report: what an audit found, with the counts of what it replayed (the JSON form is
documented in docs/AUDIT.md), and the order its kept findings are listed in."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from audit.findings import FINDING_KINDS, Finding


def ordered_findings(findings: list[Finding]) -> list[Finding]:
    """``findings`` in report order: by kind (the order of :data:`FINDING_KINDS`), province,
    block and leaf index."""
    order = {kind: i for i, kind in enumerate(FINDING_KINDS)}
    return sorted(
        findings,
        key=lambda f: (
            order[f.kind],
            f.province or "",
            f.evidence.get("block", 0),
            f.evidence.get("leaf_index", -1),
        ),
    )


@dataclasses.dataclass(frozen=True)
class AuditReport:
    """What an audit found, with the counts of what it replayed."""

    chain_id: int
    contract: str
    head_block: int
    counts: Mapping[str, int]
    finding_counts: Mapping[str, int]
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        """True when nothing was found."""
        return not self.finding_counts

    def kinds(self) -> set[str]:
        """The kinds found."""
        return set(self.finding_counts)

    def to_json(self) -> dict[str, Any]:
        """The JSON report (``docs/AUDIT.md``)."""
        return {
            "type": "certreg.audit",
            "version": 1,
            "network": {"chain_id": self.chain_id, "contract": self.contract.lower()},
            "head_block": self.head_block,
            "clean": self.clean,
            "counts": dict(self.counts),
            "finding_counts": dict(sorted(self.finding_counts.items())),
            "findings": [finding.to_json() for finding in self.findings],
        }

    def summary(self) -> str:
        """A human summary: what was replayed, then the findings by kind."""
        c = self.counts
        lines = [
            f"audited contract {self.contract} on chain {self.chain_id} up to block "
            f"{self.head_block}",
            f"  {c['members']} members, {c['organisations']} organisations, "
            f"{c['checkpoints']} checkpoints of {c['provinces']} provinces, {c['entries']} "
            f"entries ({c['signatures']} signatures checked), {c['status_changes']} status "
            "changes",
        ]
        if self.clean:
            lines.append("no findings")
            return "\n".join(lines)
        total = sum(self.finding_counts.values())
        lines.append(f"{total} finding(s):")
        for kind, count in sorted(self.finding_counts.items()):
            lines.append(f"  {kind:<30} {count:>8}  {FINDING_KINDS[kind]}")
        return "\n".join(lines)


__all__ = ["AuditReport", "ordered_findings"]
