"""Fixtures of the API tests: a province node (Guangdong 44, tests/province/helpers.py) over
both database backends (SQLite, a real PostgreSQL) and both chains (the in-process EVM, a real
anvil), with the sample organisation filed, three certificates anchored, and an API key per
role. The servers themselves come from tests/servers.py through the root conftest."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_api_key
from api.context import ApiSettings
from node.services.intake_checks import Accepted
from node.storage import Database
from province.node import ProvinceNode
from tests.contract.conftest import Registry, artifact, chain, deployed, reg
from tests.node.storage.conftest import backend, database
from tests.province.helpers import ORG, file_sample_organisation, issue, make_node

__all__ = ["artifact", "backend", "chain", "database", "deployed", "reg"]

OTHER_ORG = "S000144011002"


@dataclasses.dataclass
class Api:
    """A running app over a node, with a key per role and the anchored certificates."""

    client: TestClient
    node: ProvinceNode
    keys: dict[str, str]
    issued: list[Accepted]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_api(
    database: Database, reg: Registry, tmp_path: Path, settings: ApiSettings | None = None
) -> Iterator[Api]:
    file_sample_organisation(database, reg.as_(0))
    node = make_node(database, reg.as_(0), tmp_path)
    issued = [issue(node, serial) for serial in (1, 2, 3)]
    node.anchor_all()
    keys = {
        "operator": create_api_key(database, "operator", "44"),
        "operator41": create_api_key(database, "operator", "41"),
        "issuer": create_api_key(database, "issuer", ORG),
        "other_issuer": create_api_key(database, "issuer", OTHER_ORG),
        "auditor": create_api_key(database, "auditor"),
        "public": create_api_key(database, "public"),
    }
    app = create_app(
        node, settings or ApiSettings(search_burst=1000, static_dir=tmp_path / "static")
    )
    with TestClient(app) as client:
        yield Api(client, node, keys, issued)


@pytest.fixture
def api(database: Database, reg: Registry, tmp_path: Path) -> Iterator[Api]:
    yield from make_api(database, reg, tmp_path)
