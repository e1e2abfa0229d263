"""Reconciliation: settle every organisation of the province with the chain, adopting what the
chain holds and the database lacks when it extends the database's state (organisations filed on
chain whose database write was lost come back from their published scope document), and
raising :class:`~province.organisations.mirror.OrganisationMismatch` for any other difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anchor.chain import OrganisationKey
from node.core.errors import InvalidInput
from node.core.rules.scope import ScopeDocument, cid_of_scope_hash, parse_scope_document
from node.storage import OrganisationKeyRecord, OrganisationRepository
from province.organisations.mirror import (
    ACTION_RECONCILE,
    DB_STATUS,
    SUITE_NAMES,
    Mirror,
    OrganisationChange,
    OrganisationMismatch,
    add_key,
    log,
    show_key,
)


def reconcile(mirror: Mirror, *, actor: str = "reconcile") -> list[OrganisationChange]:
    """Settle every organisation of the province with the chain; return what was adopted
    (:meth:`OrganisationService.reconcile`)."""
    with mirror.db.transaction() as session:
        codes = {r.code for r in OrganisationRepository(session).all(mirror.province)}
    events = mirror.client.iter_events(
        mirror.client.options.from_block,
        mirror.client.final_block(),
        names=["OrganisationFiled"],
    )
    for event in events:
        if int(event.args["province"]) == int(mirror.province):
            codes.add(bytes(event.args["code"]).decode("ascii"))
    changes = []
    for code in sorted(codes):
        change = _reconcile_one(mirror, code, actor)
        if change is not None:
            changes.append(change)
    return changes


def _fetch_document(mirror: Mirror, code: str, scope_hash: bytes) -> ScopeDocument:
    cid = cid_of_scope_hash(scope_hash)
    try:
        document = parse_scope_document(mirror.store.get(cid))
    except InvalidInput as exc:
        raise OrganisationMismatch(
            code, "scope document", chain=cid, database=f"unreadable ({exc.rule})"
        ) from exc
    if document.organisation_code != code or document.province != mirror.province:
        raise OrganisationMismatch(
            code, "scope document", chain=cid, database="describes another organisation"
        )
    return document


def _reconcile_one(mirror: Mirror, code: str, actor: str) -> OrganisationChange | None:
    record, db_keys = mirror.record(code)
    on_chain = mirror.client.organisation(code)
    if on_chain.status == 0:
        raise OrganisationMismatch(code, "filing", chain="not filed", database="filed")
    chain_keys = mirror.chain_keys(code, on_chain.key_count)
    chain_status = DB_STATUS[on_chain.status]
    adopted: dict[str, Any] = {}
    document: ScopeDocument | None = None
    if record is None:
        document = _fetch_document(mirror, code, on_chain.scope_hash)
        adopted["filing"] = cid_of_scope_hash(on_chain.scope_hash)
    else:
        if record.status != chain_status:
            if record.status == "terminated":
                raise OrganisationMismatch(
                    code, "status", chain=chain_status, database=record.status
                )
            adopted["status"] = chain_status
        if record.scope_hash != on_chain.scope_hash:
            fetched = _fetch_document(mirror, code, on_chain.scope_hash)
            if (fetched.name, fetched.category) != (record.name, record.category):
                raise OrganisationMismatch(
                    code, "scope document", chain=fetched.name, database=record.name
                )
            document = fetched
            adopted["scope"] = cid_of_scope_hash(on_chain.scope_hash)
    ends = _key_ends_to_adopt(mirror, code, db_keys, chain_keys)
    if ends:
        adopted["key_ends"] = {str(k): v for k, v in ends.items()}
    new_keys = chain_keys[len(db_keys) :]
    if new_keys:
        adopted["keys"] = [k.key_id for k in new_keys]
    if not adopted:
        return None
    now = mirror.clock()
    with mirror.db.transaction() as session:
        repo = OrganisationRepository(session)
        if record is None:
            assert document is not None
            repo.add(
                code=code,
                province=mirror.province,
                name=document.name,
                scope=document.stored_scope(),
                now=now,
                category=document.category,
                scope_hash=on_chain.scope_hash,
            )
        elif document is not None:
            repo.set_scope(code, document.stored_scope(), on_chain.scope_hash, now=now)
        for key_id, end in ends.items():
            repo.close_key(code, key_id, end)
        for key in new_keys:
            add_key(repo, code, key, now=now)
        # The status last: set_scope refuses a terminated organisation.
        if chain_status != (record.status if record is not None else "active"):
            repo.set_status(code, chain_status, now=now)
        mirror.audit(session, ACTION_RECONCILE, code, actor=actor, now=now, details=adopted)
    log.info("organisation %s reconciled with the chain: %s", code, sorted(adopted))
    return OrganisationChange(code, ACTION_RECONCILE, (), True)


def _key_ends_to_adopt(
    mirror: Mirror,
    code: str,
    db_keys: Sequence[OrganisationKeyRecord],
    chain_keys: Sequence[OrganisationKey],
) -> dict[int, int]:
    """Key ends the chain shortened and the database lacks; refuse any other difference."""
    if len(db_keys) > len(chain_keys):
        raise OrganisationMismatch(code, "key count", chain=len(chain_keys), database=len(db_keys))
    ends: dict[int, int] = {}
    for db_key, chain_key in zip(db_keys, chain_keys, strict=False):
        same_key = (
            SUITE_NAMES.get(chain_key.suite) == db_key.suite
            and chain_key.public_key == db_key.public_key
            and chain_key.valid_from == db_key.valid_from
        )
        shortened = chain_key.valid_until != 0 and (
            db_key.valid_until == 0 or chain_key.valid_until < db_key.valid_until
        )
        if not same_key or (chain_key.valid_until != db_key.valid_until and not shortened):
            raise OrganisationMismatch(
                code,
                f"key {db_key.key_id}",
                chain=show_key(chain_key),
                database=show_key(db_key),
            )
        if chain_key.valid_until != db_key.valid_until:
            ends[db_key.key_id] = chain_key.valid_until
    return ends


__all__ = ["reconcile"]
