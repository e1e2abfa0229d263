"""Writes: organisations, certificates (one, or a bulk job), lifecycle
changes and checkpoints. Every write checks the caller's role and ownership first
(:mod:`api.auth`), then runs the node's service, which checks every domain rule in one database
transaction (nothing half-written). Writes run in the thread pool (the node's code is sync)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from api import views
from api.auth import Principal, require_key, require_operator, require_submitter, require_writer
from api.context import ApiContext, Caller, Context
from api.jobs import DEFAULT_RESULTS, Upload, count_rows, row_organisation, spool_path
from api.problems import problem
from api.reads import _commitment, _record
from node.core.errors import InvalidInput
from node.core.formats.entry import PROVINCE_SIGNER
from node.core.formats.submissions import ParsedRow, RowResult, parse_submission
from node.core.records import salted_from_row
from node.core.time import china_date
from node.storage import CertificateRecord
from province.organisations import OrganisationChange, parse_filing, parse_time

router = APIRouter(prefix="/v1")


def _today(ctx: ApiContext) -> dt.date:
    """Receipt date: the node's today in China (docs/INTAKE.md "Timing")."""
    return china_date(ctx.node.clock())


def _change(change: OrganisationChange) -> dict[str, Any]:
    return {
        "code": change.code,
        "action": change.action,
        "transactions": list(change.transactions),
        "written": change.written,
        "scope_cid": change.scope_cid,
        "key_id": change.key_id,
    }


class Note(BaseModel):
    """An optional free-text note (recorded in the audit trail; no personal data)."""

    model_config = ConfigDict(extra="forbid")
    note: Annotated[str | None, Field(max_length=1000)] = None


class KeyRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: Annotated[str, Field(max_length=32)]
    public_key: Annotated[str, Field(max_length=200, description="hex")]
    effective_at: Annotated[int | str, Field(description="unix seconds or ISO date (UTC+8)")]
    valid_until: int | str = 0
    close_previous: bool = True
    note: Annotated[str | None, Field(max_length=1000)] = None


class KeyRevocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_at: Annotated[int | str, Field(description="unix seconds or ISO date (UTC+8)")]
    note: Annotated[str | None, Field(max_length=1000)] = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[
        int, Field(ge=0, le=65535, description="reason code (node/core/rules/reasons.py)")
    ]
    note: Annotated[str | None, Field(max_length=1000)] = None


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    row: Annotated[dict[str, Any], Field(description="the corrected, signed submission row")]
    reason: Annotated[int, Field(ge=0, le=65535, description="a 4xx correction reason")]
    requested_by: Annotated[str, Field(max_length=128, description="who at the organisation")]
    note: Annotated[str | None, Field(max_length=1000)] = None
    by_province: Annotated[
        bool,
        Field(
            description="the province maintains a terminated organisation's certificate "
            "(中就培发〔2022〕1号 art. 16): the row's signature is the province's, by its "
            "maintenance key (ed25519, key_id 3, published on the contract as member key "
            "purpose 3)"
        ),
    ] = False


class Merger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: Annotated[str, Field(max_length=13, description="the absorbing organisation's code")]
    note: Annotated[str | None, Field(max_length=1000)] = None


class Return(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[
        str, Field(min_length=1, max_length=1000, description="what to correct (no personal data)")
    ]


# -- organisations -----------------------------------------------------------------------------


@router.post(
    "/organisations",
    status_code=201,
    summary="File an organisation (备案), mirrored to the contract (operator)",
    description='A filing object (docs/FORMATS.md). `"kind": "examining_body"` files a '
    "专项职业能力 examining body by its 8-digit `code`, under its registry code in this province, "
    'with ungraded items (`"levels": [0]`).',
    tags=["organisations"],
)
def file_organisation(ctx: Context, who: Caller, filing: dict[str, Any]) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    parsed = parse_filing(filing, province=ctx.node.province)
    return _change(ctx.node.organisations.file(parsed, actor=who.actor))


@router.post(
    "/organisations/{code}/keys",
    status_code=201,
    summary="Rotate an organisation's key: add one, closing the latest (operator)",
    tags=["organisations"],
)
def rotate_key(ctx: Context, who: Caller, code: str, body: KeyRotation) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    try:
        public_key = bytes.fromhex(body.public_key.removeprefix("0x"))
    except ValueError:
        raise InvalidInput("public_key", "key.public_key", "must be hexadecimal") from None
    change = ctx.node.organisations.rotate_key(
        code.strip().upper(),
        suite=body.suite,
        public_key=public_key,
        effective_at=parse_time(body.effective_at, "effective_at"),
        valid_until=0 if body.valid_until == 0 else parse_time(body.valid_until, "valid_until"),
        close_previous=body.close_previous,
        actor=who.actor,
        note=body.note,
    )
    return _change(change)


@router.post(
    "/organisations/{code}/keys/{key_id}/revoke",
    summary="Revoke an organisation's key from a time on (operator)",
    tags=["organisations"],
)
def revoke_key(
    ctx: Context,
    who: Caller,
    code: str,
    key_id: Annotated[int, Path(ge=0, le=2**31)],
    body: KeyRevocation,
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    change = ctx.node.organisations.revoke_key(
        code.strip().upper(),
        key_id,
        effective_at=parse_time(body.effective_at, "effective_at"),
        actor=who.actor,
        note=body.note,
    )
    return _change(change)


@router.post(
    "/organisations/{code}/merge",
    summary="Merge an organisation into another filed here (operator)",
    description="The merged organisation is terminated (its code retired) and its filing keeps "
    "`merged_into`, shown in the public list.",
    tags=["organisations"],
)
def merge_organisation(ctx: Context, who: Caller, code: str, body: Merger) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    change = ctx.node.organisations.merge(
        code.strip().upper(), into=body.into.strip().upper(), actor=who.actor, note=body.note
    )
    return _change(change)


@router.post(
    "/organisations/{code}/{action}",
    summary="Suspend, reactivate or terminate an organisation (operator)",
    tags=["organisations"],
)
def organisation_status(
    ctx: Context,
    who: Caller,
    code: str,
    action: Literal["suspend", "reactivate", "terminate"],
    body: Note | None = None,
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    service = ctx.node.organisations
    change = getattr(service, action)(
        code.strip().upper(), actor=who.actor, note=None if body is None else body.note
    )
    return _change(change)


# -- certificates ------------------------------------------------------------------------------


def _one_row(row: dict[str, Any]) -> ParsedRow:
    """Parse one submission row (docs/INTAKE.md columns, as a JSON object)."""
    line = json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"
    rows: list[RowResult] = list(parse_submission(io.BytesIO(line), "jsonl"))
    if len(rows) != 1:
        raise InvalidInput("row", "intake.json", "give one submission row")
    [parsed] = rows
    if isinstance(parsed, InvalidInput):
        raise parsed
    return parsed


def _row_owner(ctx: ApiContext, who: Principal, row: ParsedRow) -> None:
    """The caller may write the row's certificate: its province's operator, or its issuer,
    which for a 专项职业能力证书 is the examining body filed under its registry code
    (:func:`node.core.formats.entry.examining_body_registry_code`)."""
    code = row_organisation(row, ctx.node.province)
    require_writer(
        who, province=ctx.node.province, organisation_code=code, field="organisation_code"
    )


@router.post(
    "/certificates",
    status_code=201,
    summary="Submit one signed certificate (its issuer, or its province's operator)",
    description="The body is one submission row as a JSON object (docs/INTAKE.md): the twelve "
    "fields, `certificate_type` for a format-2 certificate (`special_ability`, "
    "`vocational_qualification`), `signature_suite`, `key_id`, `signature`, `salts` and "
    "optionally `late_reason`.",
    tags=["certificates"],
)
def submit_certificate(ctx: Context, who: Caller, row: dict[str, Any]) -> dict[str, Any]:
    require_key(who)
    parsed = _one_row(row)
    _row_owner(ctx, who, parsed)
    salted, signature, late_reason = salted_from_row(parsed)
    accepted = ctx.node.intake.submit(
        salted, signature, received_on=_today(ctx), late_reason=late_reason, actor=who.actor
    )
    return views.accepted(accepted)


BULK_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/certificates/bulk",
    status_code=202,
    summary="Upload many signed certificates (CSV or JSON Lines); returns a job",
    description="`format` defaults from the Content-Type (`text/csv`, else JSON Lines). "
    "`mode`: `per_row` keeps the good rows and reports each bad one; `atomic` takes all rows or "
    "none. Poll the job (`GET /v1/jobs/{id}`) for progress and per-row results. An issuer's "
    "rows of another organisation are refused with `auth.organisation`.",
    tags=["certificates"],
    openapi_extra={"requestBody": BULK_BODY},
)
async def submit_bulk(
    request: Request,
    ctx: Context,
    who: Caller,
    format: Literal["csv", "jsonl"] | None = None,
    mode: Literal["per_row", "atomic"] = "per_row",
) -> JSONResponse:
    require_submitter(who, ctx.node.province)
    content_type = request.headers.get("content-type", "")
    fmt: Literal["csv", "jsonl"] = format or (
        "csv" if content_type.startswith("text/csv") else "jsonl"
    )
    # Stream the body to an owner-only spool file: memory holds one network chunk at a time
    # (the size limit is enforced while it arrives, api.middleware.SizeLimit).
    descriptor, path = spool_path(ctx.settings.spool_dir)
    try:
        with os.fdopen(descriptor, "wb") as spool:
            async for piece in request.stream():
                spool.write(piece)
        total = await run_in_threadpool(count_rows, path, fmt)
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    # An issuer's rows name its own organisation (checked on each row as the job reads it,
    # by whichever API process runs the job); an operator's rows any of its province's.
    organisation = who.scope if who.role == "issuer" else None
    assert who.key_id is not None
    job_id = await run_in_threadpool(
        lambda: ctx.jobs.start(
            Upload(path, fmt, total),
            mode=mode,
            received_on=_today(ctx),
            actor=who.actor,
            owner_key=who.key_id or 0,
            now=dt.datetime.now(dt.UTC),
            organisation=organisation,
        )
    )
    job = await run_in_threadpool(ctx.jobs.get, job_id)
    return JSONResponse(job, status_code=202, headers={"Location": f"/v1/jobs/{job_id}"})


@router.get(
    "/jobs/{job_id}",
    summary="A bulk job: progress and per-row results",
    description="`results` holds up to `limit` results from `offset` (default: the first "
    "10,000); `next_offset` is there when more follow.",
    tags=["jobs"],
)
def bulk_job(
    ctx: Context,
    who: Caller,
    job_id: str,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=DEFAULT_RESULTS)] = DEFAULT_RESULTS,
) -> dict[str, Any]:
    require_key(who)
    job = ctx.jobs.get(job_id[:64], offset=offset, limit=limit)
    if job is None:
        raise problem(404, "no such job", "job_id", "job.unknown")
    owner = who.key_id == job["owner_key"]
    operator = who.role == "operator" and who.scope == job["province"]
    if not (owner or operator or who.role == "auditor"):
        raise problem(
            403,
            "only its submitter, its province's operators and auditors read a job",
            "authorization",
            "auth.job",
        )
    return job


def _operators_record(ctx: ApiContext, who: Principal, commitment: str) -> CertificateRecord:
    """The certificate an operator acts on: an API key, the certificate, and the caller an
    operator of its province (``auth.*`` / ``commitment`` problems otherwise)."""
    require_key(who)
    record = _record(ctx, _commitment(commitment))
    require_operator(who, record.province)
    return record


@router.post(
    "/certificates/{commitment}/correct",
    status_code=201,
    summary="Supersede a certificate by its corrected, re-signed version (operator confirms)",
    tags=["certificates"],
)
def correct(ctx: Context, who: Caller, commitment: str, body: Correction) -> dict[str, Any]:
    record = _operators_record(ctx, who, commitment)
    parsed = _one_row(body.row)
    salted, signature, _ = salted_from_row(parsed)
    maintenance_key = None
    if body.by_province:
        signature = dataclasses.replace(signature, signer=PROVINCE_SIGNER)
        maintenance_key = ctx.node.maintenance_key()
    outcome = ctx.node.lifecycle.correct(
        record.commitment,
        salted,
        signature,
        reason=body.reason,
        requested_by=body.requested_by,
        confirmed_by=who.actor,
        note=body.note,
        maintenance_key=maintenance_key,
    )
    return views.lifecycle(outcome)


@router.post(
    "/certificates/{commitment}/return",
    status_code=201,
    summary="Return a certificate's data to its organisation for correction (operator)",
    description="Data guide 中就培发〔2022〕1号 第十一条: the corrected version is due within 20 "
    "working days (`deadline`), through `POST /v1/certificates/{commitment}/resubmit`.",
    tags=["certificates"],
)
def return_certificate(ctx: Context, who: Caller, commitment: str, body: Return) -> dict[str, Any]:
    record = _operators_record(ctx, who, commitment)
    returned = ctx.node.returns.return_certificate(
        record.commitment, reason=body.reason, actor=who.actor
    )
    return returned.public_json()


@router.post(
    "/certificates/{commitment}/resubmit",
    status_code=201,
    summary="Resubmit returned data, corrected and re-signed, within 20 working days (operator "
    "confirms)",
    description="After the deadline: 422 `returned.deadline`. Within it the correction rules "
    "apply and the new version goes into the review queue (`returned.resubmitted`).",
    tags=["certificates"],
)
def resubmit(ctx: Context, who: Caller, commitment: str, body: Correction) -> dict[str, Any]:
    record = _operators_record(ctx, who, commitment)
    parsed = _one_row(body.row)
    salted, signature, _ = salted_from_row(parsed)
    outcome = ctx.node.returns.resubmit(
        record.commitment,
        salted,
        signature,
        reason=body.reason,
        requested_by=body.requested_by,
        confirmed_by=who.actor,
        note=body.note,
    )
    return views.lifecycle(outcome)


@router.post(
    "/certificates/{commitment}/{action}",
    summary="Revoke or suspend (issuer or operator), reinstate (operator) a certificate",
    description="The change is logged now and reaches the chain with the next checkpoint.",
    tags=["certificates"],
)
def change_status(
    ctx: Context,
    who: Caller,
    commitment: str,
    action: Literal["revoke", "suspend", "reinstate"],
    body: StatusChange,
) -> dict[str, Any]:
    require_key(who)
    record = _record(ctx, _commitment(commitment))
    if action == "reinstate":
        require_operator(who, record.province)
    else:
        require_writer(
            who,
            province=record.province,
            organisation_code=record.organisation_code,
            field="commitment",
        )
    change = getattr(ctx.node.lifecycle, action)
    return views.lifecycle(
        change(record.commitment, reason=body.reason, actor=who.actor, note=body.note)
    )


@router.post(
    "/checkpoints",
    summary="Anchor a checkpoint now and write pending statuses (operator)",
    tags=["log"],
)
def anchor_now(ctx: Context, who: Caller) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    outcome = ctx.node.anchor_once(force=True)
    if outcome is None:
        return {"anchored": None}
    return {
        "anchored": {
            "index": outcome.index,
            "tree_size": outcome.tree_size,
            "root": outcome.root.hex(),
            "manifest_cid": outcome.manifest_cid,
            "transaction_hash": outcome.transaction_hash,
            "block_number": outcome.block_number,
        }
    }
