"""The exhaustive Merkle vectors (tests/vectors/merkle.json) through the contract's
``verifyInclusion`` / ``verifyConsistency`` views, as eth_call (nothing mined).

The in-process EVM (py-evm) needs ~4 ms per call, so it runs every valid consistency proof (the
check of every anchoring), every inclusion proof and every mutation of the trees up to 8 leaves
and a fixed stride of the rest (~4,000 calls, ~15 s). A real anvil node runs the whole file,
~71,000 calls, in batched JSON-RPC requests (~5 s). Call data is encoded here by
hand (a fixed ABI layout, checked against web3's encoder below) to keep the test fast.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector

from anchor.chain import Artifact, RegistryClient, connect
from certreg.dev.anvil import AnvilNode
from tests.merkle_cases import ConsistencyCase, InclusionCase, consistency_cases, inclusion_cases

INCLUSION = function_signature_to_4byte_selector(
    "verifyInclusion(bytes32,uint64,uint64,bytes32[],bytes32)"
)
CONSISTENCY = function_signature_to_4byte_selector(
    "verifyConsistency(uint64,uint64,bytes32,bytes32,bytes32[])"
)
#: Cases of trees up to this size all run in-process; above it one in STRIDE.
SMALL = 8
STRIDE = 60
TRUE = (1).to_bytes(32, "big")
FALSE = bytes(32)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _array(items: Sequence[bytes]) -> bytes:
    return _word(len(items)) + b"".join(items)


def inclusion_call(case: InclusionCase) -> bytes:
    head = case.leaf + _word(case.index) + _word(case.size) + _word(5 * 32) + case.root
    return INCLUSION + head + _array(case.proof)


def consistency_call(case: ConsistencyCase) -> bytes:
    head = _word(case.size1) + _word(case.size2) + case.root1 + case.root2 + _word(5 * 32)
    return CONSISTENCY + head + _array(case.proof)


def all_calls() -> list[tuple[str, bytes, bool]]:
    """Every case of the file as (label, call data, want)."""
    calls = [(c.label, inclusion_call(c), c.want) for c in inclusion_cases()]
    calls += [(c.label, consistency_call(c), c.want) for c in consistency_cases()]
    return calls


def in_process_calls() -> list[tuple[str, bytes, bool]]:
    """Every valid consistency proof, every case with n <= SMALL, one in STRIDE of the others."""
    out = []
    for position, (label, data, want) in enumerate(all_calls()):
        valid_consistency = label.startswith("consistency") and label.count(" ") == 1
        size = int(label.split()[1].replace("->", "/").split("/")[1])
        if valid_consistency or size <= SMALL or position % STRIDE == 0:
            out.append((label, data, want))
    return out


def _disagreements(
    calls: Iterable[tuple[str, bytes, bool]], run: Callable[[list[bytes]], list[bytes]]
) -> list[str]:
    calls = list(calls)
    replies = run([data for _, data, _ in calls])
    assert len(replies) == len(calls)
    wrong = []
    for (label, _, want), reply in zip(calls, replies, strict=True):
        if reply not in (TRUE, FALSE):
            wrong.append(f"{label}: reply {reply.hex()}")
        elif (reply == TRUE) != want:
            wrong.append(label)
    return wrong


def test_hand_encoding_matches_web3(artifact: Artifact) -> None:
    w3 = connect("memory")
    client = RegistryClient(w3, "0x" + "00" * 20, sender=w3.eth.accounts[0], artifact=artifact)
    functions = client.contract.functions
    incl = next(c for c in inclusion_cases() if len(c.proof) == 3)
    cons = next(c for c in consistency_cases() if len(c.proof) == 4)
    args = (incl.leaf, incl.index, incl.size, incl.proof, incl.root)
    assert functions.verifyInclusion(*args)._encode_transaction_data() == "0x" + (
        inclusion_call(incl).hex()
    )
    args2 = (cons.size1, cons.size2, cons.root1, cons.root2, cons.proof)
    assert functions.verifyConsistency(*args2)._encode_transaction_data() == "0x" + (
        consistency_call(cons).hex()
    )


def test_in_process_evm(artifact: Artifact) -> None:
    w3 = connect("memory")
    account = w3.eth.accounts[0]
    client, _ = RegistryClient.deploy(w3, [(44, account)], sender=account, artifact=artifact)
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    address = client.contract.address

    def run(datas: list[bytes]) -> list[bytes]:
        call = tester.call
        return [
            bytes.fromhex(call({"to": address, "from": account, "data": "0x" + d.hex()})[2:])
            for d in datas
        ]

    calls = in_process_calls()
    assert len(calls) > 3_500
    assert _disagreements(calls, run) == []


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())


def batched_eth_call(url: str, address: str, datas: list[bytes]) -> list[bytes]:
    """eth_call of each call data on ``address``, 2,000 to a JSON-RPC batch; b"" for an error."""
    out: list[bytes] = []
    for start in range(0, len(datas), 2000):
        batch = [
            {
                "jsonrpc": "2.0",
                "id": n,
                "method": "eth_call",
                "params": [{"to": address, "data": "0x" + d.hex()}, "latest"],
            }
            for n, d in enumerate(datas[start : start + 2000])
        ]
        replies = sorted(_post(url, batch), key=lambda r: r["id"])
        out += [bytes.fromhex(r["result"][2:]) if "result" in r else b"" for r in replies]
    return out


@pytest.mark.anvil
def test_anvil_runs_the_whole_file(anvil_node: AnvilNode, artifact: Artifact) -> None:
    w3 = connect(anvil_node.url)
    account = w3.eth.accounts[0]
    client, _ = RegistryClient.deploy(w3, [(44, account)], sender=account, artifact=artifact)
    address = client.contract.address

    def run(datas: list[bytes]) -> list[bytes]:
        return batched_eth_call(anvil_node.url, address, datas)

    calls = all_calls()
    assert len(calls) > 70_000
    assert _disagreements(calls, run) == []
