"""A province node on the in-process EVM, set up as the operations docs do it (``node init``,
``node file-org``), for the tests of operations procedures (backup and restore, key rotation).
The ``consortium`` fixture is in tests/ops/conftest.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from anchor.chain import RegistryClient, connect
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import Signature
from node.core.time import CHINA_STANDARD_TIME as CHINA
from node.services.intake_checks import Accepted
from province.config import load_config, new_config, write_config
from province.node import ProvinceNode
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
    salted,
    sign,
)

PROVINCE = "44"


def new_consortium() -> Consortium:
    """The contract with three founding provinces on a fresh in-process EVM, and its day."""
    w3 = connect("memory")
    accounts = list(w3.eth.accounts)
    client, _ = RegistryClient.deploy(w3, [(44, accounts[0]), (41, accounts[1]), (43, accounts[2])])
    today = dt.datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], CHINA).date()
    return Consortium(client, today, dt.datetime.now(dt.UTC))


@dataclasses.dataclass(frozen=True)
class Consortium:
    """The contract on an in-process EVM, and the day the node works on."""

    client: RegistryClient
    today: dt.date
    now: dt.datetime


def open_node(directory: Path, consortium: Consortium) -> ProvinceNode:
    """Open the node a folder's ``node.json`` describes (the chain client is the test's
    in-process EVM, which another process could not reach)."""
    return ProvinceNode.open(
        load_config(directory),
        client=consortium.client,
        clock=lambda: consortium.now,
        calendar=today_calendar(),  # certificates are received on the chain's today
    )


def set_up_node(
    directory: Path, consortium: Consortium, database: str | None = None
) -> ProvinceNode:
    """``certreg node init`` and ``certreg node file-org``: node.json with fresh keys, the
    database, and the sample organisation filed (its scope document in the manifest store)."""
    config = new_config(
        directory,
        province=PROVINCE,
        rpc="memory",
        contract=consortium.client.address,
        operator_key=None,
        database=database,
    )
    write_config(config, directory)
    node = open_node(directory, consortium)
    filing = {
        "code": ORG, "name": "广州市示例职业技能评价中心有限公司", "scope": SCOPE,
        "keys": [{"suite": "ed25519", "public_key": SUITE.public_key(KEY).hex(),
                  "valid_from": "2025-01-01"}],
    }  # fmt: skip
    node.organisations.file(parse_filing(filing), actor=ACTOR)
    return node


def submission(
    node: ProvinceNode, serial: int, today: dt.date
) -> tuple[SaltedCertificate, Signature]:
    """The organisation's signed submission ``serial`` (issued two days ago). Deterministic, so
    calling it again stands for the organisation's own copy of what it sent."""
    issued = today - dt.timedelta(days=2)
    number = certificate_number(serial, issued)
    s = salted(certificate(serial, issue_date=issued.isoformat(), certificate_number=number))
    return s, sign(node, s)


def submit(node: ProvinceNode, serial: int, today: dt.date) -> Accepted:
    s, signature = submission(node, serial, today)
    return node.intake.submit(s, signature, received_on=today, late_reason=None, actor=ACTOR)


def bundles(node: ProvinceNode) -> dict[str, Any]:
    """Every exported bundle as ``certreg node export`` names it, by file name."""
    return {
        f"{r.certificate_number}-{r.commitment.hex()[:12]}": bundle.to_json()
        for r, bundle in node.bundles.iter_bundles()
    }
