"""Fixtures of the province-node tests: both database backends (SQLite, a real PostgreSQL) and
both chains (the in-process EVM, a real anvil), reused from the storage and contract suites. The
servers (``postgres``, ``anvil_node``, ``ipfs_daemon``) are the run's one instance each, from
tests/servers.py via the root conftest, and must not be imported here."""

from tests.contract.conftest import artifact, chain, deployed, reg
from tests.node.storage.conftest import backend, database

__all__ = ["artifact", "backend", "chain", "database", "deployed", "reg"]
