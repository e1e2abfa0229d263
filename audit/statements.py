"""Audit statements from an audit report (``certreg audit --publish``).

For each member province with a checkpoint at the audited head block, one statement about its
latest such checkpoint (``node.core.formats.trust.AuditStatement``): clean, or the findings that
name a leaf of that checkpoint's tree (kind, leaf index, the entry's commitment). Findings that
name no leaf (a chain-level fault, a gap) are in the report only; a report keeps at most 1,000
findings of a kind (``audit.findings.FindingSink``), and so does a statement.
``anchor.audit_statements.publish_statement`` stores and references each one on chain.
"""

from __future__ import annotations

from anchor.registry import Checkpoint, RegistryClient
from audit.report import AuditReport
from node.core.formats.network import Network
from node.core.formats.trust import AuditFinding, AuditStatement


def statements_of(report: AuditReport, client: RegistryClient) -> list[AuditStatement]:
    """One statement per province with a checkpoint at ``report.head_block``, by province.

    Raises:
        ChainError: the chain could not be read.
    """
    network = Network(report.chain_id, bytes.fromhex(report.contract.removeprefix("0x")))
    out = []
    for province in sorted(client.members()):
        checkpoint = _checkpoint_at(client, province, report.head_block)
        if checkpoint is None:
            continue
        code = f"{province:02d}"
        findings = sorted(
            {
                AuditFinding(leaf, finding.kind, commitment)
                for finding in report.findings
                if finding.province == code
                and (leaf := finding.evidence.get("leaf_index")) is not None
                and leaf < checkpoint.size
                and (commitment := _commitment(finding.evidence)) is not None
            },
            key=lambda f: (f.leaf_index, f.kind),
        )
        out.append(
            AuditStatement(
                network, code, checkpoint.index, checkpoint.size, checkpoint.root, tuple(findings)
            )
        )
    return out


def _commitment(evidence: dict[str, object]) -> bytes | None:
    hashes = evidence.get("hashes")
    value = hashes.get("commitment") if isinstance(hashes, dict) else None
    return bytes.fromhex(value) if isinstance(value, str) and len(value) == 64 else None


def _checkpoint_at(client: RegistryClient, province: int, block: int) -> Checkpoint | None:
    """The province's latest checkpoint anchored at or before ``block``."""
    latest = client.latest_checkpoint(province)
    index = None if latest is None else latest.index
    while index is not None and index >= 0:
        checkpoint = client.checkpoint(province, index)
        if checkpoint.block_number <= block:
            return checkpoint
        index -= 1
    return None


__all__ = ["statements_of"]
