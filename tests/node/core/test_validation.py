"""validate_certificate: every field rule of docs/FORMATS.md, refused with its field and rule."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.rules.idnumber import resident_id_check_character
from node.core.rules.validation import level_label, parse_issue_date, validate_certificate

TODAY = datetime.date(2025, 6, 1)

VALID = Certificate(
    holder_name="张三",
    id_type="resident_id",
    id_number="11010519491231002X",
    occupation_name="车工",
    occupation_code="6-18-01-01",
    work_type_name="数控车床",
    work_type_code="6-18-01-01-02",
    level=5,
    certificate_number="S000144002009255000001",
    issue_date="2025-03-14",
    organisation_name="广东省某技工学校职业技能等级认定中心",
    organisation_code="S000144002009",
)


def refused(cert: Certificate, today: datetime.date | None = TODAY) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        validate_certificate(cert, today=today)
    return caught.value


def test_valid_certificate() -> None:
    validate_certificate(VALID, today=TODAY)
    validate_certificate(VALID)


def test_no_work_type() -> None:
    validate_certificate(dataclasses.replace(VALID, work_type_name="--", work_type_code="--"))


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        # holder_name
        ({"holder_name": ""}, "holder_name", "holder_name.empty"),
        ({"holder_name": "   "}, "holder_name", "holder_name.empty"),
        ({"holder_name": "张" * 51}, "holder_name", "holder_name.length"),
        ({"holder_name": "张\x00三"}, "holder_name", "holder_name.control_character"),
        ({"holder_name": "张\n三"}, "holder_name", "holder_name.control_character"),
        ({"holder_name": "张\u200b三"}, "holder_name", "holder_name.control_character"),
        ({"holder_name": "张\u2028三"}, "holder_name", "holder_name.control_character"),
        ({"holder_name": " 张三"}, "holder_name", "holder_name.whitespace"),
        ({"holder_name": "张三 "}, "holder_name", "holder_name.whitespace"),
        ({"holder_name": 7}, "holder_name", "schema.type"),
        # id_type, id_number
        ({"id_type": "id_card"}, "id_type", "id_type.known"),
        ({"id_number": "11010519491231002x"}, "id_number", "id_number.resident_id.format"),
        ({"id_number": "11010519491231003X"}, "id_number", "id_number.resident_id.check_character"),
        ({"id_type": "passport"}, "id_number", "id_number.passport.format"),
        # occupation
        ({"occupation_name": ""}, "occupation_name", "occupation_name.empty"),
        ({"occupation_name": "车\t工"}, "occupation_name", "occupation_name.control_character"),
        ({"occupation_name": "车工 "}, "occupation_name", "occupation_name.whitespace"),
        ({"occupation_code": "6-18-01"}, "occupation_code", "occupation_code.format"),
        ({"occupation_code": "6-18-1-01"}, "occupation_code", "occupation_code.format"),
        ({"occupation_code": "6-18-01-01-02"}, "occupation_code", "occupation_code.format"),
        ({"occupation_code": "6-18-01-0１"}, "occupation_code", "occupation_code.format"),
        ({"occupation_code": "--"}, "occupation_code", "occupation_code.format"),
        (
            {"occupation_code": "2-02-10-01", "work_type_code": "2-02-10-01-02"},
            "occupation_code",
            "occupation_code.major_category",
        ),
        ({"occupation_code": "7-01-01-01"}, "occupation_code", "occupation_code.major_category"),
        ({"occupation_code": "1-01-01-01"}, "occupation_code", "occupation_code.major_category"),
        # work type
        ({"work_type_name": ""}, "work_type_name", "work_type_name.empty"),
        ({"work_type_code": ""}, "work_type_code", "work_type_code.format"),
        ({"work_type_code": "6-18-01-01"}, "work_type_code", "work_type_code.format"),
        ({"work_type_code": "6-18-01-01-2"}, "work_type_code", "work_type_code.format"),
        ({"work_type_code": "-"}, "work_type_code", "work_type_code.format"),
        (
            {"work_type_code": "6-18-01-02-02"},
            "work_type_code",
            "work_type_code.extends_occupation",
        ),
        ({"work_type_code": "--"}, "work_type_name", "work_type_name.matches_code"),
        ({"work_type_name": "--"}, "work_type_name", "work_type_name.matches_code"),
        # level
        ({"level": 0}, "level", "level.range"),
        ({"level": 6}, "level", "level.range"),
        ({"level": True}, "level", "level.range"),
        ({"level": "5"}, "level", "level.range"),
        # certificate number
        ({"certificate_number": ""}, "certificate_number", "certnum.length"),
        (
            {"certificate_number": "s000144002009255000001"},
            "certificate_number",
            "certnum.position_1.class",
        ),
        (
            {"certificate_number": "S000144002009250000001"},
            "certificate_number",
            "certnum.position_16.level",
        ),
        (
            {"certificate_number": "S000144992009255000001"},
            "certificate_number",
            "certnum.position_8_9.guangdong_city",
        ),
        (
            {"certificate_number": "S000144002009254000001"},
            "certificate_number",
            "certnum.position_16.matches_level",
        ),
        (
            {"certificate_number": "S000144002009245000001"},
            "certificate_number",
            "certnum.position_14_15.issue_year",
        ),
        (
            {"certificate_number": "S000144002008255000001"},
            "certificate_number",
            "certnum.position_1_13.matches_organisation_code",
        ),
        # issue date
        ({"issue_date": "2025-3-14"}, "issue_date", "issue_date.format"),
        ({"issue_date": "20250314"}, "issue_date", "issue_date.format"),
        ({"issue_date": "2025-02-29"}, "issue_date", "issue_date.format"),
        ({"issue_date": "2025-13-01"}, "issue_date", "issue_date.format"),
        ({"issue_date": "2025-03-14T00:00"}, "issue_date", "issue_date.format"),
        ({"issue_date": "２025-03-14"}, "issue_date", "issue_date.format"),
        ({"issue_date": "2025-06-02"}, "issue_date", "issue_date.future"),
        # organisation
        ({"organisation_name": ""}, "organisation_name", "organisation_name.empty"),
        (
            {"organisation_name": "某\x7f中心"},
            "organisation_name",
            "organisation_name.control_character",
        ),
        ({"organisation_code": "S00014400200"}, "organisation_code", "organisation_code.length"),
        (
            {"organisation_code": "S000199002009"},
            "organisation_code",
            "certnum.position_6_7.province",
        ),
        (
            {"organisation_code": "S000144992009"},
            "organisation_code",
            "certnum.position_8_9.guangdong_city",
        ),
    ],
)
def test_rule(changes: dict[str, Any], field: str, rule: str) -> None:
    error = refused(dataclasses.replace(VALID, **changes))
    assert (error.field, error.rule) == (field, rule)


def test_future_checks_need_today() -> None:
    future = dataclasses.replace(VALID, issue_date="2025-06-02")
    validate_certificate(future)  # no clock is read
    validate_certificate(future, today=datetime.date(2025, 6, 2))
    assert refused(future, today=TODAY).rule == "issue_date.future"


def test_birth_date_after_today_is_refused() -> None:
    first17 = "11010520250602001"
    cert = dataclasses.replace(VALID, id_number=first17 + resident_id_check_character(first17))
    validate_certificate(cert)
    assert refused(cert, today=TODAY).rule == "id_number.resident_id.birth_date_range"


def test_holder_name_limits() -> None:
    validate_certificate(dataclasses.replace(VALID, holder_name="张" * 50))
    validate_certificate(dataclasses.replace(VALID, holder_name="阿依古丽·买买提"))
    validate_certificate(dataclasses.replace(VALID, holder_name="John Smith"))
    validate_certificate(dataclasses.replace(VALID, holder_name="\ue000"))  # private use 生僻字


def test_messages_never_contain_personal_data() -> None:
    name = "王小明明"
    number = "11010519491231003X"
    for cert in (
        dataclasses.replace(VALID, holder_name=name + " "),
        dataclasses.replace(VALID, holder_name=name, id_number=number),
        dataclasses.replace(VALID, holder_name=name, id_type="passport", id_number="x" + number),
    ):
        text = str(refused(cert))
        assert name not in text
        assert number not in text
        assert "1101051949" not in text


def test_hong_kong_holder() -> None:
    validate_certificate(
        dataclasses.replace(VALID, id_type="hk_macao_permit", id_number="H12345678")
    )


def test_henan_certificate() -> None:
    validate_certificate(
        dataclasses.replace(
            VALID,
            certificate_number="Y000041009001243000042",
            organisation_code="Y000041009001",
            level=3,
            issue_date="2024-12-31",
        )
    )


@pytest.mark.parametrize(
    ("level", "label"),
    [
        (1, "一级/高级技师"),
        (2, "二级/技师"),
        (3, "三级/高级工"),
        (4, "四级/中级工"),
        (5, "五级/初级工"),
    ],
)
def test_level_label(level: int, label: str) -> None:
    assert level_label(level) == label


@pytest.mark.parametrize("level", [0, 6, -1, True])
def test_level_label_refuses(level: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        level_label(level)
    assert (caught.value.field, caught.value.rule) == ("level", "level.range")


def test_parse_issue_date() -> None:
    assert parse_issue_date("2024-02-29") == datetime.date(2024, 2, 29)
    with pytest.raises(InvalidInput) as caught:
        parse_issue_date("2023-02-29")
    assert caught.value.rule == "issue_date.format"


@st.composite
def certificates(draw: st.DrawFn) -> Certificate:
    """Valid certificates with consistent codes, number, level and dates."""
    major = draw(st.sampled_from("3456"))
    parts = draw(st.lists(st.integers(0, 99), min_size=3, max_size=3))
    occupation = major + "".join(f"-{p:02d}" for p in parts)
    work_type = draw(
        st.one_of(st.just("--"), st.integers(0, 99).map(lambda n: f"{occupation}-{n:02d}"))
    )
    level = draw(st.integers(1, 5))
    issued = draw(st.dates(datetime.date(2019, 1, 1), TODAY))
    cls = draw(st.sampled_from("YS"))
    organisation = cls + "0000" + "41" + draw(st.sampled_from(["000001", "120001", "280123"]))
    serial = draw(st.integers(1, 999_999))
    born = draw(st.dates(datetime.date(1950, 1, 1), datetime.date(2008, 12, 31)))
    first17 = f"440304{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return Certificate(
        holder_name=draw(st.text(alphabet="张王李赵明华·", min_size=1, max_size=50)).strip("·")
        or "李",
        id_type="resident_id",
        id_number=first17 + resident_id_check_character(first17),
        occupation_name="某职业",
        occupation_code=occupation,
        work_type_name="--" if work_type == "--" else "某工种",
        work_type_code=work_type,
        level=level,
        certificate_number=f"{organisation}{issued.year % 100:02d}{level}{serial:06d}",
        issue_date=issued.isoformat(),
        organisation_name="某评价机构",
        organisation_code=organisation,
    )


@given(certificates())
def test_generated_certificates_are_valid(cert: Certificate) -> None:
    validate_certificate(cert, today=TODAY)


@given(certificates(), st.integers(1, 5))
def test_level_must_match_the_number(cert: Certificate, level: int) -> None:
    changed = dataclasses.replace(cert, level=level)
    if level == cert.level:
        validate_certificate(changed)
    else:
        assert refused(changed).rule == "certnum.position_16.matches_level"


@pytest.mark.parametrize(
    "field", ["holder_name", "occupation_name", "work_type_name", "organisation_name"]
)
@pytest.mark.parametrize(
    ("value", "check"),
    [
        ("", "empty"),
        ("\u3000", "empty"),
        ("a\x1fb", "control_character"),
        ("ab ", "whitespace"),
        ("\u3000ab", "whitespace"),
    ],
)
def test_text_field_rules(field: str, value: str, check: str) -> None:
    changes: dict[str, Any] = {field: value}
    error = refused(dataclasses.replace(VALID, **changes))
    assert (error.field, error.rule) == (field, f"{field}.{check}")
