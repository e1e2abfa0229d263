"""Organisation filing (备案) mirrored to the contract: filing, suspension, reactivation,
termination (code retired), scope updates, key rotation and key revocation.

A province files the assessment organisations it supervises (data guide 中就培发〔2022〕1号
arts. 8-9; DOMAIN.md "Who is who"): code, name, class, category, the occupations and levels
it may certify, and its signing keys. The contract is the root of trust (DESIGN.md "Trust
model", docs/CONTRACT.md "Organisations"), the node's database keeps the same facts for intake.
Every change goes to both, in this order:

1. **validate** everything (the input, the database and the chain are read; nothing is sent or
   written on bad input, which raises :class:`~node.core.errors.InvalidInput` naming the field and
   the rule);
2. **publish** the scope document, when the change has one (``node/core/rules/scope.py``; the same
   bytes
   give the same CID, so publishing again is harmless);
3. **send** the transaction(s), unless the chain already holds the change: a call repeated
   after a crash between steps 3 and 4 compares the chain with what it would send and sends
   nothing when they agree;
4. **write** the database and an audit event in ONE transaction.

The database therefore never runs ahead of the chain. When the two disagree in a way no crash
between steps 3 and 4 explains, :class:`OrganisationMismatch` (an
:class:`~node.core.errors.InconsistencyError`) is raised with both values. :meth:`reconcile` settles
every organisation of the province: it adopts what the chain has and the database lacks
(including organisations filed on chain whose database write was lost: their name, category
and scope come back from the published scope document).

A code retired by termination is never filed again (rule §4 of 人社鉴发〔2019〕2号, seeds/001;
DOMAIN.md "Code lifecycle"); its keys can still be revoked, as on the contract.

Rule ids (field in brackets): ``filing.type`` / ``filing.keys`` (``filing``); ``keys.type``,
``keys.empty``, ``keys.too_many`` (``keys``); ``key.type``, ``key.keys``, ``key.suite``,
``key.public_key``, ``key.time``, ``key.validity`` (``keys[i].…`` or the argument);
``key.effective_at`` (``effective_at``: rotation before the previous key's start);
``key.unknown`` (``key_id``), ``key.lengthen`` and ``key.before_valid_from``
(``effective_at``); ``organisation.province_node`` (``code``), ``organisation.unknown``,
``organisation.duplicate``, ``organisation.retired`` (``code``), ``organisation.terminated``
(``status``); the rules of :mod:`node.core.rules.scope` and
:func:`node.core.rules.certnum.parse_organisation_code`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from anchor.chain import Organisation, OrganisationKey, RegistryClient
from anchor.manifest import ManifestStore, cid_v0
from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import InconsistencyError, InvalidInput, ManifestStoreError
from node.core.rules.certnum import parse_organisation_code
from node.core.rules.codes import PROVINCES
from node.core.rules.scope import (
    ScopeDocument,
    ScopeItem,
    build_scope_document,
    check_name,
    cid_of_scope_hash,
    code_category,
    normalise_scope,
    parse_scope_document,
    scope_hash_of_cid,
)
from node.core.time import CHINA_STANDARD_TIME
from node.storage import (
    AuditTrail,
    Database,
    OrganisationKeyRecord,
    OrganisationRecord,
    OrganisationRepository,
)

log = logging.getLogger(__name__)

#: Contract statuses (docs/CONTRACT.md "Organisations") and the database's names for them.
CHAIN_STATUS: Final[Mapping[str, int]] = {"active": 1, "suspended": 2, "terminated": 3}
DB_STATUS: Final[Mapping[int, str]] = {v: k for k, v in CHAIN_STATUS.items()}

#: Keys one filing may carry (the first is filed, the others rotated in without closing).
MAX_FILING_KEYS: Final = 16

#: China Standard Time: dates in filings are days in China (DOMAIN.md, README "Key validity").
CHINA_TZ: Final = CHINA_STANDARD_TIME

_UINT64_MAX: Final = 2**64 - 1
_SUITE_NAMES: Final[Mapping[int, str]] = {v: k for k, v in SUITE_IDS.items()}
_FILING_KEYS: Final = frozenset({"code", "name", "category", "scope", "keys"})
_KEY_KEYS: Final = frozenset({"suite", "public_key", "valid_from", "valid_until"})
_TARGET: Final = "organisation"

ACTION_FILE: Final = "organisation.file"
ACTION_SUSPEND: Final = "organisation.suspend"
ACTION_REACTIVATE: Final = "organisation.reactivate"
ACTION_TERMINATE: Final = "organisation.terminate"
ACTION_ROTATE_KEY: Final = "organisation.rotate_key"
ACTION_REVOKE_KEY: Final = "organisation.revoke_key"
ACTION_UPDATE_SCOPE: Final = "organisation.update_scope"
ACTION_RECONCILE: Final = "organisation.reconcile"


# --------------------------------------------------------------------------------------------
# Values


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
class KeySpec:
    """A signing key to register: suite name, encoded public key, validity
    ``[valid_from, valid_until)`` in unix seconds, ``valid_until`` 0 open."""

    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationFiling:
    """A checked filing; build it with :func:`parse_filing` or :meth:`OrganisationFiling.of`."""

    code: str
    name: str
    category: str | None
    scope: tuple[ScopeItem, ...]
    """The scope items, normalised (sorted, levels sorted)."""
    keys: tuple[KeySpec, ...]

    @classmethod
    def of(
        cls,
        *,
        code: str,
        name: str,
        scope: object,
        keys: Sequence[KeySpec],
        category: str | None = None,
    ) -> OrganisationFiling:
        """Check a filing given as Python values (``category`` None takes the code's).

        Raises:
            InvalidInput: a rule of the module docstring.
        """
        parse_organisation_code(code)
        derived = code_category(code)
        if category is None:
            category = derived
        if not keys:
            raise InvalidInput("keys", "keys.empty", "an organisation is filed with a key")
        if len(keys) > MAX_FILING_KEYS:
            raise InvalidInput("keys", "keys.too_many", f"at most {MAX_FILING_KEYS} keys")
        for i, key in enumerate(keys):
            _check_key(key, f"keys[{i}]")
        filing = cls(code, check_name(name), category, normalise_scope(scope), tuple(keys))
        filing.document(code[5:7])  # Checks class and category against the code.
        return filing

    def document(self, province: str) -> ScopeDocument:
        """The scope document of this filing.

        Raises:
            InvalidInput: a rule of :func:`node.core.rules.scope.build_scope_document`.
        """
        return build_scope_document(
            province=province,
            organisation_code=self.code,
            name=self.name,
            org_class=self.code[0],
            category=self.category,
            scope=[item.to_json() for item in self.scope],
        )


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


# --------------------------------------------------------------------------------------------
# Parsing


def _check_key(key: KeySpec, at: str) -> None:
    """Check a key as the contract does (docs/CONTRACT.md "Organisations": ed25519 32 bytes,
    ecdsa-secp256k1 33 bytes with prefix 02/03, sm2-sm3 65 bytes with prefix 04)."""
    if key.suite not in SUITE_IDS:
        raise InvalidInput(f"{at}.suite", "key.suite", f"one of {', '.join(SUITE_IDS)}")
    pk = key.public_key
    if not isinstance(pk, bytes) or not _key_shape_ok(key.suite, pk):
        raise InvalidInput(
            f"{at}.public_key", "key.public_key", f"not an encoded {key.suite} public key"
        )
    _check_time(key.valid_from, f"{at}.valid_from")
    _check_time(key.valid_until, f"{at}.valid_until")
    if key.valid_until and key.valid_until <= key.valid_from:
        raise InvalidInput(f"{at}.valid_until", "key.validity", "must be 0 or after valid_from")


def _key_shape_ok(suite: str, pk: bytes) -> bool:
    if suite == "ed25519":
        return len(pk) == 32
    if suite == "ecdsa-secp256k1":
        return len(pk) == 33 and pk[0] in (2, 3)
    return len(pk) == 65 and pk[0] == 4


def _check_time(value: object, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
        raise InvalidInput(at, "key.time", "must be unix seconds 0 … 2^64-1")
    return value


def parse_time(value: object, at: str) -> int:
    """Unix seconds from an integer, an aware :class:`datetime.datetime`, or an ISO 8601 text:
    a date (``2026-01-01``: midnight China Standard Time, UTC+8) or a date-time (an offset, or
    UTC+8 when it has none).

    Raises:
        InvalidInput: field ``at``, rule ``key.time``.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInput(at, "key.time", "must be timezone-aware")
        return _check_time(int(value.timestamp()), at)
    if isinstance(value, str):
        try:
            if len(value) == 10:
                day = dt.date.fromisoformat(value)
                moment = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
            else:
                moment = dt.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=CHINA_TZ)
        except ValueError as exc:
            raise InvalidInput(at, "key.time", "not an ISO 8601 date or date-time") from exc
        return _check_time(int(moment.timestamp()), at)
    return _check_time(value, at)


def _parse_key(value: object, at: str) -> KeySpec:
    if not isinstance(value, Mapping):
        raise InvalidInput(at, "key.type", "must be an object")
    if not set(value) <= _KEY_KEYS or not {"suite", "public_key", "valid_from"} <= set(value):
        raise InvalidInput(at, "key.keys", "suite, public_key, valid_from (and valid_until)")
    suite = value["suite"]
    if not isinstance(suite, str) or suite not in SUITE_IDS:
        raise InvalidInput(f"{at}.suite", "key.suite", f"one of {', '.join(SUITE_IDS)}")
    text = value["public_key"]
    try:
        if not isinstance(text, str) or text != text.lower():
            raise ValueError("not lowercase hex")
        public_key = bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInput(f"{at}.public_key", "key.public_key", "must be lowercase hex") from exc
    until = value.get("valid_until")
    return KeySpec(
        suite=suite,
        public_key=public_key,
        valid_from=parse_time(value["valid_from"], f"{at}.valid_from"),
        valid_until=0 if until is None else parse_time(until, f"{at}.valid_until"),
    )


def parse_filing(obj: object) -> OrganisationFiling:
    """Read a filing from a JSON object::

        {"code": "S000144002009", "name": "…", "category": "2",
         "scope": [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}],
         "keys": [{"suite": "ed25519", "public_key": "<hex>",
                   "valid_from": "2026-01-01", "valid_until": 0}]}

    ``category`` may be left out (or null): it is the code's (Guangdong position 10) or none.
    ``valid_*`` are unix seconds or ISO dates / date-times in UTC+8; ``valid_until`` 0, null
    or absent is open.

    Raises:
        InvalidInput: every rule of the module docstring, naming the field (``keys[1].suite``).
    """
    if not isinstance(obj, Mapping):
        raise InvalidInput("filing", "filing.type", "must be a JSON object")
    unknown = sorted(set(obj) - _FILING_KEYS)
    missing = sorted({"code", "name", "scope", "keys"} - set(obj))
    if unknown or missing:
        raise InvalidInput(
            "filing", "filing.keys", f"unknown keys {unknown}, missing keys {missing}"
        )
    code = obj["code"]
    if not isinstance(code, str):
        raise InvalidInput("organisation_code", "organisation_code.length", "must be a string")
    keys = obj["keys"]
    if not isinstance(keys, list):
        raise InvalidInput("keys", "keys.type", "must be a list of keys")
    if len(keys) > MAX_FILING_KEYS:
        raise InvalidInput("keys", "keys.too_many", f"at most {MAX_FILING_KEYS} keys")
    return OrganisationFiling.of(
        code=code,
        name=obj["name"],
        scope=obj["scope"],
        keys=[_parse_key(k, f"keys[{i}]") for i, k in enumerate(keys)],
        category=obj.get("category"),
    )


# --------------------------------------------------------------------------------------------
# The service


def _same_key(chain: OrganisationKey, key: KeySpec | OrganisationKeyRecord) -> bool:
    return (
        _SUITE_NAMES.get(chain.suite) == key.suite
        and chain.public_key == key.public_key
        and chain.valid_from == key.valid_from
        and chain.valid_until == key.valid_until
    )


def _show_key(key: OrganisationKey | KeySpec | OrganisationKeyRecord) -> dict[str, Any]:
    suite = _SUITE_NAMES.get(key.suite, "?") if isinstance(key.suite, int) else key.suite
    return {
        "suite": suite,
        "public_key": key.public_key.hex(),
        "valid_from": key.valid_from,
        "valid_until": key.valid_until,
    }


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
    ) -> None:
        if province not in PROVINCES:
            raise InvalidInput("province", "organisation.province", "must be a province code")
        self.db = db
        self.province = province
        self.client = client
        self.store = store
        self.clock = clock

    def __repr__(self) -> str:
        return f"OrganisationService(province={self.province!r})"

    # -- reading --------------------------------------------------------------------------

    def _record(self, code: str) -> tuple[OrganisationRecord | None, list[OrganisationKeyRecord]]:
        with self.db.transaction() as session:
            repo = OrganisationRepository(session)
            record = repo.get(code)
            return record, [] if record is None else repo.keys(code)

    def _own(
        self, code: str, *, live: bool
    ) -> tuple[OrganisationRecord, list[OrganisationKeyRecord]]:
        """The filed organisation ``code`` of this province and its keys; ``live`` refuses a
        terminated one."""
        if not isinstance(code, str) or code[5:7] != self.province:
            raise InvalidInput("code", "organisation.province_node", "not this node's province")
        record, keys = self._record(code)
        if record is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if live and record.status == "terminated":
            raise InvalidInput("status", "organisation.terminated", "terminated is final")
        return record, keys

    def _chain_keys(self, code: str, count: int) -> list[OrganisationKey]:
        return [self.client.organisation_key(code, i) for i in range(count)]

    def _publish(self, document: ScopeDocument) -> tuple[str, bytes]:
        """Put the scope document in the store; return its CID and the scope hash."""
        data = document.to_bytes()
        expected = cid_v0(data)
        cid = self.store.put(data)
        if cid != expected:
            raise ManifestStoreError(f"store gave CID {cid} for the scope, expected {expected}")
        return cid, scope_hash_of_cid(cid)

    def _audit(
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
        AuditTrail(session).record(
            actor=actor,
            action=action,
            target_type=_TARGET,
            target_id=code,
            now=now,
            note=note,
            details=details,
        )

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
        """
        code = filing.code
        if code[5:7] != self.province:
            raise InvalidInput("code", "organisation.province_node", "not this node's province")
        document = filing.document(self.province)
        cid = cid_v0(document.to_bytes())
        scope_hash = scope_hash_of_cid(cid)
        record, db_keys = self._record(code)
        on_chain = self.client.organisation(code)
        if on_chain.status == CHAIN_STATUS["terminated"] or (
            record is not None and record.status == "terminated"
        ):
            raise InvalidInput("code", "organisation.retired", "a terminated code is retired")
        if record is not None:
            same = (
                record.scope_hash == scope_hash
                and record.name == filing.name
                and [_show_key(k) for k in db_keys] == [_show_key(k) for k in filing.keys]
            )
            if not same:
                raise InvalidInput("code", "organisation.duplicate", "filed before, differently")
            self._check_filed(code, on_chain, scope_hash, filing.keys, complete=True)
            return OrganisationChange(code, ACTION_FILE, scope_cid=cid)
        if on_chain.status != 0:
            self._check_filed(code, on_chain, scope_hash, filing.keys, complete=False)
        self._publish(document)
        sent = self._send_filing(filing, on_chain, scope_hash)
        now = self.clock()
        with self.db.transaction() as session:
            repo = OrganisationRepository(session)
            repo.add(
                code=code,
                province=self.province,
                name=filing.name,
                scope=document.stored_scope(),
                now=now,
                category=filing.category,
                scope_hash=scope_hash,
            )
            for key in filing.keys:
                repo.add_key(
                    code,
                    suite=key.suite,
                    public_key=key.public_key,
                    valid_from=key.valid_from,
                    valid_until=key.valid_until,
                    now=now,
                )
            self._audit(
                session,
                ACTION_FILE,
                code,
                actor=actor,
                now=now,
                details={"scope_cid": cid, "keys": len(filing.keys), "transactions": list(sent)},
            )
        log.info("organisation %s filed (%d transactions sent)", code, len(sent))
        return OrganisationChange(code, ACTION_FILE, sent, True, scope_cid=cid)

    def _check_filed(
        self,
        code: str,
        on_chain: Organisation,
        scope_hash: bytes,
        keys: Sequence[KeySpec],
        *,
        complete: bool,
    ) -> None:
        """Check that the chain's filing of ``code`` is this one (``complete``: all keys),
        or a prefix of it that a crash left behind."""
        if on_chain.status == 0:
            raise OrganisationMismatch(code, "filing", chain="not filed", database="filed")
        if on_chain.province != int(self.province):
            raise OrganisationMismatch(
                code, "province", chain=on_chain.province, database=self.province
            )
        if on_chain.scope_hash != scope_hash:
            raise OrganisationMismatch(
                code, "scope hash", chain=on_chain.scope_hash.hex(), database=scope_hash.hex()
            )
        if not complete and on_chain.status != CHAIN_STATUS["active"]:
            raise OrganisationMismatch(
                code, "status", chain=DB_STATUS.get(on_chain.status), database="not filed"
            )
        count = on_chain.key_count
        if count > len(keys) or (complete and count != len(keys)):
            raise OrganisationMismatch(code, "key count", chain=count, database=len(keys))
        for i, chain_key in enumerate(self._chain_keys(code, count)):
            if not _same_key(chain_key, keys[i]):
                raise OrganisationMismatch(
                    code, f"key {i}", chain=_show_key(chain_key), database=_show_key(keys[i])
                )

    def _send_filing(
        self, filing: OrganisationFiling, on_chain: Organisation, scope_hash: bytes
    ) -> tuple[str, ...]:
        sent: list[str] = []
        first = filing.keys[0]
        if on_chain.status == 0:
            tx = self.client.file_organisation(
                filing.code,
                scope_hash,
                SUITE_IDS[first.suite],
                first.public_key,
                first.valid_from,
                first.valid_until,
            )
            sent.append(tx.transaction_hash)
        for key in filing.keys[max(on_chain.key_count, 1) :]:
            tx = self.client.rotate_key(
                filing.code,
                SUITE_IDS[key.suite],
                key.public_key,
                key.valid_from,
                key.valid_until,
                close_previous=False,
            )
            sent.append(tx.transaction_hash)
        return tuple(sent)

    # -- status ---------------------------------------------------------------------------

    def suspend(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Suspend ``code`` (it may not issue until reactivated).

        Raises:
            InvalidInput: ``organisation.province_node``, ``organisation.unknown``,
                ``organisation.terminated``.
            OrganisationMismatch: the chain is in a third state (run :meth:`reconcile`).
        """
        return self._set_status(code, "suspended", ACTION_SUSPEND, actor=actor, note=note)

    def reactivate(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Make a suspended ``code`` active again; raises as :meth:`suspend`."""
        return self._set_status(code, "active", ACTION_REACTIVATE, actor=actor, note=note)

    def terminate(self, code: str, *, actor: str, note: str | None = None) -> OrganisationChange:
        """Terminate ``code``: it is retired forever, never filed again, and nothing about it
        changes afterwards except that its keys can be revoked; raises as :meth:`suspend`."""
        return self._set_status(code, "terminated", ACTION_TERMINATE, actor=actor, note=note)

    def _set_status(
        self, code: str, status: str, action: str, *, actor: str, note: str | None
    ) -> OrganisationChange:
        # Terminating twice is a repeat (nothing to do); any other change after it is refused.
        record, _ = self._own(code, live=status != "terminated")
        on_chain = self.client.organisation(code)
        target = CHAIN_STATUS[status]
        if record.status == status:
            if on_chain.status != target:
                raise OrganisationMismatch(
                    code, "status", chain=DB_STATUS.get(on_chain.status), database=record.status
                )
            return OrganisationChange(code, action)
        sent: tuple[str, ...] = ()
        if on_chain.status != target:
            if on_chain.status != CHAIN_STATUS[record.status]:
                raise OrganisationMismatch(
                    code, "status", chain=DB_STATUS.get(on_chain.status), database=record.status
                )
            sent = (self.client.set_organisation_status(code, target).transaction_hash,)
        now = self.clock()
        with self.db.transaction() as session:
            OrganisationRepository(session).set_status(code, status, now=now)
            self._audit(
                session,
                action,
                code,
                actor=actor,
                now=now,
                note=note,
                details={"from": record.status, "to": status, "transactions": list(sent)},
            )
        log.info("organisation %s: %s -> %s", code, record.status, status)
        return OrganisationChange(code, action, sent, True)

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
        record, _ = self._own(code, live=True)
        document = build_scope_document(
            province=self.province,
            organisation_code=code,
            name=record.name,
            org_class=record.org_class,
            category=record.category,
            scope=scope,
        )
        cid = cid_v0(document.to_bytes())
        scope_hash = scope_hash_of_cid(cid)
        on_chain = self.client.organisation(code)
        if record.scope_hash == scope_hash:
            if on_chain.scope_hash != scope_hash:
                raise OrganisationMismatch(
                    code, "scope hash", chain=on_chain.scope_hash.hex(), database=scope_hash.hex()
                )
            return OrganisationChange(code, ACTION_UPDATE_SCOPE, scope_cid=cid)
        if on_chain.scope_hash not in (scope_hash, record.scope_hash):
            raise OrganisationMismatch(
                code,
                "scope hash",
                chain=on_chain.scope_hash.hex(),
                database=None if record.scope_hash is None else record.scope_hash.hex(),
            )
        self._publish(document)
        sent: tuple[str, ...] = ()
        if on_chain.scope_hash != scope_hash:
            sent = (self.client.update_scope(code, scope_hash).transaction_hash,)
        now = self.clock()
        with self.db.transaction() as session:
            OrganisationRepository(session).set_scope(
                code, document.stored_scope(), scope_hash, now=now
            )
            self._audit(
                session,
                ACTION_UPDATE_SCOPE,
                code,
                actor=actor,
                now=now,
                note=note,
                details={"scope_cid": cid, "transactions": list(sent)},
            )
        return OrganisationChange(code, ACTION_UPDATE_SCOPE, sent, True, scope_cid=cid)

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
        _check_key(key, "key")
        _, keys = self._own(code, live=True)
        if not keys:  # Unreachable for filings made here: the contract files with a key.
            raise InvalidInput("code", "organisation.no_keys", "no key stored: run reconcile")
        latest = keys[-1]
        closes = close_previous and (latest.valid_until == 0 or latest.valid_until > key.valid_from)
        if closes and key.valid_from < latest.valid_from:
            raise InvalidInput(
                "effective_at", "key.effective_at", "must not be before the latest key's start"
            )
        key_id = len(keys)
        if _show_key(latest) == _show_key(key):  # Done before: the latest key is this one.
            self._check_keys(code, keys)
            return OrganisationChange(code, ACTION_ROTATE_KEY, key_id=key_id - 1)
        on_chain = self.client.organisation(code)
        expected_latest = dataclasses.replace(
            latest, valid_until=key.valid_from if closes else latest.valid_until
        )
        if on_chain.key_count == key_id + 1:
            chain_new = self.client.organisation_key(code, key_id)
            chain_latest = self.client.organisation_key(code, key_id - 1)
            if not _same_key(chain_new, key) or not _same_key(chain_latest, expected_latest):
                raise OrganisationMismatch(
                    code, f"key {key_id}", chain=_show_key(chain_new), database=_show_key(key)
                )
            sent: tuple[str, ...] = ()
        elif on_chain.key_count == key_id:
            self._check_keys(code, keys)
            tx = self.client.rotate_key(
                code,
                SUITE_IDS[key.suite],
                key.public_key,
                key.valid_from,
                key.valid_until,
                close_previous=close_previous,
            )
            sent = (tx.transaction_hash,)
        else:
            raise OrganisationMismatch(code, "key count", chain=on_chain.key_count, database=key_id)
        now = self.clock()
        with self.db.transaction() as session:
            repo = OrganisationRepository(session)
            if closes:
                repo.close_key(code, key_id - 1, key.valid_from)
            repo.add_key(
                code,
                suite=key.suite,
                public_key=key.public_key,
                valid_from=key.valid_from,
                valid_until=key.valid_until,
                now=now,
            )
            self._audit(
                session,
                ACTION_ROTATE_KEY,
                code,
                actor=actor,
                now=now,
                note=note,
                details={
                    "key_id": key_id,
                    **_show_key(key),
                    "closed_previous": closes,
                    "transactions": list(sent),
                },
            )
        return OrganisationChange(code, ACTION_ROTATE_KEY, sent, True, key_id=key_id)

    def _check_keys(self, code: str, keys: Sequence[OrganisationKeyRecord]) -> None:
        """Refuse to build on keys the chain does not hold as the database does."""
        for db_key in keys[-1:]:
            chain_key = self.client.organisation_key(code, db_key.key_id)
            if not _same_key(chain_key, db_key):
                raise OrganisationMismatch(
                    code,
                    f"key {db_key.key_id}",
                    chain=_show_key(chain_key),
                    database=_show_key(db_key),
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
        at = parse_time(effective_at, "effective_at")
        if at == 0:
            raise InvalidInput("effective_at", "key.time", "must be after 0")
        _, keys = self._own(code, live=False)
        key = next((k for k in keys if k.key_id == key_id), None)
        if key is None:
            raise InvalidInput("key_id", "key.unknown", "the organisation has no such key")
        chain_key = self.client.organisation_key(code, key_id)
        if key.valid_until == at:
            if chain_key.valid_until != at:
                raise OrganisationMismatch(
                    code, f"key {key_id} end", chain=chain_key.valid_until, database=at
                )
            return OrganisationChange(code, ACTION_REVOKE_KEY, key_id=key_id)
        if key.valid_until and at > key.valid_until:
            raise InvalidInput("effective_at", "key.lengthen", "a key's validity never grows")
        if at < key.valid_from:
            raise InvalidInput(
                "effective_at", "key.before_valid_from", "revoke at the key's start at the earliest"
            )
        if chain_key.valid_until not in (at, key.valid_until):
            raise OrganisationMismatch(
                code, f"key {key_id} end", chain=chain_key.valid_until, database=key.valid_until
            )
        sent: tuple[str, ...] = ()
        if chain_key.valid_until != at:
            sent = (self.client.revoke_key(code, key_id, at).transaction_hash,)
        now = self.clock()
        with self.db.transaction() as session:
            OrganisationRepository(session).close_key(code, key_id, at)
            self._audit(
                session,
                ACTION_REVOKE_KEY,
                code,
                actor=actor,
                now=now,
                note=note,
                details={"key_id": key_id, "valid_until": at, "transactions": list(sent)},
            )
        return OrganisationChange(code, ACTION_REVOKE_KEY, sent, True, key_id=key_id)

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
        with self.db.transaction() as session:
            codes = {r.code for r in OrganisationRepository(session).all(self.province)}
        events = self.client.iter_events(
            self.client.options.from_block, names=["OrganisationFiled"]
        )
        for event in events:
            if int(event.args["province"]) == int(self.province):
                codes.add(bytes(event.args["code"]).decode("ascii"))
        changes = []
        for code in sorted(codes):
            change = self._reconcile_one(code, actor)
            if change is not None:
                changes.append(change)
        return changes

    def _fetch_document(self, code: str, scope_hash: bytes) -> ScopeDocument:
        cid = cid_of_scope_hash(scope_hash)
        try:
            document = parse_scope_document(self.store.get(cid))
        except InvalidInput as exc:
            raise OrganisationMismatch(
                code, "scope document", chain=cid, database=f"unreadable ({exc.rule})"
            ) from exc
        if document.organisation_code != code or document.province != self.province:
            raise OrganisationMismatch(
                code, "scope document", chain=cid, database="describes another organisation"
            )
        return document

    def _reconcile_one(self, code: str, actor: str) -> OrganisationChange | None:
        record, db_keys = self._record(code)
        on_chain = self.client.organisation(code)
        if on_chain.status == 0:
            raise OrganisationMismatch(code, "filing", chain="not filed", database="filed")
        chain_keys = self._chain_keys(code, on_chain.key_count)
        chain_status = DB_STATUS[on_chain.status]
        adopted: dict[str, Any] = {}
        document: ScopeDocument | None = None
        if record is None:
            document = self._fetch_document(code, on_chain.scope_hash)
            adopted["filing"] = cid_of_scope_hash(on_chain.scope_hash)
        else:
            if record.status != chain_status:
                if record.status == "terminated":
                    raise OrganisationMismatch(
                        code, "status", chain=chain_status, database=record.status
                    )
                adopted["status"] = chain_status
            if record.scope_hash != on_chain.scope_hash:
                fetched = self._fetch_document(code, on_chain.scope_hash)
                if (fetched.name, fetched.category) != (record.name, record.category):
                    raise OrganisationMismatch(
                        code, "scope document", chain=fetched.name, database=record.name
                    )
                document = fetched
                adopted["scope"] = cid_of_scope_hash(on_chain.scope_hash)
        ends = self._key_ends_to_adopt(code, db_keys, chain_keys)
        if ends:
            adopted["key_ends"] = {str(k): v for k, v in ends.items()}
        new_keys = chain_keys[len(db_keys) :]
        if new_keys:
            adopted["keys"] = [k.key_id for k in new_keys]
        if not adopted:
            return None
        now = self.clock()
        with self.db.transaction() as session:
            repo = OrganisationRepository(session)
            if record is None:
                assert document is not None
                repo.add(
                    code=code,
                    province=self.province,
                    name=document.name,
                    scope=document.stored_scope(),
                    now=now,
                    category=document.category,
                    scope_hash=on_chain.scope_hash,
                )
            elif document is not None:
                repo.set_scope(code, document.stored_scope(), on_chain.scope_hash, now=now)
            for key_id, end in ends.items():
                repo.close_key(code, key_id, end)
            for key in new_keys:
                repo.add_key(
                    code,
                    suite=_SUITE_NAMES[key.suite],
                    public_key=key.public_key,
                    valid_from=key.valid_from,
                    valid_until=key.valid_until,
                    now=now,
                )
            # The status last: set_scope refuses a terminated organisation.
            if chain_status != (record.status if record is not None else "active"):
                repo.set_status(code, chain_status, now=now)
            self._audit(session, ACTION_RECONCILE, code, actor=actor, now=now, details=adopted)
        log.info("organisation %s reconciled with the chain: %s", code, sorted(adopted))
        return OrganisationChange(code, ACTION_RECONCILE, (), True)

    def _key_ends_to_adopt(
        self,
        code: str,
        db_keys: Sequence[OrganisationKeyRecord],
        chain_keys: Sequence[OrganisationKey],
    ) -> dict[int, int]:
        """Key ends the chain shortened and the database lacks; refuse any other difference."""
        if len(db_keys) > len(chain_keys):
            raise OrganisationMismatch(
                code, "key count", chain=len(chain_keys), database=len(db_keys)
            )
        ends: dict[int, int] = {}
        for db_key, chain_key in zip(db_keys, chain_keys, strict=False):
            same_key = (
                _SUITE_NAMES.get(chain_key.suite) == db_key.suite
                and chain_key.public_key == db_key.public_key
                and chain_key.valid_from == db_key.valid_from
            )
            shortened = chain_key.valid_until != 0 and (
                db_key.valid_until == 0 or chain_key.valid_until < db_key.valid_until
            )
            if not same_key or (chain_key.valid_until != db_key.valid_until and not shortened):
                raise OrganisationMismatch(
                    code,
                    f"key {db_key.key_id}",
                    chain=_show_key(chain_key),
                    database=_show_key(db_key),
                )
            if chain_key.valid_until != db_key.valid_until:
                ends[db_key.key_id] = chain_key.valid_until
        return ends


__all__ = [
    "ACTION_FILE",
    "ACTION_REACTIVATE",
    "ACTION_RECONCILE",
    "ACTION_REVOKE_KEY",
    "ACTION_ROTATE_KEY",
    "ACTION_SUSPEND",
    "ACTION_TERMINATE",
    "ACTION_UPDATE_SCOPE",
    "CHINA_TZ",
    "MAX_FILING_KEYS",
    "KeySpec",
    "OrganisationChange",
    "OrganisationFiling",
    "OrganisationMismatch",
    "OrganisationService",
    "parse_filing",
    "parse_time",
]
