"""The chain transport: one account's JSON-RPC session with an Ethereum node, below the typed
contract binding (:mod:`anchor.registry`).

Two providers, chosen by URL: ``memory`` is an in-process EVM (eth-tester with py-evm), for
tests and one-shot runs; ``http://…`` / ``https://…`` is any Ethereum JSON-RPC node (anvil here,
Besu / FISCO BCOS / GoQuorum in a deployment).

Transactions come from one account: either a local private key (signed here, sent raw) or an
account the node holds unlocked (sent with ``eth_sendTransaction``). Fees are a fixed gas price,
the legacy ``eth_gasPrice`` on a chain without EIP-1559, or web3's EIP-1559 fields. Nonces are
taken once from the node's pending count and then handed out from a lock-protected counter, so
concurrent threads never reuse or skip one; a nonce error resynchronises the counter from the
node and retries. Transport errors are retried with exponential backoff and then raised as
:class:`node.core.errors.ChainError`; contract reverts are decoded with the ABI
(:mod:`anchor.codec`) into :class:`anchor.errors.ContractRevert`.
"""

from __future__ import annotations

import ast
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import RPCEndpoint

from anchor import keep_recursion_limit
from anchor.codec import AbiCodec, ChainEvent
from anchor.errors import TransactionDropped, TransactionTimeout
from node.core.errors import ChainError

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


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction and the contract events it emitted."""

    transaction_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...]


def connect(url: str, *, timeout: float = 30.0) -> Web3:
    """Return a Web3 for ``url``: ``memory`` (in-process EVM) or an ``http(s)://`` endpoint.

    Raises ChainError for any other URL.
    """
    if url == MEMORY_URL:
        w3 = Web3(EthereumTesterProvider())
        keep_recursion_limit()  # the in-process EVM imports py-evm (see anchor/__init__.py)
        return w3
    if url.startswith(("http://", "https://")):
        provider = HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            # Retries are ours (with backoff and a ChainError at the end), not web3's.
            exception_retry_configuration=None,
        )
        w3 = Web3(provider)
        # Proof-of-authority chains (Clique, and Besu/GoQuorum IBFT/QBFT) put the sealers'
        # signatures in ``extraData``, longer than the 32 bytes web3 accepts otherwise; the
        # middleware moves them to ``proofOfAuthorityData``. Other chains pass unchanged.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        return w3
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
            message = rpc_message(exc)
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


def rpc_message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
    return str(exc)


def revert_bytes(exc: BaseException) -> bytes:
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
            if is_tester_revert(current) and isinstance(first, str):
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


def is_tester_revert(exc: BaseException) -> bool:
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


@dataclass
class ClientOptions:
    """Knobs of a :class:`ChainTransport` and of the
    :class:`~anchor.registry.RegistryClient` over it.

    ``confirmations``: blocks that must hold a transaction (its own included) before a write
    returns, and before a block counts as final for readers (:meth:`ChainTransport.final_block`:
    the head − confirmations + 1); 1 returns as soon as it is mined. A write whose block a
    reorganisation drops while it waits is followed to the block that holds it again, or
    raises :class:`~anchor.errors.TransactionDropped`. ``mine_for_confirmations`` mines empty
    blocks to reach them on development chains (always done for ``memory``). ``gas_price``:
    fixed gas price in wei (0 for a free-gas consortium chain); None lets web3 choose the fee
    fields.
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


class ChainTransport:
    """One account's session with the chain: calls and transactions with retries, managed
    nonces, fees, receipts and confirmations, and raw event logs.

    ``codec`` decodes the reverts of the contract it talks to. The sender is the account of
    ``private_key``, else ``sender`` (unlocked on the node), else the node's first account.
    """

    def __init__(
        self,
        w3: Web3,
        codec: AbiCodec,
        *,
        private_key: str | None = None,
        sender: str | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.w3 = w3
        self.codec = codec
        self.options = options or ClientOptions()
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
        self.sender: ChecksumAddress
        if self._account is not None:
            self.sender = self._account.address
        elif sender is not None:
            self.sender = to_checksum_address(sender)
        else:
            self.sender = self._first_account()
        self._nonces = NonceManager(
            lambda: self.retry(
                lambda: self.w3.eth.get_transaction_count(self.sender, "pending"), "get nonce"
            )
        )

    def retry(self, call: Callable[[], T], what: str) -> T:
        """Return ``call()``, retrying transport errors (:func:`with_retries`) under the
        in-process EVM's lock.

        Raises:
            ContractRevert: the contract refused (decoded with ``codec``).
            ChainError: the chain is unreachable or failed; ``what`` names the request.
        """
        try:
            with self._evm_lock:
                return with_retries(call, what, self.options.retry)
        except ContractLogicError as exc:
            raise self.codec.decode_revert(revert_bytes(exc)) from exc
        except Exception as exc:
            if is_tester_revert(exc):
                raise self.codec.decode_revert(revert_bytes(exc)) from exc
            if isinstance(exc, (Web3Exception, ValueError)):
                raise ChainError(f"{what}: {exc}") from exc
            raise

    def _first_account(self) -> ChecksumAddress:
        accounts = self.retry(lambda: self.w3.eth.accounts, "list accounts")
        if not accounts:
            raise ChainError("the chain has no unlocked account; give a private key")
        return to_checksum_address(accounts[0])

    def call(self, fn: ContractFunction, what: str) -> Any:
        """Return the result of an ``eth_call`` of ``fn`` from the sender; raises as
        :meth:`retry`."""
        return self.retry(lambda: fn.call({"from": self.sender}), what)

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
            latest = self.retry(lambda: self.w3.eth.get_block("latest"), "read the latest block")
            self._legacy_fees = "baseFeePerGas" not in latest
        if self._legacy_fees:
            return {"gasPrice": self.retry(lambda: self.w3.eth.gas_price, "read the gas price")}
        return {}

    def transact(
        self, fn: Any, gas: int | None = None, *, final: bool = True
    ) -> tuple[TxResult, dict[str, Any]]:
        """Estimate, send (with a managed nonce), wait, confirm; return result and receipt.

        ``fn`` is a contract function or constructor call; ``gas`` None estimates it (times
        ``options.gas_margin``). The result's events are decoded with ``codec``. ``final``
        False returns as soon as the transaction is mined (the caller follows it to finality
        with :meth:`await_final`).

        Raises:
            ContractRevert: the contract refused, before sending or once mined.
            TransactionTimeout: not mined or confirmed within ``options.receipt_timeout``.
            TransactionDropped: a reorganisation dropped it while it waited for confirmations.
            ChainError: the chain failed.
        """
        base: dict[str, Any] = {"from": self.sender, **self._fee_fields()}
        if gas is None and self._is_memory() and isinstance(fn, ContractFunction):
            # The in-process EVM: gas is free, and eth-tester estimates by a binary search of
            # whole executions (an anchoring's consistency check ran about ten times, the
            # node's costliest step per checkpoint in bench node). Send a call on the contract
            # with the block's limit: a revert is decoded from the send or by replaying the
            # mined call all the same (a deployment, which cannot be replayed, is estimated).
            gas = self._memory_gas_limit()
        if gas is None:
            estimate = self.retry(lambda: fn.estimate_gas(base), "estimate gas")
            gas = int(estimate * self.options.gas_margin)
        params = {**base, "gas": gas}
        tx_hash = self._send(fn, params)
        receipt = self._wait(tx_hash)
        if int(receipt["status"]) != 1:
            self._raise_mined_revert(fn, params, int(receipt["blockNumber"]), tx_hash)
        if final:
            receipt = self.await_final(tx_hash, receipt, timeout=self.options.receipt_timeout)
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
                raise self.codec.decode_revert(revert_bytes(exc)) from exc
            except ChainError:
                self._nonces.resync()
                raise
            except Exception as exc:
                # A nonce refused by the node (JSON-RPC "nonce too low", or eth-tester's
                # "Invalid transaction nonce"): another sender used the account. Resync from
                # the node's pending count and try again.
                message = rpc_message(exc).lower()
                if any(m in message for m in _NONCE_MESSAGES):
                    self._nonces.resync()
                    if attempt < self.options.nonce_retries:
                        continue
                if is_tester_revert(exc):
                    raise self.codec.decode_revert(revert_bytes(exc)) from exc
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
                    if "already known" in rpc_message(exc).lower():
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

    def final_block(self) -> int:
        """The newest block with ``options.confirmations`` blocks on it (itself included):
        what readers that must not see a reorganisation act on (0 on a younger chain)."""
        return max(0, self.block_number() - self.options.confirmations + 1)

    def canonical_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt of ``tx_hash`` while its block is in the canonical chain; None when the
        node has no receipt, or only one in a block a reorganisation replaced."""
        try:
            receipt = self.retry(
                lambda: self.w3.eth.get_transaction_receipt(HexBytes(tx_hash)), "get receipt"
            )
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return None
            raise
        number = int(receipt["blockNumber"])
        try:
            block = self.retry(lambda: self.w3.eth.get_block(number), "get block")
        except ChainError as exc:
            if isinstance(exc.__cause__, BlockNotFound):
                return None
            raise
        if HexBytes(block["hash"]) != HexBytes(receipt["blockHash"]):
            return None
        return dict(receipt)

    def is_pending(self, tx_hash: str) -> bool:
        """Whether the node holds ``tx_hash`` unmined (in its pool)."""
        try:
            tx = self.retry(
                lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)), "get transaction"
            )
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return False
            raise
        return tx.get("blockNumber") is None

    def resync_nonce(self) -> None:
        """Take the next nonce from the node again (after a reorganisation dropped a
        transaction, the node's count went back)."""
        self._nonces.resync()

    def await_final(
        self, tx_hash: str, receipt: dict[str, Any], *, timeout: float
    ) -> dict[str, Any]:
        """Wait until the transaction's block has ``options.confirmations`` blocks (mining
        them on the in-process EVM and with ``mine_for_confirmations``) and is still canonical;
        return its receipt then. A reorganisation that moved it to another block is followed
        there.

        Raises:
            TransactionDropped: no canonical block holds it any more and the node does not
                hold it unmined either.
            TransactionTimeout: not final within ``timeout`` seconds (``timeout`` 0: one look).
        """
        if self.options.confirmations <= 1:
            return receipt  # final once mined: nothing to wait for or look up again
        deadline = time.monotonic() + timeout
        while True:
            target = int(receipt["blockNumber"]) + self.options.confirmations - 1
            head = self.block_number()
            if head >= target:
                current = self.canonical_receipt(tx_hash)
                if current is not None and int(current["blockNumber"]) == int(
                    receipt["blockNumber"]
                ):
                    return current
                if current is not None:  # mined again in another block: wait for that one
                    receipt = current
                    continue
                if not self.is_pending(tx_hash):
                    raise TransactionDropped(
                        f"transaction {tx_hash} was dropped by a reorganisation", tx_hash
                    )
            if self._is_memory():
                tester: Any = cast(EthereumTesterProvider, self.w3.provider).ethereum_tester
                with self._evm_lock:
                    tester.mine_blocks(max(1, target - head))
                continue
            if self.options.mine_for_confirmations:
                self.retry(
                    lambda: self.w3.provider.make_request(RPCEndpoint("evm_mine"), []), "mine"
                )
                continue
            if time.monotonic() >= deadline:
                raise TransactionTimeout(f"transaction {tx_hash} not confirmed in time", tx_hash)
            time.sleep(self.options.poll_interval)

    def _raise_mined_revert(
        self, fn: Any, params: dict[str, Any], block_number: int, tx_hash: str
    ) -> None:
        """Replay a reverted transaction as a call to get the revert reason; raise it (or a
        plain ChainError when no replay reverts). First on the state before its block; then on
        the state after it, for a revert caused by a transaction earlier in the same block (a
        checkpoint anchored by a resent transaction and by the original, re-broadcast after a
        partition healed, in one block: the second reverts as already anchored)."""
        call = {k: v for k, v in params.items() if k in ("from", "gas")}
        for state in (block_number - 1, block_number):
            try:
                fn.call(call, block_identifier=state)
            except ContractLogicError as exc:
                raise self.codec.decode_revert(revert_bytes(exc)) from exc
            except Exception as exc:
                if is_tester_revert(exc):
                    raise self.codec.decode_revert(revert_bytes(exc)) from exc
        raise ChainError(f"transaction {tx_hash} reverted in block {block_number}")

    def chain_id(self) -> int:
        """The chain id."""
        return int(self.retry(lambda: self.w3.eth.chain_id, "chain id"))

    def block_number(self) -> int:
        """The latest block number."""
        return int(self.retry(lambda: self.w3.eth.block_number, "block number"))

    def logs(
        self, address: str, topics: list[Any], start: int, last: int, page_size: int
    ) -> Iterator[dict[str, Any]]:
        """The raw logs of contract ``address`` matching ``topics`` in blocks ``start``–``last``,
        in chain order, read ``page_size`` blocks per ``eth_getLogs`` request."""
        while start <= last:
            end = min(start + page_size - 1, last)
            params: dict[str, Any] = {
                "address": address,
                "fromBlock": start,
                "toBlock": end,
            }
            if topics:
                params["topics"] = topics
            logs = self.retry(partial(self.w3.eth.get_logs, params), "get logs")  # type: ignore[arg-type]
            for log in logs:
                yield dict(log)
            start = end + 1


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


__all__ = [
    "MEMORY_URL",
    "ChainTransport",
    "ClientOptions",
    "NonceManager",
    "RetryPolicy",
    "TxResult",
    "connect",
    "is_tester_revert",
    "revert_bytes",
    "rpc_message",
    "with_retries",
]
