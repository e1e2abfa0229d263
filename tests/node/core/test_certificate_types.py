"""Certificate types (docs/FORMATS.md "Certificate types (format 2)"): the field rules of a
专项职业能力证书 and a 职业资格证书, the record checks of intake, and the sealed record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re

import pytest

from certreg.dev.sample import SAMPLE_EXAMINING_BODY, sample_certificate
from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.commitment import salt_certificate
from node.core.formats.entry import (
    examining_body_code_of,
    examining_body_registry_code,
    registry_code_of,
)
from node.core.rules.certnum import SpecialAbilityNumber
from node.core.rules.validation import QualificationNumber, validate_certificate
from node.core.verify import expiry_of
from node.storage.sealing import decode_record, encode_record

TODAY = dt.date(2025, 7, 1)
QUALIFICATION = re.compile(r"[0-9]{2}43[0-9]{16}")


def _special() -> Certificate:
    return sample_certificate(random.Random(1), 7, certificate_type="special_ability")


def _qualification() -> Certificate:
    return sample_certificate(random.Random(1), 7, certificate_type="vocational_qualification")


def test_special_ability_certificate_is_valid() -> None:
    number, issue_date = validate_certificate(_special(), today=TODAY)
    assert isinstance(number, SpecialAbilityNumber)
    assert number.examining_body_code == SAMPLE_EXAMINING_BODY
    assert issue_date == dt.date(2025, 6, 18)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"level": 3}, "level", "level.ungraded"),
        ({"certificate_number": "25160150010000"}, "certificate_number", "specialnum.length"),
        (
            {"certificate_number": "251601400100007"},
            "certificate_number",
            "specialnum.position_7.ability_digit",
        ),
        (
            {"certificate_number": "241601500100007"},
            "certificate_number",
            "specialnum.position_1_2.issue_year",
        ),
        (
            {"organisation_code": "16015002"},
            "organisation_code",
            "specialnum.position_3_10.examining_body",
        ),
    ],
)
def test_special_ability_rules(changes: dict[str, object], field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_certificate(dataclasses.replace(_special(), **changes), today=TODAY)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_a_skill_level_certificate_may_not_be_ungraded() -> None:
    skill = sample_certificate(random.Random(1), 7)
    with pytest.raises(InvalidInput) as caught:
        validate_certificate(dataclasses.replace(skill, level=0), today=TODAY)
    assert caught.value.rule == "level.range"


def test_qualification_number_follows_the_province_configuration() -> None:
    certificate = _qualification()
    number, _ = validate_certificate(certificate, today=TODAY, qualification_number=QUALIFICATION)
    assert number == QualificationNumber(certificate.certificate_number)
    with pytest.raises(InvalidInput) as caught:
        validate_certificate(certificate, today=TODAY)
    assert caught.value.rule == "qualnum.not_configured"
    with pytest.raises(InvalidInput) as caught:
        validate_certificate(
            certificate, today=TODAY, qualification_number=re.compile(r"[0-9]{2}44[0-9]{16}")
        )
    assert (caught.value.field, caught.value.rule) == ("certificate_number", "qualnum.format")


def test_registry_code_of_an_examining_body() -> None:
    code = examining_body_registry_code("16015001", "41")
    assert code == "S160141500100"
    assert examining_body_code_of(code) == "16015001"
    assert registry_code_of(_special(), "41") == code
    assert registry_code_of(_qualification(), "43") == "S000143011001"


@pytest.mark.parametrize(
    ("issued", "last_valid_day"),
    [("2025-06-18", "2030-06-17"), ("2024-02-29", "2029-02-28"), ("2025-01-01", "2029-12-31")],
)
def test_special_ability_expires_at_midnight_cst_of_the_anniversary(
    issued: str, last_valid_day: str
) -> None:
    expires = expiry_of("special_ability", issued)
    assert expires is not None
    cst = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime.fromtimestamp(expires, cst)
    assert moment.time() == dt.time(0, 0)
    assert (moment.date() - dt.timedelta(days=1)).isoformat() == last_valid_day
    assert expiry_of("skill_level", issued) is None
    assert expiry_of("vocational_qualification", issued) is None


def test_sealed_record_keeps_the_type() -> None:
    salted = salt_certificate(_special(), random.Random(3).randbytes)
    assert len(salted.fields) == 13
    data = encode_record(salted)
    assert data[:1] == b"\x03"
    assert decode_record(data) == salted
    skill = salt_certificate(sample_certificate(random.Random(1), 7), random.Random(3).randbytes)
    assert encode_record(skill)[:1] == b"\x02"
    assert decode_record(encode_record(skill)) == skill
