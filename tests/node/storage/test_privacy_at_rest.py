"""No plaintext personal data (or the salts committing to it) anywhere in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from node.core.errors import StorageError
from node.core.formats.commitment import Disclosed, SaltedCertificate
from node.storage import AuditTrail, CertificateRepository, Database, ProvinceLog
from tests.node.storage.conftest import (
    NOW,
    PROVINCE,
    SIGNATURE,
    blind_index,
    cipher,
    file_organisations,
    issue_entry,
    make_certificate,
    salted,
)

NAMES = ["欧阳娜娜", "JOHN SMITHSON", "阿卜杜·热合曼"]
IDS = ["11010119900307451X", "440106198001011237", "650102197705050016"]


def _needles(items: list[SaltedCertificate]) -> dict[str, bytes]:
    """Byte strings that must not occur: names, ID numbers, their salts, raw and hex."""
    out: dict[str, bytes] = {}
    for s in items:
        for field in ("holder_name", "id_number"):
            proof = s.fields[field]
            assert isinstance(proof, Disclosed)
            value = str(proof.value)
            out[f"{field} value"] = value.encode()
            out[f"{field} value hex"] = value.encode().hex().encode()
            out[f"{field} salt"] = proof.salt
            out[f"{field} salt hex"] = proof.salt.hex().encode()
            out[f"{field} value lower"] = value.lower().encode()
    return out


def _fill(db: Database, profile: str) -> list[SaltedCertificate]:
    file_organisations(db)
    items = [
        salted(make_certificate(i + 1, name=name, idn=idn))
        for i, (name, idn) in enumerate(zip(NAMES, IDS, strict=True))
    ]
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(profile), blind_index(profile))
        log = ProvinceLog(session, PROVINCE)
        for s in items:
            certs.add(s, signature=SIGNATURE, submitted_at=NOW)
        for s, index in zip(
            items, log.append([issue_entry(s) for s in items], now=NOW), strict=True
        ):
            certs.mark_logged(s.commitment(), index)
            AuditTrail(session).record(
                actor="intake", action="issue", target_type="certificate",
                target_id=s.commitment().hex(), now=NOW,
            )  # fmt: skip
    return items


def _table_text(db: Database) -> bytes:
    """Every row of every table as text (``SELECT *``), plus raw bytes of binary columns."""
    chunks: list[bytes] = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if db.dialect == "postgresql":
                rows = conn.execute(text(f"SELECT t::text FROM {table} t")).scalars()
                chunks.extend(str(r).encode() for r in rows)
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
    return b"\n".join(chunks)


@pytest.mark.parametrize("profile", ["aes-256-gcm", "sm4-gcm"])
def test_no_plaintext_in_the_database(database: Database, profile: str) -> None:
    items = _fill(database, profile)
    needles = _needles(items)
    haystacks = {"table text": _table_text(database)}
    if database.dialect == "sqlite":
        path = Path(str(database.engine.url.database))
        database.dispose()  # the last connection checkpoints the WAL into the file
        for file in path.parent.glob(path.name + "*"):
            haystacks[file.name] = file.read_bytes()
        assert len(haystacks[path.name]) > 0
    for where, haystack in haystacks.items():
        for what, needle in needles.items():
            assert needle not in haystack, f"{what} found in {where}"
    # The scan does find what is there in clear (so it would find a leak).
    number = items[0].certificate().certificate_number.encode()
    assert number in haystacks["table text"]


def test_storage_errors_carry_no_personal_data(database: Database) -> None:
    file_organisations(database)
    s = salted(make_certificate(1, name=NAMES[0], idn=IDS[0], org="S000144009999"))
    with pytest.raises(StorageError) as info, database.transaction() as session:
        CertificateRepository(session, cipher(), blind_index()).add(
            s, signature=SIGNATURE, submitted_at=NOW
        )
    chain: list[BaseException] = []
    exc: BaseException | None = info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    text_ = "\n".join(f"{type(e).__name__}: {e}" for e in chain)
    for secret in (NAMES[0], IDS[0]):
        assert secret not in text_
    assert "hidden" in text_  # parameters are hidden from driver errors
