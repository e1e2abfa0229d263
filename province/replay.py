"""Replaying what a restored node lost: ``certreg node replay`` (docs/OPERATIONS.md "Backups
and restore", step 4).

A database restored from a backup can be behind the chain: checkpoints anchored after the
backup hold entries the node no longer has, and it refuses to anchor until it has them again.
The chain and the manifests say which entries, in which order (kind, certificate number,
commitment, reason, links); what they cannot give back is each certificate's record (personal
data, salts), which only the organisation's own signed submission holds. So the replay takes
the entries, in log order, from the manifests of those checkpoints and, for each:

- ``issue``: the organisation's signed row with that commitment goes through intake again,
  received on the day the checkpoint was anchored (China time: the day the auditor judges by);
- ``correct``: the same, through the correction, superseding the entry's linked commitment,
  with the entry's reason;
- ``revoke``, ``suspend``, ``reinstate``, ``delete``: the same action with the same reason.

Each replayed entry must land at its leaf index; then :meth:`ProvinceNode.reconcile` adopts
the chain's checkpoints, which also proves the rebuilt log has the anchored roots. A row
missing from the submissions stops the replay there with an error naming the entry (not the
holder); the replay can be run again with more files and goes on from the node's log size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

from anchor.chain import Checkpoint
from anchor.manifest import Manifest
from node.core.errors import InvalidInput, StorageError, VerificationError
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import STATUS_KINDS, LogEntry, Signature
from node.core.formats.submissions import parse_submission
from node.core.records import salted_from_row
from node.core.time import CHINA_STANDARD_TIME
from province.node import ProvinceNode


@dataclasses.dataclass(frozen=True, slots=True)
class Submitted:
    """An organisation's signed submission row (personal data: kept in memory only)."""

    salted: SaltedCertificate
    signature: Signature
    late_reason: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class LostEntry:
    """An anchored entry the node's log lacks, with its leaf index and checkpoint."""

    leaf_index: int
    entry: LogEntry
    checkpoint: Checkpoint


@dataclasses.dataclass(frozen=True, slots=True)
class ReplayResult:
    replayed: dict[str, int]
    log_size: int
    anchored_size: int
    checkpoints: int


def read_submissions(
    paths: Iterable[Path], fmt: Callable[[Path], Literal["csv", "jsonl"]]
) -> dict[bytes, Submitted]:
    """The signed rows of the files, by commitment.

    Raises:
        InvalidInput: a row cannot be read (``file`` and row named, as ingest reports it).
    """
    rows: dict[bytes, Submitted] = {}
    for path in paths:
        with path.open("rb") as stream:
            for row in parse_submission(stream, fmt(path)):
                if isinstance(row, InvalidInput):
                    raise InvalidInput(row.field, row.rule, f"{path}: {row.message}")
                salted, signature, late_reason = salted_from_row(row)
                rows[salted.commitment()] = Submitted(salted, signature, late_reason)
    return rows


def lost_entries(node: ProvinceNode) -> list[LostEntry]:
    """The entries the province's anchored checkpoints hold past the node's log, in log order
    (read from the manifests the checkpoints name).

    Raises:
        ChainError, ManifestStoreError: the chain or the store cannot be read.
        VerificationError: a manifest does not describe its checkpoint.
    """
    province = int(node.province)
    log_size = node.status().log_size
    checkpoints: list[Checkpoint] = []
    for index in range(node.client.checkpoint_count(province) - 1, -1, -1):
        checkpoint = node.client.checkpoint(province, index)
        if checkpoint.size <= log_size:
            break
        checkpoints.append(checkpoint)
    lost: list[LostEntry] = []
    for checkpoint in reversed(checkpoints):
        manifest = Manifest.from_bytes(node.store.get(checkpoint.manifest_cid))
        if (manifest.checkpoint_index, manifest.tree_size) != (checkpoint.index, checkpoint.size):
            raise VerificationError(
                f"manifest {checkpoint.manifest_cid} does not describe checkpoint "
                f"{checkpoint.index} of log {node.province}"
            )
        for leaf_index, entry in enumerate(manifest.entries, start=manifest.previous_size):
            if leaf_index >= log_size:
                lost.append(LostEntry(leaf_index, entry, checkpoint))
    return lost


def replay(
    node: ProvinceNode,
    submissions: Mapping[bytes, Submitted],
    *,
    actor: str,
    on_entry: Callable[[LostEntry], object] = lambda lost: None,
) -> ReplayResult:
    """Settle the organisations with the chain, replay every lost entry in log order, then
    adopt the chain's checkpoints (:meth:`ProvinceNode.reconcile`).

    Raises:
        InvalidInput: rule ``replay.missing_submission``: an ``issue`` or ``correct`` entry has
            no signed row among ``submissions`` (the entries before it stay replayed; run
            again with the row); or an intake or lifecycle rule refuses the entry.
        StorageError: an entry landed elsewhere than its leaf index (another process writes
            to the log: stop it).
        InconsistencyError: the rebuilt log's roots differ from the chain's (entries replayed
            from other rows: restore again).
    """
    node.organisations.reconcile()
    replayed: Counter[str] = Counter()
    for lost in lost_entries(node):
        leaf_index = _replay_one(node, lost, submissions, actor)
        if leaf_index != lost.leaf_index:
            raise StorageError(
                f"replayed entry landed at {leaf_index}, not {lost.leaf_index}, in log "
                f"{node.province}: stop every other process of the node and restore again"
            )
        replayed[lost.entry.kind] += 1
        on_entry(lost)
    node.reconcile()
    status = node.status()
    return ReplayResult(dict(replayed), status.log_size, status.anchored_size, status.checkpoints)


def _replay_one(
    node: ProvinceNode, lost: LostEntry, submissions: Mapping[bytes, Submitted], actor: str
) -> int:
    entry = lost.entry
    note = f"replayed from checkpoint {lost.checkpoint.index} ({lost.checkpoint.manifest_cid})"
    if entry.kind in STATUS_KINDS:
        assert entry.reason is not None  # status entries always carry their reason
        action = getattr(node.lifecycle, entry.kind)  # the lifecycle action of that name
        return int(action(entry.commitment, reason=entry.reason, actor=actor, note=note).log_index)
    row = submissions.get(entry.commitment)
    if row is None:
        raise InvalidInput(
            "submissions",
            "replay.missing_submission",
            f"log entry {lost.leaf_index} ({entry.kind} of certificate "
            f"{entry.certificate_number}, commitment {entry.commitment.hex()[:16]}…) is in no "
            f"submission file: ask organisation {entry.organisation_code} for its signed row",
        )
    if entry.kind == "issue":
        anchored = dt.datetime.fromtimestamp(lost.checkpoint.timestamp, CHINA_STANDARD_TIME)
        received_on = anchored.date()
        accepted = node.intake.submit(
            row.salted,
            row.signature,
            received_on=received_on,
            late_reason=row.late_reason,
            actor=actor,
        )
        return accepted.log_index
    assert entry.kind == "correct" and entry.reason is not None
    signature, maintenance_key = row.signature, None
    if entry.signature is not None and entry.signature.signer is not None:
        # A correction the province signed for a terminated organisation (中就培发〔2022〕1号
        # art. 16): the signer is the entry's, the key the one published on the contract.
        signature = dataclasses.replace(signature, signer=entry.signature.signer)
        maintenance_key = node.maintenance_key()
    outcome = node.lifecycle.correct(
        entry.links[0],
        row.salted,
        signature,
        maintenance_key=maintenance_key,
        reason=entry.reason,
        # The correction was requested and confirmed before the loss (data guide art. 14);
        # the audit trail records the replay by its organisation and operator.
        requested_by=f"organisation {entry.organisation_code} (replayed)",
        confirmed_by=actor,
        note=note,
    )
    return int(outcome.log_index)
