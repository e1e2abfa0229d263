"""Fixtures of the node tests: the storage suite's backends (SQLite temp file and PostgreSQL),
reused from ``tests/node/storage/conftest.py`` rather than duplicated. The PostgreSQL server itself
(``postgres``) is the run's one instance from tests/servers.py, never imported here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.node.storage.conftest import backend, database, refused_head

__all__ = ["backend", "database"]

_DELETES: list[str] = []


def _refuse_delete(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    head = refused_head(statement)
    if head is not None:
        _DELETES.append(statement)
        raise AssertionError(f"a code path issued {head}")


@pytest.fixture(autouse=True)
def _no_delete() -> Iterator[None]:
    """Intake never deletes a row (its own hook: the storage suite's is session-scoped there)."""
    event.listen(Engine, "before_cursor_execute", _refuse_delete)
    yield
    event.remove(Engine, "before_cursor_execute", _refuse_delete)
    assert not _DELETES, "DELETE statements were issued"
