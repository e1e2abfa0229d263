"""The chain of ``certreg bench scale``: a real anvil with the consortium contract and the three
founding provinces, the gas the run spent, and what the anvil process cost.

Why anvil and not the in-process EVM (docs/SCALE.md "Chain"): at N = 10^6 the run anchors about
a hundred checkpoints and files the organisations of three provinces; the in-process EVM would
do that inside the benchmark process, so its CPU time and its memory (py-evm keeps every block
and every state in Python objects) would be counted as the registry's, and it skips the
JSON-RPC path (signing, sending, receipts, ``eth_getLogs`` paging) a deployment on Besu or FISCO
BCOS takes. Anvil is a separate process on 127.0.0.1, started and stopped by its PID
(:class:`certreg.dev.anvil.AnvilNode`); its CPU time and peak memory are read from ``/proc`` and
reported on their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

from anchor.chain import RegistryClient, connect
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode

#: The founding provinces: 广东 44, 河南 41, 湖南 43, in this order.
FOUNDERS = ("44", "41", "43")


@dataclasses.dataclass(frozen=True, slots=True)
class Consortium:
    """A deployed contract: its chain URL, the deployer's client (for reads, snapshots and the
    audit), each founder's operator key, and the anvil process when this run started it."""

    url: str
    client: RegistryClient
    deployment_block: int
    deployment_gas: int
    operator_keys: dict[str, str]
    anvil_pid: int | None

    def operator_client(self, province: str) -> RegistryClient:
        """A client that sends as ``province``'s operator."""
        return RegistryClient.connect(
            self.url, self.client.address, private_key=self.operator_keys[province]
        )


@contextlib.contextmanager
def consortium(rpc: str | None = None) -> Iterator[Consortium]:
    """Deploy the contract with the three founders, each with its own anvil development key
    (:data:`certreg.dev.anvil.ANVIL_DEV_KEYS`, 1–3; key 0 deploys), on the chain at ``rpc``, or on
    an anvil started here (and stopped by its PID on exit) when ``rpc`` is None."""
    with contextlib.ExitStack() as stack:
        anvil: AnvilNode | None = None
        if rpc is None:
            anvil = stack.enter_context(AnvilNode())
            rpc = anvil.url
        keys = dict(zip(FOUNDERS, ANVIL_DEV_KEYS[1:4], strict=True))
        founders = [(int(p), Account.from_key(k).address) for p, k in keys.items()]
        client, deployed = RegistryClient.deploy(
            connect(rpc), founders, private_key=ANVIL_DEV_KEYS[0]
        )
        yield Consortium(
            url=rpc,
            client=client,
            deployment_block=deployed.block_number,
            deployment_gas=deployed.gas_used,
            operator_keys=keys,
            anvil_pid=None if anvil is None else anvil.pid,
        )


def _selectors(client: RegistryClient) -> dict[bytes, str]:
    """Function selector → name, from the contract's ABI."""
    out: dict[bytes, str] = {}
    for item in client.artifact.abi:
        if item.get("type") != "function":
            continue
        types = ",".join(_abi_type(p) for p in item.get("inputs", []))
        out[keccak(text=f"{item['name']}({types})")[:4]] = item["name"]
    return out


def _abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(p) for p in param["components"]) + ")" + kind[5:]
    return kind


def gas_by_function(client: RegistryClient, first_block: int, last_block: int) -> dict[str, int]:
    """Gas used by the transactions to the contract in blocks ``first_block``–``last_block``,
    summed per contract function (``anchor``, ``fileOrganisation``, ``rotateKey``, …); any
    other transaction counts under ``other``."""
    names = _selectors(client)
    totals: Counter[str] = Counter()
    address = client.address.lower()
    for number in range(first_block, last_block + 1):
        block = client.w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            assert not isinstance(tx, bytes)
            receipt = client.w3.eth.get_transaction_receipt(tx["hash"])
            to = str(tx.get("to") or "").lower()
            data = bytes(tx["input"])
            name = names.get(data[:4], "other") if to == address else "other"
            totals[name] += int(receipt["gasUsed"])
    return dict(totals)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a running process (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_peak_rss_mb(pid: int) -> float:
    """The high-water resident memory of a running process (``VmHWM``), in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


__all__ = [
    "FOUNDERS",
    "Consortium",
    "consortium",
    "gas_by_function",
    "process_cpu_seconds",
    "process_peak_rss_mb",
]
