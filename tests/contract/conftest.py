"""Fixtures of the contract suite: every behaviour test runs on the in-process EVM and on a real
anvil node, the run's one ``anvil_node`` (tests/servers.py, started and stopped by PID)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import RPCEndpoint

from anchor.chain import Artifact, ClientOptions, RegistryClient, connect, load_artifact
from certreg.dev.anvil import AnvilNode

# Founding members used throughout: Guangdong 44, Henan 41, Hunan 43, one operator each
# (accounts 0, 1, 2); account 3 is a second operator of 44; accounts 6+ belong to nobody.
FOUNDERS_IDX = ((44, 0), (41, 1), (43, 2), (44, 3))
ORG_44 = "S000144002009"
ORG_44B = "Y012344000001"
ORG_41 = "S000141000007"
ED_KEY = b"\x11" * 32
ZERO = b"\x00" * 32


@dataclass
class Chain:
    """One backend: a Web3 and its unlocked accounts."""

    name: str
    w3: Web3
    accounts: list[str]
    artifact: Artifact

    def rpc(self, method: str, params: list[Any]) -> Any:
        reply = self.w3.provider.make_request(RPCEndpoint(method), params)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    def snapshot(self) -> Any:
        return self.rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        self.rpc("evm_revert", [snapshot_id])

    def advance_time(self, seconds: int) -> None:
        """Move the chain clock forward and mine a block at the new time."""
        if self.name == "memory":
            latest = self.w3.eth.get_block("latest")["timestamp"]
            self.w3.provider.ethereum_tester.time_travel(latest + seconds)  # type: ignore[attr-defined]
        else:
            self.rpc("evm_increaseTime", [seconds])
            self.rpc("evm_mine", [])

    def client(self, address: str, account: int, **options: Any) -> RegistryClient:
        return RegistryClient(
            self.w3,
            address,
            sender=self.accounts[account],
            options=ClientOptions(**options),
            artifact=self.artifact,
        )

    def deploy(self, founders: tuple[tuple[int, int], ...] = FOUNDERS_IDX) -> RegistryClient:
        pairs = [(p, self.accounts[i]) for p, i in founders]
        client, _ = RegistryClient.deploy(
            self.w3, pairs, sender=self.accounts[0], artifact=self.artifact
        )
        return client


@pytest.fixture(scope="session")
def artifact() -> Artifact:
    """The committed artifact, or the one CERTREG_TEST_ARTIFACT names (scripts/mutate.py runs
    these tests against each compiled mutant of the contract)."""
    override = os.environ.get("CERTREG_TEST_ARTIFACT")
    return load_artifact(Path(override)) if override else load_artifact()


@pytest.fixture(
    scope="module",
    params=["memory", pytest.param("anvil", marks=pytest.mark.anvil)],
)
def chain(request: pytest.FixtureRequest, artifact: Artifact) -> Chain:
    if request.param == "memory":
        w3 = connect("memory")
    else:
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = connect(node.url)
    return Chain(request.param, w3, list(w3.eth.accounts), artifact)


@dataclass
class Registry:
    """A deployed contract and a client per account (fresh nonce counters per test)."""

    chain: Chain
    address: str

    def as_(self, account: int, **options: Any) -> RegistryClient:
        return self.chain.client(self.address, account, **options)


@pytest.fixture(scope="module")
def deployed(chain: Chain) -> str:
    """One deployment per module and backend."""
    return chain.deploy().address


@pytest.fixture
def reg(chain: Chain, deployed: str) -> Iterator[Registry]:
    """The module's deployment, rolled back after each test (evm_snapshot / evm_revert)."""
    snap = chain.snapshot()
    try:
        yield Registry(chain, deployed)
    finally:
        chain.revert(snap)
