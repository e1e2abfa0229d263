"""Chain snapshots: the consortium contract's state at one block, replayed from its events.

:func:`take_snapshot` reads the contract's events (``RegistryClient.iter_events``, which pages
``eth_getLogs`` by block range) from the deployment — or, incrementally, from the block after an
older snapshot of the same network — up to block N, folds them into the state the snapshot
format holds (``docs/FORMATS.md`` "Snapshot", ``node.core.formats.snapshot``) and checks the result
against the contract's views at block N. Only the state is kept in memory, never the event history
(except the certificate status history, which the format itself holds).

:func:`write_snapshot` writes a snapshot in its one canonical layout (:func:`snapshot_text`),
item by item, through a temporary file renamed into place, so a crash leaves no half file.
Design and choices: ``docs/SNAPSHOT.md``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from web3.exceptions import Web3RPCError

from anchor.codec import ChainEvent
from anchor.registry import RegistryClient
from anchor.transport import RetryPolicy, with_retries
from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import ChainError, InvalidInput
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE
from node.core.formats.snapshot import (
    SNAPSHOT_TYPE,
    BlockRef,
    Checkpoint,
    Member,
    Network,
    Organisation,
    OrganisationKey,
    OrganisationState,
    Snapshot,
    StatusRecord,
)

log = logging.getLogger(__name__)

#: Organisation status codes of ``OrganisationRegistry.sol`` → snapshot names.
ORGANISATION_STATUS_NAMES = {1: "active", 2: "suspended", 3: "terminated"}
#: Certificate status codes of ``CertificateStatus.sol`` → snapshot names. The contract allows
#: status 0 only from suspended (docs/CONTRACT.md "Certificate status"), so a change *to* 0 is
#: always a reinstatement; the snapshot records it as ``reinstated`` (docs/FORMATS.md).
CERTIFICATE_STATUS_NAMES = {0: "reinstated", 1: "revoked", 2: "suspended", 3: "superseded"}
SUITE_NAMES_BY_ID = {number: name for name, number in SUITE_IDS.items()}
#: The events that change what a snapshot holds (proposals and merger notices do not: a
#: merger's retirements arrive as ``OrganisationStatusChanged``).
SNAPSHOT_EVENTS = (
    "MemberAdmitted",
    "MemberRemoved",
    "OperatorsReplaced",
    "OrganisationFiled",
    "OrganisationScopeUpdated",
    "OrganisationStatusChanged",
    "KeyAdded",
    "KeyClosed",
    "KeyRevoked",
    "MemberKeySet",
    "CheckpointAnchored",
    "CertificateStatusChanged",
)
#: At most this many certificates (the latest changed) are compared with ``certificateStatus``.
STATUS_VIEW_CHECKS = 64
#: JSON layout of a snapshot file: compact, ASCII, keys in the format's order, one final newline.
JSON_SEPARATORS = (",", ":")
_ZERO32 = b"\x00" * 32


# ---------------------------------------------------------------------------------------------
# Replay state


@dataclasses.dataclass
class _OrgState:
    province: str
    status: str
    scope_hash: bytes
    keys: list[OrganisationKey]
    history: list[OrganisationState] = dataclasses.field(default_factory=list)

    def record(self, timestamp: int) -> None:
        """Note the status and scope in force from ``timestamp`` (a block's) on."""
        self.history.append(OrganisationState(timestamp, self.status, self.scope_hash))

    def freeze(self, code: str) -> Organisation:
        return Organisation(
            code,
            self.province,
            self.status,
            self.scope_hash,
            tuple(self.keys),
            tuple(self.history),
        )


class _State:
    """The snapshot being built: members, organisations (in filing order), checkpoints and
    status records (in chain order). ``touched_*`` name what this replay changed, for the view
    checks."""

    def __init__(self) -> None:
        self.members: dict[str, tuple[bytes, ...]] = {}
        #: Each member's maintenance keys (purpose 3), oldest first; the last may be open.
        self.maintenance: dict[str, list[OrganisationKey]] = {}
        self.organisations: dict[str, _OrgState] = {}
        self.checkpoints: list[Checkpoint] = []
        self.checkpoint_counts: dict[str, int] = {}
        self.statuses: list[StatusRecord] = []
        self.touched_organisations: set[str] = set()
        self.touched_certificates: dict[tuple[str, bytes], None] = {}  # ordered set

    @classmethod
    def of(cls, snapshot: Snapshot) -> _State:
        """The state an older snapshot holds (incremental replay continues from it)."""
        state = cls()
        state.members = {m.province: m.operators for m in snapshot.members}
        state.maintenance = {
            m.province: list(m.maintenance_keys) for m in snapshot.members if m.maintenance_keys
        }
        state.organisations = {
            o.code: _OrgState(o.province, o.status, o.scope_hash, list(o.keys), list(o.history))
            for o in snapshot.organisations
        }
        state.checkpoints = list(snapshot.checkpoints)
        for checkpoint in snapshot.checkpoints:
            state.checkpoint_counts[checkpoint.province] = checkpoint.index + 1
        state.statuses = list(snapshot.statuses)
        return state

    def freeze(self, network: Network, block: BlockRef) -> Snapshot:
        return Snapshot(
            network=network,
            block=block,
            members=tuple(
                Member(p, ops, tuple(self.maintenance.get(p, ())))
                for p, ops in sorted(self.members.items())
            ),
            organisations=tuple(o.freeze(code) for code, o in self.organisations.items()),
            checkpoints=tuple(self.checkpoints),
            statuses=tuple(self.statuses),
        )

    # -- events -------------------------------------------------------------------------------

    def apply(self, event: ChainEvent, timestamp: int) -> None:
        """Fold one event (of :data:`SNAPSHOT_EVENTS`) into the state.

        Raises ChainError when the event does not fit the state (a node missing older logs).
        """
        handler = getattr(self, f"_on_{event.name}")
        handler(event.args, event, timestamp)

    def _on_MemberAdmitted(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        self.members[_province(args["province"])] = _addresses(args["operators"])

    def _on_OperatorsReplaced(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        self._on_MemberAdmitted(args, event, ts)
        self._close_maintenance_key(_province(args["province"]), ts)  # keys are withdrawn

    def _on_MemberRemoved(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        self.members.pop(_province(args["province"]), None)
        self._close_maintenance_key(_province(args["province"]), ts)

    def _on_MemberKeySet(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        """A member key: only the maintenance purpose is kept (verifiers check province-signed
        corrections with it); an empty key withdraws it."""
        if int(args["purpose"]) != MAINTENANCE_KEY_PURPOSE:
            return
        province = _province(args["province"])
        self._close_maintenance_key(province, ts)
        key = bytes(args["key"])
        if key:
            keys = self.maintenance.setdefault(province, [])
            keys.append(OrganisationKey(len(keys), "ed25519", key, ts, 0))

    def _close_maintenance_key(self, province: str, ts: int) -> None:
        keys = self.maintenance.get(province)
        if keys and keys[-1].valid_until == 0:
            keys[-1] = dataclasses.replace(keys[-1], valid_until=ts)

    def _on_OrganisationFiled(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        code = _org_code(args["code"])
        self.organisations[code] = _OrgState(
            _province(args["province"]), "active", bytes(args["scopeHash"]), []
        )
        self.organisations[code].record(ts)
        self.touched_organisations.add(code)

    def _on_OrganisationScopeUpdated(
        self, args: dict[str, Any], event: ChainEvent, ts: int
    ) -> None:
        org = self._org(args, event)
        org.scope_hash = bytes(args["scopeHash"])
        org.record(ts)

    def _on_OrganisationStatusChanged(
        self, args: dict[str, Any], event: ChainEvent, ts: int
    ) -> None:
        status = ORGANISATION_STATUS_NAMES.get(int(args["status"]))
        if status is None:
            raise ChainError(f"{_where(event)}: unknown organisation status {args['status']}")
        org = self._org(args, event)
        org.status = status
        org.record(ts)

    def _on_KeyAdded(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        org = self._org(args, event)
        key = key_of_event(args)
        if key.suite not in SUITE_IDS or key.key_id != len(org.keys):
            raise ChainError(f"{_where(event)}: key {args['keyId']} does not follow the state")
        org.keys.append(key)

    def _on_KeyClosed(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        org = self._org(args, event)
        if not shorten_key(org.keys, args):
            raise ChainError(f"{_where(event)}: unknown key {args['keyId']}")

    def _on_KeyRevoked(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        self._on_KeyClosed(args, event, ts)

    def _on_CheckpointAnchored(self, args: dict[str, Any], event: ChainEvent, ts: int) -> None:
        province = _province(args["province"])
        index = int(args["index"])
        if index != self.checkpoint_counts.get(province, 0):
            raise ChainError(f"{_where(event)}: checkpoint {index} of {province} is out of order")
        self.checkpoint_counts[province] = index + 1
        self.checkpoints.append(
            Checkpoint(
                province=province,
                index=index,
                tree_size=int(args["size"]),
                root=bytes(args["root"]),
                block_number=event.block_number,
                timestamp=ts,
                manifest_cid=str(args["manifestCid"]),
                transaction_hash=_tx_hash(event),
            )
        )

    def _on_CertificateStatusChanged(
        self, args: dict[str, Any], event: ChainEvent, ts: int
    ) -> None:
        province, commitment = _province(args["province"]), bytes(args["commitment"])
        status = CERTIFICATE_STATUS_NAMES.get(int(args["status"]))
        if status is None:
            raise ChainError(f"{_where(event)}: unknown certificate status {args['status']}")
        successor = bytes(args["successor"])
        self.statuses.append(
            StatusRecord(
                province=province,
                commitment=commitment,
                status=status,
                reason=int(args["reason"]),
                successor=None if successor == _ZERO32 else successor,
                block_number=event.block_number,
                timestamp=ts,
                transaction_hash=_tx_hash(event),
            )
        )
        self.touched_certificates.pop((province, commitment), None)
        self.touched_certificates[(province, commitment)] = None

    def _org(self, args: dict[str, Any], event: ChainEvent) -> _OrgState:
        code = _org_code(args["code"])
        org = self.organisations.get(code)
        if org is None:
            raise ChainError(f"{_where(event)}: organisation {code} was never filed")
        self.touched_organisations.add(code)
        return org


def province_of(value: Any) -> str:
    """The two-digit province of an event's ``province`` (uint8)."""
    return f"{int(value):02d}"


def organisation_code_of(value: Any) -> str:
    """The organisation code of an event's ``code`` (bytes13)."""
    return bytes(value).decode("ascii")


def key_of_event(args: Mapping[str, Any]) -> OrganisationKey:
    """The key a ``KeyAdded`` event adds; a suite id no suite has is named ``unknown-N`` (the
    snapshot refuses it; the auditor keeps it, so entries signed under it are found)."""
    suite_id = int(args["suite"])
    return OrganisationKey(
        key_id=int(args["keyId"]),
        suite=SUITE_NAMES_BY_ID.get(suite_id, f"unknown-{suite_id}"),
        public_key=bytes(args["publicKey"]),
        valid_from=int(args["validFrom"]),
        valid_until=int(args["validUntil"]),
    )


def shorten_key(keys: list[OrganisationKey], args: Mapping[str, Any]) -> bool:
    """Apply a ``KeyClosed`` / ``KeyRevoked`` event (its ``validUntil``) to ``keys``; False
    when the key id is unknown."""
    key_id = int(args["keyId"])
    if key_id >= len(keys):
        return False
    keys[key_id] = dataclasses.replace(keys[key_id], valid_until=int(args["validUntil"]))
    return True


_province, _org_code = province_of, organisation_code_of


def _addresses(values: Any) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(str(v)[2:]) for v in values)


def _tx_hash(event: ChainEvent) -> bytes:
    return bytes.fromhex(event.transaction_hash.removeprefix("0x"))


def _where(event: ChainEvent) -> str:
    return f"{event.name} in block {event.block_number} (tx {event.transaction_hash})"


# ---------------------------------------------------------------------------------------------
# Reading the chain at one block


class _ChainAt:
    """Block headers and contract views of ``client``'s chain, views pinned to ``block``."""

    def __init__(self, client: RegistryClient, block: int) -> None:
        self.client = client
        self.block = block
        self._last_header: tuple[int, int] | None = None  # (number, timestamp)

    def header(self, number: int) -> BlockRef:
        """Number, hash and timestamp of block ``number``; ChainError when the node lacks it."""
        raw = self.client.transport.retry(lambda: self.client.w3.eth.get_block(number), "get block")
        if raw is None or raw.get("hash") is None:
            raise ChainError(f"block {number} is not on this chain")
        return BlockRef(number, bytes(raw["hash"]), int(raw["timestamp"]))

    def timestamp(self, number: int) -> int:
        """The timestamp of block ``number``; events arrive in block order, so one cached
        header covers every event of a block."""
        if self._last_header is None or self._last_header[0] != number:
            self._last_header = (number, self.header(number).timestamp)
        return self._last_header[1]

    def has_state(self) -> bool:
        """Whether the node still holds the contract's state at ``block`` (a node that prunes
        history, such as ``anvil --prune-history``, keeps only the latest).

        Raises ChainError when there is no contract at the address at that block.
        """
        w3, address = self.client.w3, self.client.address
        try:
            code = with_retries(
                lambda: w3.eth.get_code(address, block_identifier=self.block),
                "get code",
                RetryPolicy(attempts=1),
            )
        except Web3RPCError:
            return False
        if not code:
            raise ChainError(f"no contract at {address} in block {self.block}")
        return True

    def view(self, function: str, *args: Any) -> Any:
        """Call view ``function`` of the contract on the state of ``block``."""
        fn = getattr(self.client.contract.functions, function)(*args)
        sender = {"from": self.client.sender}
        return self.client.transport.retry(
            lambda: fn.call(sender, block_identifier=self.block), function
        )


def _check_views(chain: _ChainAt, state: _State) -> None:
    """Compare the replayed state with the contract's views at the snapshot's block.

    Checked: every member and its operators; every province's checkpoint count and latest
    checkpoint; the organisations this replay touched (province, status, scope, keys); the
    certificates it changed last (at most :data:`STATUS_VIEW_CHECKS`). Raises ChainError naming
    the first disagreement (the node's logs and state disagree, or logs are missing).
    """
    members = sorted(_province(p) for p in chain.view("members"))
    _agree(members == sorted(state.members), "members", members, sorted(state.members))
    for province in members:
        operators = _addresses(chain.view("operatorsOf", int(province)))
        _agree(operators == state.members[province], f"operators of {province}", operators)
    for province in sorted(set(members) | set(state.checkpoint_counts)):
        _check_checkpoints(chain, state, province)
    for code in sorted(state.touched_organisations):
        _check_organisation(chain, code, state.organisations[code])
    latest = set(list(state.touched_certificates)[-STATUS_VIEW_CHECKS:])
    counts: dict[tuple[str, bytes], int] = {}
    lasts: dict[tuple[str, bytes], StatusRecord] = {}
    for record in state.statuses:  # one pass, whatever the history's length
        key = (record.province, record.commitment)
        if key in latest:
            counts[key] = counts.get(key, 0) + 1
            lasts[key] = record
    for key in sorted(latest):
        _check_status(chain, lasts[key], counts[key])


def _check_checkpoints(chain: _ChainAt, state: _State, province: str) -> None:
    count = int(chain.view("checkpointCount", int(province)))
    ours = state.checkpoint_counts.get(province, 0)
    _agree(count == ours, f"checkpoint count of {province}", count, ours)
    if count == 0:
        return
    index, size, root, block, ts = chain.view("latestCheckpoint", int(province))
    last = next(c for c in reversed(state.checkpoints) if c.province == province)
    theirs = (int(index), int(size), bytes(root), int(block), int(ts))
    mine = (last.index, last.tree_size, last.root, last.block_number, last.timestamp)
    _agree(theirs == mine, f"latest checkpoint of {province}", theirs, mine)


def _check_organisation(chain: _ChainAt, code: str, org: _OrgState) -> None:
    raw = code.encode("ascii")
    province, status, scope, key_count, _ = chain.view("organisation", raw)
    theirs = (_province(province), ORGANISATION_STATUS_NAMES.get(int(status)), bytes(scope))
    _agree(theirs == (org.province, org.status, org.scope_hash), f"organisation {code}", theirs)
    _agree(int(key_count) == len(org.keys), f"key count of {code}", key_count, len(org.keys))
    for key in org.keys:
        suite, public_key, valid_from, valid_until = chain.view("organisationKey", raw, key.key_id)
        view = (SUITE_NAMES_BY_ID.get(int(suite)), bytes(public_key), valid_from, valid_until)
        mine = (key.suite, key.public_key, key.valid_from, key.valid_until)
        _agree(view == mine, f"key {key.key_id} of {code}", view, mine)


def _check_status(chain: _ChainAt, last: StatusRecord, changes: int) -> None:
    status, reason, count, block, ts = chain.view(
        "certificateStatus", int(last.province), last.commitment
    )
    name = CERTIFICATE_STATUS_NAMES.get(int(status))
    theirs = (name, int(reason), int(count), int(block), int(ts))
    mine = (last.status, last.reason, changes, last.block_number, last.timestamp)
    _agree(theirs == mine, f"status of certificate {last.commitment.hex()}", theirs, mine)


def _agree(ok: bool, what: str, *values: Any) -> None:
    if not ok:
        shown = " vs ".join(repr(v) for v in values)
        raise ChainError(f"snapshot disagrees with the contract's view: {what} ({shown})")


# ---------------------------------------------------------------------------------------------
# Taking a snapshot


def take_snapshot(
    client: RegistryClient,
    *,
    block: int | None = None,
    since: Snapshot | None = None,
    progress: Callable[[int], None] | None = None,
) -> Snapshot:
    """Return the contract's state at ``block`` (default: the latest final block,
    ``client.final_block()``: the head less the configured confirmations).

    Events are replayed from ``client.options.from_block`` (the deployment block when known,
    else 0) or, with ``since`` (an older snapshot of the same network), from the block after
    ``since``'s, continuing its state; either way the result is the same snapshot. When the node
    still holds the state of ``block``, the result is compared with the contract's views there
    (see :func:`_check_views`). ``progress`` is called with the number of each block replayed.

    Raises:
        InvalidInput: ``since`` is of another network or newer than ``block``
            (rules ``snapshot.since_network``, ``snapshot.since_block``), or ``block`` is
            beyond the chain's head (``snapshot.block``).
        ChainError: the chain failed, lacks a block or log the replay needs, no longer has
            ``since``'s block (a reorganisation), or disagrees with its own views.
    """
    head = client.block_number()
    number = min(head, client.final_block()) if block is None else block
    if not 0 <= number <= head:
        raise InvalidInput("block", "snapshot.block", f"must be 0–{head}, the chain's head")
    network = Network(client.chain_id(), bytes.fromhex(client.address[2:]))
    chain = _ChainAt(client, number)
    target = chain.header(number)
    state, start = _starting_point(chain, network, since, client.options.from_block)
    for event in _events(client, start, number):
        state.apply(event, chain.timestamp(event.block_number))
        if progress is not None:
            progress(event.block_number)
    if chain.header(number) != target:
        raise ChainError(f"block {number} changed during the replay (a reorganisation)")
    if chain.has_state():
        try:
            _check_views(chain, state)
        except ChainError:
            # A pruning node (anvil --prune-history) drops the state of ``number`` as soon as
            # the next block is mined, which can happen between has_state and the last view.
            if chain.has_state():
                raise
            log.warning("views not checked: block %d was pruned during the check", number)
    else:
        log.warning("views not checked: the node keeps no state at block %d", number)
    if progress is not None:
        progress(number)
    return state.freeze(network, target)


def _starting_point(
    chain: _ChainAt, network: Network, since: Snapshot | None, from_block: int
) -> tuple[_State, int]:
    """The state to continue and the first block to replay."""
    if since is None:
        return _State(), from_block
    if since.network != network:
        raise InvalidInput(
            "since.network", "snapshot.since_network", "the older snapshot is of another network"
        )
    if since.block.number > chain.block:
        raise InvalidInput(
            "since.block.number",
            "snapshot.since_block",
            f"the older snapshot (block {since.block.number}) is newer than block {chain.block}",
        )
    if chain.header(since.block.number) != since.block:
        raise ChainError(
            f"block {since.block.number} of the older snapshot is no longer on the chain"
        )
    return _State.of(since), since.block.number + 1


def _events(client: RegistryClient, start: int, end: int) -> Iterator[ChainEvent]:
    if start > end:
        return iter(())
    return client.iter_events(start, end, names=SNAPSHOT_EVENTS)


# ---------------------------------------------------------------------------------------------
# Writing


def snapshot_text(snapshot: Snapshot) -> str:
    """The canonical file text of a snapshot: ``json.dumps(snapshot.to_json(),
    separators=(",", ":"))`` (ASCII, keys in the format's order) and a final newline."""
    return json.dumps(snapshot.to_json(), separators=JSON_SEPARATORS) + "\n"


def write_snapshot(snapshot: Snapshot, path: str | Path) -> None:
    """Write ``snapshot`` to ``path`` as :func:`snapshot_text` would, byte for byte, but one
    item at a time (no whole-file string in memory), through a temporary file in the same
    folder that replaces ``path`` only once complete."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as out:
            _stream(snapshot, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _stream(snapshot: Snapshot, out: IO[str]) -> None:
    if snapshot.version != 1:
        # Version 2 (signed, with history and audits) is written whole: its digest is of this
        # object as read back.
        out.write(json.dumps(snapshot.to_json(), separators=JSON_SEPARATORS) + "\n")
        return
    first = json.dumps(
        {
            "type": SNAPSHOT_TYPE,
            "version": snapshot.version,
            "network": snapshot.network.to_json(),
            "block": snapshot.block.to_json(),
        },
        separators=JSON_SEPARATORS,
    )
    out.write(first[:-1])  # without the closing brace
    arrays: tuple[tuple[str, Any], ...] = (
        ("members", snapshot.members),
        ("organisations", snapshot.organisations),
        ("checkpoints", snapshot.checkpoints),
        ("statuses", snapshot.statuses),
    )
    for name, items in arrays:
        out.write(f',"{name}":[')
        for i, item in enumerate(items):
            if i:
                out.write(",")
            out.write(json.dumps(item.to_json(), separators=JSON_SEPARATORS))
        out.write("]")
    out.write("}\n")
