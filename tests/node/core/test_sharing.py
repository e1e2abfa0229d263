"""The pure rules of sharing: credit codes, agreement terms and their use, masking, traffic
flags, access records and their chain, and the signing input of province requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import InvalidInput
from node.core.formats.access import (
    EMPTY_HEAD,
    LogHead,
    chain_heads,
    check_heads,
    parse_export,
)
from node.core.formats.federation import check_fresh, parse_headers, signing_input
from node.core.rules.uscc import CHARSET, check_uscc, uscc_check_character
from node.core.sharing import (
    AccessDenied,
    Agreement,
    TrafficDay,
    TrafficThresholds,
    assess_traffic,
    certificate_view,
    check_use,
    china_day,
    mask_id_number,
    mask_name,
    parse_terms,
    seconds_to_next_china_day,
)
from tests.node.storage.conftest import access_record, make_certificate
from tests.sharing_data import CREDIT_CODE, END, START, terms_json

#: Codes of registered companies, published with their business licences: the check
#: characters GB 32100 gives them.
PUBLISHED_CODES = ("9144030071526726XG", "91330100716105852F", "91110000600037341L")


# -- unified social credit codes -------------------------------------------------------------


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_codes_have_the_check_character_gb_32100_gives(code: str) -> None:
    assert uscc_check_character(code[:17]) == code[17]
    assert check_uscc(f" {code.lower()} ") == code


@given(
    st.text(alphabet=CHARSET[:10], min_size=6, max_size=6),
    st.text(CHARSET, min_size=11, max_size=11),
)
def test_any_other_check_character_is_refused(division: str, rest: str) -> None:
    first17 = rest[:2] + division + rest[2:]
    good = uscc_check_character(first17)
    assert check_uscc(first17 + good) == first17 + good
    for wrong in CHARSET:
        if wrong != good:
            with pytest.raises(InvalidInput) as info:
                check_uscc(first17 + wrong)
            assert info.value.rule == "uscc.check"


@pytest.mark.parametrize(
    "code",
    ["", "9144030071526726X", "9144030071526726XGG", "91440300I1526726XG", "91AB030071526726XG"],
)
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_uscc(code)
    assert (info.value.field, info.value.rule) == ("credit_code", "uscc.format")


# -- terms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"credit_code": CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")},
         "agreement.credit_code", "uscc.check"),
        ({"partner_kind": "broker"}, "agreement.partner_kind", "sharing.partner_kind"),
        ({"application_sha256": "AB" * 32}, "agreement.application_sha256", "sharing.application"),
        ({"operations": ["bundle"]}, "agreement.operations", "sharing.operations"),
        ({"operations": []}, "agreement.operations", "sharing.operations"),
        ({"fields": ["salt"]}, "agreement.fields", "sharing.fields"),
        ({"provinces": ["99"]}, "agreement.provinces", "sharing.provinces"),
        ({"starts_at": "2025-01-01"}, "agreement.starts_at", "sharing.time"),
        ({"ends_at": START.isoformat()}, "agreement.ends_at", "sharing.period"),
        ({"daily_quota": 0}, "agreement.daily_quota", "sharing.quota"),
        ({"daily_quota": True}, "agreement.daily_quota", "sharing.quota"),
        ({"no_commercial_use": False}, "agreement.no_commercial_use", "sharing.commercial_use"),
        ({"purpose": "  "}, "agreement.purpose", "sharing.text"),
        ({"extra": 1}, "agreement.extra", "schema.unknown_key"),
    ],
)  # fmt: skip
def test_terms_are_checked_naming_the_field(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_terms(terms_json(**changes))
    assert (info.value.field, info.value.rule) == (field, rule)


def test_terms_round_trip() -> None:
    terms = parse_terms(terms_json(operations=["query", "query"], fields=[]))
    assert terms.operations == ("query",) and terms.fields == ()
    assert parse_terms(json.loads(json.dumps(terms.to_json()))) == terms


def agreement(**changes: Any) -> Agreement:
    return Agreement(
        id="41-000001",
        province="41",
        terms=parse_terms(terms_json(**changes)),
        state="active",
        created_at=START,
        created_by="operator",
    )


@pytest.mark.parametrize(
    ("moment", "operation", "province", "purpose", "rule"),
    [
        (START - dt.timedelta(seconds=1), "query", "44", None, "sharing.period"),
        (END, "query", "44", None, "sharing.period"),
        (START, "query", "42", None, "sharing.province"),
        (START, "query", "44", "营销", "sharing.purpose"),
    ],
)
def test_use_outside_the_agreement_is_denied(
    moment: dt.datetime, operation: str, province: str, purpose: str | None, rule: str
) -> None:
    with pytest.raises(AccessDenied) as info:
        check_use(agreement(), now=moment, operation=operation, province=province, purpose=purpose)
    assert info.value.rule == rule


def test_use_within_the_agreement_and_an_ended_one() -> None:
    check_use(agreement(), now=START, operation="query", province="44", purpose="招聘核验")
    check_use(agreement(), now=END - dt.timedelta(seconds=1), operation="status", province="43")
    with pytest.raises(AccessDenied) as info:
        check_use(agreement(operations=["status"]), now=START, operation="query", province="44")
    assert info.value.rule == "sharing.operation"
    ended = dataclasses.replace(agreement(), state="ended")
    with pytest.raises(AccessDenied) as info:
        check_use(ended, now=START, operation="query", province="44")
    assert info.value.rule == "sharing.ended"


def test_views_mask_the_personal_fields_not_granted() -> None:
    certificate = make_certificate(1, name="欧阳修文", idn="440106199001011234")
    public = certificate_view(certificate, ("holder_name",))
    assert public["holder_name"] == "欧阳修文" and public["id_number"] == "4401**********1234"
    none = certificate_view(certificate, ())
    assert none["holder_name"] == "欧***"
    full = certificate_view(certificate, ("holder_name", "id_number"))
    assert full["id_number"] == "440106199001011234"
    assert mask_id_number("A1234567") == "******67" and mask_name("") == ""
    for view in (public, none, full):
        assert view["certificate_number"] == certificate.certificate_number


def test_china_days() -> None:
    late = dt.datetime(2026, 3, 1, 15, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in Beijing
    assert china_day(late) + 1 == china_day(late + dt.timedelta(seconds=30))
    assert seconds_to_next_china_day(late) == 30


def test_traffic_flags() -> None:
    thresholds = TrafficThresholds(min_queries=10, miss_share=0.5, distinct_name_share=0.9)
    day = dt.date(2026, 3, 1)
    quiet = TrafficDay(day, queries=9, found=0, misses=9, refused=0, distinct_names=9)
    assert assess_traffic(quiet, thresholds).flags == ()
    normal = TrafficDay(day, queries=40, found=36, misses=4, refused=0, distinct_names=20)
    assert assess_traffic(normal, thresholds).flags == ()
    harvest = TrafficDay(day, queries=40, found=5, misses=35, refused=0, distinct_names=40)
    assert assess_traffic(harvest, thresholds).flags == ("harvest.misses", "harvest.distinct_names")


# -- access records --------------------------------------------------------------------------


def test_access_records_round_trip_and_chain() -> None:
    records = [access_record(i) for i in range(4)]
    for record in records:
        text = record.to_bytes()
        assert type(record).from_json(json.loads(text)) == record
        assert b"holder_name" not in text and b"id_number" not in text
    hashes = [r.record_hash() for r in records]
    heads = chain_heads(hashes)
    assert len(set(heads)) == 4 and EMPTY_HEAD not in heads
    anchored = [(0, LogHead(0, EMPTY_HEAD)), (1, LogHead(2, heads[1])), (2, LogHead(4, heads[3]))]
    assert check_heads(hashes, anchored) == []
    assert [i for i, _ in check_heads(hashes[:3], anchored)] == [2]  # the last one dropped
    assert [i for i, _ in check_heads([hashes[1], *hashes[1:]], anchored)] == [1, 2]
    lines = [json.dumps({"index": i, "record_hash": h.hex()}) for i, h in enumerate(hashes)]
    assert parse_export([*lines, ""]) == hashes
    with pytest.raises(InvalidInput) as info:
        parse_export([lines[0], lines[2]])
    assert info.value.rule == "access.export"


# -- province-to-province requests -----------------------------------------------------------


def test_signing_input_binds_every_part() -> None:
    base = ("POST", "/v1/federation/query", b"{}", "41", 1_700_000_000, "ab" * 16)
    reference = signing_input(*base)
    for i, other in enumerate(("GET", "/v1/other", b"{ }", "43", 1_700_000_001, "cd" * 16)):
        changed = list(base)
        changed[i] = other
        assert signing_input(*changed) != reference  # type: ignore[arg-type]
    assert parse_headers("41", "1700000000", "ab" * 16, "00" * 64)[1] == 1_700_000_000
    for bad in (
        (None, "1", "ab" * 16, "00" * 64),
        ("4", "1", "ab" * 16, "00" * 64),
        ("41", "x", "ab" * 16, "00" * 64),
        ("41", "1", "AB" * 16, "00" * 64),
        ("41", "1", "ab" * 16, "00" * 63),
    ):
        with pytest.raises(InvalidInput) as info:
            parse_headers(*bad)
        assert info.value.rule == "federation.headers"
    check_fresh(1000, 1059.0)
    with pytest.raises(InvalidInput) as info:
        check_fresh(1000, 1061.0)
    assert info.value.rule == "federation.stale"
