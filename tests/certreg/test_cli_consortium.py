"""``certreg consortium``: governance from the command line against the run's real anvil node
and a fresh deployment; each command through ``certreg.cli.main`` as the entry point runs it
(one subprocess shows the installed entry point is wired)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from anchor.chain import RegistryClient, connect
from certreg.cli import main
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from province.config import new_config, write_config
from tests.conftest import ROOT

pytestmark = pytest.mark.anvil

FOUNDERS = {"44": ANVIL_DEV_KEYS[0], "41": ANVIL_DEV_KEYS[1], "43": ANVIL_DEV_KEYS[2]}


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def certreg(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``certreg ARGS`` through :func:`certreg.cli.main`, with ``env`` added to the
    environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


@pytest.fixture
def deployed(anvil_node: AnvilNode) -> str:
    w3 = connect(anvil_node.url)
    founders = [(int(p), Account.from_key(k).address) for p, k in FOUNDERS.items()]
    client, _ = RegistryClient.deploy(w3, founders, private_key=ANVIL_DEV_KEYS[0])
    return client.address


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_a_vote_from_the_command_line(
    anvil_node: AnvilNode, deployed: str, tmp_path: Path, certreg: Run
) -> None:
    chain = ["--rpc", anvil_node.url, "--contract", deployed]
    keys = {f"K{p}": k for p, k in FOUNDERS.items()}
    newcomer = Account.create().address
    listed = subprocess.run(
        [sys.executable, "-m", "certreg", "consortium", "list", *chain],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False, env=os.environ,
    )  # fmt: skip
    assert listed.returncode == 0 and listed.stdout.strip() == "no proposals"

    refused = certreg(
        "consortium", "propose", "admit", "--province", "11", "--operator", newcomer, *chain,
        "--key", FOUNDERS["44"],
    )  # fmt: skip
    assert refused.returncode == 2 and "[consortium.key_source]" in refused.stderr
    assert FOUNDERS["44"] not in refused.stderr + refused.stdout  # never echoed

    proposed = ok(
        certreg(
            *("consortium", "propose", "admit", "--province", "11", "--operator", newcomer),
            *(*chain, "--key", "env:K44", "--json"),
            env=keys,
        )
    )
    assert (proposed["id"], proposed["state"], proposed["approvals"]) == (0, "open", ["44"])

    early = certreg("consortium", "execute", "0", *chain, "--key", "env:K43", env=keys)
    assert early.returncode == 2
    assert (
        "consortium.refused" in early.stderr and "MembershipInsufficientApprovals" in early.stderr
    )

    # Henan approves as a node: its node.json holds the chain, the contract and its key.
    henan = tmp_path / "41"
    write_config(
        new_config(
            henan, province="41", rpc=anvil_node.url, contract=deployed,
            operator_key=FOUNDERS["41"],
        ),
        henan,
    )  # fmt: skip
    approved = ok(certreg("consortium", "approve", "0", "--dir", str(henan), "--json"))
    assert approved["state"] == "ready" and approved["approvals"] == ["44", "41"]

    executed = ok(
        certreg("consortium", "execute", "0", *chain, "--key", "env:K43", "--json", env=keys)
    )
    assert executed["state"] == "executed"
    members = ok(certreg("consortium", "members", *chain, "--json"))["members"]
    assert [m["province"] for m in members] == ["44", "41", "43", "11"]
    assert members[3]["operators"] == [newcomer]
    assert ok(certreg("consortium", "list", "--open", *chain, "--json")) == {"proposals": []}
    shown = certreg("consortium", "show", "0", *chain)
    assert shown.returncode == 0 and "admit 11" in shown.stdout and "executed" in shown.stdout
    missing = certreg("consortium", "show", "7", *chain)
    assert missing.returncode == 2 and "[consortium.proposal]" in missing.stderr


def test_publishing_a_member_key(anvil_node: AnvilNode, deployed: str, certreg: Run) -> None:
    chain = ["--rpc", anvil_node.url, "--contract", deployed]
    key = "ab" * 32
    env = {"K43": FOUNDERS["43"]}
    ok(
        certreg(
            "consortium", "set-key", "node-api", key, *chain, "--key", "env:K43", "--json", env=env
        )
    )
    members = ok(certreg("consortium", "members", *chain, "--json"))["members"]
    assert {m["province"]: m["keys"] for m in members}["43"] == {"node-api": key}
    short = certreg("consortium", "set-key", "node-api", "ab", *chain, "--key", "env:K43", env=env)
    assert short.returncode == 2 and "[member_key.length]" in short.stderr
