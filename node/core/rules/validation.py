"""The field rules of a certificate (docs/FORMATS.md "Certificate fields", docs/DOMAIN.md).

:func:`validate_certificate` checks each field on its own, in the canonical field order
(:data:`node.core.certificate.FIELD_NAMES`), then the rules that tie fields together (work type
under its occupation, certificate number against level, issue date and organisation code). The first
broken rule is raised as :class:`~node.core.errors.InvalidInput` naming the field and the rule.

Pure: no I/O and no clock; "today" comes in as an argument.

Rule ids of this module:

- ``schema.type``: a field has the wrong Python type;
- ``<field>.empty``, ``<field>.whitespace``, ``<field>.control_character`` for the free-text
  fields (holder, occupation, work type and organisation names), ``holder_name.length``;
- ``id_type.known`` and ``id_number.<id_type>.<check>`` (see :mod:`node.core.rules.idnumber`);
- ``occupation_code.format``, ``occupation_code.major_category``;
- ``work_type_code.format``, ``work_type_code.extends_occupation``,
  ``work_type_name.matches_code``;
- ``level.range``;
- the ``certnum.*`` rules of :mod:`node.core.rules.certnum` for ``certificate_number`` and
  ``organisation_code`` (``organisation_code.length`` too), and the consistency rules
  ``certnum.position_16.matches_level``, ``certnum.position_14_15.issue_year`` and
  ``certnum.position_1_13.matches_organisation_code``;
- ``issue_date.format``, ``issue_date.future``.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Final, NamedTuple

from node.core.certificate import (
    NO_WORK_TYPE,
    SPECIAL_ABILITY,
    UNGRADED_LEVEL,
    VOCATIONAL_QUALIFICATION,
    Certificate,
)
from node.core.errors import InvalidInput
from node.core.rules.certnum import (
    CertificateNumber,
    SpecialAbilityNumber,
    check_issuer,
    check_level,
    check_year,
    parse_certificate_number,
    parse_organisation_code,
    parse_special_ability_number,
)
from node.core.rules.codes import LEVELS, SKILL_MAJOR_CATEGORIES
from node.core.rules.idnumber import validate_id_number, validate_id_type

#: Longest holder name accepted, in characters (docs/FORMATS.md).
HOLDER_NAME_MAX_LENGTH: Final = 50

# 国家职业分类大典 codes: major category (1 digit), then middle, minor and occupation (2 digits
# each); a work type adds a fifth part. ASCII digits only (``\d`` would match ``１``).
_OCCUPATION_CODE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_WORK_TYPE_CODE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# Unicode categories refused in names: control (Cc), format (Cf: zero-width and bidi
# controls), surrogates (Cs), line and paragraph separators (Zl, Zp). Private-use characters
# (Co) are allowed: Chinese systems have encoded rare name characters (生僻字) there, and so
# are unassigned code points (Cn), which may be characters newer than Python's Unicode tables.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def level_label(level: int) -> str:
    """Return the printed label of a skill level, e.g. ``一级/高级技师`` for 1.

    Raises:
        InvalidInput: field ``level``, rule ``level.range`` unless ``level`` is 1-5.
    """
    _check_level(level)
    return LEVELS[level]


def _check_level(level: object) -> None:
    # 人社鉴发〔2019〕2号 table 5 (seed 001): 1-5. bool is an int subclass; refuse it.
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise InvalidInput("level", "level.range", "must be a skill level 1-5")


def _check_text(field: str, value: object, max_length: int | None = None) -> str:
    """Check a free-text field: a non-blank string without control characters.

    Leading and trailing whitespace is refused so that one person or organisation has one
    spelling (the value is committed and queried by exact match).
    """
    if not isinstance(value, str):
        raise InvalidInput(field, "schema.type", "must be a string")
    if not value.strip():
        raise InvalidInput(field, f"{field}.empty", "must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(field, f"{field}.length", f"must be 1-{max_length} characters")
    # str.isprintable() is false for every character of the categories Other (Cc, Cf, Cs, Co,
    # Cn) and Separator (Zs but the ASCII space, Zl, Zp): a printable value has none of the
    # refused ones, and only the others need the character-by-character look.
    if not value.isprintable() and any(
        unicodedata.category(c) in _REFUSED_CATEGORIES for c in value
    ):
        raise InvalidInput(
            field, f"{field}.control_character", "must not contain control or invisible characters"
        )
    if value != value.strip():
        raise InvalidInput(field, f"{field}.whitespace", "must not start or end with whitespace")
    return value


def _check_string(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "schema.type", "must be a string")
    return value


def parse_issue_date(value: str) -> datetime.date:
    """Parse an ``issue_date`` field: a real calendar date written ``YYYY-MM-DD``.

    Raises:
        InvalidInput: field ``issue_date``, rule ``issue_date.format``.
    """
    # date.fromisoformat alone would also accept "20250314" and "2025-W11-5".
    if _ISO_DATE.fullmatch(value) is None:
        raise InvalidInput("issue_date", "issue_date.format", "must be a date YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "issue_date", "issue_date.format", "must be a real calendar date YYYY-MM-DD"
        ) from None


class QualificationNumber(NamedTuple):
    """A 职业资格证书 number that matched the province's configured format. The seeds give no
    national format, so nothing else is read from it (``serial`` is 0: no serial rule)."""

    text: str
    serial: int = 0


class ValidatedFields(NamedTuple):
    """What :func:`validate_certificate` parsed on the way (callers need not parse again)."""

    certificate_number: CertificateNumber | SpecialAbilityNumber | QualificationNumber
    issue_date: datetime.date


def validate_certificate(
    cert: Certificate,
    *,
    today: datetime.date | None = None,
    qualification_number: re.Pattern[str] | None = None,
) -> ValidatedFields:
    """Check every field rule of a certificate; return the parsed certificate number and issue
    date when all hold.

    ``today``, when given, bounds the issue date and birth dates in ID numbers (neither may
    be in the future). Without it no check depends on the date. ``qualification_number`` is
    the province's configured format of a 职业资格证书 number (node.json
    ``qualification_number``); without it such certificates are refused.

    Raises:
        InvalidInput: the first broken rule, naming the field and the rule id (see the module
            docstring). Messages never contain the holder name or the ID number.
    """
    # Fields one by one, in FIELD_NAMES order.
    _check_text("holder_name", cert.holder_name, HOLDER_NAME_MAX_LENGTH)
    id_type = _check_string("id_type", cert.id_type)
    validate_id_type(id_type)
    id_number = _check_string("id_number", cert.id_number)
    validate_id_number(id_type, id_number, today=today)
    _check_text("occupation_name", cert.occupation_name)

    occupation_code = _check_string("occupation_code", cert.occupation_code)
    if _OCCUPATION_CODE.fullmatch(occupation_code) is None:
        raise InvalidInput(
            "occupation_code", "occupation_code.format", "must be an occupation code d-dd-dd-dd"
        )
    # Skill occupations are in major categories 3-6 (seed 002 §(六), seed 004 §一(一)).
    if occupation_code[0] not in SKILL_MAJOR_CATEGORIES:
        raise InvalidInput(
            "occupation_code",
            "occupation_code.major_category",
            "must be in major category 3, 4, 5 or 6 (skill occupations)",
        )

    work_type_name = _check_text("work_type_name", cert.work_type_name)
    work_type_code = _check_string("work_type_code", cert.work_type_code)
    if work_type_code != NO_WORK_TYPE and _WORK_TYPE_CODE.fullmatch(work_type_code) is None:
        raise InvalidInput(
            "work_type_code",
            "work_type_code.format",
            "must be a work type code d-dd-dd-dd-dd or -- when there is none",
        )

    if cert.certificate_type == SPECIAL_ABILITY:
        return _validate_special_ability(cert, work_type_code, occupation_code, today)
    _check_level(cert.level)
    if cert.certificate_type == VOCATIONAL_QUALIFICATION:
        return _validate_qualification(cert, qualification_number, today)
    certificate_number = parse_certificate_number(
        _check_string("certificate_number", cert.certificate_number)
    )
    issue_date = parse_issue_date(_check_string("issue_date", cert.issue_date))
    if today is not None and issue_date > today:
        raise InvalidInput("issue_date", "issue_date.future", "must not be in the future")
    _check_text("organisation_name", cert.organisation_name)
    organisation_code = parse_organisation_code(
        _check_string("organisation_code", cert.organisation_code)
    )

    # Rules across fields.
    if work_type_code != NO_WORK_TYPE and not work_type_code.startswith(occupation_code + "-"):
        raise InvalidInput(
            "work_type_code",
            "work_type_code.extends_occupation",
            "must extend the occupation code by one part",
        )
    # Data guide art. 7 and 人社鉴发〔2021〕1号: the work type is "--" when there is none.
    if (work_type_name == NO_WORK_TYPE) != (work_type_code == NO_WORK_TYPE):
        raise InvalidInput(
            "work_type_name",
            "work_type_name.matches_code",
            "must be -- exactly when the work type code is --",
        )
    check_level(certificate_number, cert.level)
    check_year(certificate_number, issue_date)
    check_issuer(certificate_number, organisation_code.format())
    return ValidatedFields(certificate_number, issue_date)


def _issue_date(cert: Certificate, today: datetime.date | None) -> datetime.date:
    issue_date = parse_issue_date(_check_string("issue_date", cert.issue_date))
    if today is not None and issue_date > today:
        raise InvalidInput("issue_date", "issue_date.future", "must not be in the future")
    _check_text("organisation_name", cert.organisation_name)
    return issue_date


def _validate_special_ability(
    cert: Certificate, work_type_code: str, occupation_code: str, today: datetime.date | None
) -> ValidatedFields:
    """专项职业能力证书: not graded (level 0), Henan's 15-digit number whose positions 3-10 are
    the examining body's code, which is the certificate's ``organisation_code``."""
    if isinstance(cert.level, bool) or cert.level != UNGRADED_LEVEL:
        raise InvalidInput(
            "level",
            "level.ungraded",
            "a special_ability certificate is not graded: level must be 0 (不划分等级)",
        )
    del work_type_code, occupation_code  # checked above like every type's
    number = parse_special_ability_number(
        _check_string("certificate_number", cert.certificate_number)
    )
    issue_date = _issue_date(cert, today)
    check_year(number, issue_date)
    if _check_string("organisation_code", cert.organisation_code) != number.examining_body_code:
        raise InvalidInput(
            "organisation_code",
            "specialnum.position_3_10.examining_body",
            "must be the examining-body code, positions 3-10 of the certificate number",
        )
    return ValidatedFields(number, issue_date)


def _validate_qualification(
    cert: Certificate, pattern: re.Pattern[str] | None, today: datetime.date | None
) -> ValidatedFields:
    """职业资格证书: the number in the province's configured format; the organisation code as
    for any filed organisation."""
    text = _check_string("certificate_number", cert.certificate_number)
    if pattern is None:
        raise InvalidInput(
            "certificate_type",
            "qualnum.not_configured",
            "this province has configured no 职业资格证书 number format",
        )
    if pattern.fullmatch(text) is None:
        raise InvalidInput(
            "certificate_number",
            "qualnum.format",
            "does not match the province's 职业资格证书 number format",
        )
    issue_date = _issue_date(cert, today)
    parse_organisation_code(_check_string("organisation_code", cert.organisation_code))
    return ValidatedFields(QualificationNumber(text), issue_date)
