"""Sharing agreements, partner keys, traffic reports and the access log's head and export
(data guide 中就培发〔2022〕1号 arts. 21-22; docs/SHARING.md).

==========================================  ==========================  =====================
endpoint                                    who                         what
==========================================  ==========================  =====================
``POST /v1/sharing/agreements``             operator                    record an agreement
``GET /v1/sharing/agreements``              operator, auditor           list them
``GET /v1/sharing/agreements/{id}``         operator, auditor, its      one agreement
                                            partner
``POST /v1/sharing/agreements/{id}/end``    operator                    end it: keys revoked,
                                                                        deletion instruction
``POST /v1/sharing/agreements/{id}/keys``   operator                    a partner key (once)
``GET /v1/sharing/report``                  operator, auditor           traffic and flags
``GET /v1/access-log/head``                 anyone                      count and head hash
``GET /v1/access-log/export``               operator, auditor           the record hashes
==========================================  ==========================  =====================
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from api.auth import Principal, create_api_key, require_key, require_operator
from api.context import ApiContext, Caller, Context
from node.core.sharing import check_agreement_id, parse_terms

router = APIRouter(prefix="/v1")

TERMS_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": 'the agreement\'s terms (docs/SHARING.md "Agreements")',
                "required": [
                    "partner_name",
                    "credit_code",
                    "partner_kind",
                    "application_sha256",
                    "purpose",
                    "scenario",
                    "operations",
                    "fields",
                    "provinces",
                    "starts_at",
                    "ends_at",
                    "daily_quota",
                    "no_commercial_use",
                    "approved_by",
                ],
            }
        }
    },
}


def _reader(who: Principal, ctx: ApiContext, agreement_id: str | None = None) -> None:
    """An operator of this province or an auditor (and a partner for its own agreement)."""
    require_key(who)
    if who.role == "auditor":
        return
    if who.role == "partner" and agreement_id is not None and who.agreement == agreement_id:
        return
    require_operator(who, ctx.node.province)


@router.post(
    "/sharing/agreements",
    status_code=201,
    summary="Record a sharing agreement (operator)",
    description=(
        "The department's decision on a written application (data guide art. 22): partner "
        "name and unified social credit code (check character verified, `uscc.check`), the "
        "application document's SHA-256, purpose and scenario, allowed `operations` "
        "(`query`, `status`) and personal `fields` given in full (`holder_name`, "
        "`id_number`; the others are masked), `provinces` covered, `starts_at`/`ends_at`, "
        "`daily_quota`, the `no_commercial_use` undertaking (art. 21; required) and "
        "`approved_by`. Returns the agreement with its id (`<province>-<six digits>`)."
    ),
    tags=["sharing"],
    openapi_extra={"requestBody": TERMS_BODY},
)
def add_agreement(
    ctx: Context, who: Caller, terms: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    return ctx.node.sharing.add(parse_terms(terms), actor=who.actor).to_json()


@router.get("/sharing/agreements", summary="This province's agreements", tags=["sharing"])
def list_agreements(ctx: Context, who: Caller) -> dict[str, Any]:
    _reader(who, ctx)
    return {"agreements": [a.to_json() for a in ctx.node.sharing.all()]}


@router.get("/sharing/agreements/{agreement_id}", summary="One agreement", tags=["sharing"])
def get_agreement(ctx: Context, who: Caller, agreement_id: str) -> dict[str, Any]:
    wanted = check_agreement_id(agreement_id)
    _reader(who, ctx, wanted)
    return ctx.node.sharing.get(wanted).to_json()


@router.post(
    "/sharing/agreements/{agreement_id}/end",
    summary="End an agreement: its partner keys stop at once (operator)",
    description=(
        "`reason` (required) and `deletion_instruction` (what the partner must do with the "
        "data it read; a default instruction to delete it within 15 days when not given) "
        "are recorded with the agreement and in the audit trail."
    ),
    tags=["sharing"],
)
def end_agreement(
    ctx: Context,
    who: Caller,
    agreement_id: str,
    reason: Annotated[str, Body(embed=True, max_length=500)],
    deletion_instruction: Annotated[str | None, Body(embed=True, max_length=2000)] = None,
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    ended, revoked = ctx.node.sharing.end(
        agreement_id,
        actor=who.actor,
        reason=reason,
        deletion_instruction=deletion_instruction,
    )
    return {**ended.to_json(), "keys_revoked": revoked}


@router.post(
    "/sharing/agreements/{agreement_id}/keys",
    status_code=201,
    summary="Create a partner key bound to an active agreement (operator); shown once",
    tags=["sharing"],
)
def partner_key(
    ctx: Context,
    who: Caller,
    agreement_id: str,
    label: Annotated[str, Body(embed=True, max_length=128)] = "",
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    agreement = ctx.node.sharing.get(agreement_id)
    key = create_api_key(ctx.node.db, "partner", agreement.id, label=label)
    return {"agreement": agreement.id, "role": "partner", "key": key}


@router.get(
    "/sharing/report",
    summary="Each agreement's reads per China day, with harvesting flags (operator, auditor)",
    description=(
        "Per agreement and day: `queries`, `found`, `misses`, `refused`, `distinct_names` "
        "(distinct queried names, by their keyed tags) and `flags` (`harvest.misses`, "
        '`harvest.distinct_names`: docs/SHARING.md "Traffic monitoring"); `flagged` when '
        "any day is."
    ),
    tags=["sharing"],
)
def report(
    ctx: Context,
    who: Caller,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    agreement: Annotated[str | None, Query(max_length=9)] = None,
) -> dict[str, Any]:
    _reader(who, ctx)
    found = ctx.node.sharing.report(days=days, agreement_id=agreement)
    return {"days": days, "partners": [r.to_json() for r in found]}


@router.get(
    "/access-log/head",
    summary="The access log's record count and head hash (no personal data)",
    tags=["public"],
)
def access_log_head(ctx: Context) -> dict[str, Any]:
    return {"province": ctx.node.province, **ctx.node.access.head().to_json()}


@router.get(
    "/access-log/export",
    summary="The access log's record hashes, for an auditor (operator, auditor)",
    description=(
        'JSON lines `{"index", "record_hash"}`, every record in order: with the heads '
        "the checkpoints' manifests anchored, `certreg audit --access-log 44=FILE` proves no "
        "record was dropped or changed. No record content."
    ),
    tags=["sharing"],
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def access_log_export(ctx: Context, who: Caller) -> Response:
    _reader(who, ctx)
    lines = [json.dumps(line) + "\n" for line in ctx.node.access.export()]
    return Response("".join(lines), media_type="application/x-ndjson")
