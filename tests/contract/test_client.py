"""The chain adapter itself: nonces under threads and restarts, retries, confirmations, typed
errors, private-key signing, the anvil helper and the deploy command."""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import requests

from anchor.chain import (
    ClientOptions,
    RegistryClient,
    RetryPolicy,
    StatusChange,
    connect,
    with_retries,
)
from anchor.errors import ContractRevert
from certreg.cli import contract as cli
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from certreg.dev.servers import free_port
from node.core.errors import ChainError
from tests.contract.conftest import Chain, Registry
from tests.contract.helpers import reverts


def test_concurrent_senders_share_one_nonce_sequence(reg: Registry) -> None:
    c = reg.as_(0)
    start = reg.chain.w3.eth.get_transaction_count(c.sender)

    def work(thread: int) -> list[int]:
        return [c.set_status(44, bytes([thread, i]) * 16, 1).block_number for i in range(5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        blocks = [b for bs in pool.map(work, range(4)) for b in bs]
    assert len(blocks) == 20
    assert reg.chain.w3.eth.get_transaction_count(c.sender) == start + 20
    for thread in range(4):
        for i in range(5):
            assert c.certificate_status(44, bytes([thread, i]) * 16).status == 1


def test_restart_takes_the_pending_nonce(reg: Registry) -> None:
    reg.as_(0).set_status(44, b"\x01" * 32, 1)
    # A new process (a new client) continues the same account's sequence.
    again = reg.as_(0)
    again.set_status(44, b"\x02" * 32, 1)
    assert again.certificate_status(44, b"\x02" * 32).status == 1


def test_nonce_error_resynchronises(reg: Registry) -> None:
    a, b = reg.as_(0), reg.as_(0)
    a.set_status(44, b"\x01" * 32, 1)  # a's counter is now warm.
    b.set_status(44, b"\x02" * 32, 1)  # b takes the nonce a expects to use next.
    a.set_status(44, b"\x03" * 32, 1)  # a hits "nonce too low", resyncs and succeeds.
    assert a.certificate_status(44, b"\x03" * 32).status == 1


def test_private_key_signing(chain: Chain) -> None:
    if chain.name == "memory":
        from eth_tester.backends.pyevm.main import get_default_account_keys

        key = get_default_account_keys()[0].to_hex()
    else:
        key = ANVIL_DEV_KEYS[0]
    client, result = RegistryClient.deploy(
        chain.w3, [(44, chain.accounts[0])], private_key=key, artifact=chain.artifact
    )
    assert client.sender == chain.accounts[0]
    assert result.gas_used > 1_000_000
    client.anchor(1, b"\x05" * 32, [], "cid")
    assert client.checkpoint_count(44) == 1


def test_confirmations(chain: Chain, deployed: str) -> None:
    snap = chain.snapshot()
    try:
        c = chain.client(deployed, 0, confirmations=3, mine_for_confirmations=True)
        result = c.set_status(44, b"\x09" * 32, 1)
        assert c.block_number() >= result.block_number + 2
    finally:
        chain.revert(snap)


def test_revert_decoding_keeps_typed_arguments(reg: Registry) -> None:
    error = reverts(
        "MembershipUnauthorizedProvince", lambda: reg.as_(1).set_status(44, b"\x01" * 32, 1)
    )
    assert isinstance(error, ChainError)
    assert error.arguments == {"account": reg.chain.accounts[1], "province": 44}
    assert len(error.data) == 4 + 2 * 32
    unknown = reg.as_(0).codec.decode_revert(b"\xde\xad\xbe\xef")
    assert (unknown.name, unknown.data) == ("", b"\xde\xad\xbe\xef")


def test_unreachable_node_raises_chain_error_after_backoff() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = RegistryClient(
        connect(url, timeout=1.0),
        "0x" + "11" * 20,
        private_key=ANVIL_DEV_KEYS[0],
        options=ClientOptions(retry=RetryPolicy(attempts=3, initial_delay=0.05)),
    )
    started = time.monotonic()
    with pytest.raises(ChainError) as info:
        client.checkpoint_count(44)
    assert time.monotonic() - started >= 0.15  # 0.05 + 0.1 of backoff.
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    assert not isinstance(info.value, ContractRevert)


def test_with_retries_recovers_from_transient_errors() -> None:
    calls: list[float] = []

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise requests.exceptions.ConnectionError("reset")
        return "ok"

    assert with_retries(flaky, "flaky", RetryPolicy(attempts=4, initial_delay=0.02)) == "ok"
    assert len(calls) == 3
    assert calls[2] - calls[1] >= calls[1] - calls[0] >= 0.02  # Exponential backoff.


def test_unsupported_url() -> None:
    with pytest.raises(ChainError):
        connect("ws://127.0.0.1:1")


def test_batch_client_api(reg: Registry) -> None:
    c = reg.as_(0)
    result = c.set_status_batch(44, [StatusChange(bytes([i]) * 32, 2, 1) for i in range(1, 6)])
    assert len(result.events) == 5


@pytest.mark.anvil
def test_anvil_helper_starts_and_stops_by_pid() -> None:
    node = AnvilNode()
    node.start()
    pid = node.pid
    assert pid is not None
    home = node._home.name if node._home is not None else ""
    w3 = connect(node.url)
    assert w3.eth.chain_id == 31337
    node.stop()
    assert node.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not Path(home).exists()


def _deploy_cli(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="certreg")
    cli.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with redirect_stdout(out):
        code = args.func(args)
    return code, out.getvalue()


def test_cli_deploy_json(chain: Chain) -> None:
    rpc = "memory" if chain.name == "memory" else chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    a0, a1 = chain.accounts[0], chain.accounts[1]
    code, out = _deploy_cli(
        [
            "contract",
            "deploy",
            "--rpc",
            rpc,
            "--founder",
            f"44:{a0}",
            "--founder",
            f"41:{a1}",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["address"] and data["address"].startswith("0x")
    if chain.name != "memory":
        deployed = RegistryClient.connect(rpc, data["address"])
        assert sorted(deployed.members()) == [41, 44]


def test_cli_rejects_bad_founder() -> None:
    with pytest.raises(Exception) as info:
        cli.parse_founder("44-0xabc")
    assert "PROVINCE:ADDRESS" in str(info.value)
