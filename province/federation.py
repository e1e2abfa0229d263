"""Queries across provinces (互通; docs/SHARING.md "Province to province").

The personal data of a certificate lives only in its issuing province's database, so a province
answering a query about another province's certificate asks that province's node, and for a
query by name and ID number asks every member in parallel. :class:`Federation` does both ends:

- **asking** (:meth:`Federation.ask`): a signed ``POST`` (node/core/formats/federation.py) to
  each province's node at the address ``node.json`` lists for it (``federation.peers``), in
  parallel, each with :attr:`Federation.timeout` seconds; a province that does not answer in
  time, refuses or has no address is named with the reason;
- **being asked** (:meth:`Federation.check`): the signature is checked with the key the asking
  province published on the contract (``memberKey(province, 1)``, read through a cache of
  :attr:`Federation.key_ttl` seconds and read again once when a signature does not verify, so
  a rotated key takes effect at once) and the time within the freshness window; the nonce is
  then recorded (``federation_nonces``, refused when seen before) in the same transaction as
  the access record of the answer (:meth:`node.services.access.AccessLogService.record`), so
  a request is answered at most once and costs one commit.

No secret is shared between provinces, and the answering province applies its own rules and
writes its own access log: it stays the controller of its data.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import urllib3

from anchor.chain import RegistryClient, TxResult
from anchor.member_keys import NODE_API, member_key, set_member_key
from node.core.crypto.signatures import get_suite
from node.core.errors import VerificationError
from node.core.formats.federation import (
    HEADER_NONCE,
    HEADER_PROVINCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    RequestRefused,
    check_fresh,
    parse_headers,
    signing_input,
)

QUERY_PATH: Final = "/v1/federation/query"
DEFAULT_TIMEOUT: Final = 2.0
KEY_TTL: Final = 60.0
_ED25519 = get_suite("ed25519")


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """One province's answer: its JSON body, or why there is none (``unreachable``,
    ``timeout``, ``no_address``, ``not_a_member``, ``refused:<rule>``, ``http_<status>``)."""

    province: str
    body: dict[str, Any] | None = None
    reason: str | None = None


class Federation:
    """This province's end of the province-to-province calls."""

    def __init__(
        self,
        province: str,
        private_key: bytes,
        peers: Mapping[str, str],
        client: RegistryClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        key_ttl: float = KEY_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.province = province
        self._private_key = private_key
        self.public_key = _ED25519.public_key(private_key)
        self.peers = {p: url.rstrip("/") for p, url in peers.items() if p != province}
        self.client = client
        self.timeout = timeout
        self.key_ttl = key_ttl
        self.clock = clock
        self._keys: dict[str, tuple[bytes, float]] = {}
        self._members: tuple[list[str], float] | None = None
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._http = urllib3.PoolManager(num_pools=64, maxsize=8, retries=False)

    def __repr__(self) -> str:
        return f"Federation(province={self.province!r}, peers={sorted(self.peers)})"

    def close(self) -> None:
        """Stop the worker threads and close the connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._http.clear()

    # -- the contract ---------------------------------------------------------------------

    def register(self) -> TxResult:
        """Publish this node's public key as the province's node API key (purpose 1)."""
        return set_member_key(self.client, NODE_API, self.public_key)

    def registered(self) -> bool:
        """Whether the contract holds this node's public key for its province."""
        return member_key(self.client, int(self.province), NODE_API) == self.public_key

    def members(self) -> list[str]:
        """The consortium's members (read through the cache), other than this province."""
        now = self.clock()
        with self._lock:
            cached = self._members
        if cached is None or now - cached[1] > self.key_ttl:
            found = [f"{p:02d}" for p in self.client.members()]
            with self._lock:
                self._members = (found, now)
            cached = (found, now)
        return sorted(p for p in cached[0] if p != self.province)

    def key_of(self, province: str, *, fresh: bool = False) -> bytes:
        """The node API key ``province`` published (cached; ``fresh`` reads the contract).

        Raises:
            RequestRefused: ``Certreg-Province`` / ``federation.unknown_province`` (none
                published: not a member, or it withdrew its key).
            ChainError: the contract could not be read.
        """
        now = self.clock()
        with self._lock:
            cached = self._keys.get(province)
        if fresh or cached is None or now - cached[1] > self.key_ttl:
            key = member_key(self.client, int(province), NODE_API)
            with self._lock:
                self._keys[province] = (key, now)
        else:
            key = cached[0]
        if len(key) != 32:
            raise RequestRefused(
                HEADER_PROVINCE,
                "federation.unknown_province",
                f"province {province} has no node API key on the contract",
            )
        return key

    # -- asking ---------------------------------------------------------------------------

    def headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        """The four signed headers of one request."""
        timestamp = int(self.clock())
        nonce = secrets.token_hex(16)
        message = signing_input(method, target, body, self.province, timestamp, nonce)
        return {
            HEADER_PROVINCE: self.province,
            HEADER_TIME: str(timestamp),
            HEADER_NONCE: nonce,
            HEADER_SIGNATURE: _ED25519.sign(self._private_key, message).hex(),
            "Content-Type": "application/json",
        }

    def ask(
        self, provinces: Iterable[str], body: Mapping[str, Any], path: str = QUERY_PATH
    ) -> dict[str, Answer]:
        """``POST`` ``body`` to each province's node in parallel; return each answer (or why
        there is none) by province. Never raises for a province that fails."""
        wanted = [p for p in dict.fromkeys(provinces) if p != self.province]
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answers: dict[str, Answer] = {}
        futures: dict[str, concurrent.futures.Future[Answer]] = {}
        reachable = [p for p in wanted if p in self.peers]
        for province in wanted:
            if province not in self.peers:
                answers[province] = Answer(province, reason="no_address")
        if len(reachable) == 1:  # one province (a certificate number): no thread hop
            [province] = reachable
            answers[province] = self._post(province, self.peers[province] + path, path, data)
            return answers
        pool = self._executor()
        for province in reachable:
            url = self.peers[province]
            futures[province] = pool.submit(self._post, province, url + path, path, data)
        for province, future in futures.items():
            try:
                answers[province] = future.result(timeout=self.timeout + 1.0)
            except concurrent.futures.TimeoutError:
                answers[province] = Answer(province, reason="timeout")
        return answers

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=max(2, min(32, len(self.peers))), thread_name_prefix="federation"
                )
            return self._pool

    def _post(self, province: str, url: str, path: str, data: bytes) -> Answer:
        try:
            reply = self._http.request(
                "POST",
                url,
                body=data,
                headers=self.headers("POST", path, data),
                timeout=urllib3.Timeout(total=self.timeout),
            )
        except urllib3.exceptions.NewConnectionError:  # (a ConnectTimeoutError subclass)
            return Answer(province, reason="unreachable")
        except urllib3.exceptions.TimeoutError:
            return Answer(province, reason="timeout")
        except urllib3.exceptions.HTTPError:
            return Answer(province, reason="unreachable")
        try:
            value = json.loads(reply.data)
        except ValueError:
            value = None
        if reply.status == 200 and isinstance(value, dict):
            return Answer(province, body=value)
        if isinstance(value, dict) and isinstance(value.get("rule"), str):
            return Answer(province, reason=f"refused:{value['rule']}")
        return Answer(province, reason=f"http_{reply.status}")

    # -- being asked ------------------------------------------------------------------------

    def check(
        self,
        method: str,
        target: str,
        body: bytes,
        headers: Mapping[str, str | None],
    ) -> tuple[str, bytes]:
        """Check a signed request's form, time and signature; return the asking province and
        the request's nonce (to be recorded with its answer: ``federation.replay`` then).

        Raises:
            InvalidInput: ``federation.headers`` (missing or malformed headers),
                ``federation.stale`` (signed too far from this node's time).
            RequestRefused: ``federation.unknown_province``, ``federation.signature`` (does not
                verify with the province's published key), ``federation.self`` (this
                province's own key).
            ChainError: the contract could not be read.
        """
        province, timestamp, nonce, signature = parse_headers(
            headers.get(HEADER_PROVINCE),
            headers.get(HEADER_TIME),
            headers.get(HEADER_NONCE),
            headers.get(HEADER_SIGNATURE),
        )
        if province == self.province:
            raise RequestRefused(
                HEADER_PROVINCE, "federation.self", "a province does not ask itself"
            )
        check_fresh(timestamp, self.clock())
        message = signing_input(method, target, body, province, timestamp, nonce)
        try:
            _ED25519.verify(self.key_of(province), message, signature)
        except VerificationError:
            try:  # the province may have rotated its key since it was cached
                _ED25519.verify(self.key_of(province, fresh=True), message, signature)
            except VerificationError:
                raise RequestRefused(
                    HEADER_SIGNATURE,
                    "federation.signature",
                    f"the signature does not verify with province {province}'s published key",
                ) from None
        return province, bytes.fromhex(nonce)
