"""The auditor replays what a real province node did and finds nothing; a status written to the
contract behind the node's back is found (in-process EVM, SQLite)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from anchor.chain import RegistryClient, connect
from audit.auditor import AuditOptions, audit
from node.core.rules.reasons import Reason
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.storage import open_database
from province.organisations import parse_filing
from tests.conftest import today_calendar
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


def test_a_node_history_audits_clean_and_a_rogue_status_is_found(tmp_path: Path) -> None:
    w3 = connect("memory")
    client, _ = RegistryClient.deploy(w3, [(44, w3.eth.accounts[0]), (41, w3.eth.accounts[1])])
    today = dt.datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], CHINA).date()
    issued = today - dt.timedelta(days=2)
    db = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    now = dt.datetime.now(dt.UTC)
    node = make_node(db, client, tmp_path, clock=lambda: now, calendar=today_calendar())
    node.organisations.file(
        parse_filing({
            "code": ORG, "name": "广州市示例职业技能评价中心有限公司", "scope": SCOPE,
            "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                      "valid_from": "2025-01-01"}],
        }),
        actor=ACTOR,
    )  # fmt: skip

    def recent(serial: int, **changes: object) -> object:
        return certificate(
            serial,
            issue_date=issued.isoformat(),
            certificate_number=certificate_number(serial, issued),
            **changes,
        )

    accepted = []
    for serial in range(1, 6):
        s = salted(recent(serial))  # type: ignore[arg-type]
        accepted.append(
            node.intake.submit(s, sign(node, s), received_on=today, late_reason=None, actor=ACTOR)
        )
    node.anchor_all()
    node.lifecycle.revoke(accepted[0].commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR)
    node.lifecycle.suspend(accepted[1].commitment, reason=Reason.SCREENING_ID_BURST, actor=ACTOR)
    fixed = salted(recent(3, occupation_name="车工（数控）"))  # type: ignore[arg-type]
    node.lifecycle.correct(
        accepted[2].commitment, fixed, sign(node, fixed), reason=Reason.OTHER_FIELD_ERROR,
        requested_by="org:user", confirmed_by=ACTOR,
    )  # fmt: skip
    node.anchor_all()

    report = audit(client, node.store, AuditOptions(calendar=node.calendar))
    assert report.clean, report.to_json()

    # A status with no log entry behind it: the auditor finds it.
    client.set_status(44, accepted[3].commitment, 1, int(Reason.CANDIDATE_CHEATING))
    report = audit(client, node.store, AuditOptions(calendar=node.calendar))
    assert report.kinds() == {"status.no_entry"}
    node.close()
