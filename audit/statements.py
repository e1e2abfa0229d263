"""Audit statements from an audit report: what a snapshot carries (``SnapshotExtras.audits``)
so that verifiers answer ``DISPUTED`` for a certificate an auditor found wrong
(node/core/verify.py ``check_findings``).

One statement per province with findings that name a leaf (``leaf_index`` and the entry's
``commitment`` in the evidence, e.g. ``log.foreign_entries``), about the province's latest
checkpoint the audit replayed; findings without a leaf (chain-wide, per checkpoint) have no
place in a statement and stay in the report.
"""

from __future__ import annotations

from anchor.chain import RegistryClient
from audit.report import AuditReport
from node.core.formats.network import Network
from node.core.formats.trust import AuditFinding, AuditStatement


def audit_statements(report: AuditReport, client: RegistryClient) -> list[AuditStatement]:
    """The statements of ``report``'s kept findings that name a leaf, one per province.

    Raises:
        ChainError: the chain cannot be read.
    """
    by_province: dict[str, list[AuditFinding]] = {}
    for finding in report.findings:
        leaf = finding.evidence.get("leaf_index")
        commitment = finding.evidence.get("hashes", {}).get("commitment")
        if finding.province is None or not isinstance(leaf, int) or commitment is None:
            continue
        by_province.setdefault(finding.province, []).append(
            AuditFinding(leaf, finding.kind, bytes.fromhex(commitment))
        )
    network = Network(client.chain_id(), bytes.fromhex(client.address[2:]))
    statements = []
    for province, findings in sorted(by_province.items()):
        latest = client.latest_checkpoint(int(province))
        if latest is None:
            continue
        statements.append(
            AuditStatement(
                network,
                province,
                latest.index,
                latest.size,
                latest.root,
                tuple(sorted(findings, key=lambda f: (f.leaf_index, f.kind))),
            )
        )
    return statements


__all__ = ["audit_statements"]
