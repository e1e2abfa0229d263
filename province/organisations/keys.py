"""The idempotent mirroring of key rotation and revocation (``key.*`` rules): the chain first,
then the database and an audit event in one transaction; a repeat after a crash sends nothing
the chain already holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import InvalidInput
from node.storage import OrganisationKeyRecord, OrganisationRepository
from province.organisations.filing import KeySpec, check_key, parse_time
from province.organisations.mirror import (
    ACTION_REVOKE_KEY,
    ACTION_ROTATE_KEY,
    Mirror,
    OrganisationChange,
    OrganisationMismatch,
    add_key,
    same_key,
    show_key,
)


def rotate_key(
    mirror: Mirror,
    code: str,
    key: KeySpec,
    *,
    close_previous: bool,
    actor: str,
    note: str | None,
) -> OrganisationChange:
    """Add ``key`` to ``code`` (:meth:`OrganisationService.rotate_key`)."""
    check_key(key, "key")
    _, keys = mirror.own(code, live=True)
    if not keys:  # Unreachable for filings made here: the contract files with a key.
        raise InvalidInput("code", "organisation.no_keys", "no key stored: run reconcile")
    latest = keys[-1]
    closes = close_previous and (latest.valid_until == 0 or latest.valid_until > key.valid_from)
    if closes and key.valid_from < latest.valid_from:
        raise InvalidInput(
            "effective_at", "key.effective_at", "must not be before the latest key's start"
        )
    key_id = len(keys)
    if show_key(latest) == show_key(key):  # Done before: the latest key is this one.
        _check_keys(mirror, code, keys)
        return OrganisationChange(code, ACTION_ROTATE_KEY, key_id=key_id - 1)
    on_chain = mirror.client.organisation(code)
    expected_latest = dataclasses.replace(
        latest, valid_until=key.valid_from if closes else latest.valid_until
    )
    if on_chain.key_count == key_id + 1:
        chain_new = mirror.client.organisation_key(code, key_id)
        chain_latest = mirror.client.organisation_key(code, key_id - 1)
        if not same_key(chain_new, key) or not same_key(chain_latest, expected_latest):
            raise OrganisationMismatch(
                code, f"key {key_id}", chain=show_key(chain_new), database=show_key(key)
            )
        sent: tuple[str, ...] = ()
    elif on_chain.key_count == key_id:
        _check_keys(mirror, code, keys)
        tx = mirror.client.rotate_key(
            code,
            SUITE_IDS[key.suite],
            key.public_key,
            key.valid_from,
            key.valid_until,
            close_previous=close_previous,
        )
        sent = (tx.transaction_hash,)
    else:
        raise OrganisationMismatch(code, "key count", chain=on_chain.key_count, database=key_id)
    now = mirror.clock()
    with mirror.db.transaction() as session:
        repo = OrganisationRepository(session)
        if closes:
            repo.close_key(code, key_id - 1, key.valid_from)
        add_key(repo, code, key, now=now)
        mirror.audit(
            session,
            ACTION_ROTATE_KEY,
            code,
            actor=actor,
            now=now,
            note=note,
            details={
                "key_id": key_id,
                **show_key(key),
                "closed_previous": closes,
                "transactions": list(sent),
            },
        )
    return OrganisationChange(code, ACTION_ROTATE_KEY, sent, True, key_id=key_id)


def _check_keys(mirror: Mirror, code: str, keys: Sequence[OrganisationKeyRecord]) -> None:
    """Refuse to build on keys the chain does not hold as the database does."""
    for db_key in keys[-1:]:
        chain_key = mirror.client.organisation_key(code, db_key.key_id)
        if not same_key(chain_key, db_key):
            raise OrganisationMismatch(
                code,
                f"key {db_key.key_id}",
                chain=show_key(chain_key),
                database=show_key(db_key),
            )


def revoke_key(
    mirror: Mirror,
    code: str,
    key_id: int,
    *,
    effective_at: int | dt.datetime,
    actor: str,
    note: str | None = None,
) -> OrganisationChange:
    """End key ``key_id`` of ``code`` (:meth:`OrganisationService.revoke_key`)."""
    at = parse_time(effective_at, "effective_at")
    if at == 0:
        raise InvalidInput("effective_at", "key.time", "must be after 0")
    _, keys = mirror.own(code, live=False)
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise InvalidInput("key_id", "key.unknown", "the organisation has no such key")
    chain_key = mirror.client.organisation_key(code, key_id)
    if key.valid_until == at:
        if chain_key.valid_until != at:
            raise OrganisationMismatch(
                code, f"key {key_id} end", chain=chain_key.valid_until, database=at
            )
        return OrganisationChange(code, ACTION_REVOKE_KEY, key_id=key_id)
    if key.valid_until and at > key.valid_until:
        raise InvalidInput("effective_at", "key.lengthen", "a key's validity never grows")
    if at < key.valid_from:
        raise InvalidInput(
            "effective_at", "key.before_valid_from", "revoke at the key's start at the earliest"
        )
    if chain_key.valid_until not in (at, key.valid_until):
        raise OrganisationMismatch(
            code, f"key {key_id} end", chain=chain_key.valid_until, database=key.valid_until
        )
    sent: tuple[str, ...] = ()
    if chain_key.valid_until != at:
        sent = (mirror.client.revoke_key(code, key_id, at).transaction_hash,)
    now = mirror.clock()
    with mirror.db.transaction() as session:
        OrganisationRepository(session).close_key(code, key_id, at)
        mirror.audit(
            session,
            ACTION_REVOKE_KEY,
            code,
            actor=actor,
            now=now,
            note=note,
            details={"key_id": key_id, "valid_until": at, "transactions": list(sent)},
        )
    return OrganisationChange(code, ACTION_REVOKE_KEY, sent, True, key_id=key_id)


__all__ = ["revoke_key", "rotate_key"]
