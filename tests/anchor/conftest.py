"""Chain fixtures of the contract suite, reused: every worker test runs on the in-process EVM
and on a real anvil node (started and stopped by PID by ``tests/contract/conftest.py``)."""

from tests.contract.conftest import anvil_node, artifact, chain, deployed, reg

__all__ = ["anvil_node", "artifact", "chain", "deployed", "reg"]
