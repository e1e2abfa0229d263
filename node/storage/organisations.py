"""Organisations a province filed and their signing keys (``docs/FORMATS.md`` "Signatures")."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from sqlalchemy import func, insert, select, update

from node.core.errors import InvalidInput
from node.storage.common import Executor, aware, storage_errors
from node.storage.schema import ORGANISATION_STATUSES, Organisation, OrganisationKey, table_of

_ORGS: Final = table_of(Organisation)
_KEYS: Final = table_of(OrganisationKey)


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationRecord:
    """A filed organisation."""

    code: str
    province: str
    name: str
    org_class: str
    category: str | None
    scope: Any
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    #: Digest of the CIDv0 of the published scope document (None until published).
    scope_hash: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationKeyRecord:
    """A signing key of an organisation (``docs/FORMATS.md`` "Signatures")."""

    organisation_code: str
    key_id: int
    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int


def _organisation(row: Any) -> OrganisationRecord:
    return OrganisationRecord(
        code=row.code,
        province=row.province,
        name=row.name,
        org_class=row.org_class,
        category=row.category,
        scope=row.scope,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        scope_hash=None if row.scope_hash is None else bytes(row.scope_hash),
    )


class OrganisationRepository:
    """Organisations a province filed, and their signing keys."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(
        self,
        *,
        code: str,
        province: str,
        name: str,
        scope: Any,
        now: dt.datetime,
        category: str | None = None,
        status: str = "active",
        scope_hash: bytes | None = None,
    ) -> OrganisationRecord:
        """File an organisation; its class is the code's first character.

        Raises:
            InvalidInput: the code is malformed, does not carry ``province`` at positions 6-7,
                the status is unknown, or the code was filed before (codes are never reused).
            StorageError: the database failed.
        """
        if len(code) != 13 or code[0] not in "YS" or not code[1:].isdigit():
            raise InvalidInput("code", "organisation.code", "must be Y or S and 12 digits")
        if code[5:7] != province:
            raise InvalidInput("province", "organisation.province", "must be positions 6-7")
        if status not in ORGANISATION_STATUSES:
            raise InvalidInput("status", "organisation.status", f"one of {ORGANISATION_STATUSES}")
        if self.get(code) is not None:
            raise InvalidInput("code", "organisation.duplicate", "organisation is already filed")
        values = {
            "code": code,
            "province": province,
            "name": name,
            "org_class": code[0],
            "category": category,
            "scope": scope,
            "status": status,
            "created_at": aware(now),
            "updated_at": now,
            "scope_hash": scope_hash,
        }
        with storage_errors("cannot add the organisation"):
            self._db.execute(insert(_ORGS).values(**values))
        return OrganisationRecord(**values)

    def get(self, code: str) -> OrganisationRecord | None:
        """Return the organisation with ``code``, or ``None``."""
        with storage_errors("cannot read the organisation"):
            row = self._db.execute(select(_ORGS).where(_ORGS.c.code == code)).first()
        return None if row is None else _organisation(row)

    def all(self, province: str | None = None) -> list[OrganisationRecord]:
        """Return the organisations (of one province), ordered by code."""
        statement = select(_ORGS).order_by(_ORGS.c.code)
        if province is not None:
            statement = statement.where(_ORGS.c.province == province)
        with storage_errors("cannot list organisations"):
            return [_organisation(row) for row in self._db.execute(statement)]

    def set_status(self, code: str, status: str, *, now: dt.datetime) -> None:
        """Set an organisation's status. ``terminated`` is final (its code is retired).

        Raises:
            InvalidInput: unknown status or organisation, or the organisation is terminated.
        """
        if status not in ORGANISATION_STATUSES:
            raise InvalidInput("status", "organisation.status", f"one of {ORGANISATION_STATUSES}")
        self._update_live(code, now, status=status)

    def set_scope(self, code: str, scope: Any, scope_hash: bytes, *, now: dt.datetime) -> None:
        """Replace an organisation's filed scope and its published hash.

        Raises:
            InvalidInput: unknown organisation, or it is terminated (nothing changes after).
        """
        self._update_live(code, now, scope=scope, scope_hash=scope_hash)

    def _update_live(self, code: str, now: dt.datetime, **values: Any) -> None:
        """Update a filed organisation that is not terminated (nothing changes after that)."""
        current = self.get(code)
        if current is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if current.status == "terminated":
            raise InvalidInput("status", "organisation.terminated", "terminated is final")
        with storage_errors("cannot update the organisation"):
            self._db.execute(
                update(_ORGS).where(_ORGS.c.code == code).values(updated_at=aware(now), **values)
            )

    def close_key(self, code: str, key_id: int, valid_until: int) -> None:
        """Shorten a key's validity to end at ``valid_until`` (rotation or revocation; never
        lengthened, never reopened, as on the contract).

        Raises:
            InvalidInput: unknown key, or ``valid_until`` would lengthen or empty the interval.
        """
        key = next((k for k in self.keys(code) if k.key_id == key_id), None)
        if key is None:
            raise InvalidInput("key_id", "key.unknown", "the organisation has no such key")
        if key.valid_until and valid_until >= key.valid_until:
            raise InvalidInput("valid_until", "key.lengthen", "a key's validity never grows")
        if valid_until < key.valid_from:
            raise InvalidInput("valid_until", "key.validity", "must not be before valid_from")
        with storage_errors("cannot update the key"):
            self._db.execute(
                update(_KEYS)
                .where(_KEYS.c.organisation_code == code, _KEYS.c.key_id == key_id)
                .values(valid_until=valid_until)
            )

    def add_key(
        self,
        code: str,
        *,
        suite: str,
        public_key: bytes,
        valid_from: int,
        valid_until: int = 0,
        now: dt.datetime,
    ) -> OrganisationKeyRecord:
        """Register the organisation's next key (``key_id`` 0, 1, ... in filing order).

        Raises:
            InvalidInput: the organisation is not filed or the validity interval is empty.
        """
        if self.get(code) is None:
            raise InvalidInput("code", "organisation.unknown", "organisation is not filed")
        if valid_from < 0 or valid_until < 0 or (valid_until and valid_until <= valid_from):
            raise InvalidInput("valid_until", "key.validity", "must be 0 or after valid_from")
        with storage_errors("cannot add the key"):
            last = self._db.execute(
                select(func.max(_KEYS.c.key_id)).where(_KEYS.c.organisation_code == code)
            ).scalar_one()
            key_id = 0 if last is None else int(last) + 1
            self._db.execute(
                insert(_KEYS).values(
                    organisation_code=code,
                    key_id=key_id,
                    suite=suite,
                    public_key=public_key,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    created_at=aware(now),
                )
            )
        return OrganisationKeyRecord(code, key_id, suite, public_key, valid_from, valid_until)

    def keys(self, code: str) -> list[OrganisationKeyRecord]:
        """Return the organisation's keys in ``key_id`` order."""
        with storage_errors("cannot read keys"):
            rows = self._db.execute(
                select(_KEYS).where(_KEYS.c.organisation_code == code).order_by(_KEYS.c.key_id)
            )
            return [
                OrganisationKeyRecord(
                    r.organisation_code,
                    r.key_id,
                    r.suite,
                    bytes(r.public_key),
                    r.valid_from,
                    r.valid_until,
                )
                for r in rows
            ]


__all__ = [
    "OrganisationKeyRecord",
    "OrganisationRecord",
    "OrganisationRepository",
]
