"""Snapshots: the consortium contract's state at one block, for offline verification.

Format pinned in ``docs/FORMATS.md`` and ``schemas/snapshot.schema.json``. A
:class:`SnapshotTrustSource` answers the verifier's questions from a snapshot.

Version 2 (written since trust roots exist; version 1 is still read) adds what an offline
verifier needs to trust a snapshot and to re-run the rules it can (:class:`SnapshotExtras`): the
time it was taken, each organisation's history (status and scope from each change on), the
filed scopes behind the scope hashes, the working-day calendar, the audit statements published
on chain, and the signatures of member provinces over the snapshot's digest and time
(``node.core.formats.trust``).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from node.core import safejson
from node.core.canonical import canonical_json
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader, hex0x
from node.core.formats.network import MAX_INDEX as MAX_INDEX
from node.core.formats.network import MAX_UINT64 as MAX_UINT64
from node.core.formats.network import BlockRef as BlockRef
from node.core.formats.network import Network as Network
from node.core.formats.trust import (
    AuditFinding,
    AuditStatement,
    ProvinceSignature,
    WitnessKey,
    signers,
    snapshot_message,
)
from node.core.rules.scope import ScopeItem, normalise_scope
from node.core.rules.workdays import CalendarYear, WorkdayCalendar

SNAPSHOT_TYPE = "certreg.snapshot"
#: The version written (version 1 snapshots, without the trust parts, are still read).
SNAPSHOT_VERSION = 2
SNAPSHOT_VERSIONS = (1, 2)
#: A snapshot file larger than this is refused (``json.size``) before it is parsed: room for
#: about a million certificate statuses.
MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024
PROVINCE_RE = re.compile(r"[1-8][0-9]")
ORGANISATION_CODE_RE = re.compile(r"[YS][0-9]{12}")
ORGANISATION_STATUSES = ("active", "suspended", "terminated")
CERTIFICATE_STATUSES = ("active", "revoked", "suspended", "superseded", "reinstated")
SUITES = ("ed25519", "ecdsa-secp256k1", "sm2-sm3")


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationKey:
    key_id: int
    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int  # 0: open-ended

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "suite": self.suite,
            "public_key": self.public_key.hex(),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationState:
    """An organisation's status and scope from ``timestamp`` (a block's) on."""

    timestamp: int
    status: str
    scope_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "status": self.status,
            "scope_hash": self.scope_hash.hex(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Organisation:
    code: str
    province: str
    status: str
    scope_hash: bytes
    keys: tuple[OrganisationKey, ...]
    #: Each change of status or scope since the filing, in chain order (written in snapshot
    #: version 2 only; not compared, as a version 1 snapshot does not carry it).
    history: tuple[OrganisationState, ...] = dataclasses.field(default=(), compare=False)

    def to_json(self, version: int = 1) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "province": self.province,
            "status": self.status,
            "scope_hash": self.scope_hash.hex(),
            "keys": [key.to_json() for key in self.keys],
        }
        if version >= 2:
            out["history"] = [h.to_json() for h in self.history]
        return out

    def state_at(self, time: int) -> OrganisationState | None:
        """The status and scope in force at unix ``time`` (None: not filed yet)."""
        found = None
        for state in self.history:
            if state.timestamp > time:
                break
            found = state
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    province: str
    index: int
    tree_size: int
    root: bytes
    block_number: int
    timestamp: int
    manifest_cid: str
    transaction_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "index": self.index,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "block_number": self.block_number,
            "timestamp": self.timestamp,
            "manifest_cid": self.manifest_cid,
            "transaction_hash": hex0x(self.transaction_hash),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class StatusRecord:
    province: str
    commitment: bytes
    status: str
    reason: int
    successor: bytes | None
    block_number: int
    timestamp: int
    transaction_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "commitment": self.commitment.hex(),
            "status": self.status,
            "reason": self.reason,
            "successor": None if self.successor is None else self.successor.hex(),
            "block_number": self.block_number,
            "timestamp": self.timestamp,
            "transaction_hash": hex0x(self.transaction_hash),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    province: str
    operators: tuple[bytes, ...]
    #: The province's certificate-maintenance keys (``setMemberKey`` purpose 3, Ed25519), each
    #: valid from the block that set it until the block that replaced or withdrew it; written
    #: only when there is one (a snapshot without them keeps its bytes).
    maintenance_keys: tuple[OrganisationKey, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "province": self.province,
            "operators": [hex0x(op) for op in self.operators],
        }
        if self.maintenance_keys:
            out["maintenance_keys"] = [key.to_json() for key in self.maintenance_keys]
        return out

    def maintenance_key_at(self, time: int) -> OrganisationKey | None:
        """The maintenance key in force at unix ``time`` (None: none was)."""
        for key in self.maintenance_keys:
            if key.valid_from <= time and (key.valid_until == 0 or time < key.valid_until):
                return key
        return None


class TrustSource(Protocol):
    """What the verifier asks of the chain (or of a snapshot of it)."""

    @property
    def network(self) -> Network: ...

    @property
    def block(self) -> BlockRef: ...

    @property
    def time(self) -> int:
        """When the source was read (a snapshot's time)."""
        ...

    @property
    def calendar(self) -> SnapshotCalendar | None:
        """The working-day calendar the source carries, if any."""
        ...

    @property
    def has_history(self) -> bool:
        """Whether organisations carry their history (to judge them at anchoring)."""
        ...

    def organisation(self, code: str) -> Organisation | None:
        """Return the filed organisation with this code, or None."""
        ...

    def member(self, province: str) -> Member | None:
        """Return the consortium member ``province`` (with its maintenance keys), or None."""
        ...

    def checkpoint(self, province: str, index: int) -> Checkpoint | None:
        """Return checkpoint ``index`` of the province's log, or None."""
        ...

    def first_checkpoint_with(self, province: str, leaf_index: int) -> Checkpoint | None:
        """The province's first checkpoint whose tree holds the leaf."""
        ...

    def scope(self, scope_hash: bytes) -> ScopeRecord | None:
        """The filed scope behind a scope hash, if the source carries it."""
        ...

    def findings(self, province: str, leaf_index: int) -> list[tuple[AuditRecord, AuditFinding]]:
        """Audit findings naming the leaf."""
        ...

    def signed_by(self, keys: Mapping[str, WitnessKey | None]) -> set[str]:
        """The provinces among ``keys`` whose signature of the source verifies."""
        ...

    def status_history(self, province: str, commitment: bytes) -> Sequence[StatusRecord]:
        """Return the status records of a certificate under this province, in chain order."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeRecord:
    """The filed scope behind a scope hash (the items of its scope document)."""

    scope_hash: bytes
    items: tuple[ScopeItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"scope_hash": self.scope_hash.hex(), "scope": [i.to_json() for i in self.items]}

    def filed(self, on: str | None = None) -> dict[str, frozenset[int]]:
        """Code (work type, else occupation) -> levels, as intake and the auditor read it;
        ``on`` (``YYYY-MM-DD``): only the items in force that day (effective dates)."""
        out: dict[str, set[int]] = {}
        for item in self.items:
            if on is not None and not item.in_force_on(on):
                continue
            out.setdefault(item.work_type_code or item.occupation_code, set()).update(item.levels)
        return {code: frozenset(levels) for code, levels in out.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotCalendar:
    """The working-day calendar carried in a snapshot: consecutive years, each with the
    weekdays off (``holidays``) and the weekend days worked (``working_weekends``)."""

    years: tuple[CalendarYear, ...]

    @classmethod
    def of(cls, workdays: WorkdayCalendar) -> SnapshotCalendar:
        """Every year ``workdays`` covers, as its working days say."""
        first, last = workdays.years
        provisional = {y.year for y in workdays.added if y.provisional}
        years = []
        for year in range(first, last + 1):
            holidays, weekends = [], []
            day = datetime.date(year, 1, 1)
            while day.year == year:
                working = workdays.is_working_day(day)
                if day.weekday() < 5 and not working:
                    holidays.append(day)
                elif day.weekday() >= 5 and working:
                    weekends.append(day)
                day += datetime.timedelta(days=1)
            years.append(
                CalendarYear(
                    year, frozenset(holidays), frozenset(weekends), "", year in provisional
                )
            )
        return cls(tuple(years))

    def covers(self, day: datetime.date) -> bool:
        return bool(self.years) and self.years[0].year <= day.year <= self.years[-1].year

    def is_working_day(self, day: datetime.date) -> bool:
        return self.years[day.year - self.years[0].year].is_working_day(day)

    def to_json(self) -> dict[str, Any]:
        return {
            "years": [
                {
                    "year": y.year,
                    "provisional": y.provisional,
                    "holidays": sorted(d.isoformat() for d in y.holidays),
                    "working_weekends": sorted(d.isoformat() for d in y.working_weekends),
                }
                for y in self.years
            ]
        }

    @classmethod
    def from_json(cls, r: Reader) -> SnapshotCalendar:
        r.keys({"years"})
        years: list[CalendarYear] = []
        for i, item in enumerate(r.array("years", 1000)):
            y = Reader(item, f"{r.at('years')}[{i}]")
            y.keys({"year", "provisional", "holidays", "working_weekends"})
            number = y.integer("year", 1900, 2200)
            if years and number != years[-1].year + 1:
                raise InvalidInput(
                    y.at("year"), "snapshot.calendar", "years must follow each other"
                )
            provisional = y.raw("provisional")
            if not isinstance(provisional, bool):
                raise InvalidInput(y.at("provisional"), "schema.type", "must be true or false")

            def days(
                key: str, weekend: bool, y: Reader = y, number: int = number
            ) -> frozenset[datetime.date]:
                out = []
                for j, text in enumerate(y.array(key, 366)):
                    try:
                        day = datetime.date.fromisoformat(text) if isinstance(text, str) else None
                    except ValueError:
                        day = None
                    if day is None or day.year != number or (day.weekday() >= 5) != weekend:
                        raise InvalidInput(
                            f"{y.at(key)}[{j}]",
                            "snapshot.calendar",
                            "not a day of that kind in that year",
                        )
                    out.append(day)
                return frozenset(out)

            years.append(
                CalendarYear(
                    number, days("holidays", False), days("working_weekends", True), "", provisional
                )
            )
        return cls(tuple(years))


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audit statement referenced on chain (``AuditStatementPublished``) with its content."""

    auditor: bytes  # the account that published it (20 bytes)
    content_hash: bytes
    cid: str
    block_number: int
    transaction_hash: bytes
    statement: AuditStatement

    def to_json(self) -> dict[str, Any]:
        return {
            "auditor": hex0x(self.auditor),
            "content_hash": self.content_hash.hex(),
            "cid": self.cid,
            "block_number": self.block_number,
            "transaction_hash": hex0x(self.transaction_hash),
            "statement": self.statement.to_json(),
        }

    @classmethod
    def from_json(cls, r: Reader) -> AuditRecord:
        r.keys({"auditor", "content_hash", "cid", "block_number", "transaction_hash", "statement"})
        record = cls(
            auditor=r.hex0x("auditor", 20),
            content_hash=r.hex("content_hash", 32),
            cid=r.string("cid"),
            block_number=r.integer("block_number"),
            transaction_hash=r.hex0x("transaction_hash", 32),
            statement=AuditStatement.from_json(r.raw("statement"), r.at("statement")),
        )
        if record.statement.content_hash() != record.content_hash:
            raise InvalidInput(
                r.at("statement"), "snapshot.audit_hash", "does not hash to the content hash"
            )
        return record


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotExtras:
    """What snapshot version 2 adds to the chain state (see the module docstring)."""

    time: int
    scopes: tuple[ScopeRecord, ...] = ()
    calendar: SnapshotCalendar | None = None
    audits: tuple[AuditRecord, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """The contract's state at ``block`` (version 2: with ``extras`` and ``signatures``)."""

    network: Network
    block: BlockRef
    members: tuple[Member, ...]
    organisations: tuple[Organisation, ...]
    checkpoints: tuple[Checkpoint, ...]
    statuses: tuple[StatusRecord, ...]
    extras: SnapshotExtras | None = None
    signatures: tuple[ProvinceSignature, ...] = ()
    #: The JSON object a parsed snapshot was read from: its digest is of these bytes, so that
    #: both verifiers hash exactly what was signed (``dataclasses.replace`` drops it).
    source: Mapping[str, Any] | None = dataclasses.field(
        default=None, init=False, compare=False, repr=False
    )

    @property
    def version(self) -> int:
        return 1 if self.extras is None else 2

    @property
    def time(self) -> int:
        """When the snapshot was taken (version 1: its block's time)."""
        return self.block.timestamp if self.extras is None else self.extras.time

    def head_json(self) -> dict[str, Any]:
        """The keys before the arrays: type, version, network, block (and time)."""
        out: dict[str, Any] = {
            "type": SNAPSHOT_TYPE,
            "version": self.version,
            "network": self.network.to_json(),
            "block": self.block.to_json(),
        }
        if self.extras is not None:
            out["time"] = self.extras.time
        return out

    def body_json(self) -> dict[str, Any]:
        """The snapshot's JSON object without ``signatures`` (what its digest covers)."""
        out = self.head_json()
        version = self.version
        out["members"] = [m.to_json() for m in self.members]
        out["organisations"] = [o.to_json(version) for o in self.organisations]
        out["checkpoints"] = [c.to_json() for c in self.checkpoints]
        out["statuses"] = [s.to_json() for s in self.statuses]
        if self.extras is not None:
            out["scopes"] = [scope.to_json() for scope in self.extras.scopes]
            out["calendar"] = (
                None if self.extras.calendar is None else self.extras.calendar.to_json()
            )
            out["audits"] = [a.to_json() for a in self.extras.audits]
        return out

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot's JSON object."""
        out = self.body_json()
        if self.extras is not None:
            out["signatures"] = [s.to_json() for s in self.signatures]
        return out

    def digest(self) -> bytes:
        """SHA-256 of the JCS form of the snapshot's JSON object without ``signatures`` (the
        object it was read from, else ``body_json()``): what members sign, with the time
        (``node.core.formats.trust.snapshot_message``)."""
        if self.source is not None:
            body = {k: v for k, v in self.source.items() if k != "signatures"}
        else:
            body = self.body_json()
        return hashlib.sha256(canonical_json(body)).digest()

    @classmethod
    def from_text(cls, data: str | bytes) -> Snapshot:
        """Parse a snapshot file's text through the bounded JSON reader (``json.*`` rules,
        at most :data:`MAX_SNAPSHOT_BYTES`) and then strictly (:meth:`from_json`).

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        return cls.from_json(safejson.loads(data, "snapshot", max_bytes=MAX_SNAPSHOT_BYTES))

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Snapshot:
        """Parse a snapshot strictly (version 1 or 2).

        Raises:
            InvalidInput: naming the JSON path and the rule broken.
        """
        r = Reader(value, "snapshot")
        version = r.raw("version") if isinstance(value, Mapping) else None
        if isinstance(version, bool) or version not in SNAPSHOT_VERSIONS:
            raise InvalidInput(r.at("version"), "snapshot.version", "unsupported version")
        keys = {
            "type",
            "version",
            "network",
            "block",
            "members",
            "organisations",
            "checkpoints",
            "statuses",
        }
        if version == 2:
            keys |= {"time", "scopes", "calendar", "audits", "signatures"}
        r.keys(keys)
        if r.raw("type") != SNAPSHOT_TYPE:
            raise InvalidInput(r.at("type"), "snapshot.type", f"must be {SNAPSHOT_TYPE!r}")
        b = r.obj("block")
        b.keys({"number", "hash", "timestamp"})
        block = BlockRef(b.integer("number"), b.hex0x("hash", 32), b.integer("timestamp"))
        many = 10**8
        extras = None
        signatures: tuple[ProvinceSignature, ...] = ()
        if version == 2:
            scopes = []
            for i, item in enumerate(r.array("scopes", many)):
                sr = Reader(item, f"snapshot.scopes[{i}]")
                sr.keys({"scope_hash", "scope"})
                scopes.append(
                    ScopeRecord(sr.hex("scope_hash", 32), normalise_scope(sr.raw("scope")))
                )
            calendar = (
                None if r.is_null("calendar") else SnapshotCalendar.from_json(r.obj("calendar"))
            )
            extras = SnapshotExtras(
                time=r.integer("time"),
                scopes=tuple(scopes),
                calendar=calendar,
                audits=tuple(
                    AuditRecord.from_json(Reader(a, f"snapshot.audits[{i}]"))
                    for i, a in enumerate(r.array("audits", many))
                ),
            )
            signatures = tuple(
                ProvinceSignature.from_json(item, f"snapshot.signatures[{i}]")
                for i, item in enumerate(r.array("signatures", 128))
            )
        snapshot = cls(
            network=Network.from_json(r.obj("network")),
            block=block,
            members=tuple(
                _member(Reader(m, f"snapshot.members[{i}]"))
                for i, m in enumerate(r.array("members", 1000))
            ),
            organisations=tuple(
                _organisation(Reader(o, f"snapshot.organisations[{i}]"), version)
                for i, o in enumerate(r.array("organisations", many))
            ),
            checkpoints=tuple(
                _checkpoint(Reader(c, f"snapshot.checkpoints[{i}]"))
                for i, c in enumerate(r.array("checkpoints", many))
            ),
            statuses=tuple(
                _status(Reader(s, f"snapshot.statuses[{i}]"))
                for i, s in enumerate(r.array("statuses", many))
            ),
            extras=extras,
            signatures=signatures,
        )
        if version == 2:
            object.__setattr__(snapshot, "source", value)
        return snapshot


def _member(r: Reader) -> Member:
    r.keys({"province", "operators"}, optional={"maintenance_keys"})
    operators = []
    for i, op in enumerate(r.array("operators", 100)):
        holder = Reader({"op": op}, f"{r.at('operators')}[{i}]")
        operators.append(holder.hex0x("op", 20))
    keys: tuple[OrganisationKey, ...] = ()
    if "maintenance_keys" in r.value:
        keys = tuple(
            _organisation_key(Reader(k, f"{r.at('maintenance_keys')}[{i}]"))
            for i, k in enumerate(r.array("maintenance_keys", 1000))
        )
        if not keys:
            raise InvalidInput(
                r.at("maintenance_keys"), "snapshot.maintenance_keys", "omitted when empty"
            )
    return Member(r.string("province", PROVINCE_RE), tuple(operators), keys)


def _organisation_key(kr: Reader) -> OrganisationKey:
    kr.keys({"key_id", "suite", "public_key", "valid_from", "valid_until"})
    suite = kr.string("suite")
    if suite not in SUITES:
        raise InvalidInput(kr.at("suite"), "snapshot.suite", f"must be one of {SUITES}")
    return OrganisationKey(
        key_id=kr.integer("key_id", 0, 2**32 - 1),
        suite=suite,
        public_key=kr.hex("public_key"),
        valid_from=kr.integer("valid_from", 0, MAX_INDEX),
        valid_until=kr.integer("valid_until", 0, MAX_INDEX),
    )


def _organisation(r: Reader, version: int = 1) -> Organisation:
    r.keys(
        {"code", "province", "status", "scope_hash", "keys"}
        | ({"history"} if version >= 2 else set())
    )
    status = r.string("status")
    if status not in ORGANISATION_STATUSES:
        raise InvalidInput(r.at("status"), "snapshot.organisation_status", "unknown status")
    keys = [
        _organisation_key(Reader(k, f"{r.at('keys')}[{i}]"))
        for i, k in enumerate(r.array("keys", 1000))
    ]
    history = []
    if version >= 2:
        for i, item in enumerate(r.array("history", 100_000)):
            hr = Reader(item, f"{r.at('history')}[{i}]")
            hr.keys({"timestamp", "status", "scope_hash"})
            state = hr.string("status")
            if state not in ORGANISATION_STATUSES:
                raise InvalidInput(
                    hr.at("status"), "snapshot.organisation_status", "unknown status"
                )
            history.append(
                OrganisationState(hr.integer("timestamp"), state, hr.hex("scope_hash", 32))
            )
    return Organisation(
        code=r.string("code", ORGANISATION_CODE_RE),
        province=r.string("province", PROVINCE_RE),
        status=status,
        scope_hash=r.hex("scope_hash", 32),
        keys=tuple(keys),
        history=tuple(history),
    )


def _checkpoint(r: Reader) -> Checkpoint:
    r.keys(
        {
            "province",
            "index",
            "tree_size",
            "root",
            "block_number",
            "timestamp",
            "manifest_cid",
            "transaction_hash",
        }
    )
    return Checkpoint(
        province=r.string("province", PROVINCE_RE),
        index=r.integer("index", 0, MAX_INDEX),
        tree_size=r.integer("tree_size", 1, MAX_INDEX),
        root=r.hex("root", 32),
        block_number=r.integer("block_number"),
        timestamp=r.integer("timestamp"),
        manifest_cid=r.string("manifest_cid"),
        transaction_hash=r.hex0x("transaction_hash", 32),
    )


def _status(r: Reader) -> StatusRecord:
    r.keys(
        {
            "province",
            "commitment",
            "status",
            "reason",
            "successor",
            "block_number",
            "timestamp",
            "transaction_hash",
        }
    )
    status = r.string("status")
    if status not in CERTIFICATE_STATUSES:
        raise InvalidInput(r.at("status"), "snapshot.certificate_status", "unknown status")
    return StatusRecord(
        province=r.string("province", PROVINCE_RE),
        commitment=r.hex("commitment", 32),
        status=status,
        reason=r.integer("reason", 0, 65535),
        successor=None if r.is_null("successor") else r.hex("successor", 32),
        block_number=r.integer("block_number"),
        timestamp=r.integer("timestamp"),
        transaction_hash=r.hex0x("transaction_hash", 32),
    )


class SnapshotTrustSource:
    """A :class:`TrustSource` answering from a snapshot, fully offline ("as of block B")."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._organisations = {o.code: o for o in snapshot.organisations}
        self._members = {m.province: m for m in snapshot.members}
        self._checkpoints = {(c.province, c.index): c for c in snapshot.checkpoints}
        self._by_province: dict[str, list[Checkpoint]] = {}
        for checkpoint in snapshot.checkpoints:
            self._by_province.setdefault(checkpoint.province, []).append(checkpoint)
        self._statuses: dict[tuple[str, bytes], list[StatusRecord]] = {}
        for record in snapshot.statuses:
            self._statuses.setdefault((record.province, record.commitment), []).append(record)
        extras = snapshot.extras
        self._scopes = {} if extras is None else {s.scope_hash: s for s in extras.scopes}
        self._signed: dict[tuple[tuple[str, WitnessKey], ...], set[str]] = {}
        self._findings: dict[tuple[str, int], list[tuple[AuditRecord, AuditFinding]]] = {}
        for audit in () if extras is None else extras.audits:
            for finding in audit.statement.findings:
                key = (audit.statement.province, finding.leaf_index)
                self._findings.setdefault(key, []).append((audit, finding))

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def network(self) -> Network:
        return self._snapshot.network

    @property
    def block(self) -> BlockRef:
        return self._snapshot.block

    @property
    def time(self) -> int:
        """When the snapshot was taken (its block's time for version 1)."""
        return self._snapshot.time

    @property
    def calendar(self) -> SnapshotCalendar | None:
        extras = self._snapshot.extras
        return None if extras is None else extras.calendar

    @property
    def has_history(self) -> bool:
        """Whether organisations carry their history (version 2)."""
        return self._snapshot.extras is not None

    def organisation(self, code: str) -> Organisation | None:
        return self._organisations.get(code)

    def member(self, province: str) -> Member | None:
        return self._members.get(province)

    def checkpoint(self, province: str, index: int) -> Checkpoint | None:
        return self._checkpoints.get((province, index))

    def first_checkpoint_with(self, province: str, leaf_index: int) -> Checkpoint | None:
        """The province's first checkpoint whose tree holds leaf ``leaf_index`` (the one that
        anchored the entry)."""
        checkpoints = self._by_province.get(province, [])
        at = bisect.bisect_right([c.tree_size for c in checkpoints], leaf_index)
        return checkpoints[at] if at < len(checkpoints) else None

    def scope(self, scope_hash: bytes) -> ScopeRecord | None:
        return self._scopes.get(scope_hash)

    def findings(self, province: str, leaf_index: int) -> list[tuple[AuditRecord, AuditFinding]]:
        """The audit statements' findings that name leaf ``leaf_index`` of the province's log."""
        return self._findings.get((province, leaf_index), [])

    def signed_by(self, keys: Mapping[str, WitnessKey | None]) -> set[str]:
        """The provinces among ``keys`` whose signature over the snapshot's digest and time
        verifies (computed once per key set: the digest hashes the whole snapshot)."""
        snapshot = self._snapshot
        if snapshot.extras is None or not snapshot.signatures:
            return set()
        cache_key = tuple(sorted((p, k) for p, k in keys.items() if k is not None))
        if cache_key not in self._signed:
            message = snapshot_message(snapshot.digest(), snapshot.time)
            self._signed[cache_key] = signers(message, snapshot.signatures, keys)
        return set(self._signed[cache_key])

    def status_history(self, province: str, commitment: bytes) -> Sequence[StatusRecord]:
        return self._statuses.get((province, commitment), [])
