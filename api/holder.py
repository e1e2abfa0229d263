"""The holder's own reads: the full bundle and the printable PDF (data guide art. 19, seed 002).

A bundle carries the holder's name, the unmasked ID number and every salt, so it is given only
to someone who proves all three of certificate number, holder name and ID number. Two of three
is what the public search takes (:func:`api.reads.search`), and two of three are printed on the
paper certificate while every certificate number is public in the manifests: two fields prove
nothing about who is asking.

Guessing the third field is defended twice: the per-client token bucket of the search
(:func:`api.context.rate_limit`), and a per-certificate-number count of failed matches per day
in China Standard Time, whoever asks (:class:`api.ratelimit.FailureCounter`). Once a number has
used its failures for the day, every request for it is refused with 429
``holder.attempts_exhausted`` until the next day, a correct one included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.auth import Principal
from api.context import ApiContext, Caller, Context, rate_limit
from api.pdf import render_certificate_pdf
from api.problems import Problem, problem
from api.reads import BUNDLE_RESPONSES, BundleFormat, cached_bundle
from node.storage import CertificateRecord, CertificateRepository

router = APIRouter(prefix="/v1")

_FIELDS = (
    ("certificate_number", "certificate number (22 characters)"),
    ("name", "holder name"),
    ("id_number", "ID number"),
)


def _holder_record(
    request: Request,
    ctx: ApiContext,
    who: Principal,
    certificate_number: str | None,
    name: str | None,
    id_number: str | None,
) -> CertificateRecord:
    """The active certificate whose number, holder name and ID number are all three given.

    Raises:
        Problem: 422 ``holder.three_fields`` (a field missing or blank); 429 ``rate.limited``
            (the client's bucket) or ``holder.attempts_exhausted`` (this number's failures
            today); 404 ``certificate.unknown`` (no active certificate matches all three).
    """
    values = {"certificate_number": certificate_number, "name": name, "id_number": id_number}
    for field, label in _FIELDS:
        value = values[field]
        if value is None or not value.strip():
            raise problem(
                422,
                f"give all three of certificate number, holder name and ID number ({label} "
                "is missing); the public search takes two",
                field,
                "holder.three_fields",
            )
    assert certificate_number is not None and name is not None and id_number is not None
    rate_limit(request, ctx, who)
    number = certificate_number.strip().upper()
    now = ctx.settings.clock()
    wait = ctx.holder_failures.blocked(number, now)
    if wait is not None:
        raise _exhausted(wait)
    node = ctx.node
    with node.db.transaction() as session:
        certificates = CertificateRepository(session, node.cipher, node.blind_index)
        records = certificates.find_by_two_of_three(
            certificate_number=number, name=name, id_number=id_number
        )
    active = [r for r in records if r.status == "active" and r.province == node.province]
    if not active:
        wait = ctx.holder_failures.fail(number, now)
        if wait is not None:
            raise _exhausted(wait)
        raise problem(404, "no active certificate matches", "query", "certificate.unknown")
    # A certificate number names one certificate; its current version is the only active one.
    return active[0]


def _exhausted(wait: int) -> Problem:
    return Problem(
        429,
        "Too many requests",
        "too many failed matches for this certificate number today; try again tomorrow "
        f"(in {wait} s) or ask the issuing province for a one-time code",
        "certificate_number",
        "holder.attempts_exhausted",
        headers={"Retry-After": str(wait)},
    )


@router.get(
    "/holder/bundle",
    summary="A holder's bundle, found by certificate number, holder name and ID number",
    description=(
        "All three of `certificate_number`, `name` and `id_number` are required (422 "
        "`holder.three_fields` otherwise): the bundle holds the unmasked ID number and every "
        "salt. `format`: `json` (the bundle), `compact` (the `CR1:` QR text) or `vc` (a W3C "
        "Verifiable Credential 2.0 carrying the same proof). Only an active certificate's "
        "bundle is given. Rate limited per client as the search is, and failed matches for "
        "one certificate number are limited per day whoever asks (429 "
        "`holder.attempts_exhausted`)."
    ),
    tags=["holder"],
    response_class=Response,
    responses=BUNDLE_RESPONSES,
)
def holder_bundle(
    request: Request,
    ctx: Context,
    who: Caller,
    certificate_number: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    id_number: Annotated[str | None, Query(max_length=64)] = None,
    format: BundleFormat = "json",
) -> Response:
    record = _holder_record(request, ctx, who, certificate_number, name, id_number)
    return cached_bundle(ctx, record, format)


@router.get(
    "/holder/pdf",
    summary="A holder's printable certificate, found by certificate number, name and ID number",
    description="The same three fields, limits and refusals as `GET /v1/holder/bundle`.",
    tags=["holder"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def holder_pdf(
    request: Request,
    ctx: Context,
    who: Caller,
    certificate_number: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    id_number: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    record = _holder_record(request, ctx, who, certificate_number, name, id_number)
    data = render_certificate_pdf(ctx.node.bundles.bundle(record.commitment))
    return Response(bytes(data), media_type="application/pdf")
