"""The auditor's rewritten-history, checkpoint and CLI checks."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pytest

from anchor.chain import RegistryClient
from anchor.manifest import LocalManifestStore
from audit.auditor import Auditor
from audit.log import Frontier, ProvinceLog
from certreg.bench.audit import HistoryWriter
from certreg.cli.audit import add_parsers
from node.core.formats.snapshot import BlockRef, Checkpoint, Member, Network, Snapshot, StatusRecord
from node.core.merkle import MerkleLog
from tests.audit.histories import KEY, KEY2, ORG, ORG2, Clean, clean_history, run
from tests.contract.conftest import Registry


def snapshot_of(client: RegistryClient, province: int = 44) -> Snapshot:
    """A snapshot of the contract's checkpoints at the latest block (what an auditor kept)."""
    block = client.w3.eth.get_block("latest")
    checkpoints = []
    for index in range(client.checkpoint_count(province)):
        c = client.checkpoint(province, index)
        checkpoints.append(
            Checkpoint(
                province=f"{province:02d}",
                index=index,
                tree_size=c.size,
                root=c.root,
                block_number=c.block_number,
                timestamp=c.timestamp,
                manifest_cid=c.manifest_cid,
                transaction_hash=bytes.fromhex(c.transaction_hash[2:]),
            )
        )
    names = {0: "reinstated", 1: "revoked", 2: "suspended", 3: "superseded"}
    statuses = []
    for e in client.iter_events(names=["CertificateStatusChanged"]):
        successor = bytes(e.args["successor"])
        statuses.append(
            StatusRecord(
                province=f"{int(e.args['province']):02d}",
                commitment=bytes(e.args["commitment"]),
                status=names[int(e.args["status"])],
                reason=int(e.args["reason"]),
                successor=successor if any(successor) else None,
                block_number=e.block_number,
                timestamp=int(client.w3.eth.get_block(e.block_number)["timestamp"]),
                transaction_hash=bytes.fromhex(e.transaction_hash[2:]),
            )
        )
    return Snapshot(
        network=Network(client.chain_id(), bytes.fromhex(client.address[2:])),
        block=BlockRef(int(block["number"]), bytes(block["hash"]), int(block["timestamp"])),
        members=(Member("44", ()),),
        organisations=(),
        checkpoints=tuple(checkpoints),
        statuses=tuple(statuses),
    )


def test_snapshot_of_the_same_chain_agrees(reg: Registry, tmp_path: Path) -> None:
    clean = clean_history(reg, tmp_path)
    snapshot = snapshot_of(clean.writer.client)
    clean.writer.issue(ORG, 7)
    clean.writer.anchor()  # later history is fine
    assert run(clean, snapshot=snapshot).clean


def test_rewritten_history_is_detected(reg: Registry, tmp_path: Path) -> None:
    chain = reg.chain
    before = chain.snapshot()
    clean = clean_history(reg, tmp_path / "a")
    kept = snapshot_of(clean.writer.client)
    chain.revert(before)
    # The same contract, rewritten: a shorter first checkpoint, no second one, no statuses.
    store = LocalManifestStore(tmp_path / "b")
    w = HistoryWriter(reg.as_(0), store, "44")
    w.file_organisation(ORG, KEY)
    w.file_organisation(ORG2, KEY2)
    for serial in (1, 2, 3):
        w.issue(ORG, serial)
    w.anchor()
    report = run(Clean(w, store, []), snapshot=kept)
    assert set(report.finding_counts) == {"history.rewritten"}
    assert any(f.evidence.get("checkpoint_index") == 0 for f in report.findings)


def test_a_snapshot_of_another_network_is_refused(reg: Registry, tmp_path: Path) -> None:
    from node.core.errors import InvalidInput

    clean = clean_history(reg, tmp_path)
    snapshot = snapshot_of(clean.writer.client)
    wrong = Snapshot(
        Network(snapshot.network.chain_id + 1, snapshot.network.contract),
        snapshot.block,
        snapshot.members,
        (),
        (),
        (),
    )
    with pytest.raises(InvalidInput) as info:
        run(clean, snapshot=wrong)
    assert (info.value.field, info.value.rule) == ("snapshot", "audit.snapshot_network")


def test_inconsistent_and_conflicting_checkpoints(reg: Registry, tmp_path: Path) -> None:
    """The contract refuses both, so they are checked here on the auditor's own functions
    with a real anchoring transaction as evidence."""
    clean = clean_history(reg, tmp_path)
    auditor = Auditor(clean.writer.client, clean.store)
    log = ProvinceLog("44")
    log.roots[8] = b"\x01" * 32
    log.next_index, log.last_size = 1, 8
    auditor.check_checkpoint(log, 1, 8, b"\x02" * 32, {"block": 1})
    auditor.check_checkpoint(log, 3, 9, b"\x03" * 32, {"block": 2})
    assert dict(auditor.findings.counts) == {"checkpoint.conflict": 1, "checkpoint.order": 1}
    # The second checkpoint's real proof, checked against a wrong previous root.
    event = next(
        e
        for e in clean.writer.client.iter_events(names=["CheckpointAnchored"])
        if e.args["index"] == 1
    )
    size2, root2 = int(event.args["size"]), bytes(event.args["root"])
    auditor.check_consistency("44", 7, b"\x04" * 32, size2, root2, event, {})
    assert auditor.findings.counts["checkpoint.inconsistent"] == 1
    first = clean.writer.client.checkpoint(44, 0)
    auditor.check_consistency("44", first.size, first.root, size2, root2, event, {})
    assert auditor.findings.counts["checkpoint.inconsistent"] == 1


def test_frontier_roots_equal_the_merkle_log() -> None:
    frontier, log = Frontier(), MerkleLog()
    for i in range(300):
        leaf = bytes([i % 256]) * 32
        frontier.append(leaf)
        log.append(leaf)
        assert frontier.root() == log.root()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="certreg")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_reports_and_exits(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if reg.chain.name == "memory":
        pytest.skip("the CLI connects by URL; the in-process EVM is not reachable by one")
    clean: Clean = clean_history(reg, tmp_path)
    url = reg.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    report_path = tmp_path / "report.json"
    argv = [
        "audit",
        "--rpc",
        url,
        "--contract",
        reg.address,
        "--manifests",
        str(clean.store.directory),
        "--report",
        str(report_path),
        "--workers",
        "1",
    ]
    args = _parse(argv)
    assert args.func(args) == 0
    assert "no findings" in capsys.readouterr().out
    assert json.loads(report_path.read_text())["clean"] is True

    clean.writer.issue(ORG, 9)  # 7 and 8 skipped
    clean.writer.anchor()
    args = _parse([*argv, "--json"])
    assert args.func(args) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["finding_counts"] == {"serial.gap": 1}
    written = json.loads(report_path.read_text())
    assert written["findings"][0]["kind"] == "serial.gap"
    assert written["findings"][0]["evidence"]["first"] == 7


def test_cli_unreachable_chain_exits_2(tmp_path: Path) -> None:
    args = _parse(
        [
            "audit",
            "--rpc",
            "ftp://nowhere",
            "--contract",
            "0x" + "00" * 20,
            "--manifests",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 2


def test_bench_audit_prints_its_figures() -> None:
    from certreg.cli.audit import bench_audit

    figures = bench_audit(300, checkpoint_size=100)
    assert figures["entries"] == 300
    assert figures["signatures"] == 300
    assert figures["checkpoints"] == 3
    assert figures["findings"] == 0
    assert figures["entries_per_s"] > 0
    assert 0 < figures["peak_rss_mb"] < 2_000


def test_cli_publishes_audit_statements_that_snapshots_carry(
    reg: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``certreg audit --publish``: one statement per province, naming the late certificate's
    leaf, stored and referenced on chain; ``anchor.audit_statements.audit_records`` reads it
    back with its content, as the snapshots a node signs carry it."""
    if reg.chain.name == "memory":
        pytest.skip("the CLI connects by URL; the in-process EVM is not reachable by one")
    from anchor.audit_statements import audit_records, store_fetch
    from certreg.dev.anvil import ANVIL_DEV_KEYS

    clean: Clean = clean_history(reg, tmp_path)
    late = clean.writer.issue(ORG, 7, issue_date=clean.writer.today - dt.timedelta(days=300))
    clean.writer.anchor()
    monkeypatch.setenv("AUDIT_KEY", ANVIL_DEV_KEYS[0])
    url = reg.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    base = ["audit", "--rpc", url, "--contract", reg.address]
    argv = [*base, "--manifests", str(clean.store.directory), "--workers", "1", "--publish"]
    args = _parse(argv)
    assert args.func(args) == 2  # no key: refused before the audit runs
    assert "--key" in capsys.readouterr().err
    args = _parse([*argv, "--key", "env:AUDIT_KEY"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "published the audit statement of 44 checkpoint 2 (1 findings)" in out

    client = clean.writer.client
    [record] = audit_records(client, store_fetch(clean.store), to_block=client.block_number())
    statement = record.statement
    assert (statement.province, statement.checkpoint_index, statement.tree_size) == ("44", 2, 13)
    [finding] = statement.findings
    assert (finding.leaf_index, finding.kind) == (12, "deadline.over_six_months")
    assert finding.commitment == late.commitment
    assert record.auditor.hex() == client.sender.lower()[2:]
