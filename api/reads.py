"""Reads: bundles, checkpoints, proofs, the organisation registry, certificate status, the
snapshot and verification.

The two-of-three search is :mod:`api.search`. Full bundles carry personal data: the holder's
come from :mod:`api.holder` (all three fields, or a one-time code), others only to the
certificate's province operator or issuer, each read recorded in the access log
(:mod:`api.access`). Everything else is public data of the log and the chain.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import views
from api.access import AuditParams, read_of, record_read, requester
from api.auth import Principal, bearer_token, principal_of, require_writer
from api.context import ApiContext, Authorization, Caller, Context, rate_limit
from api.problems import Problem, problem
from api.vc import MEDIA_TYPE as VC_MEDIA_TYPE
from api.vc import credential_of
from node.core.errors import InvalidInput
from node.core.formats.bundle import MEDIA_TYPE as BUNDLE_MEDIA_TYPE
from node.core.formats.bundle import Bundle
from node.core.formats.compact import encode_compact
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.verify import verify_bundle_text
from node.storage import (
    CertificateRecord,
    CertificateRepository,
    CheckpointRepository,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.organisation_details import DetailsRepository

router = APIRouter(prefix="/v1")

BundleFormat = Literal["json", "compact", "vc"]
Commitment = Annotated[
    str, Query(pattern=r"^[0-9a-fA-F]{64}$", description="certificate commitment, 64 hex digits")
]
MAX_PAGE = 1000


def _commitment(text: str) -> bytes:
    """A commitment named in the path: 32 bytes in hex (422 ``commitment.hex``)."""
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InvalidInput("commitment", "commitment.hex", "must be 64 hex digits")
    return value


JSON_MEDIA_TYPE = "application/json"
#: The OpenAPI ``responses`` of an endpoint that answers a bundle in one of its formats.
BUNDLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {BUNDLE_MEDIA_TYPE: {}, "text/plain": {}, VC_MEDIA_TYPE: {}}}
}
MEDIA_TYPES: dict[str, str] = {
    "json": BUNDLE_MEDIA_TYPE,
    "compact": "text/plain; charset=utf-8",
    "vc": VC_MEDIA_TYPE,
}


def json_body(value: Any) -> bytes:
    """``value`` as the bytes FastAPI's ``JSONResponse`` would send (UTF-8, compact)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def render_bundle(bundle: Bundle, fmt: BundleFormat) -> bytes:
    """The bundle as JSON, compact QR text (``CR1:``) or a Verifiable Credential."""
    if fmt == "compact":
        return encode_compact(bundle).encode("utf-8")
    if fmt == "vc":
        return json_body(credential_of(bundle))
    return json_body(bundle.to_json())


def bundle_response(bundle: Bundle, fmt: BundleFormat) -> Response:
    """The bundle as JSON, compact QR text (``CR1:``) or a Verifiable Credential."""
    return Response(render_bundle(bundle, fmt), media_type=MEDIA_TYPES[fmt])


def cached_bundle(ctx: ApiContext, record: CertificateRecord, fmt: BundleFormat) -> Response:
    """The bundle of ``record`` from the bundle cache, made and kept on a miss (api/cache.py:
    a bundle never changes once its certificate's first checkpoint is confirmed).

    Raises:
        InvalidInput: ``bundle.not_anchored`` (no confirmed checkpoint holds it yet).
    """
    if record.checkpoint_index is not None:
        body = ctx.bundle_cache.get((record.commitment, record.checkpoint_index, fmt))
        if body is not None:
            return Response(body, media_type=MEDIA_TYPES[fmt])
    bundle = ctx.node.bundles.bundle_of(record)
    body = render_bundle(bundle, fmt)
    # Keyed by the checkpoint the bundle was made for (the record's first confirmed one).
    ctx.bundle_cache.put((record.commitment, bundle.anchor.checkpoint_index, fmt), body)
    return Response(body, media_type=MEDIA_TYPES[fmt])


def caller_in(request: Request, session: Session, authorization: str | None) -> Principal:
    """The caller, read in the endpoint's own transaction (as :func:`api.context.principal`
    does in its own), its role noted for the access log."""
    try:
        who = principal_of(session, bearer_token(authorization))
    except Problem:
        request.state.role = "invalid-key"
        raise
    request.state.role = who.role
    return who


def _record(ctx: ApiContext, commitment: bytes) -> CertificateRecord:
    """This node's certificate version ``commitment`` (404 ``certificate.unknown``)."""
    node = ctx.node
    with node.db.read() as session:
        record = CertificateRepository(session, node.cipher, node.blind_index).get(commitment)
    if record is None or record.province != node.province:
        raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
    return record


# -- certificates ------------------------------------------------------------------------------


@router.get(
    "/certificates/{commitment}/bundle",
    summary="The bundle of a certificate version (its province's operator or its issuer)",
    tags=["certificates"],
    response_class=Response,
    responses=BUNDLE_RESPONSES,
)
def certificate_bundle(
    request: Request,
    ctx: Context,
    commitment: str,
    authorization: Authorization = None,
    format: BundleFormat = "json",
) -> Response:
    # One read for the key and the record; the bundle itself from the cache.
    node = ctx.node
    with node.db.read() as session:
        who = caller_in(request, session, authorization)
        wanted = _commitment(commitment)
        record = CertificateRepository(session, node.cipher, node.blind_index).get(wanted)
    if record is None or record.province != node.province:
        raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
    _may_read_bundle(who, record)
    log_read(ctx, "bundle", who, record)
    return cached_bundle(ctx, record, format)


def log_read(ctx: ApiContext, operation: str, who: Principal, record: CertificateRecord) -> None:
    """Record a read by commitment (a bundle or PDF for the province operator or the issuer)
    in the access log before it is answered (api/access.py)."""
    record_read(
        ctx,
        read_of(
            ctx,
            operation=operation,
            who=requester(who),
            params=AuditParams(),
            result="found",
            commitments=(record.commitment,),
        ),
    )


def _may_read_bundle(who: Principal, record: CertificateRecord) -> None:
    """A bundle carries personal data: only the operator of the certificate's province and its
    issuer read it by commitment (holders use ``/v1/holder/bundle`` with all three fields)."""
    require_writer(
        who,
        province=record.province,
        organisation_code=record.organisation_code,
        field="commitment",
    )


@router.get(
    "/certificates/{commitment}/status",
    summary="A certificate version's status (no personal data)",
    tags=["public"],
)
def certificate_status(ctx: Context, commitment: str) -> dict[str, Any]:
    return views.certificate_status(_record(ctx, _commitment(commitment)))


# -- log ---------------------------------------------------------------------------------------


@router.get("/status", summary="The node's log and anchoring progress", tags=["public"])
def node_status(ctx: Context) -> dict[str, Any]:
    """The log's progress, and ``log_state``: ``ok``, ``diverged`` (the chain holds a
    checkpoint of this province that the log contradicts; anchoring has halted) or ``unknown``
    (the chain could not be read), with ``log_state_reason``."""
    state = ctx.node.log_state()
    return {**ctx.node.status().to_json(), "log_state": state.state,
            "log_state_reason": state.reason}  # fmt: skip


@router.get("/checkpoints", summary="The province log's checkpoints, oldest first", tags=["log"])
def checkpoints(
    ctx: Context,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    node = ctx.node
    with node.db.transaction() as session:
        repo = CheckpointRepository(session, node.province)
        latest = repo.latest()
        end = 0 if latest is None else latest.index + 1
        found = [repo.get(i) for i in range(offset, min(end, offset + limit))]
    return {"total": end, "checkpoints": [views.checkpoint(c) for c in found if c is not None]}


@router.get("/checkpoints/{index}", summary="One checkpoint", tags=["log"])
def checkpoint(ctx: Context, index: Annotated[int, Path(ge=0, le=2**62)]) -> dict[str, Any]:
    node = ctx.node
    with node.db.transaction() as session:
        found = CheckpointRepository(session, node.province).get(index) if index >= 0 else None
    if found is None:
        raise problem(404, "no such checkpoint", "index", "checkpoint.unknown")
    return views.checkpoint(found)


@router.get(
    "/proofs/inclusion",
    summary="RFC 9162 inclusion proof of a log entry",
    description="Give `leaf_index`, or `commitment` (its first entry); `tree_size` defaults to "
    "the latest confirmed checkpoint's size. Returns `leaf_index`, `tree_size`, `leaf_hash`, "
    "`root` and `hashes` (hex).",
    tags=["log"],
    response_class=Response,
    responses={200: {"content": {JSON_MEDIA_TYPE: {"schema": {"type": "object"}}}}},
)
def inclusion_proof(
    ctx: Context,
    leaf_index: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    commitment: Annotated[str | None, Query(max_length=64)] = None,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    node = ctx.node
    with node.db.read() as session:
        if leaf_index is None:
            if commitment is None:
                raise InvalidInput("leaf_index", "proof.target", "give leaf_index or commitment")
            leaf_index = _first_leaf(ctx, session, _commitment(commitment))
        size = tree_size if tree_size is not None else _anchored_size(session, node.province)
        body = ctx.proof_cache.get((leaf_index, size))
        if body is None:
            body = json_body(_inclusion(ProvinceLog(session, node.province), leaf_index, size))
            # The log is append-only: a proof the log could give never changes (api/cache.py).
            ctx.proof_cache.put((leaf_index, size), body)
    return Response(body, media_type=JSON_MEDIA_TYPE)


def _first_leaf(ctx: ApiContext, session: Session, commitment: bytes) -> int:
    """The leaf index of the first entry about ``commitment`` (404 ``entry.unknown``)."""
    found = ctx.first_leaf.get(commitment)
    if found is None:
        indexes = ProvinceLog(session, ctx.node.province).indexes_of(commitment)
        if not indexes:
            raise problem(404, "no entry has this commitment", "commitment", "entry.unknown")
        found = indexes[0]
        ctx.first_leaf.put(commitment, found)
    return found


def _inclusion(log: ProvinceLog, leaf_index: int, size: int) -> dict[str, Any]:
    hashes = log.merkle.inclusion_proof(leaf_index, size)
    return {
        "leaf_index": leaf_index,
        "tree_size": size,
        "leaf_hash": log.entry(leaf_index).leaf_hash.hex(),
        "root": log.merkle.root(size).hex(),
        "hashes": [h.hex() for h in hashes],
    }


def _anchored_size(session: Any, province: str) -> int:
    confirmed = CheckpointRepository(session, province).latest("confirmed")
    if confirmed is None:
        raise InvalidInput("tree_size", "proof.not_anchored", "no checkpoint is anchored yet")
    return confirmed.tree_size


@router.get("/proofs/consistency", summary="RFC 9162 consistency proof", tags=["log"])
def consistency_proof(
    ctx: Context,
    first: Annotated[int, Query(ge=1, le=2**62)],
    second: Annotated[int, Query(ge=1, le=2**62)],
) -> dict[str, Any]:
    node = ctx.node
    with node.db.transaction() as session:
        merkle = ProvinceLog(session, node.province).merkle
        if first > second:
            raise InvalidInput("first", "merkle.size_range", "first must not exceed second")
        hashes = merkle.consistency_proof(first, second)
        return {
            "first": first,
            "second": second,
            "first_root": merkle.root(first).hex(),
            "second_root": merkle.root(second).hex(),
            "hashes": [h.hex() for h in hashes],
        }


# -- organisations -----------------------------------------------------------------------------


@router.get(
    "/organisations",
    summary="The province's organisation registry",
    description="Each organisation with its keys, scope, status and the public particulars of "
    "its filing (人社鉴发〔2019〕3号 三): `address`, `contact`, `filing_number`, `filing_period` "
    "(`{from, until}`, Henan's 备案期限) and `merged_into` after a merger.",
    tags=["public"],
)
def organisations(ctx: Context) -> dict[str, Any]:
    with ctx.node.db.transaction() as session:
        repo = OrganisationRepository(session)
        filed = repo.all(ctx.node.province)
        details = DetailsRepository(session).of(o.code for o in filed)
        found = [views.organisation(o, repo.keys(o.code), details.get(o.code)) for o in filed]
    return {"organisations": found}


@router.get("/organisations/{code}", summary="One organisation and its keys", tags=["public"])
def organisation(ctx: Context, code: str) -> dict[str, Any]:
    with ctx.node.db.transaction() as session:
        repo = OrganisationRepository(session)
        found = repo.get(code.strip().upper()[:13])
        if found is None:
            raise problem(404, "no such organisation", "code", "organisation.unknown")
        details = DetailsRepository(session).get(found.code)
        return views.organisation(found, repo.keys(found.code), details)


# -- snapshot and verification -----------------------------------------------------------------


@router.get(
    "/snapshot",
    summary="A snapshot of the chain at its final block (the in-browser verifier's trust source)",
    description=(
        'Version 2 (docs/FORMATS.md "Signed snapshots"): the chain state at the node\'s final '
        "block, the time it was taken and the working-day calendar. With a checkpoint-signing "
        "key (`certreg serve --checkpoint-key`) it is signed by this node and by the federation "
        "peers that rebuilt the same snapshot from their own chain (`POST /v1/snapshot/cosign`); "
        "a verifier holding the trust root trusts it once a majority of members signed."
    ),
    tags=["public"],
)
async def snapshot(ctx: Context) -> dict[str, Any]:
    # Signing asks the peers over HTTP: off the event loop.
    result: dict[str, Any] = (await run_in_threadpool(ctx.snapshots.served)).to_json()
    return result


class CosignBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Annotated[int, Field(ge=0, le=2**53 - 1)]
    hash: Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]


class CosignRequest(BaseModel):
    """What a member asks another to cosign: its snapshot's block, time and digest."""

    model_config = ConfigDict(extra="forbid")
    block: CosignBlock
    time: Annotated[int, Field(ge=0, le=2**53 - 1)]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


@router.post(
    "/snapshot/cosign",
    summary="Cosign another member's snapshot (this node rebuilds it from its own chain)",
    description=(
        "This node rebuilds the version 2 snapshot of `block.number` from its own reading of the "
        "chain, with the given `time` and its own working-day calendar, and signs it with its "
        "checkpoint-signing key only when the digest is the same. Refusals: "
        "`snapshot.cosign_block` (another block at that height, or one this node no longer "
        "keeps), `snapshot.cosign_time` (more than 300 s from this node's clock), "
        "`snapshot.cosign_digest` (another state or calendar), `snapshot.cosign_unavailable` "
        "(no checkpoint-signing key)."
    ),
    tags=["public"],
)
async def cosign(
    request: Request, ctx: Context, who: Caller, body: CosignRequest
) -> dict[str, Any]:
    if ctx.limits_in_database:
        await run_in_threadpool(rate_limit, request, ctx, who, ctx.verify_limiter)
    else:
        rate_limit(request, ctx, who, ctx.verify_limiter)

    def work() -> dict[str, Any]:
        signature = ctx.snapshots.cosign(
            body.block.number,
            bytes.fromhex(body.block.hash[2:]),
            body.time,
            bytes.fromhex(body.digest),
        )
        return signature.to_json()

    return await run_in_threadpool(work)


VERIFY_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "description": "a bundle"}},
        "text/plain": {
            "schema": {"type": "string", "description": "compact `CR1:` text or bundle JSON"}
        },
    },
}


@router.post(
    "/verify",
    summary="Verify a bundle (JSON or compact QR text) against the chain now",
    description=(
        "The trust source is a snapshot of the chain taken at request time (cached per block). "
        "The rules a verifier can re-run on public fields (number layout, reporting deadlines, "
        "the organisation filed and in scope on the issue date) are re-run on it. "
        "Returns the result code (`VALID`, `TAMPERED`, `NOT_ANCHORED`, `UNKNOWN_ISSUER`, "
        "`KEY_NOT_VALID_AT_TIME`, `REVOKED`, `SUSPENDED`, `SUPERSEDED`, `EXPIRED`, `DISPUTED` "
        "with `disputes` naming each rule broken, `WRONG_NETWORK` against the node's trust "
        "root, `MALFORMED`; `UNTRUSTED_SNAPSHOT` and `STALE` do not arise here, the node "
        "vouching for its own reading of the chain), each check's outcome and the computed "
        "hashes. `at`: verification time in unix seconds (default: now, or the head block's "
        "time if the chain runs ahead)."
    ),
    tags=["public"],
    openapi_extra={"requestBody": VERIFY_BODY},
)
async def verify(
    request: Request,
    ctx: Context,
    who: Caller,
    at: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    # Signature checks for anyone: limited per client like the other public reads (on a
    # worker thread when the buckets are in the database).
    if ctx.limits_in_database:
        await run_in_threadpool(rate_limit, request, ctx, who, ctx.verify_limiter)
    else:
        rate_limit(request, ctx, who, ctx.verify_limiter)
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body", "verify.encoding", "the body must be UTF-8 text") from None

    def work() -> dict[str, Any]:
        now = int(ctx.settings.clock())
        # Version 2 (taken now, with the node's calendar): the rules are re-run on it.
        snapshot = ctx.snapshots.trusted(now)
        # Now, or the head block's time when the chain's clock runs ahead of ours (a
        # checkpoint of the head block is in force as of that block).
        when = max(now, snapshot.block.timestamp) if at is None else at
        trust = SnapshotTrustSource(snapshot)
        # With the network's trust root the node checks the bundle's network against it; the
        # snapshot is the node's own reading of the chain, so the node vouches for it.
        root = ctx.trust_root
        vouched = None if root is None else "read from the chain by this node"
        result: dict[str, Any] = verify_bundle_text(
            text, trust, at=when, root=root, vouched=vouched
        ).to_json()
        return result

    return await run_in_threadpool(work)
