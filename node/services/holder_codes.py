"""One-time codes for holders (docs/SHARING.md "The holder"): the issuing province's operator (or
the certificate's issuer) gives a holder a code, on paper or by text message, with which the
holder fetches their own bundle once, without typing their ID number and without being held to
the day's failed-match limit of their certificate number.

A code is 80 random bits in Crockford base32, four groups of four (``7K3Q-…``); only its
SHA-256 is stored; it expires after :data:`DEFAULT_TTL` and works once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Final

from node.core.errors import InvalidInput
from node.storage import AuditTrail, Database
from node.storage.holder_codes import HolderCodes

DEFAULT_TTL: Final = dt.timedelta(days=7)
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_FORM: Final = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}")


def new_code() -> str:
    """A fresh code: 16 characters of Crockford base32 in four groups."""
    text = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def normalise_code(text: str) -> str:
    """A code as typed (any case, spaces or dashes anywhere, O for 0, I and L for 1) in its
    canonical form.

    Raises:
        InvalidInput: ``code`` / ``holder.code`` (not a code's form).
    """
    plain = re.sub(r"[\s-]", "", text.upper()).replace("O", "0").replace("I", "1")
    plain = plain.replace("L", "1")
    code = "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))
    if not CODE_FORM.fullmatch(code):
        raise InvalidInput("code", "holder.code", "a code is 16 characters, e.g. 7K3Q-9XWD-…")
    return code


class HolderCodeService:
    """Codes of one province's certificates."""

    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock

    def issue(
        self, certificate_number: str, *, actor: str, ttl: dt.timedelta = DEFAULT_TTL
    ) -> tuple[str, dt.datetime]:
        """A new code for ``certificate_number`` (audit event ``holder.code``); return it
        (shown once) and when it expires."""
        now = self.clock()
        code = new_code()
        expires = now + ttl
        with self.db.transaction() as session:
            HolderCodes(session).add(
                code, certificate_number, expires_at=expires, actor=actor, now=now
            )
            AuditTrail(session).record(
                actor=actor,
                action="holder.code",
                target_type="certificate_number",
                target_id=certificate_number,
                now=now,
            )
        return code, expires

    def redeem(self, text: str) -> str:
        """Use a code; return the certificate number it was given for.

        Raises:
            InvalidInput: ``code`` / ``holder.code`` (malformed), ``holder.code_unknown``
                (unknown, used or expired).
        """
        code = normalise_code(text)
        with self.db.transaction() as session:
            number = HolderCodes(session).use(code, self.clock())
        if number is None:
            raise InvalidInput("code", "holder.code_unknown", "unknown, used or expired code")
        return number
