"""Scope documents (docs/FORMATS.md "Scope documents"): every rule, the strict parser, and the
scope hash as the digest inside the CIDv0 that ``ipfs add`` gives the document."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from anchor.manifest import LocalManifestStore, cid_v0
from node.core.errors import InvalidInput
from node.core.rules.scope import (
    MAX_SCOPE_ENTRIES,
    cid_of_scope_hash,
    filed_scope,
    parse_scope_document,
    scope_document,
    scope_hash_of_cid,
)

# ``ipfs add`` of "hello world\n" (the IPFS docs' example, pinned in tests/anchor/test_manifest.py).
HELLO_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"

ORG = "S000144002009"  # Guangdong, city 00, category 2 (技工院校), serial 009
SCOPE = [
    {"occupation_code": "6-18-01-01", "levels": [5, 3, 4]},
    {"occupation_code": "4-10-01-02", "work_type_code": "4-10-01-02-01", "levels": [2]},
]


def document(**changes: Any) -> bytes:
    args: dict[str, Any] = {
        "province": "44",
        "organisation_code": ORG,
        "name": "广东示例职业技能评价中心",
        "org_class": "S",
        "category": "2",
        "scope": SCOPE,
    }
    args.update(changes)
    return scope_document(**args)


def refused(field: str, rule: str, **changes: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        document(**changes)
    assert (info.value.field, info.value.rule) == (field, rule)


def test_document_is_pinned_canonical_json() -> None:
    data = document()
    assert (
        data
        == (
            '{"category":"2","name":"广东示例职业技能评价中心","org_class":"S",'
            '"organisation_code":"S000144002009","province":"44","scope":['
            '{"levels":[2],"occupation_code":"4-10-01-02","work_type_code":"4-10-01-02-01"},'
            '{"levels":[3,4,5],"occupation_code":"6-18-01-01"}],'
            '"type":"certreg.scope","version":1}'
        ).encode()
    )
    # The order of the input does not matter: one filing, one document, one hash.
    assert document(scope=list(reversed(SCOPE))) == data


def test_round_trip_and_stored_scope_reads_in_intake() -> None:
    data = document()
    parsed = parse_scope_document(data)
    assert parsed.to_bytes() == data
    assert (parsed.organisation_code, parsed.category, parsed.org_class) == (ORG, "2", "S")
    # The stored shape is what intake checks certificates against (data guide art. 9).
    assert filed_scope(parsed.stored_scope()) == {
        "4-10-01-02-01": frozenset({2}),
        "6-18-01-01": frozenset({3, 4, 5}),
    }


def test_province_without_category_has_null() -> None:
    data = document(
        province="41", organisation_code="S000141000007", category=None, name="河南示例中心"
    )
    assert parse_scope_document(data).category is None


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"scope": {}}, "scope", "scope.type"),
        ({"scope": []}, "scope", "scope.empty"),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [1]}] * (MAX_SCOPE_ENTRIES + 1)},
            "scope",
            "scope.too_many",
        ),
        ({"scope": ["6-18-01-01"]}, "scope[0]", "scope.item"),
        ({"scope": [{"occupation_code": "6-18-01-01"}]}, "scope[0]", "scope.keys"),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [3], "x": 1}]},
            "scope[0]",
            "scope.keys",
        ),
        (
            {"scope": [{"occupation_code": "6-18-1-01", "levels": [3]}]},
            "scope[0].occupation_code",
            "occupation_code.format",
        ),
        (
            {"scope": [{"occupation_code": "６-18-01-01", "levels": [3]}]},
            "scope[0].occupation_code",
            "occupation_code.format",
        ),
        (
            {"scope": [{"occupation_code": "2-02-01-01", "levels": [3]}]},
            "scope[0].occupation_code",
            "occupation_code.major_category",
        ),
        (
            {
                "scope": [
                    {
                        "occupation_code": "6-18-01-01",
                        "work_type_code": "6-18-01-02-01",
                        "levels": [3],
                    }
                ]
            },
            "scope[0].work_type_code",
            "work_type_code.extends_occupation",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "work_type_code": "6-18", "levels": [3]}]},
            "scope[0].work_type_code",
            "work_type_code.format",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": []}]},
            "scope[0].levels",
            "scope.levels",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": 3}]},
            "scope[0].levels",
            "scope.levels",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [6]}]},
            "scope[0].levels",
            "level.range",
        ),
        (
            # [0] alone is an examining body's ungraded item: not in a skill-level filing.
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [0]}]},
            "scope[0].levels",
            "scope.ungraded",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [True]}]},
            "scope[0].levels",
            "level.range",
        ),
        (
            {"scope": [{"occupation_code": "6-18-01-01", "levels": [3, 3]}]},
            "scope[0].levels",
            "scope.levels_duplicate",
        ),
        (
            {
                "scope": [
                    {"occupation_code": "6-18-01-01", "levels": [3]},
                    {"occupation_code": "6-18-01-01", "levels": [4]},
                ]
            },
            "scope[1]",
            "scope.duplicate",
        ),
        ({"name": ""}, "name", "name.empty"),
        ({"name": "x" * 201}, "name", "name.length"),
        ({"name": "示例\u200b中心"}, "name", "name.control_character"),
        ({"name": " 示例中心"}, "name", "name.whitespace"),
        ({"name": 7}, "name", "name.type"),
        ({"province": "99"}, "province", "organisation.province"),
        ({"province": "41"}, "province", "organisation.province"),
        ({"organisation_code": "S00014400200"}, "organisation_code", "organisation_code.length"),
        ({"organisation_code": "s000144002009"}, "organisation_code", "certnum.position_1.class"),
        (
            {"organisation_code": "S000144005009"},
            "organisation_code",
            "certnum.position_10.guangdong_category",
        ),
        ({"org_class": "Y"}, "org_class", "organisation.class"),
        ({"category": "1"}, "category", "organisation.category"),
        ({"category": None}, "category", "organisation.category"),
    ],
)
def test_every_rule_is_refused_with_field_and_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    refused(field, rule, **changes)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"\xff", "scope_document.json"),
        (b"[]", "scope_document.keys"),
        (document().replace(b'"version":1', b'"version":2'), "scope_document.version"),
        (document().replace(b'"version":1', b'"version":true'), "scope_document.version"),
        (document().replace(b"[3,4,5]", b"[5,4,3]"), "scope_document.order"),
        (document().replace(b',"version":1}', b',"version":1} '), "scope_document.canonical"),
        (document().replace(b'"category":"2"', b'"category":"1"'), "organisation.category"),
    ],
)
def test_parser_is_strict(data: bytes, rule: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_scope_document(data)
    assert info.value.rule == rule


def test_items_out_of_order_are_refused() -> None:
    swapped = document().replace(
        b'{"levels":[2],"occupation_code":"4-10-01-02","work_type_code":"4-10-01-02-01"},'
        b'{"levels":[3,4,5],"occupation_code":"6-18-01-01"}',
        b'{"levels":[3,4,5],"occupation_code":"6-18-01-01"},'
        b'{"levels":[2],"occupation_code":"4-10-01-02","work_type_code":"4-10-01-02-01"}',
    )
    assert swapped != document()
    with pytest.raises(InvalidInput) as info:
        parse_scope_document(swapped)
    assert info.value.rule == "scope_document.order"


def test_scope_hash_is_the_digest_inside_the_ipfs_cid(tmp_path: Path) -> None:
    # ipfs add "hello world\n": the digest is SHA-256 of its one dag-pb block (UnixFS File).
    block = b"\x0a\x12\x08\x02\x12\x0chello world\n\x18\x0c"
    digest = hashlib.sha256(block).digest()
    assert scope_hash_of_cid(HELLO_CID) == digest
    assert cid_of_scope_hash(digest) == HELLO_CID

    data = document()
    cid = LocalManifestStore(tmp_path).put(data)
    assert cid == cid_v0(data)  # the CID ``ipfs add`` gives (pinned in test_manifest.py)
    scope_hash = scope_hash_of_cid(cid)
    assert len(scope_hash) == 32 and cid_of_scope_hash(scope_hash) == cid
    # An auditor holding only the on-chain hash fetches the document back.
    fetched = LocalManifestStore(tmp_path).get(cid_of_scope_hash(scope_hash))
    assert parse_scope_document(fetched).to_bytes() == data


@pytest.mark.parametrize(
    "cid",
    [
        "",
        HELLO_CID[:-1],
        HELLO_CID[:-1] + "0",  # 0 is not base58
        "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",  # CIDv1
        "1" * 46,
    ],
)
def test_bad_cids_are_refused(cid: str) -> None:
    with pytest.raises(InvalidInput) as info:
        scope_hash_of_cid(cid)
    assert (info.value.field, info.value.rule) == ("cid", "scope.cid")


def test_bad_scope_hash_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        cid_of_scope_hash(b"\x00" * 31)
    assert (info.value.field, info.value.rule) == ("scope_hash", "scope.hash")


def test_hash_cid_round_trip_over_many_digests() -> None:
    for i in range(200):
        digest = hashlib.sha256(i.to_bytes(4, "big")).digest()
        cid = cid_of_scope_hash(digest)
        assert cid.startswith("Qm") and len(cid) == 46
        assert scope_hash_of_cid(cid) == digest
    assert cid_of_scope_hash(bytes(32)).startswith("Qm")
    assert scope_hash_of_cid(cid_of_scope_hash(bytes(32))) == bytes(32)


def test_docs_example_is_pinned() -> None:
    """The example of docs/FORMATS.md "Scope documents": bytes, CID and scope hash."""
    data = document(scope=SCOPE[:1])
    assert (
        data
        == (
            '{"category":"2","name":"广东示例职业技能评价中心","org_class":"S",'
            '"organisation_code":"S000144002009","province":"44","scope":'
            '[{"levels":[3,4,5],"occupation_code":"6-18-01-01"}],"type":"certreg.scope","version":1}'
        ).encode()
    )
    cid = cid_v0(data)
    assert cid == "QmRw1jhvfzfCnxeGngWmRwRDoezvLoKeRGUquXa5qwCZB4"
    assert scope_hash_of_cid(cid).hex() == (
        "35609591789bcb490a79b5ec9c69b054f90273fa3eec65acfa721bb52e4c575f"
    )
