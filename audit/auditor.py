"""The auditor: replays the consortium contract from genesis and checks every province log.

This is the registry's ``fsck`` (after transparency-dev/tessera's fsck): it trusts nothing
but the chain it is pointed at. It streams the contract's events in chain order
(``RegistryClient.iter_events``, paged ``eth_getLogs``) and hands each to the part that folds it:

- ``audit/chainstate.py``: members, organisations with their keys, status and scope hash, and
  the filed scopes behind the scope hashes;
- ``audit/replay.py``: per province, the log rebuilt from each anchored checkpoint's manifest
  (``audit/log.py``; order, conflicts, consistency proofs, rebuilt roots) and the on-chain
  status changes matched against the status entries;
- ``audit/entries.py``: every replayed entry checked against the chain state *at its anchoring
  block* (issuer, scope, key, signature, number, deadlines in the audit's working-day calendar,
  duplicates, corrections and status transitions);
- ``audit/history.py``: once at the head, what needs the whole history (status entries never
  set on chain, serial gaps);
- ``audit/snapshots.py``: optionally, an older snapshot compared with the chain
  (``history.rewritten``);
- ``audit/node_api.py``: optionally, node APIs compared with the replayed state;
- ``audit/witness.py``: with node APIs, the members' signed refusals to cosign a checkpoint
  (``witness.refused``).

Findings (``audit/findings.py``) carry evidence and no personal data; ``audit/report.py`` is the
report. The :class:`Auditor` here wires the parts together and drives the replay.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from anchor.chain import ChainEvent, RegistryClient
from anchor.manifest import ManifestStore
from audit.access import AccessLogHeads
from audit.chainstate import ChainState, FiledScopes, Organisation
from audit.entries import EntryChecker
from audit.findings import FindingSink
from audit.history import check_end_of_history
from audit.log import ProvinceLog
from audit.node_api import ApiComparison, ApiTarget, CertificateSample
from audit.replay import LogReplay
from audit.report import AuditReport, ordered_findings
from audit.signatures import SignatureChecker
from audit.snapshots import SnapshotComparison
from audit.witness import WitnessRefusals
from node.core.formats.network import Network
from node.core.formats.snapshot import Snapshot
from node.core.rules.workdays import WorkdayCalendar


@dataclasses.dataclass(frozen=True)
class AuditOptions:
    """Knobs of :func:`audit`.

    ``workers``: processes for signature checks (1: in this process). ``status_grace_blocks``:
    status entries anchored this many blocks before the head or later may still be waiting for
    their on-chain change (``StatusSync`` writes after confirmation), so they are not reported.
    ``keep_per_kind``: findings of one kind kept in full (all are counted). ``snapshot``: an
    older snapshot of this contract to compare with. ``to_block``: audit up to this block
    (default the head). ``manifest_timeout``: seconds per manifest fetch. ``apis``: node APIs
    to compare with the replayed state, each asked about at most ``api_sample`` certificates
    of its province and every checkpoint (``audit/node_api.py``). ``calendar``: the working
    days deadlines are judged in (default: the installed ``chinese-calendar``'s years only;
    ``certreg audit`` passes the one ``CERTREG_CALENDAR`` names, province/calendars.py).
    ``access_logs``: per province, the record hashes of its access-log export (``certreg node
    access-log export``), checked against every access-log head its manifests anchored
    (docs/SHARING.md).
    """

    workers: int = 1
    signature_batch: int = 2_000
    status_grace_blocks: int = 0
    keep_per_kind: int = 1_000
    snapshot: Snapshot | None = None
    to_block: int | None = None
    page_size: int | None = None
    manifest_timeout: float = 10.0
    apis: tuple[ApiTarget, ...] = ()
    api_sample: int = 100
    api_timeout: float = 10.0
    calendar: WorkdayCalendar = dataclasses.field(default_factory=WorkdayCalendar.default)
    access_logs: Mapping[str, Sequence[bytes]] = dataclasses.field(default_factory=dict)


class Auditor:
    """One audit run over ``client``'s contract and the manifests of ``store``."""

    def __init__(
        self, client: RegistryClient, store: ManifestStore, options: AuditOptions | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.options = options or AuditOptions()
        self.findings = FindingSink(self.options.keep_per_kind)
        self.counts: Counter[str] = Counter()
        self.chain_id = client.chain_id()
        self.contract = bytes.fromhex(client.address[2:])
        self.state = ChainState(self.counts)
        #: For the API comparison only: sampled certificates.
        self._sample = CertificateSample(self.options.api_sample) if self.options.apis else None
        self._snapshot = SnapshotComparison(
            self.options.snapshot,
            client=client,
            chain_id=self.chain_id,
            contract=self.contract,
            findings=self.findings,
            state=self.state,
        )
        self._signatures = SignatureChecker(
            self.chain_id,
            self.contract,
            self._signature_failed,
            workers=self.options.workers,
            batch_size=self.options.signature_batch,
        )
        self.entries = EntryChecker(
            self.state,
            FiledScopes(store, self.findings, self.options.manifest_timeout),
            self.findings,
            self._signatures,
            self.options.calendar,
            self._sample,
        )
        #: The access-log heads the manifests anchored (audit/access.py).
        self.access_heads = AccessLogHeads(self.findings)
        self.replay = LogReplay(
            client,
            store,
            findings=self.findings,
            counts=self.counts,
            entries=self.entries,
            snapshot=self._snapshot,
            manifest_timeout=self.options.manifest_timeout,
            keep_checkpoints=self._sample is not None,
            access_heads=self.access_heads,
        )
        self._handlers: dict[str, Callable[[ChainEvent], None]] = {
            "CheckpointAnchored": self.replay.on_checkpoint,
            "CertificateStatusChanged": self.replay.on_status_changed,
        }

    @property
    def members(self) -> dict[str, tuple[str, ...]]:
        """The consortium's members by province, as replayed so far."""
        return self.state.members

    @property
    def organisations(self) -> dict[str, Organisation]:
        """The filed organisations by code, as replayed so far."""
        return self.state.organisations

    @property
    def logs(self) -> dict[str, ProvinceLog]:
        """The rebuilt province logs, as replayed so far."""
        return self.replay.logs

    # -- driving ---------------------------------------------------------------------------

    def run(self, events: Iterable[ChainEvent] | None = None) -> AuditReport:
        """Replay every event up to the latest final block (or ``options.to_block``) and return
        the report.

        ``events`` replaces the contract's own events (read with :meth:`chain_events`): the
        same replay of events from elsewhere, e.g. a test that hands it the chain's real
        events with one field altered, for faults the contract itself refuses to record.

        Raises:
            ChainError: the chain cannot be read.
            InvalidInput: the snapshot belongs to another network (``audit.snapshot_network``).
        """
        head = self.options.to_block
        if head is None:  # the latest final block: what a reorganisation cannot change
            head = self.client.final_block()
        try:
            self._snapshot.check_network()
            for event in self.chain_events(head) if events is None else events:
                self.handle(event)
            self._signatures.finish()
        finally:
            self._signatures.close()
        check_end_of_history(
            self.replay.logs, head, self.options.status_grace_blocks, self.findings
        )
        self._snapshot.finish()
        self.access_heads.check_exports(self.options.access_logs)
        self._compare_apis()
        return self.report(head)

    def handle(self, event: ChainEvent) -> None:
        """Apply one contract event in chain order."""
        if self.state.apply(event):
            return
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    def chain_events(self, head: int) -> Iterator[ChainEvent]:
        """The contract's events from genesis up to block ``head``, in chain order."""
        return self.client.iter_events(
            0, head, page_size=self.options.page_size or self.client.options.log_page_size
        )

    def report(self, head: int) -> AuditReport:
        """The report of what has been replayed so far."""
        counts = {
            "members": len(self.state.members),
            "organisations": len(self.state.organisations),
            "provinces": len(self.replay.logs),
            "checkpoints": self.counts["checkpoints"],
            "entries": self.counts["entries"],
            "signatures": self._signatures.checked,
            "status_changes": self.counts["status_changes"],
            "proposals": self.counts["proposals"],
        }
        return AuditReport(
            chain_id=self.chain_id,
            contract=self.client.address,
            head_block=head,
            counts=counts,
            finding_counts=dict(self.findings.counts),
            findings=tuple(ordered_findings(self.findings.kept)),
        )

    # -- the parts' checks, by name (tests call them on a live auditor) --------------------

    def check_checkpoint(
        self, log: ProvinceLog, index: int, size: int, root: bytes, evidence: dict[str, Any]
    ) -> None:
        """:meth:`audit.replay.LogReplay.check_checkpoint`."""
        self.replay.check_checkpoint(log, index, size, root, evidence)

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
        """:meth:`audit.replay.LogReplay.check_consistency`."""
        self.replay.check_consistency(province, size1, root1, size2, root2, event, evidence)

    def _signature_failed(self, context: Any) -> None:
        self.entries.signature_failed(context)

    def _compare_apis(self) -> None:
        """Ask each node API of ``options.apis`` about the replayed state."""
        if self._sample is None:
            return
        logs = self.replay.logs

        def state_of(province: str, commitment: bytes) -> tuple[str, int] | None:
            log = logs.get(province)
            return None if log is None else log.state_of(commitment)

        roots = {province: log.roots for province, log in logs.items()}
        for target in self.options.apis:
            ApiComparison(target, self.findings, self.options.api_timeout).run(
                self.replay.chain_checkpoints, roots, self._sample, state_of
            )
        WitnessRefusals(
            self.findings, Network(self.chain_id, self.contract), self.options.api_timeout
        ).run(self.options.apis, logs, self.state.checkpoint_keys, roots)


def audit(
    client: RegistryClient, store: ManifestStore, options: AuditOptions | None = None
) -> AuditReport:
    """Replay ``client``'s contract from genesis with manifests from ``store``; return the
    report (see the module docstring for what is checked).

    Raises:
        ChainError: the chain cannot be read.
        InvalidInput: the snapshot of ``options`` belongs to another network.
    """
    return Auditor(client, store, options).run()


__all__ = ["AuditOptions", "AuditReport", "Auditor", "audit"]
