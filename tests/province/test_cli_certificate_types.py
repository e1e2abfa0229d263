"""``certreg node file-org --kind examining_body`` and ``certreg node ingest`` of a file of
专项职业能力证书 (issue #17, item 1), ``node return`` / ``resubmit`` (item 7) and ``node org
merge`` (item 8), against a real anvil."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from anchor.chain import RegistryClient
from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.formats.entry import examining_body_registry_code
from node.core.issuer import sign_certificate, submission_line
from node.core.rules.reasons import Reason
from province.config import load_config
from province.node import ProvinceNode
from tests.province.helpers import KEY, ON_TIME, ORG, SCOPE, SUITE, certificate
from tests.province.submissions import write_submission
from tests.province.test_cli import contract, file_org, run

__all__ = ["contract"]

pytestmark = pytest.mark.anvil


def test_examining_body_filed_and_its_file_ingested(
    anvil_node: AnvilNode, contract: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node41"
    status, out, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "41", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", ANVIL_DEV_KEYS[1], "--json",
    )  # fmt: skip
    assert status == 0, err
    filing = tmp_path / "body.json"
    filing.write_text(json.dumps({
        "code": SAMPLE_EXAMINING_BODY, "name": "郑州市示例专项职业能力考核站",
        "scope": [{"occupation_code": "4-03-02-01", "levels": [0]}],
        "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                  "valid_from": KEY_VALID_FROM}],
    }, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    # Without --kind the 8-digit code is no organisation code.
    status, _, err = run(capsys, "node", "file-org", str(filing), "--dir", str(home))
    assert status == 1 and "organisation_code.length" in err
    status, out, err = run(
        capsys, "node", "file-org", str(filing), "--kind", "examining_body", "--dir", str(home),
        "--json",
    )  # fmt: skip
    assert status == 0, err
    [change] = json.loads(out)["changes"]
    assert change["code"] == examining_body_registry_code(SAMPLE_EXAMINING_BODY, "41")

    network = ProvinceNode.open(load_config(home)).network
    rng = random.Random(9)
    submission = tmp_path / "special.jsonl"
    with submission.open("w", encoding="utf-8") as out_file:
        for serial, level in ((2, 0), (4, 3), (6, 0)):
            certificate = sample_certificate(
                random.Random(serial), serial, certificate_type="special_ability"
            )
            certificate = dataclasses.replace(certificate, level=level)
            salted, signature = sign_certificate(
                certificate, network, suite="ed25519", private_key=KEY, key_id=0,
                random_bytes=rng.randbytes,
            )  # fmt: skip
            out_file.write(submission_line(salted, signature))
    report = tmp_path / "report.jsonl"
    status, out, _ = run(
        capsys, "node", "ingest", str(submission), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--report", str(report), "--json", "--quiet",
    )  # fmt: skip
    assert json.loads(out)["accepted"] == 2 and json.loads(out)["refused"] == 1
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r.get("rule") for r in rows] == [None, "level.ungraded", None]
    assert rows[2]["certificate_number"] == f"25{SAMPLE_EXAMINING_BODY}00006"


def test_return_resubmit_and_merge_commands(
    anvil_node: AnvilNode,
    contract: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``certreg node return`` / ``resubmit`` (data guide 第十一条) and ``node org merge``."""
    # Today's deadline (20 working days on) may fall in a year the package's calendar lacks.
    calendar = tmp_path / "calendar-2027.json"
    calendar.write_text(json.dumps({
        "version": 1, "year": 2027, "source": "test: provisional arrangement",
        "holidays": ["2027-01-01"], "working_weekends": [],
    }), encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("CERTREG_CALENDAR", str(calendar))
    home = tmp_path / "node44"
    status, _, err = run(
        capsys, "node", "init", "--dir", str(home), "--province", "44", "--rpc", anvil_node.url,
        "--contract", contract, "--operator-key", ANVIL_DEV_KEYS[0],
    )  # fmt: skip
    assert status == 0, err
    file_org(capsys, home, tmp_path)
    network = ProvinceNode.open(load_config(home)).network
    batch = write_submission(tmp_path / "batch.jsonl", network, range(1, 3))
    status, out, err = run(
        capsys, "node", "ingest", str(batch), "--dir", str(home), "--received-on",
        ON_TIME.isoformat(), "--json", "--quiet",
    )  # fmt: skip
    assert json.loads(out)["accepted"] == 2, err
    number = certificate(1).certificate_number
    status, out, err = run(
        capsys, "node", "return", "--certificate-number", number, "--reason", "职业名称有误",
        "--dir", str(home), "--json",
    )  # fmt: skip
    assert status == 0, err
    returned = json.loads(out)
    assert returned["state"] == "returned" and returned["deadline"] > returned["returned_on"]

    fixed = certificate(1, occupation_name=certificate(1).occupation_name + "（更正）")
    salted, signature = sign_certificate(
        fixed, network, suite="ed25519", private_key=KEY, key_id=0,
        random_bytes=random.Random(3).randbytes,
    )  # fmt: skip
    row = tmp_path / "fixed.jsonl"
    row.write_text(submission_line(salted, signature), encoding="utf-8")
    status, out, err = run(
        capsys, "node", "resubmit", str(row), "--certificate-number", number, "--reason",
        str(int(Reason.OTHER_FIELD_ERROR)), "--requested-by", "org:clerk", "--confirmed-by",
        "operator:a", "--dir", str(home), "--json",
    )  # fmt: skip
    assert status == 0, err
    status, _, err = run(
        capsys, "node", "resubmit", str(row), "--certificate-number", number, "--reason",
        str(int(Reason.OTHER_FIELD_ERROR)), "--requested-by", "org:clerk", "--confirmed-by",
        "operator:a", "--dir", str(home),
    )  # fmt: skip
    assert status == 1 and "returned.not_returned" in err

    other = tmp_path / "other.json"
    other.write_text(json.dumps({
        "code": "S000144011002", "name": "广州市另一示例评价中心", "scope": SCOPE,
        "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                  "valid_from": KEY_VALID_FROM}],
    }, ensure_ascii=False), encoding="utf-8")  # fmt: skip
    assert run(capsys, "node", "file-org", str(other), "--dir", str(home))[0] == 0
    status, _, err = run(
        capsys, "node", "org", "merge", ORG, "--into", "S000144011002", "--dir", str(home),
    )  # fmt: skip
    assert status == 0, err
    client = RegistryClient.connect(anvil_node.url, contract)
    assert client.organisation(ORG).status != 1
