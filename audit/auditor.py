"""The auditor: replays the consortium contract from genesis and checks every province log.

This is the registry's ``fsck`` (STYLE.md, after transparency-dev/tessera): it trusts nothing
but the chain it is pointed at. It streams the contract's events in chain order
(``RegistryClient.iter_events``, paged ``eth_getLogs``) and keeps the state they build —
members, organisations with their keys, status and scope hash — and, per province, a rebuilt
log (``audit/log.py``). Each ``CheckpointAnchored`` event is checked (index order, no
conflicting size, the consistency proof from the anchoring transaction) and its manifest is
fetched by CID, parsed one entry at a time and replayed: the rebuilt root must equal the
anchored root, and every entry is checked against the chain state *at its anchoring block*:

- the organisation was filed (in this province), active, and the certificate is within the
  filed scope (data guide 中就培发〔2022〕1号 art. 9; scope documents, docs/FORMATS.md);
- the signature by the key it names, of its suite, valid on the issue date
  (docs/FORMATS.md "Signatures", ``node.core.verify.key_valid_on``);
- the deadlines: issue date against the anchoring block's day in China Standard Time, in
  Chinese working days (data guide arts. 10, 12; ``node.core.rules.workdays.check_upload``);
- no certificate number or commitment twice, no serial gaps (人社鉴发〔2019〕2号 §二);
- status entries name a logged certificate, with a reason of their action
  (``node.core.rules.reasons``) and an allowed transition (docs/CONTRACT.md "Certificate status");
  corrections keep the number of a certificate that is not final (data guide art. 14);
- every on-chain status change matches the next status entry of its certificate
  (``anchor/status.py``), and every status entry got its change on chain.

Optionally an older :class:`node.core.formats.snapshot.Snapshot` is compared with the chain: a
checkpoint, status change, key or block hash that differs means the history was rewritten.

Findings (``audit/findings.py``) carry evidence and no personal data. The replay shares
the decoding of event arguments (province, organisation code, keys, status names) with the
snapshot's replay (``anchor/snapshot.py``); the folding differs on purpose: the snapshot
refuses events that do not fit its state, the auditor reports or tolerates them.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from hashlib import sha256 as _sha256
from typing import Any, Final, NamedTuple

from web3.exceptions import BlockNotFound

from anchor.chain import ChainEvent, RegistryClient, with_retries
from anchor.manifest import ManifestStore
from anchor.snapshot import (
    CERTIFICATE_STATUS_NAMES,
    ORGANISATION_STATUS_NAMES,
    key_of_event,
    organisation_code_of,
    province_of,
    shorten_key,
)
from anchor.status import status_change
from audit.findings import FINDING_KINDS, Finding, FindingSink
from audit.log import (
    ACTIVE,
    DELETED,
    FINAL_STATES,
    REVOKED,
    STATE_NAMES,
    SUPERSEDED,
    SUSPENDED,
    ExpectedStatus,
    ProvinceLog,
    read_manifest,
)
from audit.node_api import ApiComparison, ApiTarget, CertificateSample, ChainCheckpoint
from audit.parse import AuditEntry, to_log_entry
from audit.signatures import SignatureChecker
from node.core.errors import InvalidInput, ManifestStoreError, VerificationError
from node.core.formats.access import LogHead, check_heads
from node.core.formats.entry import CERTIFICATE_KINDS
from node.core.formats.snapshot import OrganisationKey, Snapshot
from node.core.merkle import verify_consistency
from node.core.rules.reasons import check_reason
from node.core.rules.scope import cid_of_scope_hash, filed_scope, parse_scope_document
from node.core.rules.screening import flag_scope
from node.core.rules.workdays import check_upload
from node.core.verify import CHINA_STANDARD_TIME, day_bounds

ORGANISATION_ACTIVE: Final = 1
#: Contract status codes → snapshot status names (a change to 0 is a reinstatement), as the
#: snapshot's replay names them.
_ORG_STATUS_NAMES: Final = ORGANISATION_STATUS_NAMES
_CHAIN_STATUS_NAMES: Final = CERTIFICATE_STATUS_NAMES
ZERO32: Final = b"\x00" * 32

#: Log state a status entry may start from, and the state it leaves (docs/CONTRACT.md
#: "Certificate status": revoked and superseded are final; deletion is a revocation on chain).
_TRANSITIONS: Final[dict[str, tuple[frozenset[int], int]]] = {
    "revoke": (frozenset({ACTIVE, SUSPENDED}), REVOKED),
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), ACTIVE),
    "delete": (frozenset({ACTIVE, SUSPENDED}), DELETED),
}

#: ``check_upload`` rule → finding kind.
_DEADLINE_KINDS: Final = {
    "issue_date.after_receipt": "deadline.issue_after_anchor",
    "issue_date.over_six_months": "deadline.over_six_months",
    "late_reason.required": "deadline.late",
    "reason.unknown": "deadline.late_reason",
    "reason.not_for_action": "deadline.late_reason",
    "workdays.calendar_range": "deadline.calendar",
}


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
    of its province and every checkpoint (``audit/node_api.py``). ``access_logs``: per
    province, the record hashes of its access-log export (``certreg node access-log export``),
    checked against every access-log head its manifests anchored (docs/SHARING.md).
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
    access_logs: Mapping[str, Sequence[bytes]] = dataclasses.field(default_factory=dict)


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


@dataclasses.dataclass(slots=True)
class _Organisation:
    province: str
    status: int
    scope_hash: bytes
    keys: list[OrganisationKey]


@dataclasses.dataclass(frozen=True, slots=True)
class _Anchor:
    """The checkpoint whose manifest is being replayed: the evidence of its entries."""

    province: str
    index: int
    block: int
    transaction: str
    timestamp: int
    day: datetime.date

    def evidence(self, leaf_index: int, **hashes: bytes) -> dict[str, Any]:
        return {
            "block": self.block,
            "transaction": self.transaction,
            "checkpoint_index": self.index,
            "leaf_index": leaf_index,
            "hashes": {name: value.hex() for name, value in hashes.items()},
        }


class _At(NamedTuple):
    """Where an entry is (its checkpoint, leaf index, leaf hash, commitment and number): its
    finding evidence is built from this only when there is a finding."""

    anchor: _Anchor
    leaf_index: int
    leaf: bytes
    commitment: bytes
    number: str

    def evidence(self, **hashes: bytes) -> dict[str, Any]:
        evidence = self.anchor.evidence(
            self.leaf_index, leaf=self.leaf, commitment=self.commitment, **hashes
        )
        evidence["certificate_number"] = self.number
        return evidence


@functools.lru_cache(maxsize=65_536)
def _day_bounds(issue_date: str) -> tuple[int, int]:
    """``node.core.verify.day_bounds``, cached (one computation per issue date, not per entry)."""
    return day_bounds(issue_date)


#: Event argument decoding shared with the snapshot's replay (anchor/snapshot.py).
_code, _province = organisation_code_of, province_of


@functools.lru_cache(maxsize=65_536)
def _deadline(issue_date: str, day: datetime.date, reason: int | None) -> tuple[str, str] | None:
    """(finding kind, message) when anchoring on ``day`` breaks a deadline of data guide
    arts. 10 and 12 for a certificate issued on ``issue_date``; None when in time."""
    try:
        issued = datetime.date.fromisoformat(issue_date)
    except ValueError:
        return "deadline.calendar", f"issue date {issue_date} is not a calendar date"
    try:
        check_upload(issued, day, reason)
    except InvalidInput as exc:
        kind = _DEADLINE_KINDS.get(exc.rule, "deadline.late")
        return kind, f"issued {issue_date}, anchored {day.isoformat()}: {exc.message}"
    return None


class Auditor:
    """One audit run over ``client``'s contract and the manifests of ``store``."""

    def __init__(
        self, client: RegistryClient, store: ManifestStore, options: AuditOptions | None = None
    ) -> None:
        self.client = client
        self.store = store
        self.options = options or AuditOptions()
        self.findings = FindingSink(self.options.keep_per_kind)
        self.members: dict[str, tuple[str, ...]] = {}
        self.organisations: dict[str, _Organisation] = {}
        self.logs: dict[str, ProvinceLog] = {}
        self.counts: Counter[str] = Counter()
        self._scopes: dict[bytes, Mapping[str, frozenset[int]] | None] = {}
        self._block_times: dict[int, int] = {}
        self.chain_id = client.chain_id()
        self.contract = bytes.fromhex(client.address[2:])
        self._signatures = SignatureChecker(
            self.chain_id,
            self.contract,
            self._signature_failed,
            workers=self.options.workers,
            batch_size=self.options.signature_batch,
        )
        self._snapshot = _SnapshotComparison(self.options.snapshot, self)
        #: For the API comparison only: sampled certificates and the chain's checkpoints.
        self._sample = CertificateSample(self.options.api_sample) if self.options.apis else None
        self._chain_checkpoints: dict[str, list[ChainCheckpoint]] = {}
        #: Per province, the access-log heads its manifests anchored: (checkpoint index, head).
        self.access_heads: dict[str, list[tuple[int, LogHead]]] = {}

    # -- driving ---------------------------------------------------------------------------

    def run(self, events: Iterable[ChainEvent] | None = None) -> AuditReport:
        """Replay every event up to the head (or ``options.to_block``) and return the report.

        ``events`` replaces the contract's own events (read with :meth:`chain_events`): the
        same replay of events from elsewhere, e.g. a test that hands it the chain's real
        events with one field altered, for faults the contract itself refuses to record.

        Raises:
            ChainError: the chain cannot be read.
            InvalidInput: the snapshot belongs to another network (``audit.snapshot_network``).
        """
        head = self.options.to_block
        if head is None:
            head = self.client.block_number()
        try:
            self._snapshot.check_network()
            for event in self.chain_events(head) if events is None else events:
                self.handle(event)
            self._signatures.finish()
        finally:
            self._signatures.close()
        self._finish(head)
        self._check_access_logs()
        self._compare_apis()
        return self.report(head)

    def _access_head(self, province: str, index: int, head: LogHead | None, evidence: Any) -> None:
        """Keep a manifest's access-log head; the heads of one province never go back."""
        heads = self.access_heads.setdefault(province, [])
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

    def _check_access_logs(self) -> None:
        """Check each given access-log export against the heads its province anchored."""
        for province, hashes in sorted(self.options.access_logs.items()):
            for index, message in check_heads(hashes, self.access_heads.get(province, [])):
                self.findings("access_log.mismatch", province, message, checkpoint_index=index)

    def _compare_apis(self) -> None:
        """Ask each node API of ``options.apis`` about the replayed state."""
        if self._sample is None:
            return

        def state_of(province: str, commitment: bytes) -> tuple[str, int] | None:
            log = self.logs.get(province)
            return None if log is None else log.state_of(commitment)

        roots = {province: log.roots for province, log in self.logs.items()}
        for target in self.options.apis:
            ApiComparison(target, self.findings, self.options.api_timeout).run(
                self._chain_checkpoints, roots, self._sample, state_of
            )

    def chain_events(self, head: int) -> Iterator[ChainEvent]:
        """The contract's events from genesis up to block ``head``, in chain order."""
        return self.client.iter_events(
            0, head, page_size=self.options.page_size or self.client.options.log_page_size
        )

    def report(self, head: int) -> AuditReport:
        """The report of what has been replayed so far."""
        counts = {
            "members": len(self.members),
            "organisations": len(self.organisations),
            "provinces": len(self.logs),
            "checkpoints": self.counts["checkpoints"],
            "entries": self.counts["entries"],
            "signatures": self._signatures.checked,
            "status_changes": self.counts["status_changes"],
            "proposals": self.counts["proposals"],
        }
        order = {kind: i for i, kind in enumerate(FINDING_KINDS)}
        findings = sorted(
            self.findings.kept,
            key=lambda f: (
                order[f.kind],
                f.province or "",
                f.evidence.get("block", 0),
                f.evidence.get("leaf_index", -1),
            ),
        )
        return AuditReport(
            chain_id=self.chain_id,
            contract=self.client.address,
            head_block=head,
            counts=counts,
            finding_counts=dict(self.findings.counts),
            findings=tuple(findings),
        )

    def handle(self, event: ChainEvent) -> None:
        """Apply one contract event in chain order."""
        handler = getattr(self, f"_on_{event.name}", None)
        if handler is not None:
            handler(event)

    # -- membership and organisations ----------------------------------------------------

    def _on_MemberAdmitted(self, event: ChainEvent) -> None:
        self.members[_province(event.args["province"])] = tuple(event.args["operators"])

    def _on_OperatorsReplaced(self, event: ChainEvent) -> None:
        self.members[_province(event.args["province"])] = tuple(event.args["operators"])

    def _on_MemberRemoved(self, event: ChainEvent) -> None:
        self.members.pop(_province(event.args["province"]), None)

    def _on_ProposalCreated(self, event: ChainEvent) -> None:
        self.counts["proposals"] += 1

    def _on_OrganisationFiled(self, event: ChainEvent) -> None:
        self.organisations[_code(event.args["code"])] = _Organisation(
            province=_province(event.args["province"]),
            status=ORGANISATION_ACTIVE,
            scope_hash=bytes(event.args["scopeHash"]),
            keys=[],
        )

    def _on_OrganisationScopeUpdated(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            org.scope_hash = bytes(event.args["scopeHash"])

    def _on_OrganisationStatusChanged(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            org.status = int(event.args["status"])

    def _on_KeyAdded(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        key = key_of_event(event.args)
        if org is not None and key.key_id == len(org.keys):
            org.keys.append(key)

    def _on_KeyClosed(self, event: ChainEvent) -> None:
        self._shorten_key(event)

    def _on_KeyRevoked(self, event: ChainEvent) -> None:
        self._shorten_key(event)

    def _shorten_key(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            shorten_key(org.keys, event.args)

    def _scope(self, code: str, org: _Organisation) -> Mapping[str, frozenset[int]] | None:
        """The filed scope behind ``org``'s scope hash, fetched and parsed once per hash; None
        (and one ``scope.missing`` finding) when it cannot be read."""
        if org.scope_hash in self._scopes:
            return self._scopes[org.scope_hash]
        scope: Mapping[str, frozenset[int]] | None = None
        problem = ""
        try:
            document = parse_scope_document(
                self.store.get(cid_of_scope_hash(org.scope_hash), self.options.manifest_timeout)
            )
            if document.organisation_code != code or document.province != org.province:
                problem = "the scope document describes another organisation"
            else:
                scope = filed_scope(document.stored_scope())
        except (ManifestStoreError, InvalidInput) as exc:
            problem = str(exc)
        if scope is None:
            self.findings(
                "scope.missing",
                org.province,
                f"scope document of {code} unreadable: {problem}",
                organisation_code=code,
                hashes={"scope_hash": org.scope_hash.hex()},
                cid=cid_of_scope_hash(org.scope_hash),
            )
        self._scopes[org.scope_hash] = scope
        return scope

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

    def _on_CheckpointAnchored(self, event: ChainEvent) -> None:
        province = _province(event.args["province"])
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
        self._snapshot.checkpoint(province, index, size, root, cid, event)
        if self._sample is not None:
            self._chain_checkpoints.setdefault(province, []).append(
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
        anchor = _Anchor(
            province,
            index,
            event.block_number,
            event.transaction_hash,
            timestamp,
            datetime.datetime.fromtimestamp(timestamp, CHINA_STANDARD_TIME).date(),
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
        anchor: _Anchor,
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
            data = self.store.get(cid, self.options.manifest_timeout)
        except ManifestStoreError as exc:
            self.findings("manifest.missing", province, str(exc), **evidence)
            log.rebuildable = False
            return
        try:
            header, entries = read_manifest(data)
            expected = (province, anchor.index, previous_size, size, root)
            got = (
                header.province,
                header.checkpoint_index,
                header.previous_size,
                header.tree_size,
                header.root,
            )
            if got == expected:
                self._access_head(province, anchor.index, header.access_log, evidence)
            if got != expected:
                names = ("province", "checkpoint_index", "previous_size", "tree_size", "root")
                wrong = [n for n, a, b in zip(names, got, expected, strict=True) if a != b]
                self.findings(
                    "manifest.mismatch",
                    province,
                    f"manifest header disagrees with the checkpoint: {', '.join(wrong)}",
                    **evidence,
                    fields=wrong,
                )
                log.rebuildable = False
                return
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
                self.check_entry(log, anchor, entry, leaf_index, leaf)
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

    # -- entries -------------------------------------------------------------------------

    def check_entry(
        self, log: ProvinceLog, anchor: _Anchor, entry: AuditEntry, leaf_index: int, leaf: bytes
    ) -> None:
        """Every check of one replayed entry against the chain state at its anchoring."""
        at = _At(anchor, leaf_index, leaf, entry.commitment, entry.certificate_number)
        if entry.kind in CERTIFICATE_KINDS:
            self._check_certificate(log, entry, at)
        else:
            self._check_status_entry(log, entry, at)

    def _check_certificate(self, log: ProvinceLog, entry: AuditEntry, at: _At) -> None:
        province, number = log.province, entry.certificate_number
        attributes = entry.attributes
        assert attributes is not None  # LogEntry's rule, kept by the lean reader
        self._check_issuer(province, entry, at)
        if number[13:15] != attributes.issue_date[2:4] or number[15] != str(attributes.level):
            self.findings(
                "entry.number_mismatch",
                province,
                f"certificate number {number} does not carry issue year "
                f"{attributes.issue_date[:4]} and level {attributes.level}",
                **at.evidence(),
            )
        if entry.kind == "issue":
            late = _deadline(attributes.issue_date, at.anchor.day, entry.reason)
            if late is not None:
                self.findings(late[0], province, late[1], **at.evidence())
        if entry.commitment in log.certificates:
            self.findings(
                "commitment.duplicate",
                province,
                f"commitment {entry.commitment.hex()} was logged before",
                **at.evidence(),
            )
            return
        if entry.kind == "issue":
            if not log.mark_serial(number):
                self.findings(
                    "certificate.duplicate_number",
                    province,
                    f"certificate number {number} was issued before",
                    **at.evidence(),
                )
        else:
            self._check_correction(log, entry, at)
        log.set_state(entry.commitment, number, ACTIVE)
        if self._sample is not None:
            self._sample.offer(province, entry.commitment, at.leaf_index, at.leaf)

    def _check_issuer(self, province: str, entry: AuditEntry, at: _At) -> None:
        """Organisation filed here and active, scope, key and signature."""
        code = entry.organisation_code
        org = self.organisations.get(code)
        if org is None or org.province != province:
            self.findings(
                "organisation.unknown",
                province,
                f"organisation {code} was not filed by province {province}",
                **at.evidence(),
            )
            return
        if org.status != ORGANISATION_ACTIVE:
            self.findings(
                "organisation.not_active",
                province,
                f"organisation {code} was {_ORG_STATUS_NAMES.get(org.status, org.status)}",
                **at.evidence(),
            )
        attributes, signature = entry.attributes, entry.signature
        assert attributes is not None and signature is not None
        scope = self._scope(code, org)
        if scope is not None:
            for flag in flag_scope(attributes, scope):
                self.findings("scope.outside", province, flag.detail, **at.evidence())
        if signature.key_id >= len(org.keys):
            self.findings(
                "entry.key_unknown",
                province,
                f"organisation {code} has no key {signature.key_id}",
                **at.evidence(),
            )
            return
        key = org.keys[signature.key_id]
        if key.suite != signature.suite:
            self.findings(
                "entry.key_suite",
                province,
                f"key {key.key_id} of {code} is {key.suite}, the signature {signature.suite}",
                **at.evidence(),
            )
            return
        start, end = _day_bounds(attributes.issue_date)
        if not (key.valid_from < end and (key.valid_until == 0 or key.valid_until > start)):
            self.findings(
                "entry.key_not_valid",
                province,
                f"key {key.key_id} of {code} ([{key.valid_from}, {key.valid_until or 'open'}))"
                f" was not valid on the issue date {attributes.issue_date}",
                **at.evidence(),
            )
        self._signatures.add(
            (signature.suite, key.public_key, entry.commitment, signature.value),
            (province, at),
        )

    def _signature_failed(self, context: Any) -> None:
        province, at = context
        self.findings(
            "entry.signature",
            province,
            "the issuer's signature does not verify over the commitment",
            **at.evidence(),
        )

    def _check_correction(self, log: ProvinceLog, entry: AuditEntry, at: _At) -> None:
        """Data guide art. 14 as far as public data shows it: a correction supersedes a
        logged certificate of this province that is not final, keeps its number, and gives a
        correction reason (node/core/rules/reasons.py 4xx)."""
        target = entry.links[0]
        known = log.state_of(target)
        problems = []
        try:
            check_reason("correct", entry.reason if entry.reason is not None else -1)
        except InvalidInput as exc:
            problems.append(("correction.reason", exc.message))
        if known is None:
            problems.append(("correction.target_unknown", "corrects a certificate not logged"))
        else:
            number, state = known
            if number != entry.certificate_number:
                problems.append(("correction.number", f"changes the number {number}"))
            if state in FINAL_STATES:
                problems.append(("correction.target_final", f"target is {STATE_NAMES[state]}"))
        for rule, message in problems:
            self.findings(
                "correction.rule",
                log.province,
                f"correction {rule}: {message}",
                **at.evidence(target=target),
                rule=rule,
            )
        if known is not None and known[1] not in FINAL_STATES:
            log.set_state(target, known[0], SUPERSEDED)
        self._expect(log, entry, at)

    def _check_status_entry(self, log: ProvinceLog, entry: AuditEntry, at: _At) -> None:
        province = log.province
        try:
            check_reason(entry.kind, entry.reason if entry.reason is not None else -1)
        except InvalidInput as exc:
            self.findings("entry.reason", province, exc.message, **at.evidence(), rule=exc.rule)
        known = log.state_of(entry.commitment)
        if known is None or known[0] != entry.certificate_number:
            self.findings(
                "entry.unknown_target",
                province,
                f"{entry.kind} of a certificate not logged under {entry.certificate_number}",
                **at.evidence(),
            )
        else:
            allowed, new_state = _TRANSITIONS[entry.kind]
            if known[1] not in allowed:
                self.findings(
                    "entry.transition",
                    province,
                    f"{entry.kind} of a certificate that is {STATE_NAMES[known[1]]}",
                    **at.evidence(),
                )
            else:
                log.set_state(entry.commitment, known[0], new_state)
        self._expect(log, entry, at)

    def _expect(self, log: ProvinceLog, entry: AuditEntry, at: _At) -> None:
        """Queue the status change the entry asks the chain for (``anchor/status.py``'s own
        mapping, on the entry as a ``LogEntry``: status and correction entries are few)."""
        change = status_change(to_log_entry(entry))
        if change is None:
            return
        log.expect(
            change.commitment,
            ExpectedStatus(
                change.status,
                change.reason,
                change.successor,
                at.leaf_index,
                at.anchor.index,
                at.anchor.block,
            ),
        )

    # -- statuses ------------------------------------------------------------------------

    def _on_CertificateStatusChanged(self, event: ChainEvent) -> None:
        province = _province(event.args["province"])
        commitment = bytes(event.args["commitment"])
        status = int(event.args["status"])
        reason = int(event.args["reason"])
        successor = bytes(event.args["successor"])
        self.counts["status_changes"] += 1
        self._snapshot.status(province, commitment, status, reason, successor, event)
        log = self.logs.get(province)
        if log is None or not log.match(commitment, status, reason, successor):
            self.findings(
                "status.no_entry",
                province,
                f"status {_CHAIN_STATUS_NAMES.get(status, status)} (reason {reason}) set with "
                "no matching anchored log entry",
                block=event.block_number,
                transaction=event.transaction_hash,
                hashes={"commitment": commitment.hex(), "successor": successor.hex()},
            )

    # -- the end -------------------------------------------------------------------------

    def _finish(self, head: int) -> None:
        """Checks that need the whole history: unmatched status entries, serial gaps and
        the snapshot's leftovers."""
        for province, log in sorted(self.logs.items()):
            for commitment, queue in log.expected.items():
                for change in queue:
                    if head - change.block < self.options.status_grace_blocks:
                        continue
                    self.findings(
                        "entry.status_not_on_chain",
                        province,
                        f"log entry {change.leaf_index} asks for status "
                        f"{_CHAIN_STATUS_NAMES.get(change.status)} (reason {change.reason}); "
                        "the chain never recorded it",
                        block=change.block,
                        checkpoint_index=change.checkpoint_index,
                        leaf_index=change.leaf_index,
                        hashes={"commitment": commitment.hex()},
                    )
            for group, first, last in log.serial_gaps():
                span = f"{first:06d}" if first == last else f"{first:06d}-{last:06d}"
                self.findings(
                    "serial.gap",
                    province,
                    f"serial(s) {span} of organisation {group[:13]}, year {group[13:15]}, "
                    f"level {group[15]} never logged",
                    organisation_code=group[:13],
                    year=group[13:15],
                    level=int(group[15]),
                    first=first,
                    last=last,
                )
        self._snapshot.finish()


class _SnapshotComparison:
    """Compares an older snapshot with the replayed chain (``history.rewritten``).

    Everything the snapshot holds happened at or before its block, so the chain must hold
    exactly the same checkpoints and status changes up to that block, the same block hash,
    and the same keys (a later revocation may only shorten a key's validity).
    """

    def __init__(self, snapshot: Snapshot | None, auditor: Auditor) -> None:
        self.snapshot = snapshot
        self.auditor = auditor
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
        self.auditor.findings("history.rewritten", province, message, **evidence)

    def check_network(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        if (
            snapshot.network.chain_id != self.auditor.chain_id
            or snapshot.network.contract != self.auditor.contract
        ):
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
            _CHAIN_STATUS_NAMES.get(status, str(status)),
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
        client = self.auditor.client
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
            org = self.auditor.organisations.get(held.code)
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
