"""``certreg bundle redact``, ``certreg node sharing add|list|key|end|report``, ``certreg node
holder-code`` and ``certreg node access-log head|export|verify`` (docs/SHARING.md), run as the
CLI's ``main`` in this process over a real node folder (node.json, SQLite)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import RegistryClient, connect
from certreg.cli import main
from node.storage import open_database
from province.config import new_config, write_config
from tests.conftest import ROOT
from tests.node.storage.conftest import CIPHER_KEY, INDEX_KEY
from tests.province.helpers import certificate, file_sample_organisation, issue, make_node
from tests.sharing_data import terms_json


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = main(list(args))
    out = capsys.readouterr().out
    try:
        return status, json.loads(out)
    except ValueError:
        return status, out


def test_bundle_redact_hides_fields_and_still_verifies(tmp_path: Path) -> None:
    def certreg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "certreg", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )

    assert certreg("sample", "--out", str(tmp_path), "--seed", "4").returncode == 0
    full = json.loads((tmp_path / "bundle.json").read_text())
    out = tmp_path / "mine.json"
    done = certreg(
        "bundle",
        "redact",
        str(tmp_path / "bundle.json"),
        "--disclose",
        "occupation_name,work_type_name",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "holder_name, id_type, id_number, organisation_name" in done.stderr
    mine = json.loads(out.read_text())
    assert out.stat().st_mode & 0o777 == 0o600
    assert set(mine["fields"]["holder_name"]) == {"hash"}
    assert set(mine["fields"]["id_number"]) == {"hash"}
    assert mine["fields"]["occupation_name"] == full["fields"]["occupation_name"]
    assert full["fields"]["id_number"]["value"] not in out.read_text()
    verified = certreg("verify", str(out), "--snapshot", str(tmp_path / "snapshot.json"))
    assert verified.returncode == 0 and "VALID" in verified.stdout
    compact = certreg(
        "bundle", "redact", str(tmp_path / "bundle.qr.txt"), "--disclose", "", "--compact"
    )
    assert compact.returncode == 0 and compact.stdout.startswith("CR1:")
    bad = certreg("bundle", "redact", str(out), "--disclose", "salt")
    assert bad.returncode == 2 and "bundle.disclose" in bad.stderr


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    """A node folder whose node.json holds the test privacy keys, with three certificates of
    the sample organisation taken in (on an in-process EVM the CLI verbs here never use)."""
    w3 = connect("memory")
    client, _ = RegistryClient.deploy(w3, [(44, w3.eth.accounts[0])])
    folder = tmp_path / "node"
    config = new_config(
        folder, province="44", rpc="http://127.0.0.1:9", contract=client.address, operator_key=None
    )
    config = dataclasses.replace(
        config, keys={"k1": CIPHER_KEY.hex()}, blind_index_key=INDEX_KEY.hex()
    )
    write_config(config, folder)
    db = open_database(config.database)
    try:
        file_sample_organisation(db, client)
        node = make_node(db, client, tmp_path)
        for serial in (1, 2, 3):
            issue(node, serial)
    finally:
        db.dispose()
    return folder


def test_node_sharing_verbs(node_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terms = node_dir / "terms.json"
    terms.write_text(json.dumps(terms_json(), ensure_ascii=False))
    d = ["--dir", str(node_dir), "--json"]
    status, added = run(capsys, "node", "sharing", "add", str(terms), "--key", *d)
    assert status == 0 and added["id"] == "44-000001" and added["key"].startswith("crk_")
    status, key = run(capsys, "node", "sharing", "key", "44-000001", *d)
    assert status == 0 and key["key"].startswith("crk_")
    status, listed = run(capsys, "node", "sharing", "list", *d)
    assert [a["id"] for a in listed["agreements"]] == ["44-000001"]
    bad = node_dir / "bad.json"
    bad.write_text(json.dumps(terms_json(no_commercial_use=False)))
    assert main(["node", "sharing", "add", str(bad), *d]) == 1
    assert "sharing.commercial_use" in capsys.readouterr().err
    status, report = run(capsys, "node", "sharing", "report", *d)
    assert status == 0 and report["partners"][0]["days"] == []
    status, ended = run(
        capsys,
        "node",
        "sharing",
        "end",
        "44-000001",
        "--reason",
        "期满",
        "--deletion-instruction",
        "十五日内删除",
        *d,
    )
    assert status == 0 and ended["keys_revoked"] == 2 and ended["state"] == "ended"
    assert main(["node", "sharing", "end", "44-000001", "--reason", "x", *d]) == 1
    assert "sharing.ended" in capsys.readouterr().err
    assert main(["node", "sharing", "key", "44-000001", *d]) == 1
    assert "auth.agreement" in capsys.readouterr().err


def test_node_holder_code_and_access_log(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--dir", str(node_dir), "--json"]
    number = certificate(2).certificate_number
    status, made = run(capsys, "node", "holder-code", "--certificate-number", number, *d)
    assert status == 0 and made["certificate_number"] == number and len(made["code"]) == 19
    assert main(["node", "holder-code", "--certificate-number", "S0001440110012530000099", *d]) == 1
    assert "holder.not_active" in capsys.readouterr().err
    status, head = run(capsys, "node", "access-log", "head", *d)
    assert status == 0 and head == {"count": 0, "head": "00" * 32}
    out = node_dir / "export.jsonl"
    assert main(["node", "access-log", "export", "--out", str(out), *d]) == 0
    assert out.read_text() == "" and out.stat().st_mode & 0o777 == 0o600
    status, verified = run(capsys, "node", "access-log", "verify", *d)
    assert status == 0 and verified == {"problems": []}


def test_access_log_verify_finds_a_dropped_record(
    node_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression guard for the append-only log: a record removed behind the node's back (its
    DELETE guard dropped first) is found by ``access-log verify``."""
    import sqlite3

    from node.core.formats.access import Requester, audit_fields
    from node.services.access import AccessLogService, Read
    from node.storage.access_log import AccessLog
    from province.config import load_config
    from tests.node.storage.conftest import NOW

    config = load_config(node_dir)
    db = open_database(config.database)
    try:
        service = AccessLogService(db, "44", clock=lambda: NOW)
        for i in range(4):
            service.record(
                Read(
                    "search",
                    Requester("public"),
                    "found",
                    audit_fields({}),
                    commitments=(bytes([i]) * 32,),
                )
            )
        with db.transaction() as session:
            AccessLog(session, "44").anchor_head(0, NOW)
    finally:
        db.dispose()
    d = ["--dir", str(node_dir), "--json"]
    assert run(capsys, "node", "access-log", "verify", *d) == (0, {"problems": []})
    raw = sqlite3.connect(config.database.removeprefix("sqlite:///"))
    raw.execute("DROP TRIGGER access_records_no_delete")
    raw.execute("DELETE FROM access_records WHERE record_index = 3")
    raw.commit()
    raw.close()
    status, found = run(capsys, "node", "access-log", "verify", *d)
    assert status == 1
    assert {p["checkpoint_index"] for p in found["problems"]} == {0, -1}
