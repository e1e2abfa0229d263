"""Organisation filing mirrored to the contract.

The main path, the retry after a crash and reconciliation run on both databases (SQLite, a real
PostgreSQL) and both chains (the in-process EVM, a real anvil); the refusal details on SQLite
and the in-process EVM. Every test compares the chain, the database and the published scope
document with each other, never with the service's own answers alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from anchor.chain import RegistryClient
from anchor.manifest import LocalManifestStore
from node.core.crypto.signatures import SUITE_IDS, get_suite
from node.core.errors import InvalidInput
from node.core.rules.scope import cid_of_scope_hash, parse_scope_document, scope_hash_of_cid
from node.storage import AuditTrail, Database, OrganisationRepository
from province.organisations import (
    CHINA_TZ,
    KeySpec,
    OrganisationFiling,
    OrganisationMismatch,
    OrganisationService,
    parse_filing,
)
from tests.contract.conftest import Registry

ORG = "S000144002009"  # Guangdong, category 2 (技工院校)
ORG_B = "Y012344001001"  # Guangdong, category 1 (国有企业)
ORG_41 = "S000141000007"  # Henan: another province's code
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
JAN_1 = int(dt.datetime(2026, 1, 1, tzinfo=CHINA_TZ).timestamp())  # 2025-12-31T16:00Z
SCOPE = [{"occupation_code": "6-18-01-01", "levels": [5, 4, 3]}]
NEW_SCOPE = [
    {"occupation_code": "6-18-01-01", "levels": [3, 4, 5]},
    {"occupation_code": "4-10-01-02", "levels": [4]},
]


def public_key(suite: str, n: int) -> bytes:
    s = get_suite(suite)
    return s.public_key(s.generate_private_key(bytes([n]) * 32))


ED0 = public_key("ed25519", 1)
K1 = public_key("ecdsa-secp256k1", 2)
SM2 = public_key("sm2-sm3", 3)
ED3 = public_key("ed25519", 4)


def filing_json(code: str = ORG, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "code": code,
        "name": "广东示例职业技能评价中心",
        "scope": SCOPE,
        "keys": [
            {"suite": "ed25519", "public_key": ED0.hex(), "valid_from": "2026-01-01"},
            {
                "suite": "ecdsa-secp256k1",
                "public_key": K1.hex(),
                "valid_from": JAN_1 + 86_400,
                "valid_until": "2027-01-01T00:00:00+08:00",
            },
        ],
    }
    obj.update(changes)
    return obj


def clock() -> Callable[[], dt.datetime]:
    ticks = itertools.count()
    return lambda: T0 + dt.timedelta(seconds=next(ticks))


@pytest.fixture
def store(tmp_path: Path) -> LocalManifestStore:
    return LocalManifestStore(tmp_path / "scopes")


def service(
    database: Database, client: RegistryClient, store: LocalManifestStore
) -> OrganisationService:
    return OrganisationService(database, "44", client, store, clock=clock())


def db_state(database: Database, code: str) -> tuple[Any, list[Any], int]:
    """The organisation row, its keys and the number of audit events about it."""
    with database.transaction() as session:
        repo = OrganisationRepository(session)
        events = AuditTrail(session).for_target("organisation", code)
        return repo.get(code), repo.keys(code), len(events)


def assert_mirrored(database: Database, client: RegistryClient, store: Any, code: str) -> None:
    """The chain and the database hold the same organisation, and the chain's scope hash leads
    to a published scope document that describes what the database stores."""
    record, keys, _ = db_state(database, code)
    on_chain = client.organisation(code)
    assert record is not None
    assert on_chain.province == 44
    assert on_chain.status == {"active": 1, "suspended": 2, "terminated": 3}[record.status]
    assert on_chain.scope_hash == record.scope_hash
    assert on_chain.key_count == len(keys)
    for key in keys:
        chain_key = client.organisation_key(code, key.key_id)
        assert (chain_key.suite, chain_key.public_key) == (SUITE_IDS[key.suite], key.public_key)
        assert (chain_key.valid_from, chain_key.valid_until) == (key.valid_from, key.valid_until)
    document = parse_scope_document(store.get(cid_of_scope_hash(on_chain.scope_hash)))
    assert document.organisation_code == code and document.province == "44"
    assert (document.name, document.category) == (record.name, record.category)
    assert document.stored_scope() == record.scope


def chain_only(test: Any) -> Any:
    """Run a refusal-detail test on one backend pair: SQLite and the in-process EVM."""
    test = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)(test)
    return pytest.mark.parametrize("chain", ["memory"], indirect=True, scope="module")(test)


# --------------------------------------------------------------------------------------------
# The main path, on 2 databases x 2 chains


def test_filing_and_every_change_are_mirrored(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    svc = service(database, client, store)
    filing = parse_filing(filing_json())
    assert filing.keys[0].valid_from == JAN_1
    assert filing.keys[1].valid_until == JAN_1 + 365 * 86_400
    assert filing.category == "2"  # taken from the code (Guangdong position 10)

    change = svc.file(filing, actor="op:44")
    assert change.written and len(change.transactions) == 2  # file + rotate without closing
    assert change.scope_cid is not None
    assert scope_hash_of_cid(change.scope_cid) == client.organisation(ORG).scope_hash
    assert_mirrored(database, client, store, ORG)
    record, keys, events = db_state(database, ORG)
    assert record is not None and record.status == "active" and events == 1
    assert record.scope == [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}]
    assert [k.valid_until for k in keys] == [0, JAN_1 + 365 * 86_400]  # key 0 left open

    svc.suspend(ORG, actor="op:44", note="screening")
    assert client.organisation(ORG).status == 2
    assert_mirrored(database, client, store, ORG)
    svc.reactivate(ORG, actor="op:44")
    assert client.organisation(ORG).status == 1
    assert_mirrored(database, client, store, ORG)

    rotation_at = JAN_1 + 30 * 86_400
    rotated = svc.rotate_key(
        ORG, suite="sm2-sm3", public_key=SM2, effective_at=rotation_at, actor="op:44"
    )
    assert rotated.key_id == 2 and len(rotated.transactions) == 1
    assert client.organisation_key(ORG, 1).valid_until == rotation_at  # previous key closed
    assert_mirrored(database, client, store, ORG)

    svc.revoke_key(ORG, 0, effective_at=JAN_1 + 3_600, actor="op:44", note="key lost")
    assert client.organisation_key(ORG, 0).valid_until == JAN_1 + 3_600
    assert_mirrored(database, client, store, ORG)

    updated = svc.update_scope(ORG, NEW_SCOPE, actor="op:44")
    assert updated.scope_cid is not None and updated.scope_cid != change.scope_cid
    assert client.organisation(ORG).scope_hash == scope_hash_of_cid(updated.scope_cid)
    assert_mirrored(database, client, store, ORG)

    svc.terminate(ORG, actor="op:44", note="cancelled")
    assert client.organisation(ORG).status == 3
    assert_mirrored(database, client, store, ORG)
    # Keys of a retired code can still be revoked (docs/CONTRACT.md "Organisations").
    svc.revoke_key(ORG, 2, effective_at=rotation_at + 60, actor="op:44")
    assert client.organisation_key(ORG, 2).valid_until == rotation_at + 60
    assert_mirrored(database, client, store, ORG)
    _, _, events = db_state(database, ORG)
    assert events == 8  # one audit event per change

    # A retired code is never filed again: refused before anything is sent or written.
    block = client.block_number()
    with pytest.raises(InvalidInput) as info:
        svc.file(filing, actor="op:44")
    assert (info.value.field, info.value.rule) == ("code", "organisation.retired")
    with pytest.raises(InvalidInput) as info:
        svc.suspend(ORG, actor="op:44")
    assert (info.value.field, info.value.rule) == ("status", "organisation.terminated")
    assert client.block_number() == block
    assert db_state(database, ORG)[2] == 8


def test_retry_after_a_crash_completes_without_resending(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    """Each change done on chain by an earlier attempt that crashed before its DB write: the
    retry sends nothing (the block number stays), writes the DB, and a third call is a no-op."""
    client = reg.as_(0)
    svc = service(database, client, store)
    filing = parse_filing(filing_json())
    scope_hash = scope_hash_of_cid(
        store.put(filing.document("44").to_bytes())  # published by the crashed attempt
    )
    first = filing.keys[0]
    client.file_organisation(ORG, scope_hash, 1, first.public_key, first.valid_from)
    # The crash came between fileOrganisation and the rotation of the second key.
    change = svc.file(filing, actor="op:44")
    assert len(change.transactions) == 1 and change.written
    assert client.organisation(ORG).key_count == 2
    assert_mirrored(database, client, store, ORG)
    block = client.block_number()
    again = svc.file(filing, actor="op:44")
    assert (again.transactions, again.written) == ((), False)
    assert client.block_number() == block and db_state(database, ORG)[2] == 1

    def retried(chain_step: Callable[[], Any], call: Callable[[], Any]) -> None:
        chain_step()
        block = client.block_number()
        _, _, events = db_state(database, ORG)
        change = call()
        assert change.adopted and change.transactions == ()
        assert client.block_number() == block
        assert db_state(database, ORG)[2] == events + 1
        assert_mirrored(database, client, store, ORG)
        repeat = call()  # Everything already holds it: nothing sent, nothing written.
        assert (repeat.transactions, repeat.written) == ((), False)
        assert client.block_number() == block and db_state(database, ORG)[2] == events + 1

    retried(
        lambda: client.set_organisation_status(ORG, 2),
        lambda: svc.suspend(ORG, actor="op:44"),
    )
    at = JAN_1 + 10 * 86_400
    retried(
        lambda: client.rotate_key(ORG, 1, ED3, at, 0, True),
        lambda: svc.rotate_key(ORG, suite="ed25519", public_key=ED3, effective_at=at, actor="a"),
    )
    retried(
        lambda: client.revoke_key(ORG, 0, JAN_1 + 60),
        lambda: svc.revoke_key(ORG, 0, effective_at=JAN_1 + 60, actor="op:44"),
    )
    new = OrganisationFiling.of(
        code=ORG, name=filing.name, scope=NEW_SCOPE, keys=filing.keys
    ).document("44")
    retried(
        lambda: client.update_scope(ORG, scope_hash_of_cid(store.put(new.to_bytes()))),
        lambda: svc.update_scope(ORG, NEW_SCOPE, actor="op:44"),
    )
    retried(
        lambda: client.set_organisation_status(ORG, 3),
        lambda: svc.terminate(ORG, actor="op:44"),
    )


def test_reconcile_adopts_the_chain_and_refuses_contradictions(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    svc = service(database, client, store)
    svc.file(parse_filing(filing_json()), actor="op:44")
    assert svc.reconcile() == []  # already settled

    # Changes on chain whose database writes were lost, and a whole filing (ORG_B) whose
    # scope document was published but whose row never reached the database.
    client.set_organisation_status(ORG, 2)
    client.rotate_key(ORG, 3, SM2, JAN_1 + 5 * 86_400, 0, True)
    client.revoke_key(ORG, 0, JAN_1 + 120)
    new = OrganisationFiling.of(
        code=ORG,
        name="广东示例职业技能评价中心",
        scope=NEW_SCOPE,
        keys=[KeySpec("ed25519", ED0, 0)],
    ).document("44")
    client.update_scope(ORG, scope_hash_of_cid(store.put(new.to_bytes())))
    filing_b = OrganisationFiling.of(
        code=ORG_B, name="示例国有企业", scope=SCOPE, keys=[KeySpec("ed25519", ED3, JAN_1)]
    )
    hash_b = scope_hash_of_cid(store.put(filing_b.document("44").to_bytes()))
    client.file_organisation(ORG_B, hash_b, 1, ED3, JAN_1)
    client.set_organisation_status(ORG_B, 3)

    changes = svc.reconcile()
    assert sorted(c.code for c in changes) == [ORG, ORG_B]
    assert all(c.adopted for c in changes)
    assert_mirrored(database, client, store, ORG)
    assert_mirrored(database, client, store, ORG_B)
    record, keys, _ = db_state(database, ORG)
    assert record is not None and record.status == "suspended" and len(keys) == 3
    record_b, _, _ = db_state(database, ORG_B)
    assert record_b is not None and (record_b.status, record_b.category) == ("terminated", "1")
    assert svc.reconcile() == []

    # The database holds a key the chain does not: a contradiction, not adopted.
    with database.transaction() as session:
        OrganisationRepository(session).add_key(
            ORG, suite="ed25519", public_key=ED3, valid_from=JAN_1, now=T0
        )
    with pytest.raises(OrganisationMismatch) as info:
        svc.reconcile()
    assert info.value.code == ORG and info.value.what == "key count"


@chain_only
def test_reconcile_refuses_a_database_organisation_the_chain_lacks(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    with database.transaction() as session:
        OrganisationRepository(session).add(
            code=ORG_B, province="44", name="示例企业", scope=SCOPE, now=T0
        )
    with pytest.raises(OrganisationMismatch) as info:
        service(database, reg.as_(0), store).reconcile()
    assert (info.value.code, info.value.what) == (ORG_B, "filing")


@chain_only
def test_filing_the_chain_holds_differently_is_a_mismatch(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    client.file_organisation(ORG, b"\x01" * 32, 1, ED0, JAN_1)
    block = client.block_number()
    with pytest.raises(OrganisationMismatch) as info:
        service(database, client, store).file(parse_filing(filing_json()), actor="op:44")
    assert info.value.what == "scope hash"
    assert client.block_number() == block and db_state(database, ORG) == (None, [], 0)


# --------------------------------------------------------------------------------------------
# Refusals: field and rule, nothing sent, nothing written (SQLite, in-process EVM)


@chain_only
def test_refusals_send_and_write_nothing(
    reg: Registry, database: Database, store: LocalManifestStore
) -> None:
    client = reg.as_(0)
    svc = service(database, client, store)
    svc.file(parse_filing(filing_json()), actor="op:44")
    before = db_state(database, ORG)
    block = client.block_number()

    def refused(field: str, rule: str, call: Callable[[], Any]) -> None:
        with pytest.raises(InvalidInput) as info:
            call()
        assert (info.value.field, info.value.rule) == (field, rule)
        assert client.block_number() == block
        assert db_state(database, ORG) == before

    henan = parse_filing(filing_json(ORG_41, name="河南示例中心"))
    refused("code", "organisation.province_node", lambda: svc.file(henan, actor="a"))
    other = parse_filing(filing_json(name="另一个名字"))
    refused("code", "organisation.duplicate", lambda: svc.file(other, actor="a"))
    # 人社鉴发〔2021〕1号 §五(二): the filed name is printed on every certificate.
    national = parse_filing(filing_json(ORG_B, name="全国示例职业技能评价中心"))
    refused("name", "name.forbidden_word", lambda: svc.file(national, actor="a"))
    refused("code", "organisation.unknown", lambda: svc.suspend(ORG_B, actor="a"))
    refused("code", "organisation.province_node", lambda: svc.suspend(ORG_41, actor="a"))
    refused(
        "scope[0].levels",
        "level.range",
        lambda: svc.update_scope(
            ORG, [{"occupation_code": "6-18-01-01", "levels": [6]}], actor="a"
        ),
    )
    refused("scope", "scope.empty", lambda: svc.update_scope(ORG, [], actor="a"))
    refused(
        "effective_at",
        "key.effective_at",
        lambda: svc.rotate_key(
            ORG, suite="ed25519", public_key=ED3, effective_at=JAN_1 + 60, actor="a"
        ),  # key 1 starts a day after JAN_1
    )
    refused(
        "key.public_key",
        "key.public_key",
        lambda: svc.rotate_key(
            ORG, suite="sm2-sm3", public_key=K1, effective_at=JAN_1 + 9 * 86_400, actor="a"
        ),
    )
    refused(
        "key.suite",
        "key.suite",
        lambda: svc.rotate_key(ORG, suite="rsa", public_key=ED3, effective_at=JAN_1, actor="a"),
    )
    refused(
        "valid_until",
        "key.time",
        lambda: svc.rotate_key(
            ORG,
            suite="ed25519",
            public_key=ED3,
            effective_at=JAN_1 * 2,
            valid_until="soon",  # type: ignore[arg-type]
            actor="a",
        ),
    )
    refused(
        "key.valid_until",
        "key.validity",
        lambda: svc.rotate_key(
            ORG,
            suite="ed25519",
            public_key=ED3,
            effective_at=JAN_1 * 2,
            valid_until=JAN_1 * 2,
            actor="a",
        ),
    )
    refused("key_id", "key.unknown", lambda: svc.revoke_key(ORG, 5, effective_at=JAN_1, actor="a"))
    refused(
        "effective_at",
        "key.lengthen",
        lambda: svc.revoke_key(ORG, 1, effective_at=JAN_1 + 400 * 86_400, actor="a"),
    )
    refused(
        "effective_at",
        "key.before_valid_from",
        lambda: svc.revoke_key(ORG, 1, effective_at=JAN_1, actor="a"),
    )
    refused("effective_at", "key.time", lambda: svc.revoke_key(ORG, 0, effective_at=0, actor="a"))


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"extra": 1}, "filing", "filing.keys"),
        ({"keys": "none"}, "keys", "keys.type"),
        ({"keys": []}, "keys", "keys.empty"),
        ({"keys": [filing_json()["keys"][0]] * 17}, "keys", "keys.too_many"),
        ({"keys": ["ed25519"]}, "keys[0]", "key.type"),
        ({"keys": [{"suite": "ed25519", "public_key": ED0.hex()}]}, "keys[0]", "key.keys"),
        (
            {"keys": [{"suite": "rsa", "public_key": ED0.hex(), "valid_from": 0}]},
            "keys[0].suite",
            "key.suite",
        ),
        (
            {"keys": [{"suite": "ed25519", "public_key": "zz", "valid_from": 0}]},
            "keys[0].public_key",
            "key.public_key",
        ),
        (
            {"keys": [{"suite": "ed25519", "public_key": ED0.hex().upper(), "valid_from": 0}]},
            "keys[0].public_key",
            "key.public_key",
        ),
        (
            {"keys": [{"suite": "ecdsa-secp256k1", "public_key": ED0.hex(), "valid_from": 0}]},
            "keys[0].public_key",
            "key.public_key",
        ),
        (
            {"keys": [{"suite": "ed25519", "public_key": ED0.hex(), "valid_from": "2026-13-01"}]},
            "keys[0].valid_from",
            "key.time",
        ),
        (
            {"keys": [{"suite": "ed25519", "public_key": ED0.hex(), "valid_from": -1}]},
            "keys[0].valid_from",
            "key.time",
        ),
        (
            {"keys": [{"suite": "ed25519", "public_key": ED0.hex(), "valid_from": True}]},
            "keys[0].valid_from",
            "key.time",
        ),
        (
            {
                "keys": [
                    {
                        "suite": "ed25519",
                        "public_key": ED0.hex(),
                        "valid_from": "2026-01-02",
                        "valid_until": "2026-01-01",
                    }
                ]
            },
            "keys[0].valid_until",
            "key.validity",
        ),
        ({"code": "S00014400200"}, "organisation_code", "organisation_code.length"),
        ({"code": 7}, "organisation_code", "organisation_code.length"),
        ({"code": "S000144005009"}, "organisation_code", "certnum.position_10.guangdong_category"),
        ({"category": "1"}, "category", "organisation.category"),
        ({"name": "  "}, "name", "name.empty"),
        (
            {"scope": [{"occupation_code": "1-01-00-01", "levels": [3]}]},
            "scope[0].occupation_code",
            "occupation_code.major_category",
        ),
    ],
)
def test_parse_filing_refusals(changes: dict[str, Any], field: str, rule: str) -> None:
    obj = filing_json(**changes)
    with pytest.raises(InvalidInput) as info:
        parse_filing(obj)
    assert (info.value.field, info.value.rule) == (field, rule)


def test_parse_filing_reads_times_in_china_time() -> None:
    keys = [
        {"suite": "sm2-sm3", "public_key": SM2.hex(), "valid_from": "2026-01-01T08:00:00"},
        {"suite": "ed25519", "public_key": ED0.hex(), "valid_from": "2026-01-01T00:00:00Z"},
        {"suite": "ed25519", "public_key": ED3.hex(), "valid_from": 5, "valid_until": None},
    ]
    filing = parse_filing(filing_json(code="S000141000007", name="河南示例中心", keys=keys))
    assert [k.valid_from for k in filing.keys] == [JAN_1 + 8 * 3_600, JAN_1 + 8 * 3_600, 5]
    assert filing.keys[2].valid_until == 0
    assert filing.category is None  # Henan's rule has no category digit
    assert parse_filing(filing_json()).document("44").category == "2"
