"""The idempotent mirroring of filing, status and scope changes: each validates (reading the
database and the chain), publishes the scope document when it has one, sends the
transaction(s) unless the chain already holds the change, then writes the database and an audit
event in one transaction (the order of the package docstring).
"""

from __future__ import annotations

from collections.abc import Sequence

from anchor.chain import Organisation
from anchor.manifest import cid_v0
from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import InvalidInput
from node.core.rules.scope import build_scope_document, scope_hash_of_cid
from node.storage import OrganisationRepository
from province.organisations.filing import KeySpec, OrganisationFiling
from province.organisations.mirror import (
    ACTION_FILE,
    ACTION_UPDATE_SCOPE,
    CHAIN_STATUS,
    DB_STATUS,
    Mirror,
    OrganisationChange,
    OrganisationMismatch,
    add_key,
    log,
    same_key,
    show_key,
)


def file(mirror: Mirror, filing: OrganisationFiling, *, actor: str) -> OrganisationChange:
    """File ``filing`` (:meth:`OrganisationService.file`): the chain first, then the database."""
    code = filing.code
    if code[5:7] != mirror.province:
        raise InvalidInput("code", "organisation.province_node", "not this node's province")
    document = filing.document(mirror.province)
    cid = cid_v0(document.to_bytes())
    scope_hash = scope_hash_of_cid(cid)
    record, db_keys = mirror.record(code)
    on_chain = mirror.client.organisation(code)
    if on_chain.status == CHAIN_STATUS["terminated"] or (
        record is not None and record.status == "terminated"
    ):
        raise InvalidInput("code", "organisation.retired", "a terminated code is retired")
    if record is not None:
        same = (
            record.scope_hash == scope_hash
            and record.name == filing.name
            and [show_key(k) for k in db_keys] == [show_key(k) for k in filing.keys]
        )
        if not same:
            raise InvalidInput("code", "organisation.duplicate", "filed before, differently")
        _check_filed(mirror, code, on_chain, scope_hash, filing.keys, complete=True)
        return OrganisationChange(code, ACTION_FILE, scope_cid=cid)
    if on_chain.status != 0:
        _check_filed(mirror, code, on_chain, scope_hash, filing.keys, complete=False)
    mirror.publish(document)
    sent = _send_filing(mirror, filing, on_chain, scope_hash)
    now = mirror.clock()
    with mirror.db.transaction() as session:
        repo = OrganisationRepository(session)
        repo.add(
            code=code,
            province=mirror.province,
            name=filing.name,
            scope=document.stored_scope(),
            now=now,
            category=filing.category,
            scope_hash=scope_hash,
        )
        for key in filing.keys:
            add_key(repo, code, key, now=now)
        mirror.audit(
            session,
            ACTION_FILE,
            code,
            actor=actor,
            now=now,
            details={"scope_cid": cid, "keys": len(filing.keys), "transactions": list(sent)},
        )
    log.info("organisation %s filed (%d transactions sent)", code, len(sent))
    return OrganisationChange(code, ACTION_FILE, sent, True, scope_cid=cid)


def _check_filed(
    mirror: Mirror,
    code: str,
    on_chain: Organisation,
    scope_hash: bytes,
    keys: Sequence[KeySpec],
    *,
    complete: bool,
) -> None:
    """Check that the chain's filing of ``code`` is this one (``complete``: all keys),
    or a prefix of it that a crash left behind."""
    if on_chain.status == 0:
        raise OrganisationMismatch(code, "filing", chain="not filed", database="filed")
    if on_chain.province != int(mirror.province):
        raise OrganisationMismatch(
            code, "province", chain=on_chain.province, database=mirror.province
        )
    if on_chain.scope_hash != scope_hash:
        raise OrganisationMismatch(
            code, "scope hash", chain=on_chain.scope_hash.hex(), database=scope_hash.hex()
        )
    if not complete and on_chain.status != CHAIN_STATUS["active"]:
        raise OrganisationMismatch(
            code, "status", chain=DB_STATUS.get(on_chain.status), database="not filed"
        )
    count = on_chain.key_count
    if count > len(keys) or (complete and count != len(keys)):
        raise OrganisationMismatch(code, "key count", chain=count, database=len(keys))
    for i, chain_key in enumerate(mirror.chain_keys(code, count)):
        if not same_key(chain_key, keys[i]):
            raise OrganisationMismatch(
                code, f"key {i}", chain=show_key(chain_key), database=show_key(keys[i])
            )


def _send_filing(
    mirror: Mirror, filing: OrganisationFiling, on_chain: Organisation, scope_hash: bytes
) -> tuple[str, ...]:
    sent: list[str] = []
    first = filing.keys[0]
    if on_chain.status == 0:
        tx = mirror.client.file_organisation(
            filing.code,
            scope_hash,
            SUITE_IDS[first.suite],
            first.public_key,
            first.valid_from,
            first.valid_until,
        )
        sent.append(tx.transaction_hash)
    for key in filing.keys[max(on_chain.key_count, 1) :]:
        tx = mirror.client.rotate_key(
            filing.code,
            SUITE_IDS[key.suite],
            key.public_key,
            key.valid_from,
            key.valid_until,
            close_previous=False,
        )
        sent.append(tx.transaction_hash)
    return tuple(sent)


def set_status(
    mirror: Mirror, code: str, status: str, action: str, *, actor: str, note: str | None
) -> OrganisationChange:
    """Set the status of ``code`` (:meth:`OrganisationService.suspend`, ``reactivate`` and
    ``terminate``)."""
    # Terminating twice is a repeat (nothing to do); any other change after it is refused.
    record, _ = mirror.own(code, live=status != "terminated")
    on_chain = mirror.client.organisation(code)
    target = CHAIN_STATUS[status]
    if record.status == status:
        if on_chain.status != target:
            raise OrganisationMismatch(
                code, "status", chain=DB_STATUS.get(on_chain.status), database=record.status
            )
        return OrganisationChange(code, action)
    sent: tuple[str, ...] = ()
    if on_chain.status != target:
        if on_chain.status != CHAIN_STATUS[record.status]:
            raise OrganisationMismatch(
                code, "status", chain=DB_STATUS.get(on_chain.status), database=record.status
            )
        sent = (mirror.client.set_organisation_status(code, target).transaction_hash,)
    now = mirror.clock()
    with mirror.db.transaction() as session:
        OrganisationRepository(session).set_status(code, status, now=now)
        mirror.audit(
            session,
            action,
            code,
            actor=actor,
            now=now,
            note=note,
            details={"from": record.status, "to": status, "transactions": list(sent)},
        )
    log.info("organisation %s: %s -> %s", code, record.status, status)
    return OrganisationChange(code, action, sent, True)


def update_scope(
    mirror: Mirror, code: str, scope: object, *, actor: str, note: str | None = None
) -> OrganisationChange:
    """Replace the filed scope of ``code`` (:meth:`OrganisationService.update_scope`)."""
    record, _ = mirror.own(code, live=True)
    document = build_scope_document(
        province=mirror.province,
        organisation_code=code,
        name=record.name,
        org_class=record.org_class,
        category=record.category,
        scope=scope,
    )
    cid = cid_v0(document.to_bytes())
    scope_hash = scope_hash_of_cid(cid)
    on_chain = mirror.client.organisation(code)
    if record.scope_hash == scope_hash:
        if on_chain.scope_hash != scope_hash:
            raise OrganisationMismatch(
                code, "scope hash", chain=on_chain.scope_hash.hex(), database=scope_hash.hex()
            )
        return OrganisationChange(code, ACTION_UPDATE_SCOPE, scope_cid=cid)
    if on_chain.scope_hash not in (scope_hash, record.scope_hash):
        raise OrganisationMismatch(
            code,
            "scope hash",
            chain=on_chain.scope_hash.hex(),
            database=None if record.scope_hash is None else record.scope_hash.hex(),
        )
    mirror.publish(document)
    sent: tuple[str, ...] = ()
    if on_chain.scope_hash != scope_hash:
        sent = (mirror.client.update_scope(code, scope_hash).transaction_hash,)
    now = mirror.clock()
    with mirror.db.transaction() as session:
        OrganisationRepository(session).set_scope(
            code, document.stored_scope(), scope_hash, now=now
        )
        mirror.audit(
            session,
            ACTION_UPDATE_SCOPE,
            code,
            actor=actor,
            now=now,
            note=note,
            details={"scope_cid": cid, "transactions": list(sent)},
        )
    return OrganisationChange(code, ACTION_UPDATE_SCOPE, sent, True, scope_cid=cid)


__all__ = ["file", "set_status", "update_scope"]
