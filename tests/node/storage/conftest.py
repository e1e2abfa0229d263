"""Fixtures of the storage behaviour suite: every test runs on SQLite and on PostgreSQL.

PostgreSQL: the run's one server, the session fixture ``postgres`` of ``tests/servers.py``
(``CERTREG_TEST_POSTGRES_URL``, or a throwaway cluster started from ``initdb``/``pg_ctl`` and
stopped by PID); each test gets its own database created on it. Without PostgreSQL binaries the
PostgreSQL half fails under ``CI=true`` and is skipped elsewhere.

A hook on every engine fails any ``DELETE`` or ``TRUNCATE`` statement: nothing is ever
physically deleted.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from node.core.certificate import Certificate
from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.formats.access import AccessRecord, Requester, audit_fields
from node.core.formats.commitment import SaltedCertificate, salt_certificate
from node.core.formats.entry import Attributes, LogEntry, Signature
from node.core.rules.idnumber import resident_id_check_character
from node.core.sharing import parse_terms
from node.storage import (
    AuditTrail,
    CertificateRepository,
    CheckpointRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
    open_database,
)
from node.storage.access_log import AccessLog
from node.storage.agreements import AgreementRepository
from node.storage.counters import DailyCounters
from node.storage.federation import remember_nonce
from node.storage.foreign import ForeignEntries
from node.storage.holder_codes import HolderCodes
from node.storage.organisation_details import DetailsRecord, DetailsRepository
from node.storage.returns import ReturnRepository
from node.storage.schema import (
    EPHEMERAL_TABLES,
    ApiKey,
    BulkJob,
    BulkJobResult,
    BulkJobUpload,
    RateBucket,
    ReviewFlag,
    table_of,
)
from node.storage.witness import StoredStatement, WitnessStatements
from tests.servers import NO_POSTGRES as NO_POSTGRES  # re-exported for the storage tests
from tests.servers import PostgresAdmin
from tests.servers import no_postgres as no_postgres  # re-exported for the storage tests
from tests.sharing_data import terms_json

# ---------------------------------------------------------------------------------------------
# No DELETE, ever

DELETES: list[str] = []


def refused_head(statement: str) -> str | None:
    """``DELETE`` or ``TRUNCATE`` when ``statement`` is one, unless it deletes from an
    ephemeral table (``EPHEMERAL_TABLES``: full rate-limit buckets)."""
    words = statement.split(None, 3)
    head = words[0].upper() if words else ""
    if head not in ("DELETE", "TRUNCATE"):
        return None
    if head == "DELETE" and len(words) > 2 and words[2] in EPHEMERAL_TABLES:
        return None
    return head


def _refuse_delete(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    head = refused_head(statement)
    if head is not None:
        DELETES.append(statement)
        raise AssertionError(f"a code path issued {head}: {statement[:200]}")


@pytest.fixture(scope="session", autouse=True)
def _no_delete_hook() -> Iterator[None]:
    event.listen(Engine, "before_cursor_execute", _refuse_delete)
    yield
    event.remove(Engine, "before_cursor_execute", _refuse_delete)
    assert not DELETES, f"DELETE statements were issued: {DELETES}"


# ---------------------------------------------------------------------------------------------
# Databases (on the run's one PostgreSQL server, tests/servers.py)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    admin: PostgresAdmin = request.getfixturevalue("postgres")
    return admin.create(migrated=False)


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database migrated to head."""
    if backend == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    else:
        admin: PostgresAdmin = request.getfixturevalue("postgres")
        db = open_database(admin.create(migrated=True), migrate=False)
    try:
        yield db
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------
# Sample data (no real people)

NOW = dt.datetime(2025, 4, 1, 9, 30, tzinfo=dt.UTC)
PROVINCE = "44"
ORG = "S000144002009"
ORG2 = "Y000044010001"
CIPHER_KEY = bytes(range(32))
INDEX_KEY = bytes(range(100, 132))


def cipher(profile: str = "aes-256-gcm") -> PersonalDataCipher:
    size = 32 if profile == "aes-256-gcm" else 16
    return PersonalDataCipher({"k1": CIPHER_KEY[:size]}, "k1", profile=profile)


def blind_index(profile: str = "aes-256-gcm") -> BlindIndex:
    return BlindIndex(INDEX_KEY, profile=profile)


_SURNAMES = "王李张刘陈杨黄赵吴周"
_GIVEN = "伟芳娜敏静丽强磊军洋"


def id_number(rng: random.Random) -> str:
    body = f"440106{rng.randint(1960, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    return body + resident_id_check_character(body)


def make_certificate(
    serial: int,
    *,
    name: str | None = None,
    idn: str | None = None,
    org: str = ORG,
    level: int = 5,
    seed: int = 0,
) -> Certificate:
    rng = random.Random(seed * 1_000_003 + serial)
    return Certificate(
        holder_name=name or rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
        id_type="resident_id",
        id_number=idn or id_number(rng),
        occupation_name="车工",
        occupation_code="6-18-01-01",
        work_type_name="数控车床",
        work_type_code="6-18-01-01-02",
        level=level,
        certificate_number=f"{org}25{level}{serial:06d}",
        issue_date="2025-03-14",
        organisation_name="广东示例职业技能评价中心",
        organisation_code=org,
    )


def salted(cert: Certificate, seed: int = 0) -> SaltedCertificate:
    rng = random.Random(f"salt|{seed}|{cert.certificate_number}|{cert.holder_name}")
    return salt_certificate(cert, lambda n: rng.randbytes(n))


SIGNATURE = Signature("ed25519", 0, bytes(64))


def issue_entry(s: SaltedCertificate) -> LogEntry:
    c = s.certificate()
    return LogEntry(
        kind="issue",
        province=c.certificate_number[5:7],
        organisation_code=c.organisation_code,
        certificate_number=c.certificate_number,
        commitment=s.commitment(),
        attributes=Attributes.of(c),
        signature=SIGNATURE,
    )


def file_organisations(db: Database) -> None:
    with db.transaction() as session:
        orgs = OrganisationRepository(session)
        scope = [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}]
        orgs.add(code=ORG, province=PROVINCE, name="示例评价中心", scope=scope, now=NOW)
        orgs.add(code=ORG2, province=PROVINCE, name="示例企业", scope=scope, now=NOW)


def fill_every_table(db: Database) -> None:
    """Put at least one row in every table."""
    file_organisations(db)
    s = salted(make_certificate(1))
    with db.transaction() as session:
        OrganisationRepository(session).add_key(
            ORG, suite="ed25519", public_key=bytes(32), valid_from=0, now=NOW
        )
        CertificateRepository(session, cipher(), blind_index()).add(
            s, signature=SIGNATURE, submitted_at=NOW
        )
        log = ProvinceLog(session, PROVINCE)
        log.append([issue_entry(s)], now=NOW)
        CheckpointRepository(session, PROVINCE).add(1, log.merkle.root(), now=NOW)
        ForeignEntries(session, PROVINCE).add(
            [0], checkpoint_index=0, manifest_cid="Qm", anchored_by="0x", actor="t", now=NOW
        )
        AuditTrail(session).record(
            actor="t", action="issue", target_type="certificate", target_id="x", now=NOW
        )
        session.execute(
            insert(table_of(ReviewFlag)).values(
                province=PROVINCE,
                target_type="certificate",
                target_id="x",
                code="screening.test",
                severity="review",
                message="m",
                state="open",
                query_suspended=False,
                created_at=NOW,
            )
        )
        session.execute(
            insert(table_of(ApiKey)).values(
                key_hash=bytes(32), role="auditor", scope="", label="t", created_at=NOW
            )
        )
        session.execute(
            insert(table_of(BulkJob)).values(
                id="j" * 32, province=PROVINCE, owner_key=1, mode="per_row", state="done",
                total=0, processed=0, accepted=0, refused=0, results=[], created_at=NOW,
                updated_at=NOW,
            )
        )  # fmt: skip
        session.execute(
            insert(table_of(BulkJobResult)).values(
                job_id="j" * 32, position=0, result={"row": 1, "rule": "intake.json"}
            )
        )
        ReturnRepository(session).add(
            province=PROVINCE, commitment=s.commitment(), certificate_number="x", reason="r",
            returned_by="t", returned_on=NOW.date(), deadline=NOW.date(), now=NOW,
        )  # fmt: skip
        DetailsRepository(session).put(DetailsRecord(ORG, address="广州市"), now=NOW)
        session.execute(
            insert(table_of(BulkJobUpload)).values(job_id="j" * 32, part=0, data=b"{}\n")
        )
        session.execute(
            insert(table_of(RateBucket)).values(
                name="search/ip:127.0.0.1", tokens=1.0, updated=0.0, granted=True
            )
        )
        WitnessStatements(session).add(
            StoredStatement(
                witness="41", province=PROVINCE, index=0, tree_size=1, root=bytes(32),
                kind="cosignature", statement={}, signature=bytes(64), rule=None, detail=None,
                cid=None, frontier=bytes(32), created_at=NOW,
            )
        )  # fmt: skip
    fill_sharing_tables(db)


def access_record(index: int, province: str = PROVINCE, **changes: Any) -> AccessRecord:
    """A synthetic access record (no personal data) for index ``index``."""
    values: dict[str, Any] = {
        "index": index,
        "time": NOW,
        "province": province,
        "operation": "search",
        "requester": Requester("public"),
        "agreement": None,
        "purpose": None,
        "audit": audit_fields({}),
        "query": ("certificate_number", "name"),
        "name_tag": bytes(8),
        "commitments": (bytes([index % 256]) * 32,),
        "result": "found",
    }
    values.update(changes)
    return AccessRecord(**values)


def fill_sharing_tables(db: Database) -> None:
    """A row in each table of migration 0006 (docs/SHARING.md)."""
    with db.transaction() as session:
        agreement = AgreementRepository(session, PROVINCE).add(
            parse_terms(terms_json()), actor="t", now=NOW
        )
        log = AccessLog(session, PROVINCE)
        log.append(lambda i: access_record(i, agreement=agreement.id))
        log.anchor_head(0, NOW)
        DailyCounters(session).add("quota:x", 1)
        remember_nonce(session, "41", bytes(16), NOW)
        HolderCodes(session).add(
            "0000-0000-0000-0000", "S000144002009255000001", expires_at=NOW, actor="t", now=NOW
        )
