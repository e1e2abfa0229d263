"""Witness statements through a node's API (docs/API.md "Witnessing", docs/FORMATS.md "Witness
statements"): public, no personal data.

``GET /v1/cosignatures?province=P`` with ``index=I`` (one checkpoint) or ``after=I`` (the
checkpoints after index I, oldest first, at most 100 statements), optionally ``witness=W`` (one
member's statements) and ``kind=cosignature|refusal``: the statements this node holds (its
own and those it collected from the other members, each verified by the witness's published
key), each with its CID, and per checkpoint the members that cosigned and refused it and
whether a threshold of the contract's members cosigned it (``witnessed``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from anchor.witness import cosignatures_view
from api.context import Context
from node.storage.witness import PAGE, WitnessStatements

router = APIRouter(prefix="/v1")

Province = Annotated[str, Query(pattern=r"^[1-8][0-9]$", description="province code, 2 digits")]


@router.get(
    "/cosignatures",
    summary="Members' cosignatures and refusals of a province's checkpoints (public)",
    tags=["log"],
)
async def cosignatures(
    ctx: Context,
    province: Province,
    index: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    after: Annotated[int, Query(ge=-1, le=2**62)] = -1,
    witness: Annotated[str | None, Query(pattern=r"^[1-8][0-9]$")] = None,
    kind: Annotated[Literal["cosignature", "refusal"] | None, Query()] = None,
) -> dict[str, Any]:
    node = ctx.node

    def read() -> dict[str, Any]:
        with node.db.transaction() as session:
            found = WitnessStatements(session).of(
                province, index=index, witness=witness, after=after, kind=kind, limit=PAGE
            )
        return cosignatures_view(found, node.client.members(), node.network)

    return await run_in_threadpool(read)


__all__ = ["router"]
