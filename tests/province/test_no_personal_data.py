"""No personal data leaves the encrypted record: after intake, anchoring, lifecycle changes and
bundle export, neither the holder names nor the ID numbers appear in the SQLite file (any table,
any page, the WAL included), the manifests, the chain's transactions and events, or the node's
log output at DEBUG level."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from node.core.rules.reasons import Reason
from node.storage import open_database
from tests.contract.conftest import Registry
from tests.province.helpers import ACTOR, certificate, file_sample_organisation, issue, make_node


def _personal_values(serials: range) -> list[bytes]:
    values: list[bytes] = []
    for serial in serials:
        c = certificate(serial)
        for value in (c.holder_name, c.id_number):
            values += [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("gb18030")]
    return values


def test_personal_data_stays_encrypted(
    reg: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db_file = tmp_path / "node.db"
    db = open_database(f"sqlite:///{db_file}")
    client = reg.as_(0)
    file_sample_organisation(db, client)
    node = make_node(db, client, tmp_path)
    accepted = [issue(node, serial) for serial in range(1, 9)]
    node.anchor_all()
    node.lifecycle.revoke(accepted[0].commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR)
    node.anchor_all()
    bundles = [b for _, b in node.bundles.iter_bundles()]
    assert len(bundles) == 8  # the bundles do carry the data (to the holder), nothing else does
    node.close()

    secrets = _personal_values(range(1, 9))
    # The search below would see the values: the holder's bundle has them in these encodings.
    shown = json.dumps([b.to_json() for b in bundles], ensure_ascii=False).encode("utf-8")
    # 8 names in UTF-8, 8 ID numbers in UTF-8 and again in GB18030 (the same ASCII bytes).
    assert sum(secret in shown for secret in secrets) == 24
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("node.db*"))
    manifests = b"".join(p.read_bytes() for p in (tmp_path / "manifests").rglob("*") if p.is_file())
    assert manifests  # something was published
    w3 = reg.chain.w3
    chain = b"".join(
        bytes(w3.eth.get_transaction(tx)["input"])
        for number in range(w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number)["transactions"]
    )
    events = repr([e.args for e in client.iter_events()]).encode()
    logs = caplog.text.encode("utf-8")
    for where, data in (
        ("database", stored),
        ("manifests", manifests),
        ("chain", chain),
        ("events", events),
        ("logs", logs),
    ):
        for secret in secrets:
            assert secret not in data, f"personal data in the {where}"
