"""``certreg node …`` end to end against a real anvil: init, ingest, anchor, status, export."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import RegistryClient, connect
from certreg.cli import main
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_ORGANISATION_NAME
from node.core.errors import InvalidInput
from node.core.formats.bundle import Bundle
from node.core.formats.compact import decode_compact
from node.core.merkle import verify_inclusion
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.storage import ProvinceLog
from province.config import load_config
from province.node import ProvinceNode
from tests.anchor.entries import make_entries
from tests.province.helpers import (
    KEY,
    ON_TIME,
    ORG,
    SCOPE,
    SUITE,
    certificate,
    certificate_number,
    file_sample_organisation,
    issue,
)
from tests.province.submissions import write_submission

pytestmark = pytest.mark.anvil

OPERATOR_KEY = ANVIL_DEV_KEYS[0]  # anvil account 0, operator of province 44


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def file_org(capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path) -> dict[str, Any]:
    """``certreg node file-org`` of the sample organisation; its one change."""
    filing = tmp_path / "org.json"
    filing.write_text(json.dumps({
        "code": ORG, "name": SAMPLE_ORGANISATION_NAME, "scope": SCOPE,
        "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                  "valid_from": KEY_VALID_FROM}],
    }, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    status, out, err = run(capsys, "node", "file-org", str(filing), "--dir", str(home), "--json")
    assert status == 0, err
    [change] = json.loads(out)["changes"]
    return dict(change)


@pytest.fixture
def contract(anvil_node: AnvilNode) -> str:
    w3 = connect(anvil_node.url)
    accounts = w3.eth.accounts
    client, _ = RegistryClient.deploy(
        w3, [(44, accounts[0]), (41, accounts[1]), (43, accounts[2])], sender=accounts[0]
    )
    return client.address


def test_node_commands_take_a_file_to_anchored_bundles(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    status, out, _ = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY, "--batch-size", "4", "--json",
    )  # fmt: skip
    assert status == 0, out
    assert json.loads(out)["province"] == "44"
    config_path = home / "node.json"
    assert config_path.stat().st_mode & 0o077 == 0  # secrets: owner only
    # A second init refuses to overwrite the keys.
    status, _, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract,
    )  # fmt: skip
    assert status == 1 and "config.exists" in err

    change = file_org(capsys, home, tmp_path)
    assert change["code"] == ORG and change["written"] and len(change["transactions"]) == 1
    client = RegistryClient.connect(anvil_node.url, contract)
    assert client.organisation(ORG).status == 1  # active on chain
    network = ProvinceNode.open(load_config(home)).network
    good = write_submission(tmp_path / "batch.jsonl", network, range(1, 10))
    with good.open("a", encoding="utf-8") as out_file:  # one broken row: not JSON
        out_file.write("{not json\n")

    report = tmp_path / "report.jsonl"
    status, out, _ = run(
        capsys, "node", "ingest", str(good), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--report", str(report), "--json", "--quiet",
    )  # fmt: skip
    assert status == 1  # one row refused
    assert json.loads(out) == {
        "file": str(good), "mode": "per_row", "accepted": 9, "refused": 1,
    }  # fmt: skip
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(rows) == 10 and rows[-1]["row"] == 10 and rows[-1]["rule"].startswith("intake.")
    assert all("commitment" in r for r in rows[:9])

    # Ingesting the same file again accepts nothing twice (here through worker processes).
    status, out, _ = run(
        capsys, "node", "ingest", str(good), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--json", "--quiet", "--workers", "2", "--chunk-size", "4",
    )  # fmt: skip
    assert json.loads(out)["accepted"] == 0 and json.loads(out)["refused"] == 10

    status, out, _ = run(capsys, "node", "anchor", "--dir", str(home), "--json")
    assert status == 0
    anchored = json.loads(out)
    assert anchored["anchored_size"] == 9
    assert [c["tree_size"] for c in anchored["anchored"]] == [9]

    status, out, _ = run(capsys, "node", "status", "--dir", str(home), "--json")
    assert json.loads(out)["anchored_size"] == 9 and json.loads(out)["log_size"] == 9

    bundles = tmp_path / "bundles"
    status, out, _ = run(
        capsys, "node", "export", "--dir", str(home), "--out", str(bundles), "--json", "--quiet"
    )
    assert status == 0 and json.loads(out)["bundles"] == 9
    root = client.root_at(44, 9)
    assert root is not None
    for path in sorted(bundles.glob("*.json")):
        # Bundles hold names, ID numbers and salts: readable by the owner only.
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        bundle = Bundle.from_json(json.loads(path.read_text(encoding="utf-8")))
        verify_inclusion(
            bundle.entry.leaf_hash(), bundle.proof.leaf_index, 9, bundle.proof.hashes, root
        )
    status, _, _ = run(
        capsys, "node", "export", "--dir", str(home), "--out", str(tmp_path / "qr"), "--compact",
        "--quiet", "--certificate-number", rows[0]["certificate_number"],
    )  # fmt: skip
    assert status == 0
    [qr] = list((tmp_path / "qr").glob("*.qr.txt"))
    assert stat.S_IMODE(qr.stat().st_mode) == 0o600
    assert (
        decode_compact(qr.read_text().strip()).entry.certificate_number
        == rows[0]["certificate_number"]
    )

    # Someone holding the operator's key anchors a copy of the log with an entry of their own:
    # `node status` reports the log as diverged, with the reason, and exits 1.
    assert (
        json.loads(run(capsys, "node", "status", "--dir", str(home), "--json")[1])["log_state"]
        == "ok"
    )
    thief_home = tmp_path / "thief"
    shutil.copytree(home, thief_home)
    thief = ProvinceNode.open(load_config(thief_home))
    try:
        with thief.db.transaction() as session:
            ProvinceLog(session, "44").append(
                make_entries(1, start=50), now=dt.datetime.now(dt.UTC)
            )
        thief.anchor_all()
    finally:
        thief.close()
    status, out, _ = run(capsys, "node", "status", "--dir", str(home), "--json")
    diverged = json.loads(out)
    assert status == 1 and diverged["log_state"] == "diverged"
    assert (
        diverged["log_state_reason"] == "chain checkpoint 1 of log 44 has size 10, past our log (9)"
    )
    status, out, _ = run(capsys, "node", "status", "--dir", str(home))
    assert (
        status == 1 and "log DIVERGED from the chain, anchoring halted: chain checkpoint 1" in out
    )
    # The worker stops at once with the reason (exit 1) instead of retrying.
    status, _, err = run(capsys, "node", "run", "--dir", str(home), "--poll", "0.05")
    assert status == 1
    assert (
        "anchoring of log 44 halted, the log diverged from the chain: chain checkpoint 1 of log "
        "44 has size 10, past our log (9)" in err
    )

    # The thief's manifest is where manifests are published (IPFS for every node).
    shutil.copytree(thief_home / "manifests", home / "manifests", dirs_exist_ok=True)
    # Adopting the thief's entry as foreign: refused while the account that anchored it is
    # still 44's operator (the consortium has not voted here), done with --confirm; the log
    # equals the chain's again and `node status` is back to ok.
    status, _, err = run(capsys, "node", "adopt-foreign", "--dir", str(home))
    assert status == 1 and "adopt.operator_unchanged" in err, err
    status, out, _ = run(capsys, "node", "adopt-foreign", "--dir", str(home), "--confirm", "--json")
    adopted = json.loads(out)
    assert status == 0 and adopted["adopted"] == 1 and adopted["log_state"] == "ok"
    assert (adopted["log_size"], adopted["anchored_size"]) == (10, 10)
    status, out, _ = run(capsys, "node", "status", "--dir", str(home), "--json")
    assert status == 0 and json.loads(out)["log_state"] == "ok"


def test_node_commands_need_a_configured_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "node", "status", "--dir", str(tmp_path))
    assert status == 1 and "config.missing" in err


def test_org_commands_mirror_to_the_chain_and_gate_intake(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    assert run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY,
    )[0] == 0  # fmt: skip
    filing = tmp_path / "org.json"
    filing.write_text(json.dumps([{
        "code": ORG, "name": SAMPLE_ORGANISATION_NAME, "scope": SCOPE,
        "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                  "valid_from": "2025-01-01"}],
    }]), encoding="utf-8")  # fmt: skip
    assert run(capsys, "node", "file-org", str(filing), "--dir", str(home))[0] == 0
    # Filing again sends nothing and changes nothing.
    status, out, _ = run(capsys, "node", "file-org", str(filing), "--dir", str(home), "--json")
    assert status == 0 and json.loads(out)["changes"][0]["transactions"] == []
    client = RegistryClient.connect(anvil_node.url, contract)

    status, _, _ = run(
        capsys, "node", "org", "suspend", ORG, "--dir", str(home), "--note", "review"
    )
    assert status == 0 and client.organisation(ORG).status == 2
    network = ProvinceNode.open(load_config(home)).network
    batch = write_submission(tmp_path / "b.jsonl", network, range(1, 3))
    status, _, err = run(
        capsys, "node", "ingest", str(batch), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--mode", "atomic", "--quiet",
    )  # fmt: skip
    assert status == 1 and "organisation.not_active" in err and "row 1" in err
    assert run(capsys, "node", "org", "reactivate", ORG, "--dir", str(home))[0] == 0
    assert client.organisation(ORG).status == 1

    new_key = SUITE.public_key(SUITE.generate_private_key(bytes(range(5, 37))))
    status, out, _ = run(
        capsys, "node", "org", "rotate-key", ORG, "--dir", str(home), "--suite", "ed25519",
        "--public-key", new_key.hex(), "--effective-at", "2027-01-01", "--json",
    )  # fmt: skip
    assert status == 0 and json.loads(out)["changes"][0]["key_id"] == 1
    assert client.organisation_key(ORG, 1).public_key == new_key
    assert client.organisation_key(ORG, 0).valid_until == client.organisation_key(ORG, 1).valid_from

    status, _, err = run(
        capsys, "node", "org", "rotate-key", ORG, "--dir", str(home), "--suite", "ed25519",
        "--public-key", "zz", "--effective-at", "2027-01-01",
    )  # fmt: skip
    assert status == 1 and "public_key" in err
    assert run(capsys, "node", "org", "terminate", ORG, "--dir", str(home))[0] == 0
    assert client.organisation(ORG).status == 3
    status, _, err = run(capsys, "node", "org", "reactivate", ORG, "--dir", str(home))
    assert status == 1 and "organisation.terminated" in err


def test_lifecycle_commands_reach_the_chain(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    assert run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY, "--quiet",
    )[0] == 0  # fmt: skip
    node = ProvinceNode.open(load_config(home))
    file_sample_organisation(node.db, node.client)
    network = node.network
    node.close()
    batch = write_submission(tmp_path / "b.jsonl", network, range(1, 3))
    assert run(
        capsys, "node", "ingest", str(batch), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--quiet",
    )[0] == 0  # fmt: skip
    number = json.loads(batch.read_text().splitlines()[0])["certificate_number"]
    status, out, err = run(
        capsys, "node", "revoke", "--dir", str(home), "--certificate-number", number,
        "--reason", "101", "--note", "cheating found", "--json",
    )  # fmt: skip
    assert status == 0, err
    revoked = json.loads(out)
    assert revoked["kind"] == "revoke" and revoked["status"] == "revoked"
    # A wrong reason for the action is refused with the field and the rule.
    status, _, err = run(
        capsys, "node", "suspend", "--dir", str(home), "--certificate-number", number,
        "--reason", "101",
    )  # fmt: skip
    assert status == 1 and "reason" in err
    assert run(capsys, "node", "anchor", "--dir", str(home), "--quiet")[0] == 0
    client = RegistryClient.connect(anvil_node.url, contract)
    record = client.certificate_status(44, bytes.fromhex(revoked["commitment"]))
    assert (record.status, record.reason) == (1, 101)


def test_screening_suspends_the_query_service_until_review(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    assert run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY,
    )[0] == 0  # fmt: skip
    node = ProvinceNode.open(load_config(home))
    file_sample_organisation(node.db, node.client)
    same_id = certificate(1).id_number
    accepted = [issue(node, serial, id_number=same_id) for serial in range(1, 6)]
    node.close()
    number = accepted[-1].certificate_number

    status, out, err = run(
        capsys, "node", "screen", "--dir", str(home), "--certificate-number", number,
        "--suspend-query", "--json",
    )  # fmt: skip
    assert status == 0, err
    screened = json.loads(out)
    assert screened["suspended"] is True
    codes = {f["code"] for f in screened["flags"]}
    assert any("burst" in code for code in codes), codes
    assert same_id not in out  # flags never carry the ID number
    status, out, _ = run(capsys, "node", "review", "--dir", str(home), "--json")
    holding = [f for f in json.loads(out)["flags"] if f["query_suspended"]]
    assert holding and {f["target_id"] for f in holding} == {holding[0]["target_id"]}
    flag = holding[0]

    assert run(capsys, "node", "anchor", "--dir", str(home), "--quiet")[0] == 0
    client = RegistryClient.connect(anvil_node.url, contract)
    commitment = bytes.fromhex(flag["target_id"])
    assert client.certificate_status(44, commitment).status == 2  # suspended on chain

    # Cleared one by one: the certificate stays suspended until the last flag holding it goes.
    for held in holding:
        assert client.certificate_status(44, commitment).status == 2
        status, out, err = run(
            capsys, "node", "review", "--dir", str(home), "--decide", str(held["id"]), "clear",
            "--reason", "301", "--json",
        )  # fmt: skip
        assert status == 0, err
        assert json.loads(out)["flags"][0]["state"] == "cleared"
        assert run(capsys, "node", "anchor", "--dir", str(home), "--quiet")[0] == 0
    assert client.certificate_status(44, commitment).status == 0  # reinstated


def test_a_fixed_gas_price_in_node_json_is_what_the_node_pays(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    price = 3_000_000_007  # wei; anvil's own price is near 1 gwei and never this odd number
    status, _, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY, "--gas-price", str(price),
    )  # fmt: skip
    assert status == 0, err
    assert json.loads((home / "node.json").read_text())["chain"]["gas_price"] == price
    change = file_org(capsys, home, tmp_path)
    w3 = connect(anvil_node.url)
    [transaction] = change["transactions"]
    assert w3.eth.get_transaction(transaction)["gasPrice"] == price

    # A gas price must be a whole, non-negative number of wei.
    config = json.loads((home / "node.json").read_text())
    for bad in (-1, 1.5, "1"):
        config["chain"]["gas_price"] = bad
        (home / "node.json").write_text(json.dumps(config))
        with pytest.raises(InvalidInput) as caught:
            load_config(home)
        assert caught.value.field == "config.chain.gas_price", caught.value


@pytest.mark.usefixtures("today_calendar_environment")  # certificates received today
def test_replay_after_a_restore_brings_back_what_the_chain_holds(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    status, _, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY,
    )  # fmt: skip
    assert status == 0, err
    file_org(capsys, home, tmp_path)
    node = ProvinceNode.open(load_config(home))
    network = node.network
    node.close()
    today = dt.datetime.now(CHINA).date()
    issued = today - dt.timedelta(days=2)
    before = write_submission(tmp_path / "before.jsonl", network, range(1, 4), issued=issued)
    after = write_submission(tmp_path / "after.jsonl", network, range(4, 7), issued=issued)

    def node_cli(*argv: str) -> tuple[int, dict[str, Any], str]:
        status, out, err = run(capsys, "node", *argv, "--dir", str(home), "--json", "--quiet")
        return status, (json.loads(out) if out.strip() else {}), err

    assert node_cli("ingest", str(before))[0] == 0
    assert node_cli("anchor")[0] == 0
    backup = tmp_path / "backup.db"
    with (
        contextlib.closing(sqlite3.connect(home / "node.db")) as live,
        contextlib.closing(sqlite3.connect(backup)) as copy,
    ):
        live.backup(copy)  # the documented online backup

    assert node_cli("ingest", str(after))[0] == 0
    assert node_cli("anchor")[0] == 0
    number = certificate_number(5, issued)
    assert node_cli("revoke", "--certificate-number", number, "--reason", "101")[0] == 0
    assert node_cli("anchor")[0] == 0
    _, lived, _ = node_cli("status")
    assert (lived["log_size"], lived["anchored_size"], lived["checkpoints"]) == (7, 7, 3)

    # The database is lost and the backup restored: the chain is ahead, the node refuses.
    with (
        contextlib.closing(sqlite3.connect(backup)) as copy,
        contextlib.closing(sqlite3.connect(home / "node.db")) as restored,
    ):
        copy.backup(restored)
    status, _, err = node_cli("anchor")
    assert status == 2 and "past our log" in err

    # Without the organisation's rows the replay stops at the first entry and says which.
    status, _, err = node_cli("replay")
    assert status == 1 and "replay.missing_submission" in err and "log entry 3" in err

    status, result, err = node_cli("replay", str(before), str(after))
    assert status == 0, err
    assert result == {
        "replayed": {"issue": 3, "revoke": 1}, "log_size": 7, "anchored_size": 7,
        "checkpoints": 3,
    }  # fmt: skip
    _, anchored, _ = node_cli("anchor")
    assert anchored["anchored"] == []  # nothing anchored twice
    client = RegistryClient.connect(anvil_node.url, contract)
    events = list(client.iter_events(0, names=["CheckpointAnchored", "CertificateStatusChanged"]))
    assert (
        sorted(e.name for e in events) == ["CertificateStatusChanged"] + ["CheckpointAnchored"] * 3
    )
    assert node_cli("replay", str(before))[1]["replayed"] == {}  # again: nothing to do


def test_the_province_corrects_a_terminated_organisations_certificate_by_cli(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``node correct --by-province`` (中就培发〔2022〕1号 art. 16): refused without the flag
    once the organisation is terminated, accepted with the published maintenance key."""
    home = tmp_path / "node44"
    assert run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY, "--quiet",
    )[0] == 0  # fmt: skip
    node = ProvinceNode.open(load_config(home))
    file_sample_organisation(node.db, node.client)
    network = node.network
    node.close()
    batch = write_submission(tmp_path / "b.jsonl", network, range(1, 2))
    assert run(
        capsys, "node", "ingest", str(batch), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--quiet",
    )[0] == 0  # fmt: skip
    row = json.loads(batch.read_text().splitlines()[0])
    row["occupation_name"] = "焊工（省级维护更正）"
    corrected = tmp_path / "corrected.jsonl"
    corrected.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run(capsys, "node", "org", "terminate", ORG, "--dir", str(home))[0] == 0
    correct = (
        "node", "correct", str(corrected), "--dir", str(home), "--certificate-number",
        row["certificate_number"], "--reason", "403", "--requested-by", "holder request",
        "--confirmed-by", "operator:44",
    )  # fmt: skip
    status, _, err = run(capsys, *correct)
    assert status == 1 and "maintenance.province_required" in err
    private_key = SUITE.generate_private_key(bytes(range(40, 72)))
    key_file = tmp_path / "maintenance.key"
    key_file.write_text(private_key.hex(), encoding="ascii")
    status, _, err = run(capsys, *correct, "--by-province", "--maintenance-key", str(key_file))
    assert status == 1 and "maintenance.key_missing" in err
    assert run(
        capsys, "consortium", "set-key", "maintenance", SUITE.public_key(private_key).hex(),
        "--dir", str(home),
    )[0] == 0  # fmt: skip
    status, out, err = run(
        capsys, *correct, "--by-province", "--maintenance-key", str(key_file), "--json"
    )
    assert status == 0, err
    outcome = json.loads(out)
    assert outcome["signed_by"] == "province" and outcome["kind"] == "correct"
    assert run(capsys, "node", "anchor", "--dir", str(home), "--quiet")[0] == 0
    node = ProvinceNode.open(load_config(home))
    try:
        bundle = node.bundles.bundle(bytes.fromhex(outcome["commitment"]))
    finally:
        node.close()
    assert bundle.entry.signature is not None and bundle.entry.signature.by_province


def test_node_witness_cosigns_the_anchored_checkpoints_once(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from anchor.trust_roots import publish_checkpoint_key

    home = tmp_path / "node44"
    status, _, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", OPERATOR_KEY,
    )  # fmt: skip
    assert status == 0, err
    status, _, err = run(capsys, "node", "witness", "--dir", str(home), "--once")
    assert status == 1 and "witness.config" in err
    file_org(capsys, home, tmp_path)
    node = ProvinceNode.open(load_config(home))
    try:
        rows = write_submission(tmp_path / "batch.jsonl", node.network, range(1, 4))
        private = SUITE.generate_private_key(b"witness key of 44".ljust(32, b"."))
        publish_checkpoint_key(node.client, "ed25519", SUITE.public_key(private))
    finally:
        node.close()
    status, _, err = run(
        capsys, "node", "ingest", str(rows), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--quiet",
    )  # fmt: skip
    assert status == 0, err
    assert run(capsys, "node", "anchor", "--dir", str(home))[0] == 0

    config = json.loads((home / "node.json").read_text())
    config["witness"] = {"key": "env:CERTREG_TEST_WITNESS_KEY", "suite": "ed25519"}
    (home / "node.json").write_text(json.dumps(config))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CERTREG_TEST_WITNESS_KEY", private.hex())
        status, out, err = run(capsys, "node", "witness", "--dir", str(home), "--once", "--json")
        assert status == 0, err
        assert json.loads(out) == {"cosigned": 1, "refused": 0, "collected": 0}
        status, out, _ = run(capsys, "node", "witness", "--dir", str(home), "--once", "--json")
        assert json.loads(out) == {"cosigned": 0, "refused": 0, "collected": 0}
        # One member of three cosigned: below the threshold, no bundle carries it.
        status, out, err = run(
            capsys, "node", "export", "--dir", str(home), "--out", str(tmp_path / "qr"),
            "--compact", "--cosigned", "--json", "--quiet",
        )  # fmt: skip
        assert status == 0, err
        assert json.loads(out)["bundles"] == 3 and json.loads(out)["cosigned"] == 0
        # A key that is not the published one is refused, naming the rule.
        env.setenv("CERTREG_TEST_WITNESS_KEY", (b"\x01" * 32).hex())
        status, _, err = run(capsys, "node", "witness", "--dir", str(home), "--once")
        assert status == 1 and "witness.key" in err
    config["witness"]["suite"] = "rsa"
    (home / "node.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInput) as caught:
        load_config(home)
    assert caught.value.rule == "config.witness"
