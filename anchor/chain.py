"""The chain client: deploys, reads and writes the consortium contract through web3.py.

Two providers, chosen by URL: ``memory`` is an in-process EVM (eth-tester with py-evm), for
tests and one-shot runs; ``http://…`` / ``https://…`` is any Ethereum JSON-RPC node (anvil here,
Besu / FISCO BCOS / GoQuorum in a deployment).

Transactions come from one account: either a local private key (signed here, sent raw) or an
account the node holds unlocked (sent with ``eth_sendTransaction``). Nonces are taken once from
the node's pending count and then handed out from a lock-protected counter, so concurrent threads
never reuse or skip one; a nonce error resynchronises the counter from the node and retries.
Transport errors are retried with exponential backoff and then raised as
:class:`node.core.errors.ChainError`; contract reverts are decoded from the ABI's error selectors
into
:class:`anchor.errors.ContractRevert`.
"""

from __future__ import annotations

import ast
import json
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3Exception,
    Web3RPCError,
)
from web3.types import RPCEndpoint

from anchor.errors import CheckpointNotFound, ContractRevert, TransactionTimeout
from node.core.errors import ChainError

ARTIFACT_PATH = (
    Path(__file__).resolve().parent.parent / "contracts" / "artifacts" / "CertificateRegistry.json"
)
ZERO32 = b"\x00" * 32
MEMORY_URL = "memory"

T = TypeVar("T")

# Transport failures worth retrying: the node did not answer, or answered garbage at the HTTP
# level. JSON-RPC errors (the node answered and refused) are not retried here.
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    ProviderConnectionError,
    ConnectionError,
)
_TRANSIENT_RPC = ("BlockOutOfRangeError", "header not found")
_NONCE_MESSAGES = (
    "nonce too low",
    "nonce too high",
    "invalid nonce",
    "invalid transaction nonce",
    "already known",
)


# ---------------------------------------------------------------------------------------------
# Artifact and ABI decoding


@dataclass(frozen=True)
class Artifact:
    """The compiled contract: ABI, creation bytecode and compiler pin."""

    abi: list[dict[str, Any]]
    bytecode: str
    compiler: dict[str, Any]


def load_artifact(path: Path = ARTIFACT_PATH) -> Artifact:
    """Return the committed artifact of ``CertificateRegistry``.

    Raises ChainError when the file is missing or not an artifact.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Artifact(abi=data["abi"], bytecode=data["bytecode"], compiler=data["compiler"])
    except (OSError, ValueError, KeyError) as exc:
        raise ChainError(f"cannot read contract artifact {path}: {exc}") from exc


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def _normalise(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if kind == "address[]":
        return [to_checksum_address(v) for v in value]
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class _AbiItem:
    name: str
    params: tuple[tuple[str, str, bool], ...]  # (name, type, indexed)


class AbiCodec:
    """Decodes revert data and raw logs with a contract ABI."""

    def __init__(self, abi: Sequence[dict[str, Any]]) -> None:
        self.errors: dict[bytes, _AbiItem] = {}
        self.events: dict[bytes, _AbiItem] = {}
        self.event_topics: dict[str, bytes] = {}
        for item in abi:
            if item["type"] not in ("error", "event"):
                continue
            params = tuple(
                (str(p["name"]), _abi_type(p), bool(p.get("indexed", False)))
                for p in item["inputs"]
            )
            signature = f"{item['name']}({','.join(t for _, t, _ in params)})"
            parsed = _AbiItem(str(item["name"]), params)
            if item["type"] == "error":
                self.errors[keccak(text=signature)[:4]] = parsed
            else:
                topic = keccak(text=signature)
                self.events[topic] = parsed
                self.event_topics[parsed.name] = topic
        self.errors[bytes.fromhex("08c379a0")] = _AbiItem("Error", (("message", "string", False),))
        self.errors[bytes.fromhex("4e487b71")] = _AbiItem("Panic", (("code", "uint256", False),))

    def decode_revert(self, data: bytes) -> ContractRevert:
        """Return the typed exception for revert ``data`` (never raises)."""
        item = self.errors.get(data[:4])
        if item is None:
            return ContractRevert("", {}, data)
        try:
            values = abi_decode([t for _, t, _ in item.params], data[4:])
        except Exception:  # Malformed revert data: report it undecoded.
            return ContractRevert("", {}, data)
        args = {n: _normalise(t, v) for (n, t, _), v in zip(item.params, values, strict=True)}
        return ContractRevert(item.name, args, data)

    def decode_log(self, log: dict[str, Any]) -> ChainEvent | None:
        """Return the decoded event of a raw log entry, or None for an unknown topic."""
        topics = [HexBytes(t) for t in log["topics"]]
        if not topics:
            return None
        item = self.events.get(bytes(topics[0]))
        if item is None:
            return None
        indexed = [(n, t) for n, t, i in item.params if i]
        plain = [(n, t) for n, t, i in item.params if not i]
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(indexed, topics[1:], strict=True):
            args[name] = _normalise(kind, abi_decode([kind], bytes(topic))[0])
        values = abi_decode([t for _, t in plain], bytes(HexBytes(log["data"])))
        for (name, kind), value in zip(plain, values, strict=True):
            args[name] = _normalise(kind, value)
        return ChainEvent(
            name=item.name,
            args=args,
            block_number=_to_int(log["blockNumber"]),
            transaction_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
            log_index=_to_int(log["logIndex"]),
        )


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value)


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event."""

    name: str
    args: dict[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction and the contract events it emitted."""

    transaction_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...]


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


# ---------------------------------------------------------------------------------------------
# Connection, retries and nonces


def connect(url: str, *, timeout: float = 30.0) -> Web3:
    """Return a Web3 for ``url``: ``memory`` (in-process EVM) or an ``http(s)://`` endpoint.

    Raises ChainError for any other URL.
    """
    if url == MEMORY_URL:
        return Web3(EthereumTesterProvider())
    if url.startswith(("http://", "https://")):
        provider = HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            # Retries are ours (with backoff and a ChainError at the end), not web3's.
            exception_retry_configuration=None,
        )
        return Web3(provider)
    raise ChainError(f"unsupported chain URL {url!r}: use 'memory' or http(s)://")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transport errors: ``attempts`` tries in all, waiting
    ``initial_delay`` seconds after the first failure and doubling up to ``max_delay``."""

    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0


def with_retries(call: Callable[[], T], what: str, policy: RetryPolicy) -> T:
    """Run ``call``, retrying transport errors with exponential backoff.

    Raises ChainError (from the last transport error) when every attempt failed; other
    exceptions propagate unchanged.
    """
    delay = policy.initial_delay
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except _TRANSPORT_ERRORS as exc:
            if attempt == policy.attempts:
                raise ChainError(f"{what}: chain unreachable after {attempt} tries") from exc
        except Web3RPCError as exc:
            # A node that keeps only recent state (anvil --prune-history) may refuse a call at a
            # block that was the latest a moment ago; asking again is the fix.
            message = _rpc_message(exc)
            if attempt == policy.attempts or not any(m in message for m in _TRANSIENT_RPC):
                raise
        time.sleep(delay)
        delay = min(delay * 2, policy.max_delay)
    raise AssertionError("unreachable")


class NonceManager:
    """Hands out consecutive nonces for one account, safe across threads.

    The first nonce (and every nonce after :meth:`resync`) is the node's pending transaction
    count, so a restarted process continues where the last one stopped, its pending
    transactions included.
    """

    def __init__(self, fetch_pending: Callable[[], int]) -> None:
        self._fetch_pending = fetch_pending
        self._lock = threading.Lock()
        self._next: int | None = None

    def send(self, send_with_nonce: Callable[[int], T]) -> T:
        """Call ``send_with_nonce(nonce)`` under the lock; the nonce is used up only when it
        returns. Holding the lock while sending keeps the node receiving nonces in order."""
        with self._lock:
            if self._next is None:
                self._next = self._fetch_pending()
            result = send_with_nonce(self._next)
            self._next += 1
            return result

    def resync(self) -> None:
        """Forget the local counter; the next send asks the node again."""
        with self._lock:
            self._next = None


def _rpc_message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
    return str(exc)


def _revert_bytes(exc: BaseException) -> bytes:
    """Return the revert data carried by ``exc``: a JSON-RPC node puts it (hex) in
    ``ContractLogicError.data``; eth-tester raises its own ``TransactionFailed`` whose context
    holds the raw bytes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ContractLogicError):
            data: Any = current.data
            if isinstance(data, dict):
                data = data.get("data")
            if isinstance(data, str) and data.startswith("0x"):
                try:
                    return bytes.fromhex(data[2:])
                except ValueError:
                    return b""
        elif current.args:
            first = current.args[0]
            if isinstance(first, BaseException) and first.args:
                first = first.args[0]
            if isinstance(first, bytes):
                return first
            if _is_tester_revert(current) and isinstance(first, str):
                # eth-tester sometimes carries the revert data only as the repr of the bytes.
                text = first.removeprefix("execution reverted: ")
                if text.startswith(("b'", 'b"')):
                    try:
                        value = ast.literal_eval(text)
                    except (ValueError, SyntaxError):
                        value = None
                    if isinstance(value, bytes):
                        return value
        current = current.__cause__ or current.__context__
    return b""


def _is_tester_revert(exc: BaseException) -> bool:
    """Whether ``exc`` is (or was raised while handling) eth-tester's ``TransactionFailed``.

    web3's eth-tester provider decodes revert data as an ``Error(string)`` and, for a custom
    error, may fail with an unrelated exception; the original stays in the context chain.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        if kind.__name__ == "TransactionFailed" and kind.__module__.startswith("eth_tester"):
            return True
        current = current.__cause__ or current.__context__
    return False


# ---------------------------------------------------------------------------------------------
# The client


@dataclass
class ClientOptions:
    """Knobs of :class:`RegistryClient`.

    ``confirmations``: blocks that must hold a transaction (its own included) before a write
    returns; 1 returns as soon as it is mined. ``mine_for_confirmations`` mines empty blocks to
    reach them on development chains (always done for ``memory``). ``gas_price``: fixed gas
    price in wei (0 for a free-gas consortium chain); None lets web3 choose the fee fields.
    ``log_page_size``: blocks per ``eth_getLogs`` request. ``from_block``: where searches of
    the event log for a checkpoint start (the deployment block saves scanning older blocks).
    """

    confirmations: int = 1
    receipt_timeout: float = 120.0
    poll_interval: float = 0.05
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    gas_price: int | None = None
    gas_margin: float = 1.2
    log_page_size: int = 2_000
    from_block: int = 0
    mine_for_confirmations: bool = False
    nonce_retries: int = 3


class RegistryClient:
    """Reads and writes one deployed ``CertificateRegistry``.

    Build it with :meth:`connect` (an existing deployment) or :meth:`deploy`. Every write
    returns a :class:`TxResult` once the transaction has the configured confirmations and
    raises :class:`ContractRevert` when the contract refuses it (decoded before sending, by gas
    estimation, or after mining by replaying the call) and :class:`ChainError` when the chain
    fails.
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
        self.w3 = w3
        self.options = options or ClientOptions()
        self.artifact = artifact or load_artifact()
        self.codec = AbiCodec(self.artifact.abi)
        self.address = to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self._legacy_fees: bool | None = None  # decided on the first transaction
        self._gas_limit: int | None = None  # the in-process EVM's block gas limit
        # eth-tester's in-process EVM is not thread-safe (a gas estimate racing a mined block
        # sees a stale nonce), so every request to it is serialised; JSON-RPC nodes need no lock.
        self._evm_lock: AbstractContextManager[Any] = (
            _evm_lock_for(w3) if isinstance(w3.provider, EthereumTesterProvider) else nullcontext()
        )
        self._account: LocalAccount | None = (
            Account.from_key(private_key) if private_key is not None else None
        )
        if self._account is not None:
            self.sender = self._account.address
        elif sender is not None:
            self.sender = to_checksum_address(sender)
        else:
            self.sender = self._first_account()
        self._nonces = NonceManager(
            lambda: self._retry(
                lambda: self.w3.eth.get_transaction_count(self.sender, "pending"), "get nonce"
            )
        )

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
    def deploy(
        cls,
        w3: Web3,
        founders: Sequence[tuple[int, str]],
        *,
        private_key: str | None = None,
        sender: str | None = None,
        options: ClientOptions | None = None,
        artifact: Artifact | None = None,
    ) -> tuple[RegistryClient, TxResult]:
        """Deploy the contract with ``founders`` ((province, operator address) pairs; repeat a
        province for several operators) and return its client and the deployment result.

        Raises ContractRevert for invalid founders, ChainError when the chain fails.
        """
        art = artifact or load_artifact()
        provinces = [int(p) for p, _ in founders]
        operators = [to_checksum_address(a) for _, a in founders]
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        # A client with a placeholder address does the sending (nonce, fees, receipt).
        client = cls(
            w3,
            "0x" + "00" * 20,
            private_key=private_key,
            sender=sender,
            options=options,
            artifact=art,
        )
        result, receipt = client._transact(factory.constructor(provinces, operators))
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError("deployment mined without a contract address")
        client.address = to_checksum_address(address)
        client.contract = w3.eth.contract(address=client.address, abi=art.abi)
        return client, result

    # -- plumbing -------------------------------------------------------------------------

    def _retry(self, call: Callable[[], T], what: str) -> T:
        try:
            with self._evm_lock:
                return with_retries(call, what, self.options.retry)
        except ContractLogicError as exc:
            raise self.codec.decode_revert(_revert_bytes(exc)) from exc
        except Exception as exc:
            if _is_tester_revert(exc):
                raise self.codec.decode_revert(_revert_bytes(exc)) from exc
            if isinstance(exc, (Web3Exception, ValueError)):
                raise ChainError(f"{what}: {exc}") from exc
            raise

    def _first_account(self) -> str:
        accounts = self._retry(lambda: self.w3.eth.accounts, "list accounts")
        if not accounts:
            raise ChainError("the chain has no unlocked account; give a private key")
        return to_checksum_address(accounts[0])

    def _call(self, fn: ContractFunction, what: str) -> Any:
        return self._retry(lambda: fn.call({"from": self.sender}), what)

    def _is_memory(self) -> bool:
        return isinstance(self.w3.provider, EthereumTesterProvider)

    def _memory_gas_limit(self) -> int:
        if self._gas_limit is None:
            self._gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        return self._gas_limit

    def _fee_fields(self) -> dict[str, Any]:
        """The fee fields of a transaction: the fixed ``gas_price`` when one is configured;
        on a chain without EIP-1559 (no ``baseFeePerGas`` in its blocks: pre-London rules, as
        some Besu and FISCO BCOS networks run) the chain's legacy ``eth_gasPrice``; otherwise
        none, so web3 fills the EIP-1559 fields."""
        if self.options.gas_price is not None:
            return {"gasPrice": self.options.gas_price}
        if self._legacy_fees is None:
            latest = self._retry(lambda: self.w3.eth.get_block("latest"), "read the latest block")
            self._legacy_fees = "baseFeePerGas" not in latest
        if self._legacy_fees:
            return {"gasPrice": self._retry(lambda: self.w3.eth.gas_price, "read the gas price")}
        return {}

    def _transact(self, fn: Any, gas: int | None = None) -> tuple[TxResult, dict[str, Any]]:
        """Estimate, send (with a managed nonce), wait, confirm; return result and receipt."""
        base: dict[str, Any] = {"from": self.sender, **self._fee_fields()}
        if gas is None and self._is_memory() and isinstance(fn, ContractFunction):
            # The in-process EVM: gas is free, and eth-tester estimates by a binary search of
            # whole executions (an anchoring's consistency check ran about ten times, the
            # node's costliest step per checkpoint in bench node). Send a call on the contract
            # with the block's limit: a revert is decoded from the send or by replaying the
            # mined call all the same (a deployment, which cannot be replayed, is estimated).
            gas = self._memory_gas_limit()
        if gas is None:
            estimate = self._retry(lambda: fn.estimate_gas(base), "estimate gas")
            gas = int(estimate * self.options.gas_margin)
        params = {**base, "gas": gas}
        tx_hash = self._send(fn, params)
        receipt = self._wait(tx_hash)
        if int(receipt["status"]) != 1:
            self._raise_mined_revert(fn, params, int(receipt["blockNumber"]), tx_hash)
        self._confirm(int(receipt["blockNumber"]), tx_hash)
        events = tuple(
            e
            for e in (self.codec.decode_log(dict(log)) for log in receipt["logs"])
            if e is not None
        )
        result = TxResult(
            transaction_hash=tx_hash,
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=events,
        )
        return result, dict(receipt)

    def _send(self, fn: Any, params: dict[str, Any]) -> str:
        for attempt in range(self.options.nonce_retries + 1):
            try:
                with self._evm_lock:
                    return self._nonces.send(lambda nonce: self._send_once(fn, params, nonce))
            except ContractLogicError as exc:
                raise self.codec.decode_revert(_revert_bytes(exc)) from exc
            except ChainError:
                self._nonces.resync()
                raise
            except Exception as exc:
                # A nonce refused by the node (JSON-RPC "nonce too low", or eth-tester's
                # "Invalid transaction nonce"): another sender used the account. Resync from
                # the node's pending count and try again.
                message = _rpc_message(exc).lower()
                if any(m in message for m in _NONCE_MESSAGES):
                    self._nonces.resync()
                    if attempt < self.options.nonce_retries:
                        continue
                if _is_tester_revert(exc):
                    raise self.codec.decode_revert(_revert_bytes(exc)) from exc
                if isinstance(exc, (Web3Exception, ValueError)) or type(exc).__module__.startswith(
                    ("eth_utils", "eth_tester", "eth.")
                ):
                    raise ChainError(f"send transaction: {message}") from exc
                raise
        raise AssertionError("unreachable")

    def _send_once(self, fn: Any, params: dict[str, Any], nonce: int) -> str:
        tx = fn.build_transaction({**params, "nonce": nonce})
        if self._account is not None:
            signed = self._account.sign_transaction(tx)
            raw = signed.raw_transaction
            # A signed transaction has a known hash, so resending it after a transport error
            # is idempotent ("already known" means the first send arrived).
            local_hash = HexBytes(signed.hash).to_0x_hex()

            def send_raw() -> str:
                try:
                    return HexBytes(self.w3.eth.send_raw_transaction(raw)).to_0x_hex()
                except Web3RPCError as exc:
                    if "already known" in _rpc_message(exc).lower():
                        return local_hash
                    raise

            return with_retries(send_raw, "send transaction", self.options.retry)
        # An unlocked account: the node signs. Not retried on transport errors, since a lost
        # answer cannot tell whether the node took the transaction; the counter is resynced
        # from the node's pending count before the next send.
        try:
            return HexBytes(self.w3.eth.send_transaction(tx)).to_0x_hex()
        except _TRANSPORT_ERRORS as exc:
            raise ChainError("send transaction: chain unreachable") from exc

    def _wait(self, tx_hash: str) -> dict[str, Any]:
        try:
            with self._evm_lock:
                receipt = self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash),
                    timeout=self.options.receipt_timeout,
                    poll_latency=self.options.poll_interval,
                )
        except TimeExhausted as exc:
            raise TransactionTimeout(f"transaction {tx_hash} not mined in time", tx_hash) from exc
        except _TRANSPORT_ERRORS as exc:
            raise ChainError(f"wait for {tx_hash}: chain unreachable") from exc
        except Web3Exception as exc:
            raise ChainError(f"wait for {tx_hash}: {exc}") from exc
        return dict(receipt)

    def _confirm(self, block_number: int, tx_hash: str) -> None:
        target = block_number + self.options.confirmations - 1
        deadline = time.monotonic() + self.options.receipt_timeout
        while True:
            head = self._retry(lambda: self.w3.eth.block_number, "block number")
            if head >= target:
                return
            if self._is_memory():
                tester: Any = cast(EthereumTesterProvider, self.w3.provider).ethereum_tester
                with self._evm_lock:
                    tester.mine_blocks(target - head)
                continue
            if self.options.mine_for_confirmations:
                self._retry(
                    lambda: self.w3.provider.make_request(RPCEndpoint("evm_mine"), []), "mine"
                )
                continue
            if time.monotonic() > deadline:
                raise TransactionTimeout(f"transaction {tx_hash} not confirmed in time", tx_hash)
            time.sleep(self.options.poll_interval)

    def _raise_mined_revert(
        self, fn: Any, params: dict[str, Any], block_number: int, tx_hash: str
    ) -> None:
        """Replay a reverted transaction as a call on the state before its block to get the
        revert reason; raise it (or a plain ChainError when the replay passes)."""
        call = {k: v for k, v in params.items() if k in ("from", "gas")}
        try:
            fn.call(call, block_identifier=block_number - 1)
        except ContractLogicError as exc:
            raise self.codec.decode_revert(_revert_bytes(exc)) from exc
        except Exception as exc:
            if _is_tester_revert(exc):
                raise self.codec.decode_revert(_revert_bytes(exc)) from exc
        raise ChainError(f"transaction {tx_hash} reverted in block {block_number}")

    def write(self, function: str, *args: Any, gas: int | None = None) -> TxResult:
        """Send a transaction calling contract function ``function`` with ``args``."""
        fn = getattr(self.contract.functions, function)(*args)
        result, _ = self._transact(fn, gas)
        return result

    # -- chain facts ----------------------------------------------------------------------

    def chain_id(self) -> int:
        """The chain id."""
        return int(self._retry(lambda: self.w3.eth.chain_id, "chain id"))

    def block_number(self) -> int:
        """The latest block number."""
        return int(self._retry(lambda: self.w3.eth.block_number, "block number"))

    # -- membership -----------------------------------------------------------------------

    def members(self) -> list[int]:
        """The current members' province codes."""
        return [int(p) for p in self._call(self.contract.functions.members(), "members")]

    def is_member(self, province: int) -> bool:
        """Whether ``province`` is a member."""
        return bool(self._call(self.contract.functions.isMember(province), "isMember"))

    def operators_of(self, province: int) -> list[str]:
        """The operator accounts of ``province``."""
        ops = self._call(self.contract.functions.operatorsOf(province), "operatorsOf")
        return [to_checksum_address(a) for a in ops]

    def province_of(self, account: str) -> int:
        """The province ``account`` operates for, or 0."""
        fn = self.contract.functions.provinceOf(to_checksum_address(account))
        return int(self._call(fn, "provinceOf"))

    def proposal(self, proposal_id: int) -> Proposal:
        """Proposal ``proposal_id``; raises ContractRevert when it does not exist."""
        kind, province, ops, proposer, expires, executed = self._call(
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
        return int(self._call(self.contract.functions.proposalCount(), "proposalCount"))

    def has_approved(self, proposal_id: int, province: int) -> bool:
        """Whether member ``province`` approved proposal ``proposal_id``."""
        fn = self.contract.functions.hasApproved(proposal_id, province)
        return bool(self._call(fn, "hasApproved"))

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
        province, status, scope, count, successor = self._call(
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
        suite, key, valid_from, valid_until = self._call(
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
    ) -> AnchorResult:
        """Anchor checkpoint ``(size, root)`` in the sender's province log.

        Idempotent: when this exact checkpoint is already anchored (a retry after a lost
        answer, even after later checkpoints), return its index with ``tx=None`` instead of
        failing. Raises ContractRevert for a shrinking, conflicting or inconsistent checkpoint.
        """
        try:
            result = self.write(
                "anchor", size, root, list(consistency_proof), manifest_cid, gas=gas
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

    def checkpoint_count(self, province: int) -> int:
        """Number of checkpoints of ``province``."""
        fn = self.contract.functions.checkpointCount(province)
        return int(self._call(fn, "checkpointCount"))

    def root_at(self, province: int, size: int) -> bytes | None:
        """The root ``province`` anchored for tree size ``size``, or None."""
        root = bytes(self._call(self.contract.functions.rootAt(province, size), "rootAt"))
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
            index, size, root, block, ts = self._call(
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
            block = self._retry(partial(self.w3.eth.get_block, event.block_number), "get block")
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
        return bool(self._call(fn, "isAnchored"))

    def verify_inclusion(
        self, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
    ) -> bool:
        """The contract's RFC 9162 inclusion check (an eth_call, nothing mined)."""
        fn = self.contract.functions.verifyInclusion(leaf_hash, index, tree_size, list(proof), root)
        return bool(self._call(fn, "verifyInclusion"))

    def verify_consistency(
        self, size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
    ) -> bool:
        """The contract's RFC 9162 consistency check (an eth_call, nothing mined)."""
        fn = self.contract.functions.verifyConsistency(size1, size2, root1, root2, list(proof))
        return bool(self._call(fn, "verifyConsistency"))

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
        status, reason, changes, block, ts = self._call(
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
        while start <= last:
            end = min(start + page_size - 1, last)
            params: dict[str, Any] = {
                "address": self.address,
                "fromBlock": start,
                "toBlock": end,
            }
            if topics:
                params["topics"] = topics
            logs = self._retry(partial(self.w3.eth.get_logs, params), "get logs")  # type: ignore[arg-type]
            for log in logs:
                event = self.codec.decode_log(dict(log))
                if event is not None:
                    yield event
            start = end + 1

    def _event(self, result: TxResult, name: str) -> dict[str, Any]:
        for event in result.events:
            if event.name == name:
                return event.args
        raise ChainError(f"transaction {result.transaction_hash} emitted no {name}")


_EVM_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_EVM_LOCKS_GUARD = threading.Lock()


def _evm_lock_for(w3: Web3) -> threading.RLock:
    """The one lock of an in-process EVM, shared by every client of that Web3's provider."""
    with _EVM_LOCKS_GUARD:
        lock = _EVM_LOCKS.get(w3.provider)
        if lock is None:
            lock = threading.RLock()
            _EVM_LOCKS[w3.provider] = lock
        return lock


def _code(code: str) -> bytes:
    raw = code.encode("ascii")
    if len(raw) != 13:
        raise ChainError(f"organisation code must be 13 ASCII characters, got {code!r}")
    return raw
