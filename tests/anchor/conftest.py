"""Chain fixtures of the contract suite, reused: every worker test runs on the in-process EVM
and on the run's one real anvil node (``anvil_node``, tests/servers.py, registered by the root
conftest and so not imported here)."""

from tests.contract.conftest import artifact, chain, deployed, reg

__all__ = ["artifact", "chain", "deployed", "reg"]
