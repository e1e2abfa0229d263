"""What the repositories share (``certificates``, ``organisations``, ``log``, ``checkpoints``,
``audit_trail``, ``reviews``).

Every repository takes the :class:`~sqlalchemy.orm.Session` (or
:class:`~sqlalchemy.Connection`) of a transaction the caller opened, executes on it and never
commits; the caller (the intake pipeline) commits once, so one certificate's row, its log entry,
the Merkle nodes and the audit event are written together or not at all. Errors never contain
personal data, and nothing deletes a row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from node.core.errors import InvalidInput, StorageError
from node.storage.bulk import Executor

#: Rows per executemany batch and values per ``IN`` list in the bulk methods (well under every
#: backend's bound-parameter limit).
BULK_ROWS: Final = 2000
IN_CHUNK: Final = 500


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn driver errors into :class:`StorageError` naming what failed (never the values)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"{what}: {type(exc).__name__}") from exc


def aware(now: dt.datetime) -> dt.datetime:
    """Return ``now``.

    Raises:
        InvalidInput: ``now`` is naive (``time.aware``).
    """
    if now.tzinfo is None:
        raise InvalidInput("now", "time.aware", "timestamps must be timezone-aware")
    return now


class Row:
    """Attribute access over a dict, to build a record from the values just inserted."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


__all__ = ["BULK_ROWS", "IN_CHUNK", "Executor", "Row", "aware", "storage_errors"]
