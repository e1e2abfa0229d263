"""``certreg serve --demo``: a throw-away province for trying the API out.

Guangdong (44) on a fresh in-process EVM, SQLite and manifests in a temporary folder, one
organisation filed (on the contract too) with an Ed25519 key, ``certificates`` synthetic
certificates (made-up names, synthetic resident IDs that are nobody's, certreg/dev/sample.py) issued
today and anchored, and an API key per role. Everything vanishes when the process ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
from pathlib import Path
from typing import Any

from anchor.chain import RegistryClient, connect
from anchor.manifest import LocalManifestStore
from api.auth import create_api_key
from certreg.dev.sample import KEY_VALID_FROM, synthetic_id_number
from node.core.certificate import Certificate
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.crypto.signatures import get_suite
from node.core.issuer import sign_certificate, submission_row
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import china_date
from node.storage import open_database
from province.calendars import provisional_calendar
from province.node import ProvinceNode
from province.organisations import KeySpec, OrganisationFiling

PROVINCE = "44"
ORG = "S000144011001"
ORG_NAME = "广州市示例职业技能评价中心有限公司"
OCCUPATION = ("6-18-01-01", "车工", "6-18-01-01-02", "数控车床")
_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "伟芳娜敏静丽强磊军洋"


@dataclasses.dataclass
class Demo:
    """The demo node, its keys and what was issued (synthetic data only)."""

    node: ProvinceNode
    keys: dict[str, str]
    certificates: list[dict[str, Any]]
    issuer_key: bytes
    folder: Path

    def info(self) -> dict[str, Any]:
        """What a visitor needs to try the API: keys, certificates and one signed row."""
        return {
            "province": PROVINCE,
            "organisation": ORG,
            "keys": self.keys,
            "certificates": self.certificates,
        }


def demo_certificate(rng: random.Random, serial: int, today: dt.date) -> Certificate:
    """A synthetic certificate of the demo organisation, issued today (level 3)."""
    return Certificate(
        holder_name=rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(2)),
        id_type="resident_id",
        id_number=synthetic_id_number(rng),
        occupation_name=OCCUPATION[1],
        occupation_code=OCCUPATION[0],
        work_type_name=OCCUPATION[3],
        work_type_code=OCCUPATION[2],
        level=3,
        certificate_number=f"{ORG}{today.year % 100:02d}3{serial:06d}",
        issue_date=today.isoformat(),
        organisation_name=ORG_NAME,
        organisation_code=ORG,
    )


def make_demo(
    folder: Path,
    *,
    certificates: int = 20,
    seed: int = 1,
    calendar: WorkdayCalendar | None = None,
) -> Demo:
    """Set up the demo province in ``folder`` (see the module docstring). ``calendar`` is the
    working-day calendar to start from (default: the package's years); years up to today's
    that it does not cover are counted Monday-Friday (provisional: a throw-away province of
    synthetic data, never a real node; province/calendars.py)."""
    today = china_date(dt.datetime.now(dt.UTC))
    workdays = provisional_calendar(today, calendar)
    w3 = connect("memory")
    client, _ = RegistryClient.deploy(w3, [(int(PROVINCE), w3.eth.accounts[0])])
    db = open_database(f"sqlite:///{folder / 'node.db'}")
    node = ProvinceNode(
        province=PROVINCE,
        db=db,
        client=client,
        store=LocalManifestStore(folder / "manifests"),
        cipher=PersonalDataCipher({"k1": secrets.token_bytes(32)}, "k1"),
        blind_index=BlindIndex(secrets.token_bytes(32)),
        batch_size=1000,
        max_age_seconds=60.0,
        calendar=workdays,
    )
    suite = get_suite("ed25519")
    issuer_key = suite.generate_private_key(secrets.token_bytes(32))
    filing = OrganisationFiling.of(
        code=ORG,
        name=ORG_NAME,
        scope=[{"occupation_code": OCCUPATION[0], "levels": [3, 4, 5]}],
        keys=[KeySpec("ed25519", suite.public_key(issuer_key), KEY_VALID_FROM)],
    )
    node.organisations.file(filing, actor="demo")
    rng = random.Random(seed)
    issued: list[dict[str, Any]] = []
    for serial in range(1, certificates + 1):
        certificate = demo_certificate(rng, serial, today)
        salted, signature = sign_certificate(
            certificate, node.network, suite="ed25519", private_key=issuer_key, key_id=0
        )
        accepted = node.intake.submit(
            salted, signature, received_on=today, late_reason=None, actor="demo"
        )
        issued.append(
            {
                "certificate_number": accepted.certificate_number,
                "commitment": accepted.commitment.hex(),
                "holder_name": certificate.holder_name,
                "id_number": certificate.id_number,
            }
        )
    node.anchor_all()
    keys = {
        "operator": create_api_key(db, "operator", PROVINCE, label="demo operator"),
        "issuer": create_api_key(db, "issuer", ORG, label="demo issuer"),
        "auditor": create_api_key(db, "auditor", label="demo auditor"),
    }
    return Demo(node, keys, issued, issuer_key, folder)


def next_row(demo: Demo, serial: int) -> dict[str, Any]:
    """A signed submission row of a new demo certificate (to try ``POST /v1/certificates``)."""
    today = china_date(dt.datetime.now(dt.UTC))
    certificate = demo_certificate(random.Random(serial), serial, today)
    salted, signature = sign_certificate(
        certificate, demo.node.network, suite="ed25519", private_key=demo.issuer_key, key_id=0
    )
    return submission_row(salted, signature)
