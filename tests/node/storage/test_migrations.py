"""Migrations to head on an empty database; the models and the migration agree."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from node.storage import current_revision, head_revision, make_engine, open_database, upgrade
from node.storage.schema import ALL_TABLES, EPHEMERAL_TABLES, Base
from tests.node.storage.conftest import no_postgres


def test_upgrade_empty_database_to_head(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) is None
        upgrade(empty_url)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(ALL_TABLES) | set(EPHEMERAL_TABLES) <= tables
        assert "alembic_version" in tables
        # Again: a no-op.
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_open_database_migrates(empty_url: str) -> None:
    db = open_database(empty_url)
    try:
        assert current_revision(db.engine) == head_revision()
    finally:
        db.dispose()


def test_models_match_migration(empty_url: str) -> None:
    """Autogenerate finds nothing to do: the migration creates exactly the models' schema."""
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_missing_postgres_fails_in_ci_and_skips_elsewhere() -> None:
    with pytest.raises(pytest.fail.Exception, match="initdb"):
        no_postgres({"CI": "true"})
    with pytest.raises(pytest.skip.Exception, match="initdb"):
        no_postgres({})
