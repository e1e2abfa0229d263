"""The auditor compares a real node's API (``api.app.create_app`` over a real ``ProvinceNode``,
served by uvicorn on 127.0.0.1) with the replayed chain: nothing on an honest node; each lie
planted in the node's own SQLite database (status, certificate row, Merkle node, checkpoint
root) gives exactly its finding; a port nobody listens on gives ``api.unreachable``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.context import ApiSettings
from audit.auditor import AuditOptions, AuditReport, audit
from audit.node_api import ApiTarget
from certreg.dev.servers import free_port
from node.core.rules.reasons import Reason
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.services.intake_checks import Accepted
from node.storage import open_database
from province.node import ProvinceNode
from province.organisations import parse_filing
from tests.conftest import today_calendar
from tests.contract.conftest import Registry
from tests.province.helpers import (
    ACTOR,
    KEY,
    ORG,
    SCOPE,
    SUITE,
    certificate,
    certificate_number,
    make_node,
    salted,
    sign,
)


@dataclasses.dataclass
class Served:
    """A node with five anchored certificates (one revoked), served over HTTP."""

    node: ProvinceNode
    url: str
    db_path: Path
    accepted: list[Accepted]

    def audit(self, *targets: ApiTarget) -> AuditReport:
        options = AuditOptions(
            apis=targets or (ApiTarget(self.url, "44"),),
            api_sample=50,
            calendar=self.node.calendar,
        )
        return audit(self.node.client, self.node.store, options)

    def drop_guards(self, table: str) -> None:
        """Drop the append-only triggers of ``table``: what a tamperer with the file does."""
        with sqlite3.connect(self.db_path) as connection:
            names = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
            ).fetchall()
            assert names
            for (name,) in names:
                connection.execute(f'DROP TRIGGER "{name}"')

    def sql(self, statement: str, *params: object) -> None:
        """Change the node's database behind its back (the planted lie)."""
        with sqlite3.connect(self.db_path) as connection:
            assert connection.execute(statement, params).rowcount == 1


def write_history(reg: Registry, tmp_path: Path) -> tuple[ProvinceNode, Path, list[Accepted]]:
    client = reg.as_(0)
    today = dt.datetime.fromtimestamp(client.w3.eth.get_block("latest")["timestamp"], CHINA)
    issued = today.date() - dt.timedelta(days=2)
    db_path = tmp_path / "node.db"
    now = dt.datetime.now(dt.UTC)
    node = make_node(
        open_database(f"sqlite:///{db_path}"),
        client,
        tmp_path,
        clock=lambda: now,
        calendar=today_calendar(),
    )
    node.organisations.file(
        parse_filing({
            "code": ORG, "name": "广州市示例职业技能评价中心有限公司", "scope": SCOPE,
            "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                      "valid_from": "2025-01-01"}],
        }),
        actor=ACTOR,
    )  # fmt: skip
    accepted = []
    for serial in range(1, 6):
        s = salted(
            certificate(
                serial,
                issue_date=issued.isoformat(),
                certificate_number=certificate_number(serial, issued),
            )
        )
        accepted.append(
            node.intake.submit(
                s, sign(node, s), received_on=today.date(), late_reason=None, actor=ACTOR
            )
        )
    node.anchor_all()
    node.lifecycle.revoke(accepted[0].commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR)
    node.anchor_all()
    return node, db_path, accepted


@pytest.fixture
def served(reg: Registry, tmp_path: Path) -> Iterator[Served]:
    node, db_path, accepted = write_history(reg, tmp_path)
    port = free_port()
    app = create_app(node, ApiSettings(static_dir=tmp_path / "static", cache_entries=0))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Served(node, f"http://127.0.0.1:{port}", db_path, accepted)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        node.close()


def test_honest_node_agrees(served: Served) -> None:
    report = served.audit(ApiTarget(served.url))  # province read from /v1/status
    assert report.clean, report.to_json()


def test_node_that_lies_about_a_status(served: Served) -> None:
    revoked = served.accepted[0].commitment
    served.sql("UPDATE certificates SET status = 'active' WHERE commitment = ?", revoked)
    report = served.audit()
    assert dict(report.finding_counts) == {"api.status_mismatch": 1}
    [finding] = report.findings
    assert finding.evidence["fields"] == ["status"]
    assert finding.evidence["hashes"]["commitment"] == revoked.hex()
    assert finding.evidence["api"] == served.url


def test_node_that_lost_a_certificate(served: Served) -> None:
    lost = served.accepted[3].commitment
    # Rows are never deleted (a trigger refuses), so the row is moved out of the province.
    served.sql("UPDATE certificates SET province = '45' WHERE commitment = ?", lost)
    report = served.audit()
    assert dict(report.finding_counts) == {"api.certificate_missing": 1}
    assert report.findings[0].evidence["hashes"]["commitment"] == lost.hex()


def test_node_that_serves_a_tampered_proof(served: Served) -> None:
    """Leaf 1's stored hash replaced: leaf 0's proof (whose sibling it is) no longer leads
    to the anchored root (the table's append-only triggers dropped first)."""
    served.drop_guards("merkle_nodes")
    served.sql("UPDATE merkle_nodes SET hash = ? WHERE level = 0 AND node_index = 1", b"\x07" * 32)
    report = served.audit()
    assert set(report.finding_counts) == {"api.proof_invalid"}
    assert 0 in {f.evidence["leaf_index"] for f in report.findings}


def test_node_that_lies_about_a_checkpoint(served: Served) -> None:
    served.sql("UPDATE checkpoints SET root = ? WHERE checkpoint_index = 0", b"\x09" * 32)
    report = served.audit()
    assert dict(report.finding_counts) == {"api.checkpoint_mismatch": 1}
    assert report.findings[0].evidence["fields"] == ["root"]
    assert report.findings[0].evidence["checkpoint_index"] == 0


def test_unreachable_api(served: Served) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    report = served.audit(ApiTarget(nobody, "44"))
    assert dict(report.finding_counts) == {"api.unreachable": 1}
    assert report.findings[0].evidence["api"] == nobody


def test_api_target_parsing() -> None:
    from node.core.errors import InvalidInput

    assert ApiTarget.parse("44=http://h:1/", "k") == ApiTarget("http://h:1", "44", "k")
    assert ApiTarget.parse("http://h:1") == ApiTarget("http://h:1")
    for bad in ("4=http://h", "ftp://h", "44=h:1"):
        with pytest.raises(InvalidInput) as info:
            ApiTarget.parse(bad)
        assert (info.value.field, info.value.rule) == ("--api", "audit.api_target")


def test_a_members_signed_refusal_to_cosign(served: Served) -> None:
    """A refusal the node holds, signed by the checkpoint-signing key its witness published,
    is a ``witness.refused`` finding; one no published key verifies is not."""
    from anchor.trust_roots import publish_checkpoint_key
    from anchor.witness import statement_of, stored
    from node.core.formats.trust import Refusal
    from node.core.witnessing import StatementDocument
    from node.storage.witness import WitnessStatements

    node = served.node
    private = SUITE.generate_private_key(b"checkpoint key of 44".ljust(32, b"."))
    publish_checkpoint_key(node.client, "ed25519", SUITE.public_key(private))
    checkpoint = node.client.checkpoint(44, 1)
    statement = statement_of(node.network, checkpoint, 5)
    refusal = Refusal(statement, "witness.inconsistent", "the entries give another root")
    signed = StatementDocument("44", statement, SUITE.sign(private, refusal.message()), refusal)
    unsigned = StatementDocument("41", statement, b"\x01" * 64, refusal)  # 41 has no key
    with node.db.transaction() as session:
        for document in (signed, unsigned):
            assert WitnessStatements(session).add(stored(document, node.clock(), None))
    report = served.audit()
    assert dict(report.finding_counts) == {"witness.refused": 1}
    [finding] = report.findings
    assert finding.province == "44"
    assert finding.evidence["witness"] == "44"
    assert finding.evidence["checkpoint_index"] == 1 and finding.evidence["tree_size"] == 6
    assert finding.evidence["rule"] == "witness.inconsistent"
    assert finding.evidence["on_chain"] is True
