"""The auditor's reading of the members' witness refusals (docs/AUDIT.md "Witness refusals",
docs/FORMATS.md "Witness statements").

With node APIs to compare (``certreg audit --api``), after the replay the auditor asks each node
for the refusals it holds about every replayed province's checkpoints (``GET
/v1/cosignatures?province=P&kind=refusal``, paged by ``after``). Each refusal signed by the
checkpoint-signing key the witness published on the chain (``memberKey(province, 2)``, as
replayed) and made on this network is a ``witness.refused`` finding: the witness, the
checkpoint, the rule it names and what the witness saw, the statement's CID, and whether the
replayed chain holds that checkpoint (``on_chain``). A refusal that does not verify is not
reported (anyone can write one). The same refusal seen through several nodes is reported once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from anchor.manifest import cid_v0
from audit.findings import FindingSink
from audit.node_api import PAGE, ApiComparison, ApiTarget, Unreachable
from node.core.errors import InvalidInput
from node.core.formats.network import Network
from node.core.formats.trust import WitnessKey
from node.core.witnessing import StatementDocument


class WitnessRefusals:
    """Collects and reports the refusals the node APIs hold."""

    def __init__(self, findings: FindingSink, network: Network, timeout: float = 10.0) -> None:
        self.findings = findings
        self.network = network
        self.timeout = timeout
        self._seen: set[tuple[str, str, int, bytes]] = set()

    def run(
        self,
        targets: Iterable[ApiTarget],
        provinces: Iterable[str],
        keys: Mapping[str, bytes],
        roots: Mapping[str, Mapping[int, bytes]],
    ) -> None:
        """Ask every target about every province (an unreachable one is skipped: the API
        comparison reports it)."""
        witness_keys = {p: WitnessKey.from_chain(k) for p, k in keys.items()}
        wanted = sorted(provinces)
        for target in targets:
            api = ApiComparison(target, self.findings, self.timeout)
            try:
                for province in wanted:
                    self._province(api, province, witness_keys, roots.get(province, {}))
            except Unreachable:
                continue

    def _province(
        self,
        api: ApiComparison,
        province: str,
        keys: Mapping[str, WitnessKey | None],
        roots: Mapping[int, bytes],
    ) -> None:
        after = -1
        while True:
            status, body = api.get(
                "/v1/cosignatures", province=province, kind="refusal", after=after
            )
            items = body.get("statements") if status == 200 and isinstance(body, dict) else None
            if not isinstance(items, list):
                return  # a node without witnessing (404) or an odd answer: nothing to read
            for value in items:
                if isinstance(value, dict):
                    value = {k: v for k, v in value.items() if k != "cid"}
                try:
                    document = StatementDocument.from_json(value)
                except InvalidInput:
                    continue
                statement = document.statement
                after = max(after, statement.index)
                self._report(document, province, keys, roots)
            if len(items) < PAGE:
                return

    def _report(
        self,
        document: StatementDocument,
        province: str,
        keys: Mapping[str, WitnessKey | None],
        roots: Mapping[int, bytes],
    ) -> None:
        statement, refusal = document.statement, document.refusal
        key = (document.witness, statement.province, statement.index, statement.root)
        if (
            refusal is None
            or statement.province != province
            or statement.network != self.network
            or key in self._seen
            or not document.verify(keys)
        ):
            return
        self._seen.add(key)
        self.findings(
            "witness.refused",
            province,
            f"province {document.witness} refused to cosign checkpoint {statement.index} "
            f"(size {statement.tree_size}): {refusal.rule}",
            witness=document.witness,
            checkpoint_index=statement.index,
            tree_size=statement.tree_size,
            root=statement.root.hex(),
            block=statement.block_number,
            rule=refusal.rule,
            detail=refusal.detail,
            cid=cid_v0(document.to_bytes()),
            on_chain=roots.get(statement.tree_size) == statement.root,
        )


__all__ = ["WitnessRefusals"]
