"""The typed binding of the consortium contract ``CertificateRegistry``: membership and
governance proposals, organisations and their keys, province logs and checkpoints, certificate
statuses, views and events, each a method of :class:`RegistryClient` with typed values.

The client sends and reads through a :class:`~anchor.transport.ChainTransport` (retries,
nonces, fees, receipts, raw logs) and decodes with the ABI of the committed artifact
(:mod:`anchor.codec`). Every write returns a :class:`~anchor.transport.TxResult` once the
transaction has the configured confirmations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from anchor.codec import AbiCodec, Artifact, ChainEvent, load_artifact
from anchor.errors import CheckpointNotFound, ContractRevert
from anchor.transport import ChainTransport, ClientOptions, TxResult, connect
from node.core.errors import ChainError

ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class Checkpoint:
    """Checkpoint ``index`` of a province log, read from its ``CheckpointAnchored`` event: size,
    root and manifest CID from the event; block number, timestamp and transaction hash from the
    log and its block. The contract's storage holds only the roots by size (``rootAt``,
    ``isAnchored``) and the latest checkpoint."""

    province: int
    index: int
    size: int
    root: bytes
    block_number: int
    timestamp: int
    manifest_cid: str
    transaction_hash: str


@dataclass(frozen=True)
class AnchorResult:
    """The checkpoint ``index`` that holds ``(size, root)``; ``tx`` is None when it was already
    anchored before this call."""

    index: int
    tx: TxResult | None


@dataclass(frozen=True)
class Organisation:
    """An organisation as filed on chain."""

    code: str
    province: int
    status: int
    scope_hash: bytes
    key_count: int
    successor: str | None


@dataclass(frozen=True)
class OrganisationKey:
    """A signing key of an organisation; ``valid_until`` 0 means open."""

    key_id: int
    suite: int
    public_key: bytes
    valid_from: int
    valid_until: int


@dataclass(frozen=True)
class StatusRecord:
    """The current on-chain status of a certificate (0 active … 3 superseded)."""

    status: int
    reason: int
    changes: int
    block_number: int
    timestamp: int


@dataclass(frozen=True)
class StatusChange:
    """One entry of :meth:`RegistryClient.set_status_batch`."""

    commitment: bytes
    status: int
    reason: int = 0
    successor: bytes = ZERO32


@dataclass(frozen=True)
class Proposal:
    """A membership proposal (kind 1 admit, 2 remove, 3 replace operators)."""

    id: int
    kind: int
    province: int
    operators: tuple[str, ...]
    proposer_province: int
    expires_at: int
    executed: bool


#: ``maxCheckpointGrowth`` of a new deployment (docs/CONTRACT.md "Checkpoint growth"): a
#: checkpoint adds at most a million entries. The anchoring worker caps each checkpoint at the
#: contract's value, so a larger backlog (a node offline for days; the default batch is 1,000)
#: goes out in several checkpoints, and a manifest stays under ``MAX_MANIFEST_BYTES``.
DEFAULT_MAX_CHECKPOINT_GROWTH: Final = 1_000_000


class RegistryClient:
    """Reads and writes one deployed ``CertificateRegistry``.

    Build it with :meth:`connect` (an existing deployment) or :meth:`deploy`. Every write
    returns a :class:`TxResult` once the transaction has the configured confirmations and
    raises :class:`ContractRevert` when the contract refuses it (decoded before sending, by gas
    estimation, or after mining by replaying the call) and :class:`ChainError` when the chain
    fails. ``transport`` carries the chain session; ``w3``, ``sender`` and ``options`` are its.
    """

    def __init__(
        self,
        w3: Web3,
        address: str,
        *,
        private_key: str | None = None,
        sender: str | None = None,
        options: ClientOptions | None = None,
        artifact: Artifact | None = None,
    ) -> None:
        artifact = artifact or load_artifact()
        transport = ChainTransport(
            w3, AbiCodec(artifact.abi), private_key=private_key, sender=sender, options=options
        )
        self._bind(transport, address, artifact)

    def _bind(self, transport: ChainTransport, address: str, artifact: Artifact) -> None:
        self.transport = transport
        self.artifact = artifact
        self.codec = transport.codec
        self.address = to_checksum_address(address)
        self.contract: Contract = transport.w3.eth.contract(address=self.address, abi=artifact.abi)

    @property
    def w3(self) -> Web3:
        """The chain connection."""
        return self.transport.w3

    @property
    def sender(self) -> ChecksumAddress:
        """The account transactions come from (checksummed)."""
        return self.transport.sender

    @property
    def options(self) -> ClientOptions:
        """The knobs of the transport and of event searches."""
        return self.transport.options

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url: str,
        address: str,
        *,
        private_key: str | None = None,
        sender: str | None = None,
        options: ClientOptions | None = None,
    ) -> RegistryClient:
        """Return a client of the contract at ``address`` on the chain at ``url``."""
        return cls(connect(url), address, private_key=private_key, sender=sender, options=options)

    @classmethod
    def over(cls, transport: ChainTransport, address: str, artifact: Artifact) -> RegistryClient:
        """Return a client of the contract at ``address`` that sends through ``transport``
        (whose codec decodes ``artifact``'s ABI), sharing its account and nonce counter."""
        client = cls.__new__(cls)
        client._bind(transport, address, artifact)
        return client

    @classmethod
    def deploy(
        cls,
        w3: Web3,
        founders: Sequence[tuple[int, str]],
        *,
        private_key: str | None = None,
        sender: str | None = None,
        options: ClientOptions | None = None,
        artifact: Artifact | None = None,
        max_checkpoint_growth: int = DEFAULT_MAX_CHECKPOINT_GROWTH,
    ) -> tuple[RegistryClient, TxResult]:
        """Deploy the contract with ``founders`` ((province, operator address) pairs; repeat a
        province for several operators) and ``max_checkpoint_growth`` (the most entries one
        checkpoint may add, docs/CONTRACT.md) and return its client and the deployment result.

        Raises ContractRevert for invalid founders or a growth of 0, ChainError when the chain
        fails.
        """
        art = artifact or load_artifact()
        provinces = [int(p) for p, _ in founders]
        operators = [to_checksum_address(a) for _, a in founders]
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        transport = ChainTransport(
            w3, AbiCodec(art.abi), private_key=private_key, sender=sender, options=options
        )
        result, receipt = transport.transact(
            factory.constructor(provinces, operators, max_checkpoint_growth)
        )
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError("deployment mined without a contract address")
        return cls.over(transport, address, art), result

    # -- transactions ---------------------------------------------------------------------

    def write(
        self, function: str, *args: Any, gas: int | None = None, final: bool = True
    ) -> TxResult:
        """Send a transaction calling contract function ``function`` with ``args``; return
        once it has the configured confirmations (``final`` False: once mined)."""
        fn = getattr(self.contract.functions, function)(*args)
        result, _ = self.transport.transact(fn, gas, final=final)
        return result

    def _view(self, fn: ContractFunction, what: str) -> Any:
        return self.transport.call(fn, what)

    # -- chain facts ----------------------------------------------------------------------

    def chain_id(self) -> int:
        """The chain id."""
        return self.transport.chain_id()

    def block_number(self) -> int:
        """The latest block number."""
        return self.transport.block_number()

    def final_block(self) -> int:
        """The newest block with the configured confirmations (``options.confirmations``):
        snapshots, the auditor and the node's readers act on it and older blocks only."""
        return self.transport.final_block()

    # -- membership -----------------------------------------------------------------------

    def members(self) -> list[int]:
        """The current members' province codes."""
        return [int(p) for p in self._view(self.contract.functions.members(), "members")]

    def is_member(self, province: int) -> bool:
        """Whether ``province`` is a member."""
        return bool(self._view(self.contract.functions.isMember(province), "isMember"))

    def operators_of(self, province: int) -> list[str]:
        """The operator accounts of ``province``."""
        ops = self._view(self.contract.functions.operatorsOf(province), "operatorsOf")
        return [to_checksum_address(a) for a in ops]

    def province_of(self, account: str) -> int:
        """The province ``account`` operates for, or 0."""
        fn = self.contract.functions.provinceOf(to_checksum_address(account))
        return int(self._view(fn, "provinceOf"))

    def proposal(self, proposal_id: int) -> Proposal:
        """Proposal ``proposal_id``; raises ContractRevert when it does not exist."""
        kind, province, ops, proposer, expires, executed = self._view(
            self.contract.functions.proposal(proposal_id), "proposal"
        )
        return Proposal(
            id=proposal_id,
            kind=int(kind),
            province=int(province),
            operators=tuple(to_checksum_address(a) for a in ops),
            proposer_province=int(proposer),
            expires_at=int(expires),
            executed=bool(executed),
        )

    def proposal_count(self) -> int:
        """Number of proposals ever made."""
        return int(self._view(self.contract.functions.proposalCount(), "proposalCount"))

    def has_approved(self, proposal_id: int, province: int) -> bool:
        """Whether member ``province`` approved proposal ``proposal_id``."""
        fn = self.contract.functions.hasApproved(proposal_id, province)
        return bool(self._view(fn, "hasApproved"))

    def max_checkpoint_growth(self) -> int:
        """The most entries one checkpoint may add to a log (``maxCheckpointGrowth``)."""
        fn = self.contract.functions.maxCheckpointGrowth()
        return int(self._view(fn, "maxCheckpointGrowth"))

    def propose_max_checkpoint_growth(self, growth: int) -> int:
        """Propose a new ``maxCheckpointGrowth`` (governance, kind 4); return the proposal id."""
        result = self.write("proposeMaxCheckpointGrowth", growth)
        return int(self._event(result, "ProposalCreated")["id"])

    def proposal_value(self, proposal_id: int) -> int:
        """The value a parameter proposal sets (0 for the membership kinds)."""
        fn = self.contract.functions.proposalValue(proposal_id)
        return int(self._view(fn, "proposalValue"))

    def propose(self, kind: int, province: int, operators: Sequence[str] = ()) -> int:
        """Propose a membership change; return the new proposal's id."""
        ops = [to_checksum_address(a) for a in operators]
        result = self.write("propose", kind, province, ops)
        return int(self._event(result, "ProposalCreated")["id"])

    def approve(self, proposal_id: int) -> TxResult:
        """Approve proposal ``proposal_id`` for the sender's province."""
        return self.write("approve", proposal_id)

    def execute(self, proposal_id: int) -> TxResult:
        """Execute proposal ``proposal_id`` (needs a majority of approvals)."""
        return self.write("execute", proposal_id)

    # -- organisations --------------------------------------------------------------------

    def file_organisation(
        self,
        code: str,
        scope_hash: bytes,
        suite: int,
        public_key: bytes,
        valid_from: int,
        valid_until: int = 0,
    ) -> TxResult:
        """File organisation ``code`` (13 ASCII characters) with its first key (key id 0)."""
        return self.write(
            "fileOrganisation",
            _code(code),
            scope_hash,
            suite,
            public_key,
            valid_from,
            valid_until,
        )

    def update_scope(self, code: str, scope_hash: bytes) -> TxResult:
        """Replace the filed scope hash of ``code``."""
        return self.write("updateScope", _code(code), scope_hash)

    def set_organisation_status(self, code: str, status: int) -> TxResult:
        """Set the status of ``code`` (1 active, 2 suspended, 3 terminated)."""
        return self.write("setOrganisationStatus", _code(code), status)

    def rotate_key(
        self,
        code: str,
        suite: int,
        public_key: bytes,
        effective_from: int,
        valid_until: int = 0,
        close_previous: bool = True,
    ) -> TxResult:
        """Add a key effective at ``effective_from``, optionally closing the previous one."""
        return self.write(
            "rotateKey",
            _code(code),
            suite,
            public_key,
            effective_from,
            valid_until,
            close_previous,
        )

    def revoke_key(self, code: str, key_id: int, effective_at: int) -> TxResult:
        """Revoke key ``key_id`` of ``code`` with effect from ``effective_at``."""
        return self.write("revokeKey", _code(code), key_id, effective_at)

    def record_merger(self, merged_codes: Sequence[str], new_code: str) -> TxResult:
        """Record that ``merged_codes`` merged into ``new_code`` (they are retired)."""
        return self.write("recordMerger", [_code(c) for c in merged_codes], _code(new_code))

    def record_absorption(self, absorbed: str, absorber: str) -> TxResult:
        """Record that ``absorber`` absorbed ``absorbed`` (which is retired)."""
        return self.write("recordAbsorption", _code(absorbed), _code(absorber))

    def organisation(self, code: str) -> Organisation:
        """Organisation ``code`` (status 0 when never filed)."""
        province, status, scope, count, successor = self._view(
            self.contract.functions.organisation(_code(code)), "organisation"
        )
        succ = bytes(successor)
        return Organisation(
            code=code,
            province=int(province),
            status=int(status),
            scope_hash=bytes(scope),
            key_count=int(count),
            successor=succ.decode("ascii") if any(succ) else None,
        )

    def organisation_key(self, code: str, key_id: int) -> OrganisationKey:
        """Key ``key_id`` of ``code``; raises ContractRevert when it does not exist."""
        suite, key, valid_from, valid_until = self._view(
            self.contract.functions.organisationKey(_code(code), key_id), "organisationKey"
        )
        return OrganisationKey(
            key_id=key_id,
            suite=int(suite),
            public_key=bytes(key),
            valid_from=int(valid_from),
            valid_until=int(valid_until),
        )

    # -- province logs --------------------------------------------------------------------

    def anchor(
        self,
        size: int,
        root: bytes,
        consistency_proof: Sequence[bytes],
        manifest_cid: str,
        *,
        gas: int | None = None,
        final: bool = True,
    ) -> AnchorResult:
        """Anchor checkpoint ``(size, root)`` in the sender's province log (``final`` False:
        return once mined, before the confirmations).

        Idempotent: when this exact checkpoint is already anchored (a retry after a lost
        answer, even after later checkpoints), return its index with ``tx=None`` instead of
        failing. Raises ContractRevert for a shrinking, conflicting or inconsistent checkpoint.
        """
        try:
            result = self.write(
                "anchor", size, root, list(consistency_proof), manifest_cid, gas=gas, final=final
            )
        except ContractRevert as exc:
            if exc.name not in (
                "ProvinceLogsCheckpointAlreadyAnchored",
                "ProvinceLogsShrinkingCheckpoint",
            ):
                raise
            found, index = self.find_checkpoint(int(exc.arguments["province"]), size, root)
            if not found:
                raise
            return AnchorResult(index=index, tx=None)
        return AnchorResult(
            index=int(self._event(result, "CheckpointAnchored")["index"]), tx=result
        )

    def publish_audit_statement(
        self, province: int, checkpoint_index: int, content_hash: bytes, cid: str
    ) -> TxResult:
        """Reference an audit statement about checkpoint ``checkpoint_index`` of ``province``
        (``AuditStatementPublished``; the sender operates for a member).

        Raises:
            ContractRevert: not an operator, no such checkpoint, or a zero hash or bad CID.
        """
        return self.write("publishAuditStatement", province, checkpoint_index, content_hash, cid)

    def checkpoint_count(self, province: int) -> int:
        """Number of checkpoints of ``province``."""
        fn = self.contract.functions.checkpointCount(province)
        return int(self._view(fn, "checkpointCount"))

    def root_at(self, province: int, size: int) -> bytes | None:
        """The root ``province`` anchored for tree size ``size``, or None."""
        root = bytes(self._view(self.contract.functions.rootAt(province, size), "rootAt"))
        return root if root != ZERO32 else None

    def checkpoint(self, province: int, index: int) -> Checkpoint:
        """Checkpoint ``index`` of ``province``, read from its ``CheckpointAnchored`` event (one
        ``eth_getLogs`` filter on the province and index topics, paged by ``log_page_size``
        from ``options.from_block`` to the latest checkpoint's block).

        Raises CheckpointNotFound when the province has no checkpoint ``index``.
        """
        head = self._head(province)
        if head is None or not 0 <= index <= head[0]:
            raise CheckpointNotFound(province, index)
        latest_index, _, _, latest_block, latest_ts = head
        if index == latest_index:
            # The head slot knows the latest checkpoint's block: a one-block query.
            start, timestamp = latest_block, latest_ts
        else:
            start, timestamp = self.options.from_block, None
        for event in self._checkpoint_events(province, index, start, latest_block):
            return self._to_checkpoint(event, timestamp)
        raise ChainError(f"checkpoint {index} of province {province} has no event on this node")

    def latest_checkpoint(self, province: int) -> Checkpoint | None:
        """The latest checkpoint of ``province``, or None before its first."""
        head = self._head(province)
        if head is None:
            return None
        return self.checkpoint(province, head[0])

    def find_checkpoint(self, province: int, size: int, root: bytes) -> tuple[bool, int]:
        """Whether ``province`` anchored ``(size, root)``, and the checkpoint's index (0 when
        not found). Storage answers whether (``isAnchored``); the index comes from the events
        (one scan of the province's ``CheckpointAnchored`` events, newest block bound known)."""
        if not self.is_anchored(province, size, root):
            return False, 0
        head = self._head(province)
        if head is None:  # Unreachable: is_anchored implies a checkpoint.
            return False, 0
        latest_index, latest_size, _, latest_block, _ = head
        if latest_size == size:
            return True, latest_index
        for event in self._checkpoint_events(province, None, self.options.from_block, latest_block):
            if int(event.args["size"]) == size and bytes(event.args["root"]) == root:
                return True, int(event.args["index"])
        raise ChainError(f"checkpoint {size} of province {province} has no event on this node")

    def _head(self, province: int) -> tuple[int, int, bytes, int, int] | None:
        """(index, size, root, block number, timestamp) of the latest checkpoint, or None."""
        try:
            index, size, root, block, ts = self._view(
                self.contract.functions.latestCheckpoint(province), "latestCheckpoint"
            )
        except ContractRevert as exc:
            if exc.name == "ProvinceLogsNoCheckpoint":
                return None
            raise
        return int(index), int(size), bytes(root), int(block), int(ts)

    def _checkpoint_events(
        self, province: int, index: int | None, start: int, end: int
    ) -> Iterator[ChainEvent]:
        topics: list[Any] = [
            HexBytes(self.codec.event_topics["CheckpointAnchored"]).to_0x_hex(),
            "0x" + province.to_bytes(32, "big").hex(),
        ]
        if index is not None:
            topics.append("0x" + index.to_bytes(32, "big").hex())
        return self._iter_logs(topics, start, end, self.options.log_page_size)

    def _to_checkpoint(self, event: ChainEvent, timestamp: int | None) -> Checkpoint:
        if timestamp is None:
            block = self.transport.retry(
                partial(self.w3.eth.get_block, event.block_number), "get block"
            )
            timestamp = int(block["timestamp"])
        return Checkpoint(
            province=int(event.args["province"]),
            index=int(event.args["index"]),
            size=int(event.args["size"]),
            root=bytes(event.args["root"]),
            block_number=event.block_number,
            timestamp=timestamp,
            manifest_cid=str(event.args["manifestCid"]),
            transaction_hash=event.transaction_hash,
        )

    def is_anchored(self, province: int, size: int, root: bytes) -> bool:
        """Whether ``province`` anchored a checkpoint ``(size, root)``."""
        fn = self.contract.functions.isAnchored(province, size, root)
        return bool(self._view(fn, "isAnchored"))

    def verify_inclusion(
        self, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
    ) -> bool:
        """The contract's RFC 9162 inclusion check (an eth_call, nothing mined)."""
        fn = self.contract.functions.verifyInclusion(leaf_hash, index, tree_size, list(proof), root)
        return bool(self._view(fn, "verifyInclusion"))

    def verify_consistency(
        self, size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
    ) -> bool:
        """The contract's RFC 9162 consistency check (an eth_call, nothing mined)."""
        fn = self.contract.functions.verifyConsistency(size1, size2, root1, root2, list(proof))
        return bool(self._view(fn, "verifyConsistency"))

    # -- certificate status ---------------------------------------------------------------

    def set_status(
        self,
        province: int,
        commitment: bytes,
        status: int,
        reason: int = 0,
        successor: bytes = ZERO32,
    ) -> TxResult:
        """Set the status of certificate ``commitment`` of ``province``."""
        return self.write("setStatus", province, commitment, status, reason, successor)

    def set_status_batch(self, province: int, changes: Sequence[StatusChange]) -> TxResult:
        """Apply ``changes`` under ``province`` in one transaction, all or nothing."""
        items = [(c.commitment, c.status, c.reason, c.successor) for c in changes]
        return self.write("setStatusBatch", province, items)

    def certificate_status(self, province: int, commitment: bytes) -> StatusRecord:
        """The current status of certificate ``commitment`` of ``province``."""
        status, reason, changes, block, ts = self._view(
            self.contract.functions.certificateStatus(province, commitment), "certificateStatus"
        )
        return StatusRecord(int(status), int(reason), int(changes), int(block), int(ts))

    # -- events ---------------------------------------------------------------------------

    def iter_events(
        self,
        from_block: int = 0,
        to_block: int | None = None,
        *,
        names: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[ChainEvent]:
        """Yield the contract's events in chain order, reading ``page_size`` blocks per
        ``eth_getLogs`` (raw logs, decoded here), so replay memory stays bounded.

        ``names`` limits the events (by name); ``to_block`` defaults to the latest block.
        """
        last = self.block_number() if to_block is None else to_block
        topics: list[Any] = []
        if names is not None:
            try:
                topics = [[HexBytes(self.codec.event_topics[n]).to_0x_hex() for n in names]]
            except KeyError as exc:
                raise ChainError(f"unknown event {exc.args[0]!r}") from exc
        yield from self._iter_logs(
            topics, from_block, last, page_size or self.options.log_page_size
        )

    def _iter_logs(
        self, topics: list[Any], start: int, last: int, page_size: int
    ) -> Iterator[ChainEvent]:
        """Decoded contract events matching ``topics`` in blocks ``start``–``last``, read
        ``page_size`` blocks per ``eth_getLogs``."""
        for log in self.transport.logs(self.address, topics, start, last, page_size):
            event = self.codec.decode_log(log)
            if event is not None:
                yield event

    def _event(self, result: TxResult, name: str) -> dict[str, Any]:
        for event in result.events:
            if event.name == name:
                return event.args
        raise ChainError(f"transaction {result.transaction_hash} emitted no {name}")


def _code(code: str) -> bytes:
    raw = code.encode("ascii")
    if len(raw) != 13:
        raise ChainError(f"organisation code must be 13 ASCII characters, got {code!r}")
    return raw


__all__ = [
    "ZERO32",
    "AnchorResult",
    "Checkpoint",
    "Organisation",
    "OrganisationKey",
    "Proposal",
    "RegistryClient",
    "StatusChange",
    "StatusRecord",
]
