"""What the API writes to the access log for each read of personal data (docs/SHARING.md
"Access log"), and the audit fields callers send with such reads.

Every endpoint that answers a holder's data (search, the holder's bundle, PDF and access log,
bundles and PDFs by commitment, queries from other provinces) records the read through
:func:`record` *before* it answers, so nothing is read unrecorded (a failed record fails the
read). Callers may send the five fields of the national e-licence platform's practice and the
purpose as query parameters: ``orgName``, ``username``, ``itemName``, ``itemCode`` (事项编码),
``businessCode`` (办件编号) and ``UseFor``; the node fills ``orgName`` where it knows the
caller's organisation (a partner's agreement, an issuer's filing, an operator's province).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal
from api.context import ApiContext
from node.core.formats.access import AccessRecord, Requester, audit_fields
from node.core.rules.codes import PROVINCES
from node.core.sharing import Agreement
from node.services.access import Read
from node.storage import OrganisationRepository

_TEXT = {"max_length": 128}


@dataclasses.dataclass(frozen=True, slots=True)
class AuditParams:
    """The five audit fields and the purpose a caller sent (None when not sent)."""

    org_name: str | None = None
    username: str | None = None
    item_name: str | None = None
    item_code: str | None = None
    business_code: str | None = None
    use_for: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "orgName": self.org_name,
            "username": self.username,
            "itemName": self.item_name,
            "itemCode": self.item_code,
            "businessCode": self.business_code,
            "UseFor": self.use_for,
        }

    @classmethod
    def from_json(cls, value: Any) -> AuditParams:
        """From :meth:`to_json` (a forwarded request); unknown or non-text values are
        dropped, lengths are checked by :func:`node.core.formats.access.audit_fields`."""
        if not isinstance(value, dict):
            return cls()

        def text(key: str) -> str | None:
            item = value.get(key)
            return item if isinstance(item, str) else None

        return cls(
            text("orgName"),
            text("username"),
            text("itemName"),
            text("itemCode"),
            text("businessCode"),
            text("UseFor"),
        )


def audit_params(
    org_name: Annotated[
        str | None, Query(alias="orgName", description="the caller's organisation", **_TEXT)
    ] = None,
    username: Annotated[
        str | None, Query(description="the person asking (经办人)", **_TEXT)
    ] = None,
    item_name: Annotated[
        str | None, Query(alias="itemName", description="the matter (事项名称)", **_TEXT)
    ] = None,
    item_code: Annotated[
        str | None, Query(alias="itemCode", description="the matter's code (事项编码)", **_TEXT)
    ] = None,
    business_code: Annotated[
        str | None,
        Query(alias="businessCode", description="the case number (办件编号)", **_TEXT),
    ] = None,
    use_for: Annotated[
        str | None, Query(alias="UseFor", description="the purpose of the use (用途)", **_TEXT)
    ] = None,
) -> AuditParams:
    return AuditParams(org_name, username, item_name, item_code, business_code, use_for)


Audit = Annotated[AuditParams, Depends(audit_params)]


def requester(who: Principal, via: str | None = None) -> Requester:
    """The access log's requester of ``who`` (for a request another province forwarded,
    ``via`` is that province)."""
    return Requester(role=who.role, key_id=who.key_id, scope=who.scope, via=via)


def org_name(ctx: ApiContext, who: Principal, agreement: Agreement | None) -> str | None:
    """The caller's organisation as the node knows it (None when it does not)."""
    if agreement is not None:
        return agreement.terms.partner_name
    if who.role == "operator":
        return PROVINCES.get(who.scope)
    if who.role == "issuer":
        with ctx.node.db.transaction() as session:
            found = OrganisationRepository(session).get(who.scope)
        return None if found is None else found.name
    return None


def read_of(
    ctx: ApiContext,
    *,
    operation: str,
    who: Requester,
    params: AuditParams,
    result: str,
    known_org: str | None = None,
    agreement: str | None = None,
    purpose: str | None = None,
    query: Sequence[str] = (),
    name: str | None = None,
    commitments: Sequence[bytes] = (),
    rule: str | None = None,
) -> Read:
    """A :class:`Read` of this request (``name``: the holder name queried, kept only as its
    short keyed tag)."""
    fields = {
        "orgName": known_org or params.org_name,
        "username": params.username,
        "itemName": params.item_name,
        "itemCode": params.item_code,
        "businessCode": params.business_code,
    }
    tag = None if not name or not name.strip() else ctx.node.blind_index.holder_name(name)[:8]
    return Read(
        operation=operation,
        requester=who,
        result=result,
        audit=audit_fields(fields),
        agreement=agreement,
        purpose=purpose if purpose is not None else params.use_for,
        query=tuple(query),
        name_tag=tag,
        commitments=tuple(dict.fromkeys(commitments)),
        rule=rule,
    )


def record_read(ctx: ApiContext, read: Read) -> AccessRecord:
    """The same as :func:`record` (for modules where ``record`` names something else)."""
    return record(ctx, read)


def record(ctx: ApiContext, read: Read, *, nonce: tuple[str, bytes] | None = None) -> AccessRecord:
    """Append the read to the node's access log (before the answer goes out; with the nonce
    of a province's signed request in the same transaction).

    Raises:
        StorageError: it could not be written (the API answers 500; nothing is sent).
        RequestRefused: ``federation.replay``.
    """
    return ctx.node.access.record(read, nonce=nonce)


async def record_async(ctx: ApiContext, read: Read) -> AccessRecord:
    """:func:`record` on a worker thread."""
    return await run_in_threadpool(record, ctx, read)
