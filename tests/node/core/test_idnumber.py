"""ID numbers: GB 11643 check character, per-type formats, no personal data in messages."""

from __future__ import annotations

import ast
import datetime
import inspect

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import node.core.rules.idnumber
from node.core.errors import InvalidInput
from node.core.rules.codes import HMT_RESIDENCE_AREAS, ID_TYPES, RESIDENT_ID_PROVINCES
from node.core.rules.idnumber import resident_id_check_character, validate_id_number

# GB 11643-1999 §8.2, written out independently of the implementation: weights 2^(17-i) mod 11
# and the check character table for sum mod 11 = 0..10.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = {0: "1", 1: "0", 2: "X", 3: "9", 4: "8", 5: "7", 6: "6", 7: "5", 8: "4", 9: "3", 10: "2"}


MESSAGE_CONSTANTS = {
    n.value
    for n in ast.walk(ast.parse(inspect.getsource(node.core.rules.idnumber)))
    if isinstance(n, ast.Constant) and isinstance(n.value, str)
}


def reference_check(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def refused(id_type: str, number: str, today: datetime.date | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_id_number(id_type, number, today=today)
    return caught.value


@st.composite
def resident_first17(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(RESIDENT_ID_PROVINCES)))
    rest_of_area = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    born = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)))
    sequence = draw(st.integers(0, 999))
    return f"{province}{rest_of_area}{born:%Y%m%d}{sequence:03d}"


resident_ids = resident_first17().map(lambda f: f + reference_check(f))


# -- the check character ----------------------------------------------------------------------


def test_gb11643_worked_example() -> None:
    assert resident_id_check_character("11010519491231002") == "X"
    validate_id_number("resident_id", "11010519491231002X")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_matches_reference(first17: str) -> None:
    assert resident_id_check_character(first17) == reference_check(first17)


@pytest.mark.parametrize("bad", ["", "1101051949123100", "110105194912310021", "1101051949123100X"])
def test_check_character_needs_17_digits(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resident_id_check_character(bad)
    assert caught.value.rule == "id_number.resident_id.format"


@given(resident_ids)
def test_generated_resident_ids_are_valid(number: str) -> None:
    validate_id_number("resident_id", number)


@given(resident_ids, st.integers(0, 16), st.characters())
def test_any_single_change_in_first_17_is_caught(number: str, i: int, c: str) -> None:
    assume(c != number[i])
    changed = number[:i] + c + number[i + 1 :]
    error = refused("resident_id", changed)
    assert error.field == "id_number"
    if c in "0123456789" and error.rule not in {
        "id_number.resident_id.area",
        "id_number.resident_id.birth_date",
        "id_number.resident_id.birth_date_range",
    }:
        assert error.rule == "id_number.resident_id.check_character"


@given(resident_ids, st.integers(0, 15))
def test_adjacent_transpositions_are_caught(number: str, i: int) -> None:
    assume(number[i] != number[i + 1])
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    refused("resident_id", swapped)


@given(resident_ids, st.sampled_from("0123456789X"))
def test_any_other_check_character_is_caught(number: str, c: str) -> None:
    assume(c != number[17])
    assert refused("resident_id", number[:17] + c).rule == "id_number.resident_id.check_character"


# -- resident ID rules ------------------------------------------------------------------------


def rid(first17: str) -> str:
    return first17 + reference_check(first17)


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("110105491231002", "length"),
        ("11010519491231002x", "format"),
        ("1101051949123100A2", "format"),
        ("1101051949123100２X", "format"),
        (rid("66010119900101001"), "area"),
        (rid("71010119900101001"), "area"),
        (rid("82000019900101001"), "area"),
        (rid("00010119900101001"), "area"),
        (rid("11010519990229001"), "birth_date"),
        (rid("11010519901232001"), "birth_date"),
        (rid("11010518991231001"), "birth_date_range"),
        ("11010519491231003X", "check_character"),
    ],
)
def test_resident_id_rules(number: str, rule: str) -> None:
    error = refused("resident_id", number)
    assert error.field == "id_number"
    assert error.rule == f"id_number.resident_id.{rule}"


def test_birth_date_not_after_today() -> None:
    number = rid("11010520250601001")
    validate_id_number("resident_id", number)
    validate_id_number("resident_id", number, today=datetime.date(2025, 6, 1))
    error = refused("resident_id", number, today=datetime.date(2025, 5, 31))
    assert error.rule == "id_number.resident_id.birth_date_range"


def test_leap_days() -> None:
    validate_id_number("resident_id", rid("11010520000229001"))
    assert refused("resident_id", rid("11010519000229001")).rule == (
        "id_number.resident_id.birth_date"
    )


# -- other ID types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("passport", "E12345678"),
        ("passport", "G12345678"),
        ("passport", "EA1234567"),
        ("passport", "123456789"),
        ("passport", "AB123"),
        ("passport", "A" * 17),
        ("hk_macao_permit", "H12345678"),
        ("hk_macao_permit", "M1234567890"),
        ("taiwan_permit", "12345678"),
        ("taiwan_permit", "1234567890"),
        ("hmt_residence_permit", rid("81000019900101001")),
        ("hmt_residence_permit", rid("82000019900101001")),
        ("hmt_residence_permit", rid("83000019900101001")),
        ("foreign_permanent_residence", "USA110075061512"),
        ("foreign_permanent_residence", rid("91184019750615001")),
    ],
)
def test_valid_other_types(id_type: str, number: str) -> None:
    validate_id_number(id_type, number)


@pytest.mark.parametrize(
    ("id_type", "number", "rule"),
    [
        ("passport", "", "format"),
        ("passport", "E123", "format"),
        ("passport", "A" * 18, "format"),
        ("passport", "e12345678", "format"),
        ("passport", "E1234567 ", "format"),
        ("hk_macao_permit", "H123456789", "format"),
        ("hk_macao_permit", "A12345678", "format"),
        ("hk_macao_permit", "H１2345678", "format"),
        ("taiwan_permit", "123456789", "format"),
        ("taiwan_permit", "1234567X", "format"),
        ("hmt_residence_permit", "81000019900101001", "length"),
        ("hmt_residence_permit", "81000019900101001a", "format"),
        ("hmt_residence_permit", rid("11010519900101001"), "area"),
        ("hmt_residence_permit", rid("81010019900101001"), "area"),
        ("hmt_residence_permit", rid("81000019900230001"), "birth_date"),
        ("hmt_residence_permit", "810000189912310010", "birth_date_range"),
        ("foreign_permanent_residence", "USA11007506151", "length"),
        ("foreign_permanent_residence", "Usa110075061512", "format"),
        ("foreign_permanent_residence", "USA11007506151A", "format"),
        ("foreign_permanent_residence", rid("81184019750615001"), "area"),
        ("foreign_permanent_residence", rid("90084019750615001"), "area"),
        ("foreign_permanent_residence", rid("91184019750015001"), "birth_date"),
    ],
)
def test_invalid_other_types(id_type: str, number: str, rule: str) -> None:
    error = refused(id_type, number)
    assert error.field == "id_number"
    assert error.rule == f"id_number.{id_type}.{rule}"


@given(st.sampled_from(sorted(HMT_RESIDENCE_AREAS)), resident_first17())
def test_hmt_residence_permit_check_character(area: str, first17: str) -> None:
    first17 = area + first17[6:]
    validate_id_number("hmt_residence_permit", first17 + reference_check(first17))
    wrong = "0" if reference_check(first17) != "0" else "1"
    assert refused("hmt_residence_permit", first17 + wrong).rule == (
        "id_number.hmt_residence_permit.check_character"
    )


def test_foreign_permanent_residence_check_character() -> None:
    good = rid("91184019750615001")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    assert refused("foreign_permanent_residence", wrong).rule == (
        "id_number.foreign_permanent_residence.check_character"
    )


@pytest.mark.parametrize("id_type", ["", "id_card", "RESIDENT_ID", "居民身份证", "passport "])
def test_unknown_id_type(id_type: str) -> None:
    error = refused(id_type, "11010519491231002X")
    assert error.field == "id_type"
    assert error.rule == "id_type.known"


def test_id_types_have_labels() -> None:
    assert ID_TYPES["resident_id"] == "居民身份证"
    assert set(ID_TYPES) == {
        "resident_id",
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
        "hmt_residence_permit",
        "foreign_permanent_residence",
    }


# -- personal data ----------------------------------------------------------------------------


@given(
    st.sampled_from(sorted(ID_TYPES)),
    st.one_of(
        resident_ids,
        st.text(alphabet="0123456789XxHMEGABC -", max_size=20),
        st.text(max_size=20),
    ),
    st.integers(0, 17),
    st.characters(),
)
def test_messages_never_contain_the_number(id_type: str, base: str, i: int, c: str) -> None:
    number = base[:i] + c + base[i + 1 :]
    try:
        validate_id_number(id_type, number, today=datetime.date(2025, 6, 1))
    except InvalidInput as error:
        # Messages are constant strings of node/core/rules/idnumber.py, never built from the number.
        assert error.message in MESSAGE_CONSTANTS
        if len(number) >= 6:
            assert number not in str(error)
