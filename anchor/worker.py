"""The anchoring worker: batches a province log into checkpoints, publishes each checkpoint's
manifest and anchors it on chain, crash-safely and without ever anchoring twice.

Steps of one checkpoint (:meth:`AnchoringWorker.run_once`):

1. In one DB transaction, record a ``pending`` checkpoint ``(index, size, root)`` — or reuse the
   one already pending/submitted (a crash or a failure left it there). The log is due when
   ``batch_size`` entries wait, when one of them changes a status (correct, revoke, suspend,
   reinstate, delete: those should reach the chain at once), or when the oldest waiting entry is
   ``max_age_seconds`` old. A checkpoint adds at most the contract's ``maxCheckpointGrowth``
   entries; a longer backlog is anchored in several checkpoints.
2. Build its manifest (entries ``previous_size`` … ``size``, and the province's access-log head,
   fixed for this checkpoint the first time its manifest is built: ``node.storage.access_log``;
   after foreign entries were adopted, the first checkpoint on top declares them:
   :func:`declared_foreign`) and publish it; the same bytes give the same CID, so a retry
   publishes nothing new.
3. ``RegistryClient.anchor(size, root, proof, cid)`` with the consistency proof from the
   previous checkpoint (empty from size 0). The contract call is idempotent: a checkpoint that
   is already anchored returns its index without a second transaction.
4. Once mined, mark it ``submitted`` (transaction hash, CID, block); once the block has the
   chain's confirmations (``ClientOptions.confirmations``, ``chain.confirmations`` in
   ``node.json``) and is still canonical, mark it ``confirmed``: confirming records the
   checkpoint on the certificates it adds, whose bundles can be made from then on
   (``node.services.bundler``). Status entries then go to the contract through
   ``anchor.status.StatusSync``.

**Reorganisations.** Each pass first looks again at a ``submitted`` checkpoint: while its
transaction's receipt is in a canonical block it waits for the confirmations (up to
``final_wait_seconds``, then the next pass looks again); when a reorganisation dropped the
block and the node does not hold the transaction any more, the checkpoint is sent again —
unless the chain holds it after all (another transaction anchored it), which is then recorded.
The contract refuses a second anchoring of the same checkpoint, so it is never anchored twice.

A ``ChainError`` or ``ManifestStoreError`` propagates from ``run_once`` and leaves the
checkpoint pending or submitted; the next call retries it — except a refusal explained by a
checkpoint of the province the log contradicts (anchored by someone else with the operator's
key): that raises the InconsistencyError instead, so a running worker halts rather than
retrying a refusal that cannot change. :meth:`reconcile` (run before the first ``run_once``)
settles the DB with the chain after a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, Final

from anchor.errors import TransactionDropped, TransactionTimeout
from anchor.manifest import ForeignDeclaration, ManifestStore, manifest_bytes
from anchor.registry import Checkpoint, RegistryClient
from node.core.errors import ChainError, InconsistencyError, InvalidInput
from node.storage import CheckpointRecord, CheckpointRepository, Database, ProvinceLog
from node.storage.access_log import AccessLog
from node.storage.foreign import ForeignEntries

_OPEN_STATES = ("submitted", "pending")
log = logging.getLogger(__name__)


class _Dropped:
    """What :meth:`AnchoringWorker._settle` returns when the transaction must be sent again."""


_DROPPED: Final = _Dropped()


@dataclasses.dataclass(frozen=True, slots=True)
class AnchorOutcome:
    """A checkpoint that is now confirmed on chain."""

    province: str
    index: int
    previous_size: int
    tree_size: int
    root: bytes
    manifest_cid: str
    transaction_hash: str
    block_number: int
    #: False when the chain already held the checkpoint (a retry after a lost answer)
    sent: bool


def declared_foreign(foreign: ForeignEntries, index: int) -> list[ForeignDeclaration]:
    """The foreign leaves checkpoint ``index``'s manifest declares: those of the foreign
    checkpoints right before it (``index - 1``, ``index - 2``, … while foreign; a checkpoint
    is foreign when someone else anchored it with the province's operator key and the node
    adopted its entries, province/adopt.py). Each foreign run is declared once, by the first
    checkpoint the province anchors after it; a retry builds the same declaration."""
    ranges = foreign.ranges()
    wanted = index - 1
    run: list[ForeignDeclaration] = []
    for item in reversed(ranges):
        if item.checkpoint_index == wanted:
            run.append(ForeignDeclaration(item.checkpoint_index, item.start, item.end))
        elif item.checkpoint_index == wanted - 1 and run:
            wanted -= 1
            run.append(ForeignDeclaration(item.checkpoint_index, item.start, item.end))
        elif item.checkpoint_index < wanted:
            break
    return run[::-1]


class AnchoringWorker:
    """Anchors one province's log. Not thread-safe: run one loop per province and process.

    Two processes on the same province do not anchor twice (the contract refuses a second
    anchoring of the same checkpoint, and the client turns that into "already anchored"), but
    they waste work; run one.
    """

    def __init__(
        self,
        db: Database,
        province: str,
        client: RegistryClient,
        store: ManifestStore,
        *,
        batch_size: int,
        max_age_seconds: float,
        final_wait_seconds: float | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidInput("batch_size", "worker.batch_size", "must be at least 1")
        if max_age_seconds < 0:
            raise InvalidInput("max_age_seconds", "worker.max_age", "must not be negative")
        self.db = db
        self.province = province
        self.client = client
        self.store = store
        self.batch_size = batch_size
        self.max_age_seconds = max_age_seconds
        #: How long one pass waits for a mined anchoring to become final (default: the
        #: client's receipt timeout); 0 looks once and leaves it to the next pass.
        self.final_wait_seconds = (
            client.options.receipt_timeout if final_wait_seconds is None else final_wait_seconds
        )
        self._chain_province = int(province)
        self._reconciled = False
        #: The contract's ``maxCheckpointGrowth``, read by :meth:`reconcile`.
        self.max_growth: int | None = None

    def __repr__(self) -> str:
        return f"AnchoringWorker(province={self.province!r}, batch_size={self.batch_size})"

    # -- the loop step --------------------------------------------------------------------

    def run_once(self, now: dt.datetime, *, force: bool = False) -> AnchorOutcome | None:
        """Anchor the open checkpoint, or a new one when the log is due (``force``: whenever
        it has unanchored entries); return it once confirmed, None when nothing is due or the
        open checkpoint's block is not final yet.

        Reconciles with the chain first if that has not succeeded yet in this process.

        Raises:
            ChainError: the chain failed or refused; the checkpoint stays open
                (``TransactionDropped``: a reorganisation dropped it at once; the next call
                sends it again).
            ManifestStoreError: the manifest could not be published; it stays pending.
            InconsistencyError: the chain holds a checkpoint our log contradicts.
        """
        if not self._reconciled:
            self.reconcile(now)
        record = self._open_or_new(now, force)
        if record is None:
            return None
        if record.state == "submitted" and record.transaction_hash is not None:
            settled = self._settle(record, now, sent=False)
            if not isinstance(settled, _Dropped):
                return settled
        return self._anchor(record, now)

    def _open_or_new(self, now: dt.datetime, force: bool) -> CheckpointRecord | None:
        """Step 1: the open checkpoint, or a new pending one if the log is due."""
        with self.db.transaction() as session:
            checkpoints = CheckpointRepository(session, self.province)
            for state in _OPEN_STATES:
                open_ = checkpoints.in_state(state)
                if open_:
                    return open_[0]
            log = ProvinceLog(session, self.province)
            latest = checkpoints.latest()
            anchored = 0 if latest is None else latest.tree_size
            # A checkpoint adds at most the contract's maximum growth; a longer backlog goes out
            # in several checkpoints (the contract refuses a larger one).
            size = log.size
            if self.max_growth is not None:
                size = min(size, anchored + self.max_growth)
            if size <= anchored:
                return None
            # Due: a full batch, a status change (revocations must not wait), or old entries.
            due = force or size - anchored >= self.batch_size
            due = due or log.first_status_entry(anchored, size) is not None
            if not due:
                oldest = log.entry(anchored).created_at
                due = (now - oldest).total_seconds() >= self.max_age_seconds
            if not due:
                return None
            return checkpoints.add(size, log.merkle.root(size), now=now)

    def _previous_size(self, record: CheckpointRecord) -> int:
        if record.index == 0:
            return 0
        with self.db.transaction() as session:
            previous = CheckpointRepository(session, self.province).get(record.index - 1)
        if previous is None:  # checkpoints are numbered without gaps
            raise InconsistencyError(
                f"checkpoint {record.index - 1} of log {self.province} is missing",
                size1=0,
                root1=b"",
                size2=record.tree_size,
                root2=record.root,
            )
        return previous.tree_size

    def publish_manifest(self, record: CheckpointRecord, now: dt.datetime | None = None) -> str:
        """Step 2: build and publish the checkpoint's manifest; return its CID (idempotent:
        the access-log head it carries is fixed for the checkpoint the first time)."""
        previous = self._previous_size(record)
        with self.db.transaction() as session:
            access = AccessLog(session, self.province).anchor_head(
                record.index, now or record.created_at
            )
        with self.db.transaction() as session:
            foreign = declared_foreign(ForeignEntries(session, self.province), record.index)
            log = ProvinceLog(session, self.province)
            entries = list(log.entry_bytes(previous, record.tree_size))
            if log.merkle.root(record.tree_size) != record.root:
                raise InconsistencyError(
                    f"log {self.province} no longer has checkpoint {record.index}'s root",
                    size1=record.tree_size,
                    root1=record.root,
                    size2=record.tree_size,
                    root2=log.merkle.root(record.tree_size),
                )
        # The stored canonical entry bytes, framed: no entry is parsed or re-encoded.
        data = manifest_bytes(
            self.province,
            record.index,
            previous,
            record.tree_size,
            record.root,
            entries,
            access,
            foreign,
        )
        return self.store.put(data)

    def _anchor(self, record: CheckpointRecord, now: dt.datetime) -> AnchorOutcome | None:
        previous = self._previous_size(record)
        cid = self.publish_manifest(record, now)
        with self.db.transaction() as session:
            log = ProvinceLog(session, self.province)
            proof = log.merkle.consistency_proof(previous, record.tree_size) if previous else []
        try:
            result = self.client.anchor(record.tree_size, record.root, proof, cid, final=False)
        except ChainError as exc:
            # Refused because the chain moved on without us (a checkpoint anchored with the
            # operator's key by someone else)? Then retrying cannot help: halt with the reason.
            self._halt_if_contradicted(exc)
            raise
        if result.tx is not None:
            tx_hash, block, sent = result.tx.transaction_hash, result.tx.block_number, True
        else:
            on_chain = self.client.checkpoint(self._chain_province, result.index)
            tx_hash, block, sent = on_chain.transaction_hash, on_chain.block_number, False
            cid = on_chain.manifest_cid
        if result.index != record.index:
            raise InconsistencyError(
                f"chain put checkpoint {record.index} of log {self.province} at index "
                f"{result.index}",
                size1=record.tree_size,
                root1=record.root,
                size2=record.tree_size,
                root2=record.root,
            )
        self._submit(record.index, tx_hash, cid, block, now)
        submitted = dataclasses.replace(
            record,
            state="submitted",
            transaction_hash=tx_hash,
            manifest_cid=cid,
            block_number=block,
        )
        settled = self._settle(submitted, now, sent=sent, receipt={"blockNumber": block})
        if isinstance(settled, _Dropped):
            raise TransactionDropped(
                f"checkpoint {record.index} of log {self.province}: transaction {tx_hash} was "
                "dropped by a reorganisation; the next pass sends it again",
                tx_hash,
            )
        return settled

    def _settle(
        self,
        record: CheckpointRecord,
        now: dt.datetime,
        *,
        sent: bool,
        receipt: dict[str, Any] | None = None,
    ) -> AnchorOutcome | _Dropped | None:
        """Follow a submitted checkpoint's transaction: confirm it once its block is final
        (return the outcome), None while it is not yet, ``_DROPPED`` when a reorganisation
        dropped it and the chain does not hold the checkpoint (send it again)."""
        transport = self.client.transport
        tx_hash = record.transaction_hash
        assert tx_hash is not None and record.manifest_cid is not None
        cid = record.manifest_cid
        if receipt is None:
            receipt = transport.canonical_receipt(tx_hash)
            if receipt is None and transport.is_pending(tx_hash):
                return None  # back in the node's pool: it will be mined again
        try:
            if receipt is None:
                raise TransactionDropped(f"transaction {tx_hash} is in no canonical block", tx_hash)
            receipt = transport.await_final(tx_hash, receipt, timeout=self.final_wait_seconds)
        except TransactionTimeout:
            return None
        except TransactionDropped:
            found, index = self.client.find_checkpoint(
                self._chain_province, record.tree_size, record.root
            )
            if not found:
                log.warning(
                    "anchoring of checkpoint %d of log %s (transaction %s) was dropped by a "
                    "reorganisation; sending it again",
                    record.index,
                    self.province,
                    tx_hash,
                )
                transport.resync_nonce()
                return _DROPPED
            on_chain = self.client.checkpoint(self._chain_province, index)
            tx_hash, cid = on_chain.transaction_hash, on_chain.manifest_cid
            self._submit(record.index, tx_hash, cid, on_chain.block_number, now)
            return None  # recorded; the next pass waits for its block to be final
        block = int(receipt["blockNumber"])
        with self.db.transaction() as session:
            checkpoints = CheckpointRepository(session, self.province)
            if block != record.block_number:
                checkpoints.mark_submitted(
                    record.index,
                    transaction_hash=tx_hash,
                    manifest_cid=cid,
                    block_number=block,
                    now=now,
                )
            checkpoints.mark_confirmed(record.index, block_number=block, now=now)
        return AnchorOutcome(
            province=self.province,
            index=record.index,
            previous_size=self._previous_size(record),
            tree_size=record.tree_size,
            root=record.root,
            manifest_cid=cid,
            transaction_hash=tx_hash,
            block_number=block,
            sent=sent,
        )

    def _submit(self, index: int, tx_hash: str, cid: str, block: int, now: dt.datetime) -> None:
        with self.db.transaction() as session:
            CheckpointRepository(session, self.province).mark_submitted(
                index, transaction_hash=tx_hash, manifest_cid=cid, block_number=block, now=now
            )

    def _confirm(self, index: int, tx_hash: str, cid: str, block: int, now: dt.datetime) -> None:
        """Record a checkpoint the chain holds in a final block."""
        with self.db.transaction() as session:
            checkpoints = CheckpointRepository(session, self.province)
            checkpoints.mark_submitted(
                index, transaction_hash=tx_hash, manifest_cid=cid, block_number=block, now=now
            )
            checkpoints.mark_confirmed(index, block_number=block, now=now)

    def _record_on_chain(
        self, index: int, on_chain: Checkpoint, final: int, now: dt.datetime
    ) -> bool:
        """Record chain checkpoint ``on_chain`` for our checkpoint ``index``: confirmed when its
        block is final (True), else submitted (the next pass confirms it once final)."""
        tx_hash, cid, block = (
            on_chain.transaction_hash,
            on_chain.manifest_cid,
            on_chain.block_number,
        )
        if block <= final:
            self._confirm(index, tx_hash, cid, block, now)
            return True
        self._submit(index, tx_hash, cid, block, now)
        return False

    # -- start-up reconciliation ----------------------------------------------------------

    def reconcile(self, now: dt.datetime) -> list[int]:
        """Settle the DB with the chain; return the indexes confirmed or adopted.

        - An open (pending/submitted) checkpoint the chain already holds is confirmed without
          sending anything (recorded as submitted while its block is not final yet).
        - Chain checkpoints the DB does not know are adopted when our log has the same root at
          their size (confirmed, or submitted while not final).
        - Anything else the chain holds that our log contradicts is an InconsistencyError (the
          DB is left unchanged).

        Raises:
            ChainError: the chain could not be read (nothing is changed).
            InconsistencyError: see above.
        """
        settled: list[int] = []
        p = self._chain_province
        self.max_growth = self.client.max_checkpoint_growth()
        count = self.client.checkpoint_count(p)
        final = self.client.final_block()
        with self.db.transaction() as session:
            checkpoints = CheckpointRepository(session, self.province)
            latest = checkpoints.latest()
            known = 0 if latest is None else latest.index + 1
            open_ = [r for s in _OPEN_STATES for r in checkpoints.in_state(s)]
            confirmed = checkpoints.latest("confirmed")
        if confirmed is not None and not self.client.is_anchored(
            p, confirmed.tree_size, confirmed.root
        ):
            raise InconsistencyError(
                f"confirmed checkpoint {confirmed.index} of log {self.province} is not on chain",
                size1=confirmed.tree_size,
                root1=confirmed.root,
                size2=0,
                root2=b"",
            )
        for record in sorted(open_, key=lambda r: r.index):
            if record.index >= count:
                conflicting = self.client.root_at(p, record.tree_size)
                if conflicting is not None and conflicting != record.root:
                    raise self._fork(record.tree_size, record.root, conflicting)
                continue
            on_chain = self.client.checkpoint(p, record.index)
            if (on_chain.size, on_chain.root) != (record.tree_size, record.root):
                self._check_against_log(on_chain)
                raise InconsistencyError(
                    f"open checkpoint {record.index} of log {self.province} (size "
                    f"{record.tree_size}) differs from the chain's (size {on_chain.size}); "
                    "the database row needs an operator",
                    size1=record.tree_size,
                    root1=record.root,
                    size2=on_chain.size,
                    root2=on_chain.root,
                )
            if self._record_on_chain(record.index, on_chain, final, now):
                settled.append(record.index)
        for index in range(known, count):
            on_chain = self.client.checkpoint(p, index)
            self._check_against_log(on_chain)
            with self.db.transaction() as session:
                checkpoints = CheckpointRepository(session, self.province)
                added = checkpoints.add(on_chain.size, on_chain.root, now=now)
                if added.index != index:
                    raise InconsistencyError(
                        f"adopting chain checkpoint {index} of log {self.province} gave index "
                        f"{added.index}",
                        size1=on_chain.size,
                        root1=on_chain.root,
                        size2=on_chain.size,
                        root2=on_chain.root,
                    )
            if self._record_on_chain(index, on_chain, final, now):
                settled.append(index)
        self._reconciled = True
        return settled

    def divergence(self) -> str | None:
        """Why this log cannot be anchored on the chain any more, or None: the chain's latest
        checkpoint of the province contradicts the log (a size past it, e.g. anchored by
        someone else with the operator's key, or another root at its size). Reads only.

        Raises ChainError when the chain cannot be read.
        """
        contradiction = self._contradiction()
        return None if contradiction is None else str(contradiction)

    def _contradiction(self) -> InconsistencyError | None:
        """The chain's latest checkpoint of the province against the log (see
        :meth:`divergence`). Raises ChainError when the chain cannot be read."""
        p = self._chain_province
        count = self.client.checkpoint_count(p)
        if count == 0:
            return None
        try:
            self._check_against_log(self.client.checkpoint(p, count - 1))
        except InconsistencyError as exc:
            return exc
        return None

    def _halt_if_contradicted(self, cause: ChainError) -> None:
        """After the chain refused a checkpoint: raise the InconsistencyError that explains it
        when the chain's latest checkpoint contradicts the log (anchoring has to halt until an
        operator acts: docs/OPERATIONS.md); return when it does not, or cannot be read (the
        refusal is then an ordinary chain error, retried)."""
        try:
            contradiction = self._contradiction()
        except ChainError:
            return
        if contradiction is not None:
            log.error("anchoring of log %s halted: %s", self.province, contradiction)
            raise contradiction from cause

    def _check_against_log(self, on_chain: Checkpoint) -> None:
        with self.db.transaction() as session:
            log = ProvinceLog(session, self.province)
            size = log.size
            ours = log.merkle.root(on_chain.size) if on_chain.size <= size else None
        if ours is None:
            raise InconsistencyError(
                f"chain checkpoint {on_chain.index} of log {self.province} has size "
                f"{on_chain.size}, past our log ({size})",
                size1=size,
                root1=b"",
                size2=on_chain.size,
                root2=on_chain.root,
            )
        if ours != on_chain.root:
            raise self._fork(on_chain.size, ours, on_chain.root)

    def _fork(self, size: int, ours: bytes, theirs: bytes) -> InconsistencyError:
        return InconsistencyError(
            f"log {self.province} and the chain have different roots at size {size}",
            size1=size,
            root1=ours,
            size2=size,
            root2=theirs,
        )
