"""schemathesis against the OpenAPI spec (every route, the sharing, holder and federation ones
included): no generated request makes the API fail with a 5xx.

Bounded (``max_examples``) so the run stays around a minute; the app runs over a real node
(SQLite, in-process EVM) with an operator key, so writes are exercised past authentication."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from api.context import ApiSettings
from node.storage import open_database
from province.federation import Federation
from tests.api.conftest import Api, make_api
from tests.contract.conftest import Registry


@pytest.fixture
def sqlite_api(reg: Registry, tmp_path: Path) -> Iterator[Api]:
    if reg.chain.name != "memory":
        pytest.skip("the in-process EVM is enough for fuzzing the HTTP layer")
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        yield from make_api(database, reg, tmp_path)
    finally:
        database.dispose()


def test_no_server_errors(sqlite_api: Api) -> None:
    # With a federation end, so the signed province-to-province route is fuzzed past "disabled".
    node = sqlite_api.node
    node.federation = Federation("44", bytes(range(32)), {}, node.client)
    app = create_app(node, ApiSettings(search_burst=10**9))
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", app)
    headers = sqlite_api.auth("operator")
    failures: list[str] = []
    calls: list[int] = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=op.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        run()
    assert failures == []
    assert len(calls) > 100 and any(code < 300 for code in calls)
