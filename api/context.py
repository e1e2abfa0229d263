"""What every endpoint shares: the node, the settings, the rate limiter, the snapshot cache and
the bulk job runner, plus the FastAPI dependencies that read them and the caller's key."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.auth import PUBLIC, Principal, bearer_token, principal_of
from api.cache import BoundedCache
from api.jobs import JobRunner
from api.problems import Problem
from api.ratelimit import DatabaseRateLimiter, FailureCounter, RateLimiter
from api.snapshots import CheckpointKey, SnapshotCache
from node.core.formats.trust import TrustRootFile
from province.node import ProvinceNode

KIB = 1024
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclasses.dataclass(frozen=True, slots=True)
class ApiSettings:
    """Knobs of the API, read once by ``certreg serve`` and passed to ``create_app``.

    ``search_rate`` / ``search_burst``: the token bucket of the two-of-three queries (search
    and holder reads), per client address and per key. ``holder_failures_per_day``: failed
    matches allowed per certificate number and China day on the holder's reads, whoever
    asks (:mod:`api.holder`). ``federation_rate`` / ``federation_burst``: the token bucket of
    each other province's signed queries (:mod:`api.federation`). ``max_body_bytes`` /
    ``max_bulk_bytes``: request size limits (413). ``clock``: unix seconds, the default
    verification time of ``POST /v1/verify``. ``static_dir``: the web page's folder.
    ``cache_entries``: the size of each cache of immutable responses (bundles, inclusion
    proofs; :mod:`api.cache`), 0 for none. ``verify_rate`` / ``verify_burst``: the token bucket
    of ``POST /v1/verify`` (signature checks for anyone) per client address.
    ``trusted_proxies``: addresses or networks (``10.0.0.0/8``) of the reverse proxies whose
    ``X-Forwarded-For`` names the client; from any other peer the header is ignored (it would
    give every spoofed value a fresh bucket). ``bulk_workers``: bulk jobs run at once;
    ``spool_dir``: where uploads are streamed before they go into their job's row (default:
    the system's temporary folder); ``job_lease_seconds``: how long an API process's claim on a
    bulk job lasts without its heartbeat (another process takes a job over after that,
    :mod:`api.jobs`). ``shared_limits``: keep the token buckets in the database on SQLite too
    (several API processes over one SQLite file, ``certreg serve --workers N``); on PostgreSQL
    they always are.
    ``trust_root``: the network's trust-root file (docs/FORMATS.md "Trust roots"): served next
    to the page (``/static/trust-root.json``, which the page pins) and checked against the
    node's network by ``POST /v1/verify``. ``checkpoint_key``: the file (hex) of the node's
    checkpoint-signing private key (member key purpose 2, of suite ``checkpoint_suite``; default:
    the ``witness`` key of ``node.json``): with it ``GET /v1/snapshot`` is signed by this node
    and cosigned by the federation peers that agree, and the node cosigns its peers' snapshots
    (``POST /v1/snapshot/cosign``). ``resign_seconds``: how long a signed snapshot is served
    while the chain does not move.
    """

    search_rate: float = 1.0
    search_burst: int = 10
    holder_failures_per_day: int = 5
    federation_rate: float = 100.0
    federation_burst: int = 500
    max_body_bytes: int = 64 * KIB
    max_bulk_bytes: int = 16 * KIB * KIB
    clock: Callable[[], float] = time.time
    static_dir: Path = Path(__file__).resolve().parent / "static"
    cache_entries: int = 2048
    verify_rate: float = 5.0
    verify_burst: int = 30
    trusted_proxies: tuple[str, ...] = ()
    bulk_workers: int = 2
    spool_dir: Path | None = None
    job_lease_seconds: float = 30.0
    trust_root: Path | None = None
    checkpoint_key: Path | None = None
    checkpoint_suite: str = "ed25519"
    resign_seconds: float = 600.0
    shared_limits: bool = False


class ApiContext:
    """The app's shared parts (one per app, on ``app.state.context``)."""

    def __init__(self, node: ProvinceNode, settings: ApiSettings) -> None:
        self.node = node
        self.settings = settings
        # Token buckets: in the database on PostgreSQL (shared by every API process on it), in
        # this process's memory on SQLite (one API process per node; docs/OPERATIONS.md) unless
        # several processes share the file (``shared_limits``).
        self.limits_in_database = node.db.dialect == "postgresql" or settings.shared_limits
        limiter = _database_limiter(node) if self.limits_in_database else _memory_limiter
        self.search_limiter = limiter("search", settings.search_rate, settings.search_burst)
        self.holder_failures = FailureCounter(node.db, settings.holder_failures_per_day)
        self.federation_limiter = limiter(
            "federation", settings.federation_rate, settings.federation_burst
        )
        self.verify_limiter = limiter("verify", settings.verify_rate, settings.verify_burst)
        #: The current root of ``settings.trust_root`` (its chain checked once, at start).
        self.trust_root = (
            None
            if settings.trust_root is None
            else TrustRootFile.from_text(settings.trust_root.read_bytes()).verify()
        )
        self.proxies = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies
        )
        # ``--checkpoint-key FILE``, else the witness key of the node's ``node.json``.
        if settings.checkpoint_key is not None:
            key: CheckpointKey | None = CheckpointKey.from_file(
                node.province, settings.checkpoint_suite, settings.checkpoint_key
            )
        elif node.checkpoint_key is not None:
            key = CheckpointKey(node.province, *node.checkpoint_key)
        else:
            key = None
        self.snapshots = SnapshotCache(
            node.client,
            calendar=node.calendar,
            clock=settings.clock,
            key=key,
            federation=node.federation,
            resign_seconds=settings.resign_seconds,
            store=node.store,
        )
        self.jobs = JobRunner(
            node.db,
            node.intake,
            node.province,
            workers=settings.bulk_workers,
            lease_seconds=settings.job_lease_seconds,
            spool_dir=settings.spool_dir,
        )
        size = settings.cache_entries
        #: ``(commitment, checkpoint index, format)`` → the response body (api/cache.py).
        self.bundle_cache: BoundedCache[tuple[bytes, int, str], bytes] = BoundedCache(size)
        #: ``(leaf index, tree size)`` → the inclusion proof's response body.
        self.proof_cache: BoundedCache[tuple[int, int], bytes] = BoundedCache(size)
        #: commitment → the leaf index of its first entry.
        self.first_leaf: BoundedCache[bytes, int] = BoundedCache(size)


Limiter = RateLimiter | DatabaseRateLimiter


def _memory_limiter(_name: str, rate: float, burst: int) -> Limiter:
    return RateLimiter(rate, burst)


def _database_limiter(node: ProvinceNode) -> Callable[[str, float, int], Limiter]:
    def make(name: str, rate: float, burst: int) -> Limiter:
        return DatabaseRateLimiter(node.db, name, rate, burst)

    return make


async def context(request: Request) -> ApiContext:
    """The app's context (``async``: no work, so no hop to the thread pool)."""
    ctx: ApiContext = request.app.state.context
    return ctx


Context = Annotated[ApiContext, Depends(context)]


Authorization = Annotated[
    str | None,
    Header(description="`Bearer <API key>`; without it the caller is `public`"),
]


async def principal(
    request: Request, ctx: Context, authorization: Authorization = None
) -> Principal:
    """The caller (401 problems for a malformed or unknown key); its role goes to the access
    log. Without a key nothing is read (no hop to the thread pool); a key is looked up in the
    database on a worker thread."""
    try:
        token = bearer_token(authorization)
        who = PUBLIC if token is None else await run_in_threadpool(_lookup, ctx, token)
    except Problem:
        request.state.role = "invalid-key"
        raise
    request.state.role = who.role
    return who


def _lookup(ctx: ApiContext, token: str) -> Principal:
    with ctx.node.db.read() as session:
        return principal_of(session, token)


Caller = Annotated[Principal, Depends(principal)]


def client_address(request: Request, ctx: ApiContext) -> str:
    """The client's address: the TCP peer, or, when the peer is one of
    ``ApiSettings.trusted_proxies``, the right-most ``X-Forwarded-For`` address that is not a
    trusted proxy itself (the left part of the header is whatever the client wrote)."""
    peer = request.client.host if request.client else "unknown"
    if not ctx.proxies or not _trusted(peer, ctx.proxies):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        if not _trusted(hop, ctx.proxies):
            return hop[:64]
    return peer


def _trusted(address: str, proxies: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def rate_limit(
    request: Request, ctx: ApiContext, who: Principal, limiter: Limiter | None = None
) -> None:
    """Take a token for the client's address and key from ``limiter`` (default: the search
    limiter); 429 ``rate.limited`` with ``Retry-After`` when either bucket is empty (data guide
    art. 20: against enumeration)."""
    clients = ["ip:" + client_address(request, ctx)]
    if who.key_id is not None:
        clients.append(f"key:{who.key_id}")
    wait = (limiter or ctx.search_limiter).take(*clients)
    if wait is not None:
        raise Problem(
            429,
            "Too many requests",
            f"too many queries; retry in {wait} s",
            None,
            "rate.limited",
            headers={"Retry-After": str(wait)},
        )
