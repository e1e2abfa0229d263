"""What the sharing-side storage modules share: the executor type and driver errors turned into
:class:`~node.core.errors.StorageError` naming what failed (never the values)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from node.core.errors import StorageError

Executor = Session | Connection


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Raise :class:`StorageError` ``what: <driver error type>`` for any driver error."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what}: {type(exc).__name__}") from exc


def dialect_of(db: Executor) -> str:
    """``sqlite`` or ``postgresql``: the dialect of a session's or connection's database."""
    if isinstance(db, Connection):
        return str(db.dialect.name)
    return str(db.get_bind().dialect.name)
