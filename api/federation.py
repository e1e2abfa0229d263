"""``POST /v1/federation/query``: another province's node asks about this province's
certificates (docs/SHARING.md "Province to province").

The request is signed by the asking province's node (node/core/formats/federation.py) and
checked by :meth:`province.federation.Federation.check` (key from the contract, freshness,
nonce). Its JSON body carries the query (two of three), the original requester (role, key id,
scope), the agreement when the requester is a sharing partner, and the five audit fields with
the purpose. This province applies **its own** rules: a partner's agreement must be active and
within its period by this node's clock and must cover this province, and it sees the fields the
agreement gives; every other requester sees what the public sees. The read is recorded in this
province's access log (operation ``federated_search`` / ``federated_query`` /
``federated_status``, requester ``via`` the asking province), so this province remains the
controller of its data.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.access import AuditParams, read_of, record
from api.context import ApiContext, Context
from api.problems import Problem, problem
from api.search import TwoOfThree, check_forwarded_agreement, fields_for, local_matches
from node.core.errors import InvalidInput
from node.core.formats.access import Requester
from node.core.formats.federation import (
    HEADER_NONCE,
    HEADER_PROVINCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
)
from node.core.sharing import AccessDenied, Agreement, agreement_from_json
from province.federation import QUERY_PATH

router = APIRouter(prefix="/v1")

BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["query", "requester"],
                "properties": {
                    "query": {"type": "object"},
                    "requester": {"type": "object"},
                    "agreement": {"type": ["object", "null"]},
                    "audit": {"type": "object"},
                },
            }
        }
    },
}


def _requester(value: Any, via: str) -> Requester:
    if not isinstance(value, dict) or not isinstance(value.get("role"), str):
        raise InvalidInput("requester", "federation.body", "the original requester is missing")
    key_id = value.get("key_id")
    scope = value.get("scope")
    return Requester(
        role=str(value["role"])[:16],
        key_id=key_id if type(key_id) is int else None,
        scope=scope[:13] if isinstance(scope, str) else "",
        via=via,
    )


def answer(ctx: ApiContext, province: str, value: Any, nonce: bytes) -> dict[str, Any]:
    """The answer to a checked request from ``province`` (see the module docstring); its
    ``nonce`` is recorded with the access record (a replay is refused then)."""
    if not isinstance(value, dict):
        raise InvalidInput("body", "federation.body", "a JSON object")
    who = _requester(value.get("requester"), province)
    params = AuditParams.from_json(value.get("audit"))
    raw = value.get("query")
    if not isinstance(raw, dict):
        raise InvalidInput("query", "federation.body", "the query is missing")
    query = TwoOfThree.of(raw.get("certificate_number"), raw.get("name"), raw.get("id_number"))
    agreement: Agreement | None = None
    operation = "federated_search"
    if who.role == "partner":
        agreement = agreement_from_json(value.get("agreement"))
        try:
            allowed = check_forwarded_agreement(ctx, agreement, province, params.use_for)
        except AccessDenied as exc:
            record(
                ctx,
                read_of(
                    ctx,
                    operation="federated_query",
                    who=who,
                    params=params,
                    result="refused",
                    known_org=agreement.terms.partner_name,
                    agreement=agreement.id,
                    query=query.given(),
                    name=query.name,
                    rule=exc.rule,
                ),
                nonce=(province, nonce),
            )
            raise
        operation = f"federated_{allowed}"
    matches = local_matches(ctx, query, fields_for(who, agreement))
    record(
        ctx,
        read_of(
            ctx,
            operation=operation,
            who=who,
            params=params,
            result="found" if matches else "not_found",
            known_org=None if agreement is None else agreement.terms.partner_name,
            agreement=None if agreement is None else agreement.id,
            query=query.given(),
            name=query.name,
            commitments=[bytes.fromhex(m["commitment"]) for m in matches],
        ),
        nonce=(province, nonce),
    )
    return {"province": ctx.node.province, "matches": matches}


@router.post(
    "/federation/query",
    summary="Another province's node asks about this province's certificates (signed)",
    description=(
        "Signed by the asking province's node: headers `Certreg-Province`, `Certreg-Time`, "
        "`Certreg-Nonce`, `Certreg-Signature` (Ed25519 by the key it published on the "
        "contract; docs/SHARING.md). Refusals: 422 `federation.headers`, "
        "`federation.stale`; 401 `federation.unknown_province`, `federation.signature`, "
        "`federation.replay` (the nonce was answered before); 404 `federation.disabled` "
        "(this node takes no such requests); "
        "403 `sharing.*` (the partner's agreement does not allow it here)."
    ),
    tags=["federation"],
    openapi_extra={"requestBody": BODY},
)
async def federation_query(request: Request, ctx: Context) -> dict[str, Any]:
    federation = ctx.node.federation
    if federation is None:
        raise problem(
            404, "this node takes no province-to-province requests", None, "federation.disabled"
        )
    data = await request.body()
    headers = {
        name: request.headers.get(name)
        for name in (HEADER_PROVINCE, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE)
    }

    def work() -> dict[str, Any]:
        province, nonce = federation.check("POST", QUERY_PATH, data, headers)
        request.state.role = f"province:{province}"
        wait = ctx.federation_limiter.take(f"province:{province}")
        if wait is not None:
            raise Problem(
                429,
                "Too many requests",
                f"too many queries from province {province}; retry in {wait} s",
                None,
                "rate.limited",
                headers={"Retry-After": str(wait)},
            )
        try:
            value = json.loads(data)
        except ValueError:
            raise InvalidInput("body", "federation.body", "not JSON") from None
        return answer(ctx, province, value, nonce)

    result: dict[str, Any] = await run_in_threadpool(work)
    return result
