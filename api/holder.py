"""The holder's own reads: the full or redacted bundle, the printable PDF and who read their
certificate (data guide 中就培发〔2022〕1号 arts. 18-19; docs/SHARING.md "The holder").

A bundle carries the holder's name, the unmasked ID number and every salt, so it is given only
to someone who proves all three of certificate number, holder name and ID number, or who brings
a one-time code the issuing province gave them (``POST /v1/certificates/{commitment}/holder-
code``, :mod:`node.services.holder_codes`). Two of three is what the public search takes
(:mod:`api.search`), and two of three are printed on the paper certificate while every
certificate number is public in the manifests: two fields prove nothing about who is asking.

The holder may ask for a **redacted** bundle (``disclose``: the fields to show; the other
personal and descriptive fields are replaced by their hashes and still verify), and may see
the access log's records about their certificate (``GET /v1/holder/access-log``).

Guessing the third field is defended twice: the per-client token bucket of the search
(:func:`api.context.rate_limit`), and a per-certificate-number count of failed matches per day
in China Standard Time, whoever asks, kept in the database so that every API process shares it
(:class:`api.ratelimit.FailureCounter`). Once a number has used its failures for the day,
every request for it is refused with 429 ``holder.attempts_exhausted`` until the next day, a
correct one included. Every read, found or not, is recorded in the access log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from api.access import Audit, AuditParams, read_of, record, requester
from api.auth import Principal, require_writer
from api.context import ApiContext, Caller, Context, rate_limit
from api.pdf import render_certificate_pdf
from api.problems import Problem, problem
from api.reads import (
    BUNDLE_RESPONSES,
    MEDIA_TYPES,
    BundleFormat,
    _commitment,
    _record,
    cached_bundle,
    render_bundle,
)
from node.core.errors import InvalidInput
from node.core.formats.bundle import ENTRY_MIRRORED_FIELDS, REDACTABLE_FIELDS
from node.core.rules.codes import PROVINCES
from node.storage import CertificateRecord, CertificateRepository

router = APIRouter(prefix="/v1")

_FIELDS = (
    ("certificate_number", "certificate number (22 characters)"),
    ("name", "holder name"),
    ("id_number", "ID number"),
)
Text = Annotated[str | None, Query(max_length=64)]
Code = Annotated[
    str | None,
    Query(
        max_length=64,
        description="a one-time code from the issuing province, instead of the three fields",
    ),
]


def _three(
    certificate_number: str | None, name: str | None, id_number: str | None
) -> tuple[str, str, str]:
    values = {"certificate_number": certificate_number, "name": name, "id_number": id_number}
    for field, label in _FIELDS:
        value = values[field]
        if value is None or not value.strip():
            raise problem(
                422,
                f"give all three of certificate number, holder name and ID number ({label} "
                "is missing), or a one-time code; the public search takes two",
                field,
                "holder.three_fields",
            )
    assert certificate_number is not None and name is not None and id_number is not None
    return certificate_number.strip().upper(), name, id_number


def _other_province(ctx: ApiContext, number: str) -> None:
    """A holder's read is answered by the issuing province only (its salts and ID number do
    not travel through another province's node): 404 ``holder.other_province`` naming it."""
    named = number[5:7] if len(number) == 22 else None
    if named is None or named not in PROVINCES or named == ctx.node.province:
        return
    federation = ctx.node.federation
    where = "" if federation is None else federation.peers.get(named, "")
    raise problem(
        404,
        f"certificate {number} was issued in province {named}: ask its node"
        + (f" ({where})" if where else ""),
        "certificate_number",
        "holder.other_province",
    )


def _log(
    ctx: ApiContext,
    operation: str,
    who: Principal,
    params: AuditParams,
    result: str,
    *,
    query: tuple[str, ...],
    name: str | None = None,
    commitments: tuple[bytes, ...] = (),
    rule: str | None = None,
) -> None:
    record(
        ctx,
        read_of(
            ctx,
            operation=operation,
            who=requester(who),
            params=params,
            result=result,
            query=query,
            name=name,
            commitments=commitments,
            rule=rule,
        ),
    )


def holder_record(
    request: Request,
    ctx: ApiContext,
    who: Principal,
    params: AuditParams,
    operation: str,
    fields: tuple[str | None, str | None, str | None],
    code: str | None = None,
) -> CertificateRecord:
    """The active certificate whose number, holder name and ID number are all three given
    (or that the one-time ``code`` was given for), its read recorded in the access log.

    Raises:
        Problem: 422 ``holder.three_fields`` (a field missing or blank, and no code); 429
            ``rate.limited`` (the client's bucket) or ``holder.attempts_exhausted`` (this
            number's failures today); 404 ``certificate.unknown`` (no active certificate
            matches all three), ``holder.other_province`` (another province's number).
        InvalidInput: ``holder.code`` / ``holder.code_unknown`` (a bad, used or expired code).
    """
    if code is not None and code.strip():
        rate_limit(request, ctx, who)
        try:
            number = ctx.node.holder_codes.redeem(code)
        except InvalidInput as exc:
            _log(ctx, operation, who, params, "refused", query=("code",), rule=exc.rule)
            raise
        node = ctx.node
        with node.db.transaction() as session:
            found = CertificateRepository(session, node.cipher, node.blind_index).get_current(
                number
            )
        if found is None or found.status != "active" or found.province != node.province:
            _log(ctx, operation, who, params, "not_found", query=("code",))
            raise problem(
                404, "no active certificate has this number", "code", "certificate.unknown"
            )
        _log(ctx, operation, who, params, "found", query=("code",), commitments=(found.commitment,))
        return found
    number, name, id_number = _three(*fields)
    rate_limit(request, ctx, who)
    _other_province(ctx, number)
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
    query = ("certificate_number", "name", "id_number")
    if not active:
        _log(ctx, operation, who, params, "not_found", query=query, name=name)
        wait = ctx.holder_failures.fail(number, now)
        if wait is not None:
            raise _exhausted(wait)
        raise problem(404, "no active certificate matches", "query", "certificate.unknown")
    # A certificate number names one certificate; its current version is the only active one.
    found = active[0]
    _log(
        ctx,
        operation,
        who,
        params,
        "found",
        query=query,
        name=name,
        commitments=(found.commitment,),
    )
    return found


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


def disclosed(text: str | None) -> tuple[str, ...] | None:
    """The fields to redact for ``disclose`` (comma-separated field names to show); None for
    the full bundle.

    Raises:
        InvalidInput: ``disclose`` / ``bundle.disclose`` (an unknown field name).
    """
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = set(REDACTABLE_FIELDS) | set(ENTRY_MIRRORED_FIELDS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            "disclose",
            "bundle.disclose",
            f"unknown field {unknown[0]!r}; fields are "
            + ", ".join(REDACTABLE_FIELDS + ENTRY_MIRRORED_FIELDS),
        )
    return tuple(n for n in REDACTABLE_FIELDS if n not in names)


@router.get(
    "/holder/bundle",
    summary="A holder's bundle, found by certificate number, holder name and ID number",
    description=(
        "All three of `certificate_number`, `name` and `id_number` are required (422 "
        "`holder.three_fields` otherwise), or a one-time `code` the issuing province gave: "
        "the bundle holds the unmasked ID number and every salt. `format`: `json` (the "
        "bundle), `compact` (the `CR1:` QR text) or `vc` (a W3C Verifiable Credential 2.0 "
        "carrying the same proof). `disclose`: comma-separated fields to show (a redacted "
        "bundle: the others among " + ", ".join(REDACTABLE_FIELDS) + " become hashes and "
        "still verify). Only an active certificate's bundle of this province is given "
        "(another province's number: 404 `holder.other_province`). Rate limited per client "
        "as the search is, and failed matches for one certificate number are limited per "
        "day whoever asks (429 `holder.attempts_exhausted`). Recorded in the access log."
    ),
    tags=["holder"],
    response_class=Response,
    responses=BUNDLE_RESPONSES,
)
def holder_bundle(
    request: Request,
    ctx: Context,
    who: Caller,
    params: Audit,
    certificate_number: Text = None,
    name: Text = None,
    id_number: Text = None,
    code: Code = None,
    format: BundleFormat = "json",
    disclose: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    redact = disclosed(disclose)
    found = holder_record(
        request, ctx, who, params, "holder_bundle", (certificate_number, name, id_number), code
    )
    if redact is None:
        return cached_bundle(ctx, found, format)
    bundle = ctx.node.bundles.bundle(found.commitment).redact(*redact)
    return Response(render_bundle(bundle, format), media_type=MEDIA_TYPES[format])


@router.get(
    "/holder/pdf",
    summary="A holder's printable certificate, found by certificate number, name and ID number",
    description="The same three fields (or one-time code), limits and refusals as "
    "`GET /v1/holder/bundle`.",
    tags=["holder"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def holder_pdf(
    request: Request,
    ctx: Context,
    who: Caller,
    params: Audit,
    certificate_number: Text = None,
    name: Text = None,
    id_number: Text = None,
    code: Code = None,
) -> Response:
    found = holder_record(
        request, ctx, who, params, "holder_pdf", (certificate_number, name, id_number), code
    )
    data = render_certificate_pdf(ctx.node.bundles.bundle(found.commitment))
    return Response(bytes(data), media_type="application/pdf")


@router.get(
    "/holder/access-log",
    summary="Who read the holder's certificate and why (all three fields)",
    description=(
        "The access log's records about every version of the holder's certificate, newest "
        "first: `time`, `province`, `operation`, `role`, `via` (the province a query came "
        "through), `agreement`, `purpose`, `orgName`, `username`, `itemName`, `itemCode`, "
        "`businessCode`, `result`. The same three fields, limits and refusals as the bundle."
    ),
    tags=["holder"],
)
def holder_access_log(
    request: Request,
    ctx: Context,
    who: Caller,
    params: Audit,
    certificate_number: Text = None,
    name: Text = None,
    id_number: Text = None,
) -> dict[str, Any]:
    found = holder_record(
        request, ctx, who, params, "holder_access_log", (certificate_number, name, id_number)
    )
    node = ctx.node
    with node.db.transaction() as session:
        versions = CertificateRepository(
            session, node.cipher, node.blind_index
        ).find_by_two_of_three(
            certificate_number=found.certificate_number,
            id_number=id_number,
            include_superseded=True,
        )
    commitments = [v.commitment for v in versions] or [found.commitment]
    return {
        "certificate_number": found.certificate_number,
        "reads": node.access.about(commitments),
    }


@router.post(
    "/certificates/{commitment}/holder-code",
    summary="A one-time code for the holder's own bundle (its province's operator or issuer)",
    description=(
        "Give it to the holder (on paper, by text message): `GET /v1/holder/bundle?code=…` "
        "then gives the bundle once, within `ttl_days` (default 7, at most 30). Only the "
        "code's hash is kept; the code is shown once."
    ),
    tags=["holder"],
    status_code=201,
)
def holder_code(
    ctx: Context,
    who: Caller,
    commitment: str,
    ttl_days: Annotated[int, Body(embed=True, ge=1, le=30)] = 7,
) -> dict[str, Any]:
    found = _record(ctx, _commitment(commitment))
    require_writer(
        who, province=found.province, organisation_code=found.organisation_code, field="commitment"
    )
    if found.status != "active" or found.superseded_by is not None:
        raise InvalidInput("commitment", "holder.not_active", "the certificate is not active")
    code, expires = ctx.node.holder_codes.issue(
        found.certificate_number, actor=who.actor, ttl=dt.timedelta(days=ttl_days)
    )
    return {
        "certificate_number": found.certificate_number,
        "code": code,
        "expires_at": expires.isoformat(),
    }
