"""Adopting a thief's entries as foreign: ``certreg node adopt-foreign`` (docs/OPERATIONS.md
"Recovering from a stolen operator key").

Someone holding the province's operator key anchored checkpoints of the province's log with
entries of their own: the chain's log is now longer than the node's, the worker halts
(``log_state`` ``diverged``) and ``node replay`` cannot help (the entries are not the
province's submissions). Once the consortium has replaced the province's operators by vote
(``certreg consortium propose replace-operators …``), the node adopts those entries:

1. the checkpoints past the node's log are read from the chain, their entries from the
   manifests they name (``province.replay.lost_entries``);
2. refused while an account that anchored one of them is still an operator of the province
   (rule ``adopt.operator_unchanged``; ``confirm`` overrides: e.g. the operators were already
   replaced under the same account by a key rotation the node cannot see);
3. in one database transaction, the entries are appended at their leaf indexes and marked
   foreign (``foreign_entries``, migration 0011); the log's root at each of those
   checkpoints' sizes must be the anchored root, or nothing is written (a local log with
   entries the chain does not hold cannot be brought level without rewriting them:
   ``adopt.forked``);
4. the chain's checkpoints are adopted (``ProvinceNode.reconcile``): the log equals the
   chain's again and anchoring resumes on top. The next checkpoint's manifest declares the
   adopted leaves foreign (manifest version 3), so auditors report them
   (``log.foreign_entries``).

Foreign entries have no certificate row: the node never serves them as its certificates (no
bundle, no search result). Running it again does nothing more (the lost entries are gone);
a crash leaves either everything or nothing of step 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from anchor.chain import Checkpoint
from node.core.errors import InconsistencyError, InvalidInput
from node.storage import ProvinceLog
from node.storage.foreign import ForeignEntries
from province.node import ProvinceNode
from province.replay import LostEntry, lost_entries


@dataclasses.dataclass(frozen=True, slots=True)
class AdoptResult:
    """What :func:`adopt_foreign` did."""

    #: Leaves appended and marked foreign by this run (0 when there was nothing to adopt).
    adopted: int
    #: The chain checkpoints whose entries were adopted, with the account that anchored each.
    checkpoints: tuple[tuple[int, str], ...]
    log_size: int
    anchored_size: int
    log_state: str
    log_state_reason: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "adopted": self.adopted,
            "checkpoints": [{"index": i, "anchored_by": by} for i, by in self.checkpoints],
            "log_size": self.log_size,
            "anchored_size": self.anchored_size,
            "log_state": self.log_state,
            "log_state_reason": self.log_state_reason,
        }


def anchored_by(node: ProvinceNode, checkpoint: Checkpoint) -> str:
    """The account that sent the transaction anchoring ``checkpoint`` (checksummed 0x-hex)."""
    tx = node.client.w3.eth.get_transaction(checkpoint.transaction_hash)  # type: ignore[arg-type]
    return str(tx["from"])


def adopt_foreign(node: ProvinceNode, *, actor: str, confirm: bool = False) -> AdoptResult:
    """Adopt the entries of the province's checkpoints past the node's log as foreign (see the
    module docstring), then reconcile with the chain.

    Raises:
        InvalidInput: ``adopt.operator_unchanged`` (an account that anchored a foreign
            checkpoint is still an operator, and not ``confirm``); ``adopt.forked`` (the local
            log holds entries the chain does not; nothing is written).
        ChainError, ManifestStoreError: the chain or the store cannot be read (nothing is
            written).
        VerificationError: a manifest does not describe its checkpoint.
    """
    lost = lost_entries(node)
    senders: dict[int, str] = {}
    for item in lost:
        if item.checkpoint.index not in senders:
            senders[item.checkpoint.index] = anchored_by(node, item.checkpoint)
    if lost:
        operators = {o.lower() for o in node.client.operators_of(int(node.province))}
        still = sorted(i for i, by in senders.items() if by.lower() in operators)
        if still and not confirm:
            index = still[0]
            raise InvalidInput(
                "confirm",
                "adopt.operator_unchanged",
                f"checkpoint {index} of log {node.province} was anchored by {senders[index]}, "
                f"still an operator of province {node.province}: replace the operators by "
                "vote first (certreg consortium propose replace-operators …), or pass "
                "--confirm; if the entries are the province's own (a restored database), "
                "use certreg node replay instead",
            )
        _append(node, lost, senders, actor)
    else:
        _refuse_fork(node)
    node.reconcile()
    status = node.status()
    state = node.log_state()
    return AdoptResult(
        adopted=len(lost),
        checkpoints=tuple(sorted(senders.items())),
        log_size=status.log_size,
        anchored_size=status.anchored_size,
        log_state=state.state,
        log_state_reason=state.reason,
    )


def _append(
    node: ProvinceNode, lost: Sequence[LostEntry], senders: dict[int, str], actor: str
) -> None:
    """Step 3: append and mark, checking each checkpoint's root, in one transaction."""
    now = node.clock()
    anchored = node.status().anchored_size
    with node.db.transaction() as session:
        log = ProvinceLog(session, node.province)
        indexes = log.append([item.entry for item in lost], now=now)
        if indexes != [item.leaf_index for item in lost]:
            raise InconsistencyError(
                f"log {node.province} moved while foreign entries were adopted",
                size1=log.size,
                root1=b"",
                size2=lost[-1].leaf_index + 1,
                root2=b"",
            )
        foreign = ForeignEntries(session, node.province)
        by_checkpoint: dict[int, list[LostEntry]] = {}
        for item in lost:
            by_checkpoint.setdefault(item.checkpoint.index, []).append(item)
        for index, items in by_checkpoint.items():
            checkpoint = items[0].checkpoint
            if log.merkle.root(checkpoint.size) != checkpoint.root:
                raise _forked(node.province, checkpoint.size, anchored)  # rolls back
            foreign.add(
                [item.leaf_index for item in items],
                checkpoint_index=index,
                manifest_cid=checkpoint.manifest_cid,
                anchored_by=senders[index],
                actor=actor,
                now=now,
            )


def _refuse_fork(node: ProvinceNode) -> None:
    """Nothing past the log: a diverged log is then a fork (entries the chain lacks)."""
    state = node.log_state()
    if state.state == "diverged":
        status = node.status()
        raise _forked(node.province, status.log_size, status.anchored_size)


def _forked(province: str, size: int, anchored: int) -> InvalidInput:
    return InvalidInput(
        "log",
        "adopt.forked",
        f"log {province} holds entries the chain does not (its root at size {size} is not "
        f"the chain's; anchored up to {anchored}): they cannot be "
        "rewritten (the log is append-only). Restore the database from a backup taken at or "
        "before that size, adopt again, then have the organisations submit the certificates "
        "taken in since (docs/OPERATIONS.md)",
    )


__all__ = ["AdoptResult", "adopt_foreign", "anchored_by"]
