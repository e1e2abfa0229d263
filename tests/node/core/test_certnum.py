"""Certificate numbers: national rule, provincial refinements, special ability numbers."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from node.core.errors import InvalidInput
from node.core.rules.certnum import (
    SITE_REFINEMENTS,
    CertificateNumber,
    GuangdongSite,
    HenanSite,
    SiteRefinement,
    check_issuer,
    check_level,
    check_year,
    parse_certificate_number,
    parse_guangdong_site,
    parse_henan_site,
    parse_organisation_code,
    parse_special_ability_number,
)
from node.core.rules.codes import (
    GUANGDONG_CATEGORIES,
    GUANGDONG_CITIES,
    HENAN_CITIES,
    PROVINCE_GUANGDONG,
    PROVINCE_HENAN,
    PROVINCES,
    PROVINCES_EN,
)

FORMATS_EXAMPLE = "S000144002009255000001"


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


classes = st.sampled_from("YS")
tails = st.tuples(st.integers(0, 99), st.integers(1, 5), st.integers(1, 999_999)).map(
    lambda t: f"{t[0]:02d}{t[1]}{t[2]:06d}"
)


@st.composite
def plain_numbers(draw: st.DrawFn) -> str:
    """Valid numbers of provinces without a refinement."""
    province = draw(st.sampled_from(sorted(set(PROVINCES) - {PROVINCE_GUANGDONG, PROVINCE_HENAN})))
    return draw(classes) + draw(digits(4)) + province + draw(digits(6)) + draw(tails)


@st.composite
def guangdong_numbers(draw: st.DrawFn) -> str:
    cls = draw(classes)
    city = draw(st.sampled_from(sorted(GUANGDONG_CITIES)))
    category = draw(st.sampled_from(sorted(GUANGDONG_CATEGORIES[cls])))
    site = city + category + draw(digits(3))
    return cls + draw(digits(4)) + "44" + site + draw(tails)


@st.composite
def henan_numbers(draw: st.DrawFn) -> str:
    cls = draw(classes)
    city = draw(st.sampled_from(sorted(HENAN_CITIES)))
    first = draw(st.sampled_from("0123456789" if cls == "Y" else "012345678"))
    site = city + first + draw(digits(3))
    return cls + draw(digits(4)) + "41" + site + draw(tails)


valid_numbers = st.one_of(plain_numbers(), guangdong_numbers(), henan_numbers())


def refused(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_certificate_number(text)
    assert caught.value.field == "certificate_number"
    return caught.value


# -- round trips ------------------------------------------------------------------------------


@given(plain_numbers())
def test_national_round_trip(text: str) -> None:
    number = parse_certificate_number(text)
    assert number.format() == text
    assert number.refinement is None
    assert number.organisation_code == text[:13]
    assert number.site_sequence == text[7:13]


@given(guangdong_numbers())
def test_guangdong_round_trip(text: str) -> None:
    number = parse_certificate_number(text)
    assert number.format() == text
    assert isinstance(number.refinement, GuangdongSite)
    assert number.refinement.format() == text[7:13]
    assert number.refinement.city_name == GUANGDONG_CITIES[text[7:9]]


@given(henan_numbers())
def test_henan_round_trip(text: str) -> None:
    number = parse_certificate_number(text)
    assert number.format() == text
    assert isinstance(number.refinement, HenanSite)
    assert number.refinement.format() == text[7:13]
    assert number.refinement.technical_school == (text[9] == "9")


@given(valid_numbers)
def test_parts_match_positions(text: str) -> None:
    number = parse_certificate_number(text)
    assert number.class_code == text[0]
    assert number.ministry_code == text[1:5]
    assert number.province == text[5:7]
    assert number.year == int(text[13:15])
    assert number.level == int(text[15])
    assert number.serial == int(text[16:22])
    assert number.filed_with_province == (text[1:5] == "0000")
    assert number.organisation.format() == text[:13]
    assert parse_organisation_code(text[:13]) == number.organisation


@given(st.text(max_size=30))
def test_arbitrary_text_is_parsed_or_refused_with_invalid_input(text: str) -> None:
    try:
        number = parse_certificate_number(text)
    except InvalidInput as exc:
        assert exc.field == "certificate_number"
        assert exc.rule.startswith("certnum.")
    else:
        assert number.format() == text


@given(valid_numbers, st.integers(0, 21), st.characters())
def test_any_change_is_refused_or_changes_the_parse(text: str, i: int, c: str) -> None:
    changed = text[:i] + c + text[i + 1 :]
    assume(changed != text)
    try:
        number = parse_certificate_number(changed)
    except InvalidInput:
        return
    assert number.format() == changed
    assert number != parse_certificate_number(text)


def test_formats_example() -> None:
    number = parse_certificate_number(FORMATS_EXAMPLE)
    assert number == CertificateNumber(
        class_code="S",
        ministry_code="0001",
        province="44",
        site_sequence="002009",
        year=25,
        level=5,
        serial=1,
        refinement=GuangdongSite("00", "广东省省本级", "2", "技工院校", "009"),
    )
    assert number.organisation_code == "S000144002009"


def test_certificate_number_is_frozen() -> None:
    number = parse_certificate_number(FORMATS_EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.level = 4  # type: ignore[misc]


# -- every rule, with the position in the message ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule", "words"),
    [
        ("S00014400200925500000", "certnum.length", "22 characters"),
        ("s000144002009255000001", "certnum.position_1.class", "position 1"),
        ("S00A144002009255000001", "certnum.position_2_5.organisation", "positions 2-5"),
        ("S000168002009255000001", "certnum.position_6_7.province", "positions 6-7"),
        ("S0001110020A9255000001", "certnum.position_8_13.site_sequence", "positions 8-13"),
        ("S000144992009255000001", "certnum.position_8_9.guangdong_city", "positions 8-9"),
        ("S000144006009255000001", "certnum.position_10.guangdong_category", "position 10"),
        ("Y000141300001255000001", "certnum.position_8_9.henan_city", "positions 8-9"),
        ("S000144002009AB5000001", "certnum.position_14_15.year", "positions 14-15"),
        ("S000144002009250000001", "certnum.position_16.level", "position 16"),
        ("S000144002009256000001", "certnum.position_16.level", "position 16"),
        ("S000144002009255000000", "certnum.position_17_22.serial", "positions 17-22"),
        ("S00014400200925500000Z", "certnum.position_17_22.serial", "positions 17-22"),
    ],
)
def test_rule(text: str, rule: str, words: str) -> None:
    error = refused(text)
    assert error.rule == rule
    assert words in error.message


def test_level_message_is_exact() -> None:
    assert refused("S000144002009250000001").message == "position 16 must be a skill level 1-5"


@given(valid_numbers, st.integers(0, 40).filter(lambda n: n != 22))
def test_wrong_length_is_refused_first(text: str, n: int) -> None:
    wrong = (text * 2)[:n]
    assert refused(wrong).rule == "certnum.length"


@given(valid_numbers, st.characters().filter(lambda c: c not in "YS"))
def test_position_1_only_y_or_s(text: str, c: str) -> None:
    assert refused(c + text[1:]).rule == "certnum.position_1.class"


@given(valid_numbers, st.characters().filter(lambda c: c not in "12345"))
def test_position_16_only_levels(text: str, c: str) -> None:
    assert refused(text[:15] + c + text[16:]).rule == "certnum.position_16.level"


@given(valid_numbers, st.sampled_from(["１", "٣", "²", "a", " "]), st.integers(1, 21))
def test_non_ascii_digits_are_refused(text: str, c: str, i: int) -> None:
    refused(text[:i] + c + text[i + 1 :])


def test_first_broken_rule_is_reported() -> None:
    # Bad class (1), bad level (16) and serial 000000: position 1 wins.
    assert refused("s000144002009250000000").rule == "certnum.position_1.class"
    # Bad Guangdong city and bad level: the refinement of 8-13 comes before position 16.
    assert refused("S000144992009250000001").rule == "certnum.position_8_9.guangdong_city"


# -- refinements ------------------------------------------------------------------------------


def test_guangdong_published_examples() -> None:
    # 粤人社办〔2020〕39号 annex 4 §三 (seed 003).
    one = parse_certificate_number("Y000144001005205000001").refinement
    assert one == GuangdongSite("00", "广东省省本级", "1", "国有企业", "005")
    three = parse_certificate_number("Y000044032006205000001").refinement
    assert three == GuangdongSite("03", "深圳市", "2", "非国有企业", "006")
    # Example 4 as printed has province 11 (a source typo): national rule only.
    assert parse_certificate_number("S000011033002205000001").refinement is None
    # Corrected to 44 it reads as an industry association in 深圳.
    four = parse_certificate_number("S000044033002205000001").refinement
    assert four == GuangdongSite("03", "深圳市", "3", "行业协会（学会）", "002")


@pytest.mark.parametrize(("cls", "category"), [("Y", "4"), ("Y", "0"), ("S", "5"), ("S", "9")])
def test_guangdong_category_depends_on_class(cls: str, category: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_guangdong_site(cls, "00" + category + "001")
    assert caught.value.rule == "certnum.position_10.guangdong_category"
    assert caught.value.field == "certificate_number"


def test_henan_technical_school() -> None:
    site = parse_henan_site("Y", "009001")
    assert site == HenanSite("00", "省直", "9001", True)
    assert parse_henan_site("S", "008001").technical_school is False
    # 豫职鉴〔2021〕1号 §一(三)2 reserves 9 for class Y technical schools and says nothing of
    # class S: a class S number with 9 there is accepted, and is not a school's.
    assert parse_henan_site("S", "009001") == HenanSite("00", "省直", "9001", False)


def test_henan_city_table_edges() -> None:
    assert parse_henan_site("Y", "280001").city_name == "新蔡县"
    with pytest.raises(InvalidInput) as caught:
        parse_henan_site("Y", "290001")
    assert caught.value.rule == "certnum.position_8_9.henan_city"


def test_refinements_are_pluggable() -> None:
    # Without the registry, Guangdong's city table does not apply.
    number = parse_certificate_number("S000144992009255000001", refinements={})
    assert number.refinement is None

    @dataclasses.dataclass(frozen=True)
    class BeijingSite:
        district: str
        rest: str

        @property
        def scheme(self) -> str:
            return "beijing-test"

        def format(self) -> str:
            return self.district + self.rest

        def as_dict(self) -> dict[str, str | bool]:
            return {"scheme": self.scheme, "district": self.district, "rest": self.rest}

    def parse_beijing(class_code: str, site: str, field: str) -> SiteRefinement:
        if site[:2] == "99":
            raise InvalidInput(field, "certnum.position_8_9.beijing_district", "bad district")
        return BeijingSite(site[:2], site[2:])

    registry = {**SITE_REFINEMENTS, "11": parse_beijing}
    number = parse_certificate_number("S000011010001255000001", refinements=registry)
    assert number.refinement == BeijingSite("01", "0001")
    assert number.as_dict()["refinement"] == {
        "scheme": "beijing-test",
        "district": "01",
        "rest": "0001",
    }
    with pytest.raises(InvalidInput) as caught:
        parse_certificate_number("S000011990001255000001", refinements=registry)
    assert caught.value.rule == "certnum.position_8_9.beijing_district"
    # The default registry is read-only.
    with pytest.raises(TypeError):
        SITE_REFINEMENTS["11"] = parse_beijing  # type: ignore[index]


def test_province_14_is_shanxi() -> None:
    # Henan's table 4 (seed 001) prints 14 as 陕西省; it is 山西省.
    assert PROVINCES["14"] == "山西省"
    assert PROVINCES["61"] == "陕西省"
    # Every province has an English name too (the page shows provinces by name).
    assert list(PROVINCES_EN) == list(PROVINCES)
    assert (PROVINCES_EN["14"], PROVINCES_EN["61"]) == ("Shanxi", "Shaanxi")
    assert parse_certificate_number("S000114000001255000001").province == "14"


# -- organisation code ------------------------------------------------------------------------


def test_organisation_code() -> None:
    code = parse_organisation_code("S000144002009")
    assert code.format() == "S000144002009"
    assert not code.filed_with_province
    assert code.as_dict()["refinement"] == {
        "scheme": "guangdong",
        "city": "00",
        "city_name": "广东省省本级",
        "category": "2",
        "category_name": "技工院校",
        "sequence": "009",
    }
    assert parse_organisation_code("Y000041120001").filed_with_province


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("S00014400200", "organisation_code.length"),
        ("S0001440020091", "organisation_code.length"),
        ("", "organisation_code.length"),
        ("y000144001005", "certnum.position_1.class"),
        ("S0x0144002009", "certnum.position_2_5.organisation"),
        ("S000190002009", "certnum.position_6_7.province"),
        ("S00014400200x", "certnum.position_8_13.site_sequence"),
        ("S000144602009", "certnum.position_8_9.guangdong_city"),
        ("Y000144004009", "certnum.position_10.guangdong_category"),
        ("Y000141400001", "certnum.position_8_9.henan_city"),
    ],
)
def test_organisation_code_rules(text: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_organisation_code(text)
    assert caught.value.field == "organisation_code"
    assert caught.value.rule == rule


# -- special ability numbers ------------------------------------------------------------------


special_numbers = st.tuples(st.integers(0, 99), digits(4), digits(3), st.integers(1, 99_999)).map(
    lambda t: f"{t[0]:02d}{t[1]}5{t[2]}{t[3]:05d}"
)


@given(special_numbers)
def test_special_ability_round_trip(text: str) -> None:
    number = parse_special_ability_number(text)
    assert number.format() == text
    assert number.examining_body_code == text[2:10]
    assert number.year == int(text[:2])


def test_special_ability_example() -> None:
    # seed 001: 郑州 appraisal centre 16015000, its examining bodies 16015xxx.
    number = parse_special_ability_number("241601500100001")
    assert (number.year, number.area, number.body_serial, number.serial) == (24, "1601", "001", 1)
    assert number.examining_body_code == "16015001"
    assert number.as_dict() == {
        "year": 24,
        "examining_body_code": "16015001",
        "area": "1601",
        "body_serial": "001",
        "serial": 1,
    }


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("24160150010000", "specialnum.length"),
        ("2416015001000011", "specialnum.length"),
        ("24160150010000A", "specialnum.digits"),
        ("2416015001000０1", "specialnum.digits"),
        ("241601600100001", "specialnum.position_7.ability_digit"),
        ("241601500100000", "specialnum.position_11_15.serial"),
    ],
)
def test_special_ability_rules(text: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_special_ability_number(text)
    assert caught.value.field == "certificate_number"
    assert caught.value.rule == rule


# -- consistency with other fields ------------------------------------------------------------


def test_check_year() -> None:
    number = parse_certificate_number(FORMATS_EXAMPLE)
    check_year(number, datetime.date(2025, 3, 14))
    check_year(number, datetime.date(2125, 1, 1))  # two digits only
    with pytest.raises(InvalidInput) as caught:
        check_year(number, datetime.date(2024, 12, 31))
    assert caught.value.field == "certificate_number"
    assert caught.value.rule == "certnum.position_14_15.issue_year"


def test_check_year_special_ability() -> None:
    number = parse_special_ability_number("241601500100001")
    check_year(number, datetime.date(2024, 5, 1))
    with pytest.raises(InvalidInput) as caught:
        check_year(number, datetime.date(2025, 5, 1))
    assert caught.value.rule == "specialnum.position_1_2.issue_year"


def test_check_level() -> None:
    number = parse_certificate_number(FORMATS_EXAMPLE)
    check_level(number, 5)
    with pytest.raises(InvalidInput) as caught:
        check_level(number, 4)
    assert caught.value.field == "certificate_number"
    assert caught.value.rule == "certnum.position_16.matches_level"


def test_check_issuer() -> None:
    number = parse_certificate_number(FORMATS_EXAMPLE)
    check_issuer(number, "S000144002009")
    check_issuer(number, "S000144002009", "44")
    with pytest.raises(InvalidInput) as caught:
        check_issuer(number, "S000144002008")
    assert caught.value.rule == "certnum.position_1_13.matches_organisation_code"
    with pytest.raises(InvalidInput) as caught:
        check_issuer(number, "S000144002009", "41")
    assert caught.value.field == "certificate_number"
    assert caught.value.rule == "certnum.position_6_7.matches_province"
