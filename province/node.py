"""One province node: its store, its chain client, its manifest store and the services over them.

:class:`ProvinceNode` is what the CLI (``certreg node …``), the API and the tests use. It opens
the database (migrating it), connects to the chain as the province's operator, and offers:

- ``intake`` (:class:`node.services.intake.IntakeService`): signed certificates in;
- ``lifecycle`` (:class:`node.services.lifecycle.LifecycleService`): corrections, revocations,
  suspensions, reinstatements, logical deletions (entries now, on-chain statuses after anchoring);
- ``review`` (:class:`node.services.review.ReviewService`): screening flags, optional suspension of
  the
  query service, and the operator's decision;
- ``organisations`` (:class:`province.organisations.OrganisationService`): filing
  mirrored to the contract (:meth:`reconcile` settles it with the chain);
- :meth:`anchor_once` / :meth:`anchor_all` / :meth:`run`: the anchoring worker
  (:class:`anchor.worker.AnchoringWorker`) followed by the on-chain statuses
  (:class:`anchor.status.StatusSync`);
- ``bundles`` (:class:`node.services.bundler.BundleFactory`): bundles of anchored certificates;
- ``sharing`` (:class:`node.services.sharing.SharingService`): sharing agreements, partner use
  and traffic reports; ``access`` (:class:`node.services.access.AccessLogService`): the access
  log of reads of personal data; ``holder_codes``
  (:class:`node.services.holder_codes.HolderCodeService`): one-time codes for holders;
- ``federation`` (:class:`province.federation.Federation`, when ``node.json`` has a federation
  key): signed queries to and from other provinces' nodes (docs/SHARING.md);
- ``witness`` (:class:`anchor.witness.CheckpointWitness`, when ``node.json`` has a witness key):
  :meth:`witness_once` checks and cosigns the members' checkpoints (docs/FORMATS.md "Witness
  statements"); :meth:`run` does it every ``witness_interval`` seconds.

Every step is crash-safe on its own (see each module), so a node killed at any point and opened
again continues where it stopped: :meth:`anchor_once` first settles the database with the chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable

from anchor.chain import ClientOptions, RegistryClient, connect
from anchor.engines import default_confirmations, detect_engine
from anchor.manifest import IpfsManifestStore, LocalManifestStore, ManifestStore
from anchor.member_keys import member_key
from anchor.status import StatusSync
from anchor.witness import CheckpointWitness, WitnessPass
from anchor.worker import AnchoringWorker, AnchorOutcome
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.crypto.signatures import get_suite
from node.core.errors import ChainError, InvalidInput, ManifestStoreError, StorageError
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE
from node.core.formats.snapshot import Network
from node.core.issuer import sign_as_province
from node.core.rules.vocabulary import Vocabulary
from node.core.rules.workdays import WorkdayCalendar
from node.services.access import AccessLogService
from node.services.bundler import BundleFactory
from node.services.holder_codes import HolderCodeService
from node.services.intake import IntakeService
from node.services.lifecycle import LifecycleOutcome, LifecycleService
from node.services.returns import ReturnService
from node.services.review import ReviewService
from node.services.sharing import SharingService
from node.storage import CheckpointRepository, Database, ProvinceLog, open_database
from node.storage.database import is_busy
from province.calendars import node_calendar
from province.config import NodeConfig
from province.federation import Federation
from province.organisations import OrganisationService
from province.vocabulary import load_vocabulary

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a node holds and how far anchoring has got (no personal data)."""

    province: str
    log_size: int
    anchored_size: int
    checkpoints: int
    open_checkpoint: int | None
    status_synced: int

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class LogState:
    """Whether the node's log can still be anchored: ``ok``; ``diverged`` (the chain holds a
    checkpoint of this province its log contradicts: anchoring has halted until an operator
    acts, ``reason`` says what differs); ``unknown`` (the chain could not be read)."""

    state: str
    reason: str | None = None


class ProvinceNode:
    """A province node over an open database, chain client and manifest store."""

    def __init__(
        self,
        *,
        province: str,
        db: Database,
        client: RegistryClient,
        store: ManifestStore,
        cipher: PersonalDataCipher,
        blind_index: BlindIndex,
        batch_size: int,
        max_age_seconds: float,
        calendar: WorkdayCalendar,
        clock: Callable[[], dt.datetime] = utc_now,
        federation: Federation | None = None,
        vocabulary: Vocabulary | None = None,
        qualification_number: re.Pattern[str] | None = None,
        witness_key: tuple[str, bytes] | None = None,
        witness_interval: float = 30.0,
    ) -> None:
        self.province = province
        self.db = db
        self.client = client
        self.store = store
        self.cipher = cipher
        self.blind_index = blind_index
        self.clock = clock
        #: The working-day calendar deadlines are judged in (province/calendars.py).
        self.calendar = calendar
        self.network = Network(
            chain_id=client.chain_id(), contract=bytes.fromhex(client.address[2:])
        )
        #: The names certificates are checked against (province/vocabulary.py); None: the
        #: national forbidden words and the shipped occupation catalogue.
        self.vocabulary = load_vocabulary() if vocabulary is None else vocabulary
        self.intake = IntakeService(
            db,
            province,
            self.network,
            cipher,
            blind_index,
            calendar=calendar,
            vocabulary=self.vocabulary,
            clock=clock,
            qualification_number=qualification_number,
        )
        self.worker = AnchoringWorker(
            db, province, client, store, batch_size=batch_size, max_age_seconds=max_age_seconds
        )
        self.statuses = StatusSync(db, province, client)
        self.bundles = BundleFactory(db, province, self.network, cipher, blind_index)
        self.organisations = OrganisationService(
            db, province, client, store, clock=clock, forbidden_words=self.vocabulary.forbidden
        )
        self.lifecycle = LifecycleService(
            db,
            province,
            self.network,
            cipher,
            blind_index,
            clock=clock,
            qualification_number=qualification_number,
        )
        self.review = ReviewService(db, province, self.lifecycle, clock=clock)
        self.returns = ReturnService(
            db, province, self.lifecycle, calendar=self.calendar, clock=clock
        )
        self.sharing = SharingService(db, province, clock=clock)
        self.access = AccessLogService(db, province, clock=clock)
        self.holder_codes = HolderCodeService(db, clock=clock)
        self.federation = federation
        #: The checkpoint-signing key (suite, private key) of ``node.json``'s ``witness``: it
        #: cosigns checkpoints here and snapshots in the API (None: not configured).
        self.checkpoint_key = witness_key
        #: Witnessing of the members' checkpoints (None: no checkpoint-signing key configured).
        self.witness = (
            None
            if witness_key is None
            else CheckpointWitness(
                db,
                province,
                client,
                store,
                self.network,
                suite=witness_key[0],
                private_key=witness_key[1],
                peers=None if federation is None else federation.peers,
                clock=clock,
            )
        )
        self.witness_interval = witness_interval

    def __repr__(self) -> str:
        return f"ProvinceNode(province={self.province!r})"

    @classmethod
    def open(
        cls,
        config: NodeConfig,
        *,
        client: RegistryClient | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        options: ClientOptions | None = None,
        calendar: WorkdayCalendar | None = None,
    ) -> ProvinceNode:
        """Open the node a configuration describes (``client`` overrides the chain settings,
        e.g. an in-process EVM shared with a test).

        The working-day calendar is ``calendar`` (default: the package's years plus the files
        ``CERTREG_CALENDAR`` names) with the official years of ``node.json``'s ``calendars``
        added (:func:`province.calendars.node_calendar`; a provisional year there is refused).

        Raises:
            InvalidInput: a configuration value is wrong (e.g. a key of the wrong size, or a
                calendar file).
            StorageError: the database cannot be opened or migrated.
            ChainError, ManifestStoreError: the chain or the IPFS node cannot be reached.
        """
        workdays = node_calendar(config.calendars, base=calendar)
        cipher, blind_index = config.cipher(), config.blind_index()
        if client is None:
            w3 = connect(config.rpc)
            confirmations = config.confirmations
            if confirmations is None:
                confirmations = (
                    options.confirmations
                    if options is not None
                    else default_confirmations(config.engine or detect_engine(w3))
                )
            options = dataclasses.replace(options or ClientOptions(), confirmations=confirmations)
            if config.gas_price is not None:
                options = dataclasses.replace(options, gas_price=config.gas_price)
            client = RegistryClient(
                w3,
                config.contract,
                private_key=config.operator_private_key(),
                options=options,
            )
        store: ManifestStore
        if config.ipfs is not None:
            store = IpfsManifestStore(config.ipfs)
        else:
            assert config.manifest_directory is not None
            store = LocalManifestStore(config.manifest_directory)
        db = open_database(config.database)
        witness_private = config.witness_private_key()
        key = config.federation_private_key()
        federation = (
            None
            if key is None
            else Federation(
                config.province, key, config.peers, client, timeout=config.federation_timeout
            )
        )
        return cls(
            province=config.province,
            db=db,
            client=client,
            store=store,
            cipher=cipher,
            blind_index=blind_index,
            batch_size=config.batch_size,
            max_age_seconds=config.max_age_seconds,
            calendar=workdays,
            clock=clock,
            federation=federation,
            vocabulary=load_vocabulary(config.forbidden_words, config.occupation_catalogues),
            qualification_number=None
            if config.qualification_number is None
            else re.compile(config.qualification_number),
            witness_key=None
            if witness_private is None
            else (config.witness_suite, witness_private),
            witness_interval=config.witness_interval,
        )

    def close(self) -> None:
        if self.federation is not None:
            self.federation.close()
        self.db.dispose()

    # -- maintenance of a terminated organisation's certificates ---------------------------

    def maintenance_key(self) -> bytes | None:
        """The maintenance key this province published on the contract (``setMemberKey``
        purpose 3), or None."""
        key = member_key(self.client, int(self.province), MAINTENANCE_KEY_PURPOSE)
        return key or None

    def correct_by_province(
        self,
        old_commitment: bytes,
        salted: SaltedCertificate,
        *,
        private_key: bytes,
        reason: int,
        requested_by: str,
        confirmed_by: str,
        note: str | None = None,
    ) -> LifecycleOutcome:
        """Correct a terminated organisation's certificate as the province that maintains it
        (seed 002 第十六条): sign with the maintenance key ``private_key`` and check it against
        the key published on the contract.

        Raises:
            InvalidInput: ``maintenance_key`` / ``maintenance.key_missing`` (none published) or
                ``maintenance.key_not_published`` (``private_key`` is not the published
                key's); the rules of :meth:`LifecycleService.correct`.
        """
        published = self.maintenance_key()
        if published is None:
            raise InvalidInput(
                "maintenance_key",
                "maintenance.key_missing",
                f"province {self.province} has published no maintenance key (setMemberKey "
                f"purpose {MAINTENANCE_KEY_PURPOSE}; `certreg consortium set-key maintenance`)",
            )
        if get_suite("ed25519").public_key(private_key) != published:
            raise InvalidInput(
                "maintenance_key",
                "maintenance.key_not_published",
                "this private key is not the maintenance key the province published",
            )
        signature = sign_as_province(private_key, self.network, salted.commitment())
        return self.lifecycle.correct(
            old_commitment,
            salted,
            signature,
            reason=reason,
            requested_by=requested_by,
            confirmed_by=confirmed_by,
            note=note,
            maintenance_key=published,
        )

    # -- anchoring ------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Settle the database with the chain after a crash or an outage: organisations
        (filings, statuses, keys) and checkpoints. :meth:`anchor_once` does the checkpoint part
        by itself; :meth:`run` calls this first.

        Raises:
            ChainError, ManifestStoreError: the chain or the store cannot be read.
            InconsistencyError: they contradict the database (needs an operator).
        """
        self.organisations.reconcile()
        self.worker.reconcile(self.clock())

    def anchor_once(self, *, force: bool = False) -> AnchorOutcome | None:
        """Anchor one checkpoint if the log is due (``force``: if it has anything new), then
        write pending statuses to the chain. Returns the checkpoint anchored, or None.

        Raises:
            ChainError, ManifestStoreError: the chain or the manifest store failed; the work
                stays pending and the next call resumes it.
            InconsistencyError: the chain contradicts this node's log (needs an operator).
        """
        outcome = self.worker.run_once(self.clock(), force=force)
        self.statuses.run_once()
        return outcome

    def anchor_all(self) -> list[AnchorOutcome]:
        """Anchor everything logged so far, whatever the batch size and age, and write every
        pending status; return the checkpoints anchored."""
        outcomes: list[AnchorOutcome] = []
        while (outcome := self.anchor_once(force=True)) is not None:
            outcomes.append(outcome)
        return outcomes

    def witness_once(self) -> WitnessPass:
        """One witnessing pass (:meth:`anchor.witness.CheckpointWitness.run_once`).

        Raises:
            InvalidInput: ``witness.config`` (no witness key in ``node.json``) or
                ``witness.key`` (not the key the province published).
            ChainError, ManifestStoreError: the next pass continues.
        """
        if self.witness is None:
            raise InvalidInput(
                "config.witness",
                "witness.config",
                "node.json has no witness key (the province's checkpoint-signing key)",
            )
        return self.witness.run_once()

    def run(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        on_anchor: Callable[[AnchorOutcome], None] | None = None,
    ) -> None:
        """Anchor until ``stop`` is set: a checkpoint whenever the log is due, polling every
        ``poll_seconds``. A chain or IPFS outage, or a database another process holds (SQLite
        ``database is locked``, :func:`node.storage.database.is_busy`), is logged and retried
        with exponential backoff (entries queue meanwhile); an inconsistency stops the loop by
        raising."""
        backoff = poll_seconds
        reconciled = False
        witness_due = 0.0
        while not stop.is_set():
            if self.witness is not None and time.monotonic() >= witness_due:
                witness_due = time.monotonic() + self.witness_interval
                self._witness_step()
            try:
                if not reconciled:
                    self.reconcile()
                    reconciled = True
                outcome = self.anchor_once()
            except (ChainError, ManifestStoreError, StorageError) as exc:
                if isinstance(exc, StorageError) and not is_busy(exc):
                    raise
                log.warning("anchoring of log %s paused: %s", self.province, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff_seconds)
                continue
            backoff = poll_seconds
            if outcome is not None:
                log.info(
                    "anchored checkpoint %d of log %s (size %d) in block %d",
                    outcome.index,
                    self.province,
                    outcome.tree_size,
                    outcome.block_number,
                )
                if on_anchor is not None:
                    on_anchor(outcome)
                continue  # more may be due at once
            stop.wait(poll_seconds)

    def _witness_step(self) -> None:
        """A witnessing pass of the loop: failures are logged, never stop the anchoring (a
        key that is not the published one turns witnessing off until the node restarts)."""
        assert self.witness is not None
        try:
            done = self.witness.run_once()
        except InvalidInput as exc:
            log.error("witnessing of province %s stopped: %s", self.province, exc)
            self.witness = None
            return
        except (ChainError, ManifestStoreError, StorageError) as exc:
            log.warning("witnessing of province %s paused: %s", self.province, exc)
            return
        if done.cosigned or done.refused or done.collected:
            log.info(
                "witnessing: %d cosigned, %d refused, %d collected",
                done.cosigned,
                done.refused,
                done.collected,
            )

    # -- state ----------------------------------------------------------------------------

    def log_state(self) -> LogState:
        """Compare the chain's latest checkpoint of this province with the log (reads only)."""
        try:
            reason = self.worker.divergence()
        except ChainError as exc:
            return LogState("unknown", f"the chain could not be read: {exc}")
        return LogState("ok") if reason is None else LogState("diverged", reason)

    def status(self) -> NodeStatus:
        """Log size, anchored size, checkpoints and status progress."""
        with self.db.transaction() as session:
            log_ = ProvinceLog(session, self.province)
            checkpoints = CheckpointRepository(session, self.province)
            latest = checkpoints.latest()
            confirmed = checkpoints.latest("confirmed")
            open_ = [*checkpoints.in_state("pending"), *checkpoints.in_state("submitted")]
            return NodeStatus(
                province=self.province,
                log_size=log_.size,
                anchored_size=0 if confirmed is None else confirmed.tree_size,
                checkpoints=0 if latest is None else latest.index + 1,
                open_checkpoint=open_[0].index if open_ else None,
                status_synced=log_.status_synced,
            )
