"""Repositories: certificates (encrypted, two-of-three), logs, checkpoints, audit, atomicity."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update

from node.core.certificate import FIELD_NAMES
from node.core.crypto.privacy import BlindIndex, DecryptionError, PersonalDataCipher
from node.core.errors import InvalidInput, StorageError
from node.core.formats.commitment import Disclosed, SaltedCertificate
from node.core.merkle import verify_inclusion
from node.storage import (
    AuditTrail,
    CertificateRepository,
    CheckpointRepository,
    Database,
    OrganisationRepository,
    ProvinceLog,
)
from node.storage.schema import CertificateRow, LogEntryRow, LogState, MerkleNode
from node.storage.sealing import decode_record, encode_record
from tests.node.storage.conftest import (
    NOW,
    ORG,
    PROVINCE,
    SIGNATURE,
    blind_index,
    cipher,
    file_organisations,
    issue_entry,
    make_certificate,
    salted,
)


@pytest.fixture
def db(database: Database) -> Database:
    file_organisations(database)
    return database


def _count(session: object, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[attr-defined]


def test_organisations_and_keys(db: Database) -> None:
    with db.transaction() as session:
        orgs = OrganisationRepository(session)
        org = orgs.get(ORG)
        assert org is not None and org.org_class == "S" and org.status == "active"
        assert org.scope == [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}]
        assert org.created_at == NOW
        with pytest.raises(InvalidInput, match=r"organisation\.duplicate"):
            orgs.add(code=ORG, province="44", name="again", scope=[], now=NOW)
        with pytest.raises(InvalidInput, match=r"organisation\.province"):
            orgs.add(code="S000141002009", province="44", name="x", scope=[], now=NOW)
        k0 = orgs.add_key(ORG, suite="ed25519", public_key=b"\x01" * 32, valid_from=1, now=NOW)
        k1 = orgs.add_key(
            ORG, suite="sm2-sm3", public_key=b"\x04" * 65, valid_from=5, valid_until=9, now=NOW
        )
        assert (k0.key_id, k1.key_id) == (0, 1)
        assert orgs.keys(ORG) == [k0, k1]
        orgs.set_status(ORG, "terminated", now=NOW)
        with pytest.raises(InvalidInput, match=r"organisation\.terminated"):
            orgs.set_status(ORG, "active", now=NOW)
        assert [o.code for o in orgs.all("44")] == sorted([ORG, "Y000044010001"])


def test_add_and_read_back_certificate(db: Database) -> None:
    s = salted(make_certificate(1, name="张三丰", idn="11010119900307451X"))
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        record = certs.add(s, signature=SIGNATURE, submitted_at=NOW, late_reason=601)
        assert record.commitment == s.commitment()
        assert (record.level, record.issue_year, record.serial) == (5, 2025, 1)
        assert record.status == "active" and record.late_reason == 601
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        stored = certs.get(s.commitment())
        assert stored is not None
        assert stored.issue_date == dt.date(2025, 3, 14)
        assert stored.submitted_at == NOW and stored.signature == SIGNATURE
        assert certs.get_current(s.certificate().certificate_number) == stored
        back = certs.salted(stored)
        assert back == s
        assert "张三丰" not in repr(stored) and "张三丰" not in repr(certs)


def test_duplicates_are_refused(db: Database) -> None:
    s = salted(make_certificate(1))
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        certs.add(s, signature=SIGNATURE, submitted_at=NOW)
        with pytest.raises(InvalidInput, match=r"certificate\.duplicate") as info:
            certs.add(s, signature=SIGNATURE, submitted_at=NOW)
        assert info.value.field == "commitment"
        other_salts = salted(make_certificate(1), seed=7)
        with pytest.raises(InvalidInput, match=r"certificate\.duplicate") as info:
            certs.add(other_salts, signature=SIGNATURE, submitted_at=NOW)
        assert info.value.field == "certificate_number"


def test_two_of_three(db: Database) -> None:
    alice = make_certificate(1, name="李四", idn="11010119900307451X")
    alice2 = make_certificate(2, name="李四", idn="11010119900307451X", level=4)
    namesake = make_certificate(3, name="李四", idn="440106198001011237")
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        for cert in (alice, alice2, namesake):
            certs.add(salted(cert), signature=SIGNATURE, submitted_at=NOW)
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())

        def numbers(**query: str) -> list[str]:
            return [r.certificate_number for r in certs.find_by_two_of_three(**query)]

        assert numbers(name="李四", id_number="11010119900307451x") == [
            alice.certificate_number,
            alice2.certificate_number,
        ]
        assert numbers(certificate_number=alice.certificate_number, name=" 李四 ") == [
            alice.certificate_number
        ]
        assert numbers(
            certificate_number=namesake.certificate_number, id_number="440106198001011237"
        ) == [namesake.certificate_number]
        # Wrong second factor: nothing.
        assert numbers(certificate_number=alice.certificate_number, name="王五") == []
        assert (
            numbers(certificate_number=namesake.certificate_number, id_number="11010119900307451X")
            == []
        )
        assert len(certs.find_by_two_of_three(
            certificate_number=alice.certificate_number, name="李四", id_number="11010119900307451X"
        )) == 1  # fmt: skip
        for query in ({}, {"name": "李四"}, {"certificate_number": alice.certificate_number},
                      {"name": "李四", "id_number": "  "}):  # fmt: skip
            with pytest.raises(InvalidInput) as info:
                certs.find_by_two_of_three(**query)
            assert (info.value.field, info.value.rule) == ("query", "query.two_of_three")
            assert "李四" not in str(info.value)
        # Another index key finds nothing: the index is keyed.
        other = CertificateRepository(session, cipher(), BlindIndex(bytes(32)))
        assert other.find_by_two_of_three(name="李四", id_number="11010119900307451X") == []


def test_status_changes_correction_and_logical_deletion(db: Database) -> None:
    old = salted(make_certificate(5, name="赵六", idn="11010119900307451X"))
    new = salted(make_certificate(5, name="赵陆", idn="11010119900307451X"))
    gone = salted(make_certificate(6))
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        certs.add(old, signature=SIGNATURE, submitted_at=NOW)
        certs.add(gone, signature=SIGNATURE, submitted_at=NOW)
        later = NOW + dt.timedelta(days=3)
        certs.set_status(old.commitment(), "suspended", now=later)
        certs.set_status(old.commitment(), "active", now=later)
        certs.add_correction(old.commitment(), new, signature=SIGNATURE, submitted_at=later)
        certs.mark_deleted(gone.commitment(), now=later)
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        number = new.certificate().certificate_number
        first, second = certs.history(number)
        assert first.status == "superseded" and first.superseded_by == new.commitment()
        assert second.commitment == new.commitment() and second.status == "active"
        assert certs.get_current(number) == second
        assert certs.find_by_two_of_three(certificate_number=number, name="赵陆") == [second]
        assert certs.find_by_two_of_three(certificate_number=number, name="赵六") == []
        assert certs.find_by_two_of_three(
            certificate_number=number, name="赵六", include_superseded=True
        ) == [first]
        deleted = certs.get(gone.commitment())
        assert deleted is not None and deleted.status == "deleted"
        assert deleted.deleted_at == NOW + dt.timedelta(days=3)
        # The row and its record stay: still decryptable for the province.
        assert certs.salted(deleted) == gone
        for final in (first, deleted):
            with pytest.raises(InvalidInput, match=r"certificate\.final"):
                certs.set_status(final.commitment, "active", now=NOW)
        with pytest.raises(InvalidInput, match=r"certificate\.not_current"):
            certs.add_correction(old.commitment(), new, signature=SIGNATURE, submitted_at=NOW)
        assert certs.serials(ORG, 2025, 5) == [5, 6]
        assert _count(session, CertificateRow) == 3


def test_log_append_entries_and_proofs(db: Database) -> None:
    certificates = [salted(make_certificate(i)) for i in range(1, 8)]
    entries = [issue_entry(s) for s in certificates]
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        log = ProvinceLog(session, PROVINCE)
        for s in certificates:
            certs.add(s, signature=SIGNATURE, submitted_at=NOW)
        indexes = log.append(entries[:3], now=NOW) + log.append(entries[3:], now=NOW)
        assert indexes == list(range(7))
        for s, index in zip(certificates, indexes, strict=True):
            certs.mark_logged(s.commitment(), index)
        with pytest.raises(InvalidInput, match=r"certificate\.logged"):
            certs.mark_logged(certificates[0].commitment(), 9)
    with db.transaction() as session:
        log = ProvinceLog(session, PROVINCE)
        assert log.size == 7
        stored = list(log.entries())
        assert [e.entry for e in stored] == entries
        assert [e.leaf_hash for e in stored] == [e.leaf_hash() for e in entries]
        assert log.entry(4).entry == entries[4]
        assert log.indexes_of(certificates[2].commitment()) == [2]
        root = log.merkle.root()
        for e in stored:
            verify_inclusion(
                e.leaf_hash, e.leaf_index, 7, log.merkle.inclusion_proof(e.leaf_index), root
            )
        with pytest.raises(InvalidInput, match=r"log\.province"):
            ProvinceLog(session, "41").append(entries[:1], now=NOW)
        with pytest.raises(InvalidInput, match=r"log\.index_range"):
            log.entry(7)
        assert (
            CertificateRepository(session, cipher(), blind_index())
            .get(certificates[6].commitment())
            .log_index
            == 6
        )  # type: ignore[union-attr]


def test_entry_bytes_are_the_hashed_bytes_and_alteration_is_caught(db: Database) -> None:
    entries = [issue_entry(salted(make_certificate(i))) for i in range(1, 5)]
    with db.transaction() as session:
        ProvinceLog(session, PROVINCE).append(entries, now=NOW)
    with db.transaction() as session:
        log = ProvinceLog(session, PROVINCE)
        assert list(log.entry_bytes(1, 4)) == [e.canonical_bytes() for e in entries[1:]]
        with pytest.raises(StorageError, match="entry 4 is missing"):
            list(log.entry_bytes(2, 5))
    with db.transaction() as session:
        # Only an operator bypassing the no-update trigger can do this; the reader notices.
        on = "" if session.get_bind().dialect.name == "sqlite" else " ON log_entries"
        session.execute(text(f"DROP TRIGGER log_entries_no_update{on}"))
        session.execute(
            update(LogEntryRow)
            .where(LogEntryRow.leaf_index == 2)
            .values(entry=entries[3].canonical_bytes().decode())
        )
    with db.transaction() as session:
        log = ProvinceLog(session, PROVINCE)
        assert len(list(log.entry_bytes(0, 2))) == 2
        with pytest.raises(StorageError, match="entry 2 is missing or altered"):
            list(log.entry_bytes(0, 4))


def test_failed_transaction_leaves_nothing(db: Database) -> None:
    """Certificate, log entry, Merkle nodes, size and audit event land together or not at all."""
    s = salted(make_certificate(1))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.transaction() as session:
        CertificateRepository(session, cipher(), blind_index()).add(
            s, signature=SIGNATURE, submitted_at=NOW
        )
        ProvinceLog(session, PROVINCE).append([issue_entry(s)], now=NOW)
        AuditTrail(session).record(
            actor="op", action="issue", target_type="certificate",
            target_id=s.commitment().hex(), now=NOW,
        )  # fmt: skip
        raise Boom
    # A storage failure half-way (the second certificate violates the organisation key)
    # rolls back the first one too.
    bad = salted(make_certificate(2, org="S000144009999"))
    with pytest.raises(StorageError), db.transaction() as session:
        CertificateRepository(session, cipher(), blind_index()).add(
            s, signature=SIGNATURE, submitted_at=NOW
        )
        ProvinceLog(session, PROVINCE).append([issue_entry(s)], now=NOW)
        CertificateRepository(session, cipher(), blind_index()).add(
            bad, signature=SIGNATURE, submitted_at=NOW
        )
    with db.transaction() as session:
        for model in (CertificateRow, LogEntryRow, MerkleNode, LogState):
            assert _count(session, model) == 0, model.__tablename__
        assert ProvinceLog(session, PROVINCE).size == 0
        assert AuditTrail(session).for_target("certificate", s.commitment().hex()) == []


def test_checkpoints(db: Database) -> None:
    with db.transaction() as session:
        cps = CheckpointRepository(session, PROVINCE)
        assert cps.latest() is None
        c0 = cps.add(8, b"\x01" * 32, now=NOW)
        c1 = cps.add(12, b"\x02" * 32, now=NOW)
        assert (c0.index, c1.index, c1.state) == (0, 1, "pending")
        with pytest.raises(InvalidInput, match=r"checkpoint\.size"):
            cps.add(12, b"\x03" * 32, now=NOW)
        cps.mark_submitted(0, transaction_hash="0x" + "ab" * 32, manifest_cid="bafy", now=NOW)
        with pytest.raises(InvalidInput, match=r"checkpoint\.state"):
            cps.mark_confirmed(1, block_number=3, now=NOW)
        cps.mark_confirmed(0, block_number=17, now=NOW)
        with pytest.raises(InvalidInput, match=r"checkpoint\.state"):
            cps.mark_submitted(0, transaction_hash="0x00", manifest_cid="x", now=NOW)
    with db.transaction() as session:
        cps = CheckpointRepository(session, PROVINCE)
        confirmed = cps.latest("confirmed")
        assert confirmed is not None
        assert (confirmed.index, confirmed.block_number, confirmed.root) == (0, 17, b"\x01" * 32)
        assert [c.index for c in cps.in_state("pending")] == [1]
        assert cps.get(1) == c1
        assert CheckpointRepository(session, "41").latest() is None


def test_audit_trail(db: Database) -> None:
    with db.transaction() as session:
        trail = AuditTrail(session)
        first = trail.record(
            actor="province-44/operator-7", action="revoke", target_type="certificate",
            target_id="ab" * 32, now=NOW, reason=101, details={"ticket": "2025-17"},
        )  # fmt: skip
        second = trail.record(
            actor="operator-8", action="reinstate", target_type="certificate",
            target_id="ab" * 32, now=NOW + dt.timedelta(hours=1), reason=301, note="review",
        )  # fmt: skip
        assert second > first
    with db.transaction() as session:
        events = AuditTrail(session).for_target("certificate", "ab" * 32)
        assert [(e.action, e.reason) for e in events] == [("revoke", 101), ("reinstate", 301)]
        assert events[0].details == {"ticket": "2025-17"} and events[0].occurred_at == NOW


@pytest.mark.parametrize("profile", ["aes-256-gcm", "sm4-gcm"])
def test_key_rotation_of_records(db: Database, profile: str) -> None:
    size = 32 if profile == "aes-256-gcm" else 16
    k1, k2 = b"\x11" * size, b"\x22" * size
    old = PersonalDataCipher({"2024": k1}, "2024", profile=profile)
    both = PersonalDataCipher({"2024": k1, "2025": k2}, "2025", profile=profile)
    new_only = PersonalDataCipher({"2025": k2}, "2025", profile=profile)
    index = blind_index(profile)
    items = [salted(make_certificate(i)) for i in range(1, 6)]
    with db.transaction() as session:
        certs = CertificateRepository(session, old, index)
        for s in items[:3]:
            certs.add(s, signature=SIGNATURE, submitted_at=NOW)
        CertificateRepository(session, both, index).add(
            items[3], signature=SIGNATURE, submitted_at=NOW
        )
    with db.transaction() as session:
        certs = CertificateRepository(session, both, index)
        assert [certs.get(s.commitment()).record_key_id for s in items[:4]] == [  # type: ignore[union-attr]
            "2024", "2024", "2024", "2025",
        ]  # fmt: skip
        with pytest.raises(DecryptionError):
            CertificateRepository(session, new_only, index).salted(certs.get(items[0].commitment()))  # type: ignore[arg-type]
        assert certs.rotate_records(limit=2) == 2
        assert certs.rotate_records(limit=2) == 1
        assert certs.rotate_records() == 0
    with db.transaction() as session:
        certs = CertificateRepository(session, new_only, index)
        for s in items[:4]:
            record = certs.get(s.commitment())
            assert record is not None and record.record_key_id == "2025"
            assert certs.salted(record) == s
        # Lookups do not depend on the cipher key.
        name = items[0].certificate().holder_name
        number = items[0].certificate().certificate_number
        assert len(certs.find_by_two_of_three(certificate_number=number, name=name)) == 1


def test_record_moved_to_another_row_does_not_decrypt(db: Database) -> None:
    a, b = salted(make_certificate(1)), salted(make_certificate(2))
    with db.transaction() as session:
        certs = CertificateRepository(session, cipher(), blind_index())
        certs.add(a, signature=SIGNATURE, submitted_at=NOW)
        certs.add(b, signature=SIGNATURE, submitted_at=NOW)
        blob_a = session.execute(
            select(CertificateRow.record).where(CertificateRow.commitment == a.commitment())
        ).scalar_one()
        session.execute(
            CertificateRow.__table__.update()
            .where(CertificateRow.commitment == b.commitment())
            .values(record=blob_a)
        )
        record_b = certs.get(b.commitment())
        assert record_b is not None
        with pytest.raises(DecryptionError, match="failed authentication"):
            certs.salted(record_b)


def test_redacted_records_are_refused(db: Database) -> None:
    s = salted(make_certificate(1)).redact("id_number")
    with db.transaction() as session, pytest.raises(InvalidInput):
        CertificateRepository(session, cipher(), blind_index()).add(
            s, signature=SIGNATURE, submitted_at=NOW
        )
    assert isinstance(salted(make_certificate(1)).fields["holder_name"], Disclosed)


_TEXT = st.text(
    st.sampled_from(
        ["a", '"', "\\", "\n", "\x00", "\x1f", "\x7f", "张", "\u2028", "😀", " ", "é", "\ud800"]
    ),
    max_size=8,
)


@given(values=st.lists(_TEXT, min_size=11, max_size=11), level=st.integers(1, 5))
def test_record_plaintext_round_trips_in_both_versions(values: list[str], level: int) -> None:
    # Version 2 is written; version 1 (JSON with hex salts, rows stored before) is still read.
    names = [n for n in FIELD_NAMES if n != "level"]
    fields = {
        n: Disclosed(v, bytes([i]) * 32) for i, (n, v) in enumerate(zip(names, values, strict=True))
    }
    fields["level"] = Disclosed(level, b"\xff" * 32)
    record = SaltedCertificate(fields)
    try:
        encoded = encode_record(record)
    except UnicodeEncodeError:  # a lone surrogate: never valid I-JSON, never accepted
        assert any("\ud800" <= c <= "\udfff" for v in values for c in v)
        return
    assert encoded[0] == 2 and len(encoded) < 400 + len(
        json.dumps(values, ensure_ascii=False).encode()
    )
    assert decode_record(encoded) == record
    version_1 = json.dumps(
        {"v": 1, "fields": {n: [p.value, p.salt.hex()] for n, p in fields.items()}},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()
    assert decode_record(version_1) == record


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"\x02", b"\x02" + b"\x00" * 384 + b"{}", b"\x02" + b"\x00" * 384 + b"[1]", b'{"v": 3}'],
)
def test_malformed_record_plaintext_is_refused(plaintext: bytes) -> None:
    with pytest.raises(StorageError, match="malformed"):
        decode_record(plaintext)
