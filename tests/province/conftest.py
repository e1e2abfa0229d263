"""Fixtures of the province-node tests: both database backends (SQLite, a real PostgreSQL) and
both chains (the in-process EVM, a real anvil), reused from the storage and contract suites."""

from tests.contract.conftest import anvil_node, artifact, chain, deployed, reg
from tests.storage.conftest import backend, database, postgres

__all__ = ["anvil_node", "artifact", "backend", "chain", "database", "deployed", "postgres", "reg"]
