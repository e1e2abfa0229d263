"""The two-of-three search, from any province about any province's certificate (data guide
中就培发〔2022〕1号 arts. 19-22; docs/SHARING.md).

``GET /v1/certificates/search`` takes two of certificate number, holder name and ID number
(art. 20) and answers every certificate version that matches, each with its province, number,
commitment and status (a superseded version names its successor); an active one also with its
fields, the personal ones as the caller may see them:

==========================  ==================================================================
caller                      holder name / ID number of an active certificate
==========================  ==================================================================
no key, ``public`` key      name in full, ID number masked (the national query practice)
``issuer``                  both in full for its own certificates, else as the public
``operator``, ``auditor``   both in full for this province's certificates
``partner``                 as its agreement's ``fields`` say, the others masked; only the
                            status when the agreement allows ``status`` and not ``query``
==========================  ==================================================================

**Routing** (互通): the certificate number names its province (positions 6-7), so a query with
a number goes to that province only; a query by name and ID number goes to every member in
parallel. Other provinces are asked through :class:`province.federation.Federation`; each
answers with its own rules and records the read in its own access log. The answer says which
provinces were asked (``asked``) and which did not answer and why (``unanswered``).

A partner's query is checked against its agreement first (period, operation, purpose, the
provinces it covers, the daily quota) and must carry ``businessCode`` and ``itemCode``.
Every search is recorded in this node's access log before it is answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import views
from api.access import Audit, AuditParams, org_name, read_of, record, requester
from api.auth import Principal
from api.context import ApiContext, Caller, Context, rate_limit
from node.core.errors import ChainError, InvalidInput
from node.core.formats.access import Requester
from node.core.rules.codes import PROVINCES
from node.core.sharing import (
    PERSONAL_FIELDS,
    AccessDenied,
    Agreement,
    QuotaExhausted,
    check_use,
    covered,
)
from node.storage import CertificateRecord, CertificateRepository

router = APIRouter(prefix="/v1")
PUBLIC_FIELDS: tuple[str, ...] = ("holder_name",)
#: Field names of a query, in the order the access log lists them.
QUERY_FIELDS = ("certificate_number", "name", "id_number")


@dataclasses.dataclass(frozen=True, slots=True)
class TwoOfThree:
    """A query: at least two of the three, blanks as None."""

    certificate_number: str | None
    name: str | None
    id_number: str | None

    @classmethod
    def of(cls, certificate_number: Any, name: Any, id_number: Any) -> TwoOfThree:
        """Raises InvalidInput ``query`` / ``query.two_of_three`` with fewer than two."""

        def clean(value: Any) -> str | None:
            return value.strip() if isinstance(value, str) and value.strip() else None

        number = clean(certificate_number)
        query = cls(None if number is None else number.upper(), clean(name), clean(id_number))
        if len(query.given()) < 2:
            raise InvalidInput(
                "query",
                "query.two_of_three",
                "give at least two of certificate number, holder name and ID number",
            )
        return query

    def given(self) -> tuple[str, ...]:
        values = (self.certificate_number, self.name, self.id_number)
        return tuple(f for f, v in zip(QUERY_FIELDS, values, strict=True) if v is not None)

    def province(self) -> str | None:
        """The province a well-formed certificate number names (positions 6-7)."""
        number = self.certificate_number
        if number is None or len(number) != 22 or number[5:7] not in PROVINCES:
            return None
        return number[5:7]

    def to_json(self) -> dict[str, str | None]:
        return {
            "certificate_number": self.certificate_number,
            "name": self.name,
            "id_number": self.id_number,
        }


FieldsFor = Callable[[CertificateRecord], Sequence[str] | None]


def fields_for(who: Principal | Requester, agreement: Agreement | None) -> FieldsFor:
    """Which personal fields of an active certificate ``who`` sees in full (None: its status
    only); see the module docstring."""

    def rule(record: CertificateRecord) -> Sequence[str] | None:
        if who.role == "partner" and agreement is not None:
            if "query" not in agreement.terms.operations:
                return None
            return agreement.terms.fields
        if getattr(who, "via", None) is not None:  # another province's caller
            return PUBLIC_FIELDS
        if who.role == "operator" and who.scope == record.province:
            return PERSONAL_FIELDS
        if who.role == "auditor":
            return PERSONAL_FIELDS
        if who.role == "issuer" and who.scope == record.organisation_code:
            return PERSONAL_FIELDS
        return PUBLIC_FIELDS

    return rule


def local_matches(ctx: ApiContext, query: TwoOfThree, full: FieldsFor) -> list[dict[str, Any]]:
    """This node's certificate versions matching ``query`` (superseded ones included, deleted
    ones left out), as :func:`api.views.search_match` shows them to the caller."""
    node = ctx.node
    with node.db.transaction() as session:
        certificates = CertificateRepository(session, node.cipher, node.blind_index)
        records = certificates.find_by_two_of_three(
            certificate_number=query.certificate_number,
            name=query.name,
            id_number=query.id_number,
            include_superseded=True,
        )
        out: list[dict[str, Any]] = []
        for r in records:
            if r.status == "deleted" or r.province != node.province:
                continue
            shown = full(r)
            certificate = (
                certificates.salted(r).certificate()
                if r.status == "active" and shown is not None
                else None
            )
            out.append(views.search_match(r, certificate, shown))
        return out


def _members(ctx: ApiContext) -> list[str]:
    federation = ctx.node.federation
    if federation is None:
        return []
    try:
        return federation.members()
    except ChainError:  # the chain is down: the provinces this node has addresses for
        return sorted(federation.peers)


def targets(ctx: ApiContext, query: TwoOfThree) -> list[str]:
    """The provinces a query goes to: the number's, or this one and every other member."""
    named = query.province()
    if query.certificate_number is not None:
        return [named or ctx.node.province]
    return [ctx.node.province, *[p for p in _members(ctx) if p != ctx.node.province]]


def _remote(
    ctx: ApiContext,
    provinces: Sequence[str],
    query: TwoOfThree,
    who: Principal,
    agreement: Agreement | None,
    params: AuditParams,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Ask other provinces; return their matches and the provinces that did not answer."""
    if not provinces:
        return [], {}
    federation = ctx.node.federation
    if federation is None:
        return [], dict.fromkeys(provinces, "no_federation")
    members = set(_members(ctx))
    unanswered = {p: "not_a_member" for p in provinces if p not in members}
    asked = [p for p in provinces if p in members]
    body = {
        "query": query.to_json(),
        "requester": {"role": who.role, "key_id": who.key_id, "scope": who.scope},
        "agreement": None if agreement is None else agreement.to_json(),
        "audit": params.to_json(),
    }
    matches: list[dict[str, Any]] = []
    for province, answer in federation.ask(asked, body).items():
        found = None if answer.body is None else answer.body.get("matches")
        if (
            answer.body is not None
            and answer.body.get("province") == province
            and isinstance(found, list)
        ):
            matches.extend(
                m for m in found if isinstance(m, dict) and m.get("province") == province
            )
        else:
            unanswered[province] = answer.reason or "malformed"
    return matches, unanswered


def _commitments(matches: Sequence[dict[str, Any]]) -> list[bytes]:
    out: list[bytes] = []
    for match in matches:
        try:
            value = bytes.fromhex(str(match.get("commitment", "")))
        except ValueError:
            continue
        if len(value) == 32:
            out.append(value)
    return out


@router.get(
    "/certificates/search",
    summary="Find certificates by two of certificate number, holder name and ID number, in any "
    "province",
    description=(
        "At least two of `certificate_number`, `name` and `id_number` (data guide art. 20; "
        "one alone: 422 `query.two_of_three`). Every matching version: `province`, "
        "`certificate_number`, `commitment`, `status`, `superseded_by` (a superseded "
        "version's successor) and, for an active one, `certificate` with the personal fields "
        "as the caller may see them (public: the ID number masked). A number is routed to "
        "the province it names; name and ID number go to every member province. `asked`: "
        "the provinces asked; `unanswered`: those that did not answer, with why. A partner "
        "key needs `businessCode` and `itemCode` and is held to its agreement (403 "
        "`sharing.*`, 429 `sharing.quota`). Rate limited per client (429 `rate.limited`). "
        "Every search is recorded in the access log (docs/SHARING.md)."
    ),
    tags=["public"],
)
def search(
    request: Request,
    ctx: Context,
    who: Caller,
    params: Audit,
    certificate_number: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    id_number: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    rate_limit(request, ctx, who)
    query = TwoOfThree.of(certificate_number, name, id_number)
    agreement: Agreement | None = None
    operation = "search"
    provinces = targets(ctx, query)
    unanswered: dict[str, str] = {}
    if who.role == "partner":
        agreement, operation = _partner(ctx, who, params, query)
        provinces, uncovered = covered(agreement, provinces)
        unanswered.update(dict.fromkeys(uncovered, "refused:sharing.province"))
    local: list[dict[str, Any]] = []
    if ctx.node.province in provinces:
        local = local_matches(ctx, query, fields_for(who, agreement))
    others = [p for p in provinces if p != ctx.node.province]
    remote, missing = _remote(ctx, others, query, who, agreement, params)
    unanswered.update(missing)
    matches = local + remote
    record(
        ctx,
        read_of(
            ctx,
            operation=operation,
            who=requester(who),
            params=params,
            result="found" if matches else "not_found",
            known_org=org_name(ctx, who, agreement),
            agreement=None if agreement is None else agreement.id,
            query=query.given(),
            name=query.name,
            commitments=_commitments(matches),
        ),
    )
    return {
        "matches": matches,
        "asked": sorted(set(provinces) | set(unanswered)),
        "unanswered": dict(sorted(unanswered.items())),
    }


def _partner(
    ctx: ApiContext, who: Principal, params: AuditParams, query: TwoOfThree
) -> tuple[Agreement, str]:
    """A partner's query checked against its agreement and counted against its quota; the
    agreement and the access log's operation. A refusal is recorded before it is raised."""
    assert who.agreement is not None
    if params.business_code is None or not params.business_code.strip():
        raise InvalidInput(
            "businessCode", "access.business_code", "a partner's query gives businessCode"
        )
    if params.item_code is None or not params.item_code.strip():
        raise InvalidInput("itemCode", "access.item_code", "a partner's query gives itemCode")
    agreement = ctx.node.sharing.get(who.agreement)
    operation = "query" if "query" in agreement.terms.operations else "status"
    try:
        ctx.node.sharing.authorise(
            agreement.id, operation=operation, province=None, purpose=params.use_for
        )
    except (AccessDenied, QuotaExhausted) as exc:
        record(
            ctx,
            read_of(
                ctx,
                operation=f"partner_{operation}",
                who=requester(who),
                params=params,
                result="refused",
                known_org=agreement.terms.partner_name,
                agreement=agreement.id,
                query=query.given(),
                name=query.name,
                rule=exc.rule,
            ),
        )
        raise
    return agreement, f"partner_{operation}"


def check_forwarded_agreement(
    ctx: ApiContext, agreement: Agreement, province: str, purpose: str | None
) -> str:
    """This province's own check of another province's agreement forwarded with a partner's
    query: active, within its period by this node's clock, covering this province; returns
    the operation it allows (``query`` or ``status``).

    Raises:
        AccessDenied: as :func:`node.core.sharing.check_use`.
    """
    operation = "query" if "query" in agreement.terms.operations else "status"
    check_use(
        agreement,
        now=ctx.node.clock(),
        operation=operation,
        province=ctx.node.province,
        purpose=purpose,
    )
    if agreement.province != province:
        raise AccessDenied(
            "agreement", "sharing.agreement_id", "the agreement is not the asking province's"
        )
    return operation
