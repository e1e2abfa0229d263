"""One-time codes a province gives a holder for their own bundle (``holder_codes``).

Only the SHA-256 of a code is stored. A code names a certificate number, expires, and is used
once: :meth:`HolderCodes.use` marks it used in the same statement that checks it
(``UPDATE … WHERE used_at IS NULL AND expires_at > now``), so two requests racing with one
code cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import insert, update

from node.storage.guard import Executor, storage_errors
from node.storage.schema import HolderCode, table_of

_CODES = table_of(HolderCode)


def code_hash(code: str) -> bytes:
    """What the database keeps of a code."""
    return hashlib.sha256(code.strip().encode("utf-8")).digest()


class HolderCodes:
    """The codes, in the caller's transaction."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def add(
        self,
        code: str,
        certificate_number: str,
        *,
        expires_at: dt.datetime,
        actor: str,
        now: dt.datetime,
    ) -> None:
        """Keep the hash of a new code for ``certificate_number``."""
        with storage_errors("cannot keep the holder code"):
            self._db.execute(
                insert(_CODES).values(
                    code_hash=code_hash(code),
                    certificate_number=certificate_number,
                    created_at=now,
                    expires_at=expires_at,
                    used_at=None,
                    created_by=actor[:128],
                )
            )

    def use(self, code: str, now: dt.datetime) -> str | None:
        """Mark an unused, unexpired code used; return its certificate number (None when the
        code is unknown, used or expired)."""
        with storage_errors("cannot use the holder code"):
            row = self._db.execute(
                update(_CODES)
                .where(
                    _CODES.c.code_hash == code_hash(code),
                    _CODES.c.used_at.is_(None),
                    _CODES.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(_CODES.c.certificate_number)
            ).first()
        return None if row is None else str(row.certificate_number)
