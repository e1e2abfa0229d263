"""Fixtures of the audit tests: the contract suite's chains, reused, so every history is
written to the in-process EVM and to the run's one real anvil node (``anvil_node``,
tests/servers.py, registered by the root conftest and so not imported here)."""

from tests.contract.conftest import artifact, chain, deployed, reg

__all__ = ["artifact", "chain", "deployed", "reg"]
