"""A province node for tests: Guangdong (44) over a test database and a test chain, with the
sample organisation filed in both, and signed sample certificates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path
from typing import Any

from anchor.chain import RegistryClient
from anchor.manifest import LocalManifestStore
from certreg.dev.sample import KEY_VALID_FROM, sample_certificate
from certreg.dev.sample import SAMPLE_ORGANISATION_NAME as ORG_NAME
from node.core.certificate import Certificate
from node.core.crypto.signatures import get_suite, signing_message
from node.core.formats.commitment import SaltedCertificate, salt_certificate
from node.core.formats.entry import Signature
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake_checks import Accepted
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.node.storage.conftest import blind_index, cipher

ORG = "S000144011001"  # the sample organisation (certreg.dev.sample)
NOW = dt.datetime(2025, 6, 20, 2, 0, tzinfo=dt.UTC)
ON_TIME = dt.date(2025, 6, 20)  # two days after certreg.dev.sample's issue date
SCOPE = [
    {"occupation_code": code, "levels": [3, 4, 5]}
    for code in ("6-18-01-01", "6-20-01-01", "4-03-02-01", "6-31-01-03")
]
SUITE = get_suite("ed25519")
KEY = SUITE.generate_private_key(bytes(range(32)))
ACTOR = "operator:test"


def file_sample_organisation(db: Database, client: RegistryClient) -> None:
    """File the sample organisation in the node's database and on the contract."""
    public_key = SUITE.public_key(KEY)
    with db.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(code=ORG, province="44", name=ORG_NAME, scope=SCOPE, now=NOW)
        orgs.add_key(
            ORG, suite="ed25519", public_key=public_key, valid_from=KEY_VALID_FROM, now=NOW
        )
    client.file_organisation(ORG, b"\x01" * 32, 1, public_key, KEY_VALID_FROM, 0)


def make_node(
    db: Database, client: RegistryClient, tmp_path: Path, *, batch_size: int = 1000, **kw: Any
) -> ProvinceNode:
    return ProvinceNode(
        province="44",
        db=db,
        client=client,
        store=LocalManifestStore(tmp_path / "manifests"),
        cipher=cipher(),
        blind_index=blind_index(),
        batch_size=batch_size,
        max_age_seconds=kw.pop("max_age_seconds", 3600.0),
        # The dates here are in 2025: the package's years cover them.
        calendar=kw.pop("calendar", WorkdayCalendar.default()),
        clock=kw.pop("clock", lambda: NOW),
    )


def certificate_number(serial: int, issued: dt.date) -> str:
    """The sample organisation's level-3 certificate number ``serial`` issued in ``issued``'s
    year (node/core/rules/certnum.py positions: organisation, year, level, serial)."""
    return f"{ORG}{issued.year % 100:02d}3{serial:06d}"


def certificate(serial: int, **changes: Any) -> Certificate:
    return dataclasses.replace(sample_certificate(random.Random(serial), serial), **changes)


def salted(c: Certificate) -> SaltedCertificate:
    rng = random.Random(f"salt|{c.certificate_number}|{c.holder_name}")
    return salt_certificate(c, rng.randbytes)


def sign(node: ProvinceNode, s: SaltedCertificate, key: bytes = KEY, key_id: int = 0) -> Signature:
    message = signing_message(node.network.chain_id, node.network.contract, s.commitment())
    return Signature("ed25519", key_id, SUITE.sign(key, message))


def issue(node: ProvinceNode, serial: int, **changes: Any) -> Accepted:
    """Submit the signed sample certificate ``serial`` through the node's intake."""
    s = salted(certificate(serial, **changes))
    return node.intake.submit(s, sign(node, s), received_on=ON_TIME, late_reason=None, actor=ACTOR)
