"""Gas figures of the consortium contract, measured on the in-process EVM.

Gas is a property of the EVM, not of the node: anvil gives the same figures (the contract
tests check a few of them on both backends).
"""

from __future__ import annotations

import hashlib
from functools import cache

from eth_tester.backends.pyevm.main import get_default_account_keys

from anchor import keep_recursion_limit
from anchor.chain import RegistryClient, StatusChange, connect

keep_recursion_limit()  # eth-tester imports py-evm, which raises it (see anchor/__init__.py)

# A pair of tree sizes whose RFC 9162 consistency proof has 20 hashes and needs 34 node hashes
# to verify, the most found among 20,000 random pairs of 20-hash proofs (most need 26–29).
BENCH_SIZE1 = 523_998
BENCH_SIZE2 = 1_046_157
BENCH_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


@cache
def uniform_root(size: int) -> bytes:
    """RFC 9162 Merkle tree hash of ``size`` identical leaves (a bench fixture: with equal
    leaves a subtree's hash depends only on its size, so million-leaf trees cost microseconds).
    """
    if size == 1:
        return hashlib.sha256(b"\x00bench-leaf").digest()
    split = 1
    while split * 2 < size:
        split *= 2
    return hashlib.sha256(b"\x01" + uniform_root(split) + uniform_root(size - split)).digest()


def uniform_consistency_proof(size1: int, size2: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof between two trees of identical leaves."""

    def subproof(m: int, n: int, complete: bool) -> list[bytes]:
        if m == n:
            return [] if complete else [uniform_root(m)]
        split = 1
        while split * 2 < n:
            split *= 2
        if m <= split:
            return [*subproof(m, split, complete), uniform_root(n - split)]
        return [*subproof(m - split, n - split, False), uniform_root(split)]

    return subproof(size1, size2, True)


def bench_contract() -> dict[str, int]:
    """Deploy the contract on a fresh in-process EVM, run each operation once and return the
    gas used per operation (receipt ``gasUsed``, intrinsic cost included)."""
    w3 = connect("memory")
    keys = [k.to_hex() for k in get_default_account_keys()[:3]]
    accounts = list(w3.eth.accounts)
    founders = [(44, accounts[0]), (41, accounts[1]), (43, accounts[2])]
    client, deployed = RegistryClient.deploy(w3, founders, private_key=keys[0])
    other = RegistryClient(w3, client.address, private_key=keys[1])
    figures: dict[str, int] = {"deploy": deployed.gas_used}

    figures["file_organisation"] = client.file_organisation(
        "S000144002009", b"\x11" * 32, 1, b"\x22" * 32, 1_700_000_000
    ).gas_used
    figures["file_organisation_sm2"] = client.file_organisation(
        "S000144002010", b"\x11" * 32, 3, b"\x04" + b"\x33" * 64, 1_700_000_000
    ).gas_used
    figures["rotate_key"] = client.rotate_key(
        "S000144002009", 1, b"\x44" * 32, 1_800_000_000
    ).gas_used

    first = client.anchor(BENCH_SIZE1, uniform_root(BENCH_SIZE1), [], BENCH_CID)
    assert first.tx is not None
    figures["anchor_first"] = first.tx.gas_used
    proof = uniform_consistency_proof(BENCH_SIZE1, BENCH_SIZE2)
    if len(proof) != 20:
        raise AssertionError(f"bench proof has {len(proof)} hashes, expected 20")
    second = client.anchor(BENCH_SIZE2, uniform_root(BENCH_SIZE2), proof, BENCH_CID)
    assert second.tx is not None
    figures["anchor_20_hash_proof"] = second.tx.gas_used
    figures["publish_audit_statement"] = other.publish_audit_statement(
        44, 1, b"\x59" * 32, BENCH_CID
    ).gas_used

    figures["set_status"] = client.set_status(44, b"\x55" * 32, 1, 7).gas_used
    figures["set_status_suspend"] = client.set_status(44, b"\x56" * 32, 2, 7).gas_used
    figures["set_status_reinstate"] = client.set_status(44, b"\x56" * 32, 0, 7).gas_used
    figures["set_status_supersede"] = client.set_status(
        44, b"\x57" * 32, 3, 9, b"\x58" * 32
    ).gas_used
    changes = [StatusChange(i.to_bytes(32, "big"), 1, 7) for i in range(1, 101)]
    figures["set_status_batch_100"] = client.set_status_batch(44, changes).gas_used

    proposal = client.propose(1, 45, [accounts[5]])
    figures["approve"] = other.approve(proposal).gas_used
    figures["execute_admit"] = client.execute(proposal).gas_used
    return figures
