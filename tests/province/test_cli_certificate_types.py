"""``certreg node file-org --kind examining_body`` and ``certreg node ingest`` of a file of
专项职业能力证书 (issue #17, item 1), against a real anvil."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from certreg.dev.anvil import ANVIL_DEV_KEYS, AnvilNode
from certreg.dev.sample import KEY_VALID_FROM, SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.formats.entry import examining_body_registry_code
from node.core.issuer import sign_certificate, submission_line
from province.config import load_config
from province.node import ProvinceNode
from tests.province.helpers import KEY, ON_TIME, SUITE
from tests.province.test_cli import contract, run

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
