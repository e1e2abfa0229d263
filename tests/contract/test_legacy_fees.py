"""A chain without EIP-1559 (pre-London rules, as some Besu and FISCO BCOS networks run):
deploying and anchoring work with legacy gas prices (docs/DEPLOY.md).

Runs its own anvil with ``--hardfork berlin`` (the run's shared anvil follows the latest rules).
"""

from __future__ import annotations

import os

from web3 import Web3

from anchor.chain import ChainError, RegistryClient, connect
from certreg.dev.anvil import AnvilNode, find_anvil
from tests.servers import missing


def _berlin_anvil() -> AnvilNode:
    try:
        find_anvil()
    except ChainError as exc:
        missing(os.environ, f"{exc} (npm ci installs @foundry-rs/anvil)")
    return AnvilNode(extra_args=["--hardfork", "berlin", "--accounts", "2"])


def test_deploy_and_write_on_a_chain_without_base_fee() -> None:
    with _berlin_anvil() as node:
        w3 = connect(node.url)
        assert "baseFeePerGas" not in w3.eth.get_block("latest")
        founder = w3.eth.accounts[0]
        client, deployed = RegistryClient.deploy(w3, [(44, founder)])
        assert deployed.gas_used > 0
        tx = w3.eth.get_transaction(deployed.transaction_hash)
        assert tx["type"] == 0  # a legacy transaction, priced with eth_gasPrice
        assert tx["gasPrice"] == w3.eth.gas_price
        assert client.is_member(44)
        assert Web3.is_checksum_address(client.address)
