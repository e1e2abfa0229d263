"""The organisation service: one object per province node whose public methods file and change
organisations on the chain and in the database (the package docstring gives the order every
change follows). It composes the parts: :mod:`~province.organisations.changes` (filing, status,
scope), :mod:`~province.organisations.keys` (rotation, revocation) and
:mod:`~province.organisations.reconcile`, all over one
:class:`~province.organisations.mirror.Mirror`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from anchor.chain import RegistryClient
from anchor.manifest import ManifestStore
from node.core.errors import InvalidInput
from node.core.rules.names import ForbiddenWords
from node.storage import Database, OrganisationRepository
from node.storage.organisation_details import DetailsRecord, DetailsRepository
from province.organisations import changes, keys, reconcile
from province.organisations.filing import KeySpec, OrganisationFiling, parse_time
from province.organisations.mirror import (
    ACTION_REACTIVATE,
    ACTION_SUSPEND,
    ACTION_TERMINATE,
    Mirror,
    OrganisationChange,
)

#: Audit action of a merger (the termination is recorded as such too).
ACTION_MERGE = "organisation.merge"


class OrganisationService:
    """Files and changes the organisations of one province on the chain and in the database.

    ``client`` sends as an operator of ``province``; ``store`` publishes scope documents;
    ``clock`` returns the current time (timezone-aware) for the database rows and the audit
    trail. Not meant for concurrent calls on the same organisation (run one operator
    process per province, as for the anchoring worker).
    """

    def __init__(
        self,
        db: Database,
        province: str,
        client: RegistryClient,
        store: ManifestStore,
        *,
        clock: Callable[[], dt.datetime],
        forbidden_words: ForbiddenWords | None = None,
    ) -> None:
        self.mirror = Mirror(db, province, client, store, clock=clock)
        #: Words no filed name may carry (人社鉴发〔2021〕1号 §五(二): the name is printed on
        #: every certificate of the organisation); None: the national list.
        self.forbidden_words = (
            ForbiddenWords.national() if forbidden_words is None else forbidden_words
        )

    def __repr__(self) -> str:
        return f"OrganisationService(province={self.province!r})"

    @property
    def db(self) -> Database:
        """The node's database."""
        return self.mirror.db

    @property
    def province(self) -> str:
        """The province code this service files for."""
        return self.mirror.province

    @property
    def client(self) -> RegistryClient:
        """The contract client, an operator of the province."""
        return self.mirror.client

    @property
    def store(self) -> ManifestStore:
        """Where scope documents are published."""
        return self.mirror.store

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """The current time, timezone-aware."""
        return self.mirror.clock

    # -- filing ---------------------------------------------------------------------------

    def file(self, filing: OrganisationFiling, *, actor: str) -> OrganisationChange:
        """File ``filing``: the first key through ``fileOrganisation``, the others through
        ``rotateKey`` without closing; then the organisation, its keys and an audit event in
        one database transaction.

        Idempotent: a filing the chain already holds (a retry after a crash) is not sent again,
        only the missing keys are; one the database already holds identically changes nothing.

        Raises:
            InvalidInput: ``organisation.province_node`` (the code is another province's),
                ``organisation.retired`` (a terminated code is never filed again),
                ``organisation.duplicate`` (filed before, differently), or a filing rule.
            OrganisationMismatch: the chain holds another filing of this code.
            ChainError, ManifestStoreError, StorageError: a part failed (nothing written).
            InvalidInput: ``name`` / ``name.forbidden_word``: the name carries a forbidden word.
        """
        self.forbidden_words.check("name", filing.name)
        change = changes.file(self.mirror, filing, actor=actor)
        if filing.particulars is not None:
            # The public particulars (人社鉴发〔2019〕3号 三), kept beside the filing; a repeat
            # of the filing stores them again.
            p = filing.particulars
            with self.db.transaction() as session:
                DetailsRepository(session).put(
                    DetailsRecord(
                        filing.code,
                        address=p.address,
                        contact=p.contact,
                        filing_number=p.filing_number,
                        filing_from=p.filing_from,
                        filing_until=p.filing_until,
                    ),
                    now=self.clock(),
                )
        return change

    def merge(
        self, code: str, *, into: str, actor: str, note: str | None = None
    ) -> OrganisationChange:
        """Record that ``code`` was merged into ``into``, an active organisation filed here:
        ``code`` is terminated (its code retired for ever, never reassigned; DOMAIN rule §4) and
        its filing keeps the merged-into link, shown in the public list. A repeat completes a
        merger that stopped after the termination.

        Raises:
            InvalidInput: ``into`` / ``merge.self``, ``merge.into_unknown`` (not filed in this
                province), ``merge.into_not_active``; ``code`` / ``merge.already`` (merged into
                another); and the rules of :meth:`terminate`.
        """
        if not isinstance(into, str) or into == code:
            raise InvalidInput("into", "merge.self", "an organisation is merged into another")
        with self.db.transaction() as session:
            absorber = OrganisationRepository(session).get(into)
            details = DetailsRepository(session).get(code)
        if absorber is None or absorber.province != self.province:
            raise InvalidInput("into", "merge.into_unknown", "not filed in this province")
        if absorber.status != "active":
            raise InvalidInput(
                "into", "merge.into_not_active", f"the absorbing organisation is {absorber.status}"
            )
        if details is not None and details.merged_into not in (None, into):
            raise InvalidInput("code", "merge.already", "already merged into another organisation")
        change = self.terminate(code, actor=actor, note=note)
        now = self.clock()
        with self.db.transaction() as session:
            DetailsRepository(session).merged(code, into, now=now)
            self.mirror.audit(
                session, ACTION_MERGE, code, actor=actor, now=now, note=note, details={"into": into}
            )
        return change

    # -- status ---------------------------------------------------------------------------

    def suspend(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Suspend ``code`` (it may not issue until reactivated).

        Raises:
            InvalidInput: ``organisation.province_node``, ``organisation.unknown``,
                ``organisation.terminated``.
            OrganisationMismatch: the chain is in a third state (run :meth:`reconcile`).
        """
        return changes.set_status(
            self.mirror, code, "suspended", ACTION_SUSPEND, actor=actor, note=note
        )

    def reactivate(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Make a suspended ``code`` active again; raises as :meth:`suspend`."""
        return changes.set_status(
            self.mirror, code, "active", ACTION_REACTIVATE, actor=actor, note=note
        )

    def terminate(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Terminate ``code``: it is retired forever, never filed again, and nothing about it
        changes afterwards except that its keys can be revoked; raises as :meth:`suspend`."""
        return changes.set_status(
            self.mirror, code, "terminated", ACTION_TERMINATE, actor=actor, note=note
        )

    # -- scope ----------------------------------------------------------------------------

    def update_scope(
        self, code: str, scope: object, *, actor: str, note: str | None = None
    ) -> OrganisationChange:
        """Replace the filed scope of ``code``: publish the new scope document, send its hash,
        store the scope.

        Raises:
            InvalidInput: ``organisation.*`` as :meth:`suspend`, or a scope rule.
            OrganisationMismatch: the chain holds a third scope hash.
        """
        return changes.update_scope(self.mirror, code, scope, actor=actor, note=note)

    # -- keys -----------------------------------------------------------------------------

    def rotate_key(
        self,
        code: str,
        *,
        suite: str,
        public_key: bytes,
        effective_at: int | dt.datetime,
        valid_until: int | dt.datetime = 0,
        close_previous: bool = True,
        actor: str,
        note: str | None = None,
    ) -> OrganisationChange:
        """Add a key to ``code`` valid from ``effective_at``; with ``close_previous`` the latest
        key ends then (unless it already ends earlier), as the contract's ``rotateKey`` does.

        Raises:
            InvalidInput: ``organisation.*`` as :meth:`suspend`; ``key.suite``,
                ``key.public_key``, ``key.time``, ``key.validity``; ``key.effective_at`` when
                closing the latest key before it starts.
            OrganisationMismatch: the chain holds other keys than the database.
        """
        key = KeySpec(
            suite,
            public_key,
            parse_time(effective_at, "effective_at"),
            0 if valid_until == 0 else parse_time(valid_until, "valid_until"),
        )
        return keys.rotate_key(
            self.mirror, code, key, close_previous=close_previous, actor=actor, note=note
        )

    def revoke_key(
        self,
        code: str,
        key_id: int,
        *,
        effective_at: int | dt.datetime,
        actor: str,
        note: str | None = None,
    ) -> OrganisationChange:
        """End key ``key_id`` of ``code`` at ``effective_at`` (may be backdated, never
        lengthened; allowed after termination: revocation only removes trust).

        Raises:
            InvalidInput: ``organisation.province_node``, ``organisation.unknown``;
                ``key.unknown`` (``key_id``); ``key.time`` (0 or not a time),
                ``key.lengthen`` (not before the key's current end),
                ``key.before_valid_from`` (before the key's start: revoke at its start to
                withdraw it entirely).
            OrganisationMismatch: the chain holds a third end for the key.
        """
        return keys.revoke_key(
            self.mirror, code, key_id, effective_at=effective_at, actor=actor, note=note
        )

    # -- reconciliation -------------------------------------------------------------------

    def reconcile(self, *, actor: str = "reconcile") -> list[OrganisationChange]:
        """Settle every organisation of the province with the chain; return what was adopted.

        For each organisation the chain or the database knows: what the chain has and the
        database lacks is adopted when it extends the database's state (a later status, a
        new scope whose document is published, shortened key ends, more keys, or a whole
        filing, read back from its scope document). Each organisation is written in its own
        transaction with an audit event.

        Raises:
            OrganisationMismatch: the two differ otherwise (the database holds an organisation,
                scope or key the chain does not, a terminated organisation is live on chain, or
                a scope document does not describe its organisation).
            ChainError, ManifestStoreError, StorageError: a part failed.
        """
        return reconcile.reconcile(self.mirror, actor=actor)


__all__ = ["OrganisationService"]
