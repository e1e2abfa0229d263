"""API keys and roles (docs/API.md "Keys and roles").

A key is ``crk_`` followed by 43 base64url characters (32 random bytes). Only its SHA-256 is
stored (:class:`node.storage.schema.ApiKey`); the text is shown once, by :func:`create_api_key`.
Each key is bound to one role and its scope:

==========  ===================  ===============================================================
role        scope                may write
==========  ===================  ===============================================================
operator    a province code      organisations of its province; certificates of its
                                 organisations (submit, correct, revoke, suspend, reinstate);
                                 checkpoints of its log
issuer      an organisation code its own certificates: submit (one or bulk), revoke, suspend
auditor     (none)               nothing; reads bulk jobs of every province
partner     an agreement id      nothing; queries as its sharing agreement allows (docs/SHARING.md)
public      (none)               nothing (a key only gives its holder its own rate limit)
==========  ===================  ===============================================================

A partner key is created only for an active agreement of the node's database, and ending the
agreement revokes it (node/storage/agreements.py).

Requests without a key are ``public``. The checks raise :class:`api.problems.Problem` (401 for a
missing or unknown key, 403 for a role or ownership refusal); the rule ids are ``auth.*``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
import secrets
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.problems import Problem
from node.core.errors import InvalidInput
from node.core.sharing import AGREEMENT_ID
from node.storage import Database
from node.storage.agreements import AgreementRepository
from node.storage.schema import API_ROLES as ROLES
from node.storage.schema import ApiKey, table_of

_KEYS: Final = table_of(ApiKey)
KEY_PREFIX: Final = "crk_"
_KEY_RE: Final = re.compile(r"crk_[A-Za-z0-9_-]{43}")
_PROVINCE_RE: Final = re.compile(r"[1-8][0-9]")
_ORG_RE: Final = re.compile(r"[SY][0-9A-Z]{12}")


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, its scope and the key's id (None without a key)."""

    role: str
    scope: str = ""
    key_id: int | None = None

    @property
    def agreement(self) -> str | None:
        """The agreement a partner key is bound to (None for other roles)."""
        return self.scope if self.role == "partner" else None

    @property
    def actor(self) -> str:
        """The actor id recorded in the audit trail (no personal data)."""
        if self.key_id is None:
            return "api:public"
        return f"api:{self.role}:{self.scope or '-'}:key{self.key_id}"


PUBLIC: Final = Principal("public")


def key_hash(key: str) -> bytes:
    """SHA-256 of the key's text: what the database keeps."""
    return hashlib.sha256(key.encode("ascii")).digest()


def check_role_scope(role: str, scope: str) -> str:
    """Return the normalised scope of ``role``.

    Raises:
        InvalidInput: ``role`` / ``auth.role`` (not one of operator, issuer, auditor, public,
            partner), ``scope`` / ``auth.scope`` (an operator needs a province code, an issuer
            an organisation code, a partner an agreement id, the others none).
    """
    if role not in ROLES:
        raise InvalidInput("role", "auth.role", f"must be one of {', '.join(ROLES)}")
    scope = scope.strip().upper()
    if role == "partner" and not AGREEMENT_ID.fullmatch(scope):
        raise InvalidInput("scope", "auth.scope", "a partner key needs an agreement id")
    if role == "operator" and not _PROVINCE_RE.fullmatch(scope):
        raise InvalidInput("scope", "auth.scope", "an operator key needs a province code")
    if role == "issuer" and not _ORG_RE.fullmatch(scope):
        raise InvalidInput("scope", "auth.scope", "an issuer key needs an organisation code")
    if role in ("auditor", "public") and scope:
        raise InvalidInput("scope", "auth.scope", f"a {role} key has no scope")
    return scope


def create_api_key(
    db: Database, role: str, scope: str = "", *, label: str = "", now: dt.datetime | None = None
) -> str:
    """Create a key for ``role`` and ``scope``, store its hash and return its text (shown once).

    Raises:
        InvalidInput: a bad role or scope (:func:`check_role_scope`); ``scope`` /
            ``auth.agreement`` (a partner key for an agreement that is not active here).
        StorageError: the database failed.
    """
    scope = check_role_scope(role, scope)
    key = KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    with db.transaction() as session:
        if role == "partner":
            found = AgreementRepository(session, scope[:2]).get(scope)
            if found is None or found.state != "active":
                raise InvalidInput(
                    "scope", "auth.agreement", f"no active agreement {scope} on this node"
                )
        session.execute(
            _KEYS.insert().values(
                key_hash=key_hash(key),
                role=role,
                scope=scope,
                label=label[:128],
                created_at=now or dt.datetime.now(dt.UTC),
                revoked_at=None,
            )
        )
    return key


def revoke_api_key(db: Database, key: str, *, now: dt.datetime | None = None) -> bool:
    """Revoke a key (it stops working at once); return whether it existed and was active."""
    with db.transaction() as session:
        result = session.execute(
            _KEYS.update()
            .where(_KEYS.c.key_hash == key_hash(key), _KEYS.c.revoked_at.is_(None))
            .values(revoked_at=now or dt.datetime.now(dt.UTC))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def bearer_token(authorization: str | None) -> str | None:
    """The key in an ``Authorization`` header value, checked for form only (no database);
    ``None`` without a header (the caller is :data:`PUBLIC`).

    Raises:
        Problem: 401 ``auth.scheme`` (not ``Bearer <key>``), ``auth.unknown_key`` (not the
            form of a key, so no such key).
    """
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401, "Unauthorised", "use 'Authorization: Bearer <key>'", "authorization", "auth.scheme"
        )
    if not _KEY_RE.fullmatch(token):
        raise _unknown_key()
    return token


def principal_of(session: Session, token: str | None) -> Principal:
    """The principal of a key found by :func:`bearer_token`, read in the caller's transaction
    (so a hot endpoint checks the key and reads its data in one round of the database). Keys
    are never cached: a revoked key stops working at once, whichever process revoked it.

    Raises:
        Problem: 401 ``auth.unknown_key`` (no such active key).
    """
    if token is None:
        return PUBLIC
    row = session.execute(
        select(_KEYS.c.id, _KEYS.c.role, _KEYS.c.scope).where(
            _KEYS.c.key_hash == key_hash(token), _KEYS.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise _unknown_key()
    return Principal(role=row.role, scope=row.scope, key_id=int(row.id))


def _unknown_key() -> Problem:
    return Problem(
        401, "Unauthorised", "unknown or revoked API key", "authorization", "auth.unknown_key"
    )


def authenticate(db: Database, authorization: str | None) -> Principal:
    """The principal of an ``Authorization`` header value; :data:`PUBLIC` without one.

    Raises:
        Problem: 401 ``auth.scheme`` (not ``Bearer <key>``), ``auth.unknown_key`` (no such
            active key).
    """
    token = bearer_token(authorization)
    if token is None:
        return PUBLIC
    with db.transaction() as session:
        return principal_of(session, token)


# -- role and ownership rules ------------------------------------------------------------------


def _forbidden(detail: str, rule: str, field: str = "authorization") -> Problem:
    return Problem(403, "Forbidden", detail, field, rule)


def require_key(principal: Principal) -> None:
    """Writes need a key: 401 ``auth.missing`` without one."""
    if principal.key_id is None:
        raise Problem(
            401, "Unauthorised", "this operation needs an API key", "authorization", "auth.missing"
        )


def require_operator(principal: Principal, province: str) -> None:
    """Only an operator of ``province`` (403 ``auth.role`` / ``auth.province``)."""
    require_key(principal)
    if principal.role != "operator":
        raise _forbidden("only a province operator may do this", "auth.role")
    if principal.scope != province:
        raise _forbidden("the key is an operator key of another province", "auth.province")


def require_writer(
    principal: Principal, *, province: str, organisation_code: str, field: str
) -> None:
    """An operator of ``province`` (the province of the organisation) or the issuer that is
    ``organisation_code`` (403 ``auth.role``, ``auth.province``, ``auth.organisation``)."""
    require_key(principal)
    if principal.role == "operator":
        if principal.scope != province:
            raise _forbidden(
                "the organisation is not filed in the key's province", "auth.province", field
            )
        return
    if principal.role == "issuer":
        if principal.scope != organisation_code:
            raise _forbidden(
                "an issuer writes only its own organisation's certificates",
                "auth.organisation",
                field,
            )
        return
    raise _forbidden("this role may not write", "auth.role")


def require_submitter(principal: Principal, province: str) -> None:
    """An operator of ``province`` or any issuer (each row's organisation is checked after
    parsing): 401 / 403 ``auth.role``, ``auth.province``."""
    require_key(principal)
    if principal.role == "operator":
        require_operator(principal, province)
    elif principal.role != "issuer":
        raise _forbidden("only an issuer or a province operator submits certificates", "auth.role")
