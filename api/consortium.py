"""Consortium governance through a node's API (docs/API.md "Consortium"): the membership
proposals of the contract, read by any key holder and written by the node's own province
operator, the node's operator account signing (``anchor.governance``).

- ``GET /v1/consortium/members``: members, operators, published keys;
- ``GET /v1/consortium/proposals`` (``?open=true``), ``GET /v1/consortium/proposals/{id}``;
- ``POST /v1/consortium/proposals`` ``{"kind", "province", "operators"}`` (201), or
  ``{"kind": "max-checkpoint-growth", "growth"}`` for the proposer's own province;
- ``POST /v1/consortium/proposals/{id}/approve``, ``…/{id}/execute``.

A refusal by the contract is 409 ``consortium.refused`` naming its error; wrong arguments are
422 (``consortium.kind``, ``consortium.province``, ``consortium.operators``,
``consortium.growth``); an unknown id 404
``consortium.proposal``. Writes return once the transaction has the chain's confirmations.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from anchor.governance import Governance
from api.auth import require_key, require_operator
from api.context import Caller, Context
from api.problems import problem
from node.core.errors import InvalidInput

router = APIRouter(prefix="/v1/consortium")

ProposalId = Annotated[int, Path(ge=0, le=2**62)]


class NewProposal(BaseModel):
    """A membership proposal (``anchor.governance.PROPOSAL_KINDS``)."""

    model_config = ConfigDict(extra="forbid")
    kind: Annotated[
        str,
        Field(
            max_length=32,
            description="admit, remove, replace-operators, max-checkpoint-growth",
        ),
    ]
    province: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    growth: Annotated[int | None, Field(ge=1, le=2**53 - 1)] = None
    operators: Annotated[list[Annotated[str, Field(max_length=42)]], Field(max_length=16)] = []


def _governance(ctx: Context) -> Governance:
    return Governance(ctx.node.client)


def _refusals(call: Any) -> Any:
    """Run ``call``; a contract refusal becomes 409, an unknown proposal 404."""
    try:
        return call()
    except InvalidInput as exc:
        if exc.rule == "consortium.refused":
            raise problem(409, exc.message, exc.field, exc.rule) from exc
        if exc.rule == "consortium.proposal":
            raise problem(404, exc.message, exc.field, exc.rule) from exc
        raise


@router.get("/members", summary="The consortium's members (any key)", tags=["consortium"])
def members(ctx: Context, who: Caller) -> dict[str, Any]:
    require_key(who)
    return {"members": _governance(ctx).members()}


@router.get(
    "/proposals", summary="Membership proposals, newest first (any key)", tags=["consortium"]
)
def proposals(ctx: Context, who: Caller, open: Annotated[bool, Query()] = False) -> dict[str, Any]:
    require_key(who)
    views = _governance(ctx).proposals(open_only=open)
    return {"proposals": [v.to_json() for v in views]}


@router.get("/proposals/{proposal_id}", summary="One proposal (any key)", tags=["consortium"])
def proposal(ctx: Context, who: Caller, proposal_id: ProposalId) -> dict[str, Any]:
    require_key(who)
    view = _refusals(lambda: _governance(ctx).proposal(proposal_id))
    result: dict[str, Any] = view.to_json()
    return result


@router.post(
    "/proposals",
    status_code=201,
    summary="Propose a membership change; the node's province approves it (operator)",
    tags=["consortium"],
)
def propose(ctx: Context, who: Caller, body: NewProposal) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    view = _refusals(
        lambda: _governance(ctx).propose(
            body.kind, body.province, tuple(body.operators), growth=body.growth
        )
    )
    result: dict[str, Any] = view.to_json()
    return result


@router.post(
    "/proposals/{proposal_id}/{action}",
    summary="Approve or execute a proposal for the node's province (operator)",
    tags=["consortium"],
)
def decide(
    ctx: Context,
    who: Caller,
    proposal_id: ProposalId,
    action: Literal["approve", "execute"],
) -> dict[str, Any]:
    require_operator(who, ctx.node.province)
    governance = _governance(ctx)
    act = governance.approve if action == "approve" else governance.execute
    view = _refusals(lambda: act(proposal_id))
    result: dict[str, Any] = view.to_json()
    return result
