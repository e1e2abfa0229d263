"""What every mirrored organisation change shares: the chain and the database of one province
(:class:`Mirror`), the statuses and audit actions, what a change returns
(:class:`OrganisationChange`) and the error when the two disagree
(:class:`OrganisationMismatch`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from anchor.chain import OrganisationKey, RegistryClient
from anchor.manifest import ManifestStore, cid_v0
from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import InconsistencyError, InvalidInput, ManifestStoreError
from node.core.rules.codes import PROVINCES
from node.core.rules.scope import ScopeDocument, scope_hash_of_cid
from node.storage import (
    AuditTrail,
    Database,
    OrganisationKeyRecord,
    OrganisationRecord,
    OrganisationRepository,
)
from province.organisations.filing import KeySpec

#: The logger of every organisation change (one name for the whole package).
log = logging.getLogger("province.organisations")

#: Contract statuses (docs/CONTRACT.md "Organisations") and the database's names for them.
CHAIN_STATUS: Final[Mapping[str, int]] = {"active": 1, "suspended": 2, "terminated": 3}
DB_STATUS: Final[Mapping[int, str]] = {v: k for k, v in CHAIN_STATUS.items()}

#: Signature suite names by the contract's suite ids.
SUITE_NAMES: Final[Mapping[int, str]] = {v: k for k, v in SUITE_IDS.items()}
_TARGET: Final = "organisation"

ACTION_FILE: Final = "organisation.file"
ACTION_SUSPEND: Final = "organisation.suspend"
ACTION_REACTIVATE: Final = "organisation.reactivate"
ACTION_TERMINATE: Final = "organisation.terminate"
ACTION_ROTATE_KEY: Final = "organisation.rotate_key"
ACTION_REVOKE_KEY: Final = "organisation.revoke_key"
ACTION_UPDATE_SCOPE: Final = "organisation.update_scope"
ACTION_RECONCILE: Final = "organisation.reconcile"


class OrganisationMismatch(InconsistencyError):
    """The chain and the database disagree about an organisation in a way that no crash
    between sending and writing explains; carries both values as evidence. (The checkpoint
    fields of :class:`InconsistencyError` are zero: this is not a log fork.)"""

    def __init__(self, code: str, what: str, *, chain: object, database: object) -> None:
        super().__init__(
            f"organisation {code}: {what} differs between the chain ({chain!r}) and the "
            f"database ({database!r})",
            size1=0,
            root1=b"",
            size2=0,
            root2=b"",
        )
        self.code = code
        self.what = what
        self.chain = chain
        self.database = database


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationChange:
    """What one call did. ``transactions``: hashes of the transactions it sent (empty when the
    chain already held the change); ``written``: whether it wrote the database (False when both
    already held it, so the call changed nothing)."""

    code: str
    action: str
    transactions: tuple[str, ...] = ()
    written: bool = False
    scope_cid: str | None = None
    key_id: int | None = None

    @property
    def adopted(self) -> bool:
        """True when the database took over a change the chain already held."""
        return self.written and not self.transactions


def same_key(chain: OrganisationKey, key: KeySpec | OrganisationKeyRecord) -> bool:
    """Whether the chain's key is ``key`` (suite, public key and validity)."""
    return (
        SUITE_NAMES.get(chain.suite) == key.suite
        and chain.public_key == key.public_key
        and chain.valid_from == key.valid_from
        and chain.valid_until == key.valid_until
    )


def show_key(key: OrganisationKey | KeySpec | OrganisationKeyRecord) -> dict[str, Any]:
    """A key as JSON values (suite name, hex public key, validity), to compare and show."""
    suite = SUITE_NAMES.get(key.suite, "?") if isinstance(key.suite, int) else key.suite
    return {
        "suite": suite,
        "public_key": key.public_key.hex(),
        "valid_from": key.valid_from,
        "valid_until": key.valid_until,
    }


def add_key(
    repo: OrganisationRepository,
    code: str,
    key: KeySpec | OrganisationKey,
    *,
    now: dt.datetime,
) -> OrganisationKeyRecord:
    """Store ``key`` (filed, rotated in, or read from the chain) as ``code``'s next key."""
    return repo.add_key(
        code,
        suite=SUITE_NAMES[key.suite] if isinstance(key.suite, int) else key.suite,
        public_key=key.public_key,
        valid_from=key.valid_from,
        valid_until=key.valid_until,
        now=now,
    )


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Mirror:
    """The organisations of one province on the chain (through ``client``, an operator of
    ``province``) and in the database, with what every change reads and writes: ``store``
    publishes scope documents, ``clock`` returns the current time (timezone-aware) for the
    database rows and the audit trail.

    Raises:
        InvalidInput: ``province`` is not a province code (``organisation.province``).
    """

    db: Database
    province: str
    client: RegistryClient
    store: ManifestStore
    clock: Callable[[], dt.datetime] = dataclasses.field(kw_only=True)

    def __post_init__(self) -> None:
        if self.province not in PROVINCES:
            raise InvalidInput("province", "organisation.province", "must be a province code")

    def __repr__(self) -> str:
        return f"Mirror(province={self.province!r})"

    def record(self, code: str) -> tuple[OrganisationRecord | None, list[OrganisationKeyRecord]]:
        """The database's organisation ``code`` (None when not filed) and its keys."""
        with self.db.transaction() as session:
            repo = OrganisationRepository(session)
            record = repo.get(code)
            return record, [] if record is None else repo.keys(code)

    def own(
        self, code: str, *, live: bool
    ) -> tuple[OrganisationRecord, list[OrganisationKeyRecord]]:
        """The filed organisation ``code`` of this province and its keys; ``live`` refuses a
        terminated one."""
        if not isinstance(code, str) or code[5:7] != self.province:
            raise InvalidInput("code", "organisation.province_node", "not this node's province")
        record, keys = self.record(code)
        if record is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if live and record.status == "terminated":
            raise InvalidInput("status", "organisation.terminated", "terminated is final")
        return record, keys

    def chain_keys(self, code: str, count: int) -> list[OrganisationKey]:
        """The chain's first ``count`` keys of ``code``."""
        return [self.client.organisation_key(code, i) for i in range(count)]

    def publish(self, document: ScopeDocument) -> tuple[str, bytes]:
        """Put the scope document in the store; return its CID and the scope hash."""
        data = document.to_bytes()
        expected = cid_v0(data)
        cid = self.store.put(data)
        if cid != expected:
            raise ManifestStoreError(f"store gave CID {cid} for the scope, expected {expected}")
        return cid, scope_hash_of_cid(cid)

    def audit(
        self,
        session: Any,
        action: str,
        code: str,
        *,
        actor: str,
        now: dt.datetime,
        note: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an audit event about organisation ``code`` in ``session``'s transaction."""
        AuditTrail(session).record(
            actor=actor,
            action=action,
            target_type=_TARGET,
            target_id=code,
            now=now,
            note=note,
            details=details,
        )


__all__ = [
    "ACTION_FILE",
    "ACTION_REACTIVATE",
    "ACTION_RECONCILE",
    "ACTION_REVOKE_KEY",
    "ACTION_ROTATE_KEY",
    "ACTION_SUSPEND",
    "ACTION_TERMINATE",
    "ACTION_UPDATE_SCOPE",
    "CHAIN_STATUS",
    "DB_STATUS",
    "SUITE_NAMES",
    "Mirror",
    "OrganisationChange",
    "OrganisationMismatch",
    "add_key",
    "same_key",
    "show_key",
]
