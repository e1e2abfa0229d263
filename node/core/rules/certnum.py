"""Certificate numbers (证书编号): parse, format and cross-check. Pure functions, no I/O.

The national rule 人社鉴发〔2019〕2号 (seed 001, 职业技能等级证书编码规则（试行）§二) gives the
22-character number of a vocational skill certificate (职业技能等级证书)::

    S 0001 44 002009 20 5 000001
    1 2-5  67 8-13   1415 16 17-22

==========  ==========================================================================
positions   meaning
==========  ==========================================================================
1           organisation class, ``Y`` 用人单位 or ``S`` 社会培训评价组织 (table 2)
2-5         organisation code 0000-9999; 0000 = first filed with a province (table 3)
6-7         province code of the organisation / site (table 4)
8-13        organisation / site sequence, assigned by the province
14-15       issue year, last two digits
16          skill level 1-5 (table 5)
17-22       serial 000001-999999, per organisation, per year, per level
==========  ==========================================================================

Provinces refine positions 8-13. The refinements are pluggable: :data:`SITE_REFINEMENTS` maps a
province code to a :data:`RefinementParser`; the parsers for Guangdong (44, seed 003) and Henan
(41, seed 001) are built in. A caller can pass another registry.

Checks run left to right: length, then each position in turn; a province's refinement of
positions 8-13 runs right after the national check of those positions. The first broken rule is
raised as :class:`~node.core.errors.InvalidInput` whose ``rule`` names the positions, for example
``certnum.position_16.level``.

Henan's 15-digit special vocational ability number (专项职业能力证书) is parsed by
:func:`parse_special_ability_number`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Protocol

from node.core.errors import InvalidInput
from node.core.rules.codes import (
    CLASS_EMPLOYER,
    GUANGDONG_CATEGORIES,
    GUANGDONG_CITIES,
    HENAN_CITIES,
    HENAN_TECHNICAL_SCHOOL_DIGIT,
    LEVELS,
    ORGANISATION_CLASSES,
    PROVINCE_FILED_ORGANISATION_CODE,
    PROVINCE_GUANGDONG,
    PROVINCE_HENAN,
    PROVINCES,
    SPECIAL_ABILITY_DIGIT,
)

#: Length of a national certificate number and of its organisation code (positions 1-13).
CERTIFICATE_NUMBER_LENGTH: Final = 22
ORGANISATION_CODE_LENGTH: Final = 13
#: Length of a Henan special vocational ability certificate number.
SPECIAL_ABILITY_NUMBER_LENGTH: Final = 15

CERTIFICATE_NUMBER_FIELD: Final = "certificate_number"
ORGANISATION_CODE_FIELD: Final = "organisation_code"


def _is_digits(text: str) -> bool:
    # ASCII digits only: str.isdigit() alone would accept full-width and other Unicode digits;
    # on ASCII text it accepts exactly 0-9 (and refuses the empty string).
    return text.isascii() and text.isdigit()


# --------------------------------------------------------------------------------------------
# Provincial refinements of positions 8-13
# --------------------------------------------------------------------------------------------


class SiteRefinement(Protocol):
    """A province's reading of positions 8-13 (the organisation / site sequence)."""

    @property
    def scheme(self) -> str:
        """Name of the provincial rule, e.g. ``"guangdong"``."""
        ...

    def format(self) -> str:
        """Return positions 8-13 (six digits) again."""
        ...

    def as_dict(self) -> dict[str, str | bool]:
        """Return the parsed parts as a JSON-ready dict (includes ``scheme``)."""
        ...


#: Parses positions 8-13: ``(class_code, site_sequence, field) -> SiteRefinement``.
#: ``site_sequence`` is already six ASCII digits; ``field`` is the field to blame in errors.
RefinementParser = Callable[[str, str, str], SiteRefinement]


@dataclasses.dataclass(frozen=True, slots=True)
class GuangdongSite:
    """Guangdong's positions 8-13 (粤人社办〔2020〕39号 annex 4 §二(四), seed 003)."""

    city: str
    """Positions 8-9: city code of table 5 (00 广东省省本级, 01 广州市, 03 深圳市 …)."""
    city_name: str
    category: str
    """Position 10: organisation category, table 6-1 (class Y) or 6-2 (class S)."""
    category_name: str
    sequence: str
    """Positions 11-13: serial 000-999 assigned by the city's HR department."""

    @property
    def scheme(self) -> str:
        return "guangdong"

    def format(self) -> str:
        return self.city + self.category + self.sequence

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "scheme": self.scheme,
            "city": self.city,
            "city_name": self.city_name,
            "category": self.category,
            "category_name": self.category_name,
            "sequence": self.sequence,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class HenanSite:
    """Henan's positions 8-13 (豫职鉴〔2020〕2号 §二(四)-(五), 豫职鉴〔2021〕1号 §一; seed 001)."""

    city: str
    """Positions 8-9: 省直 (00) or city / county code of table 5."""
    city_name: str
    sequence: str
    """Positions 10-13: organisation / site sequence assigned by the city's HR department."""
    technical_school: bool
    """Position 10 is 9: a technical school's centre certifying its own students (class Y)."""

    @property
    def scheme(self) -> str:
        return "henan"

    def format(self) -> str:
        return self.city + self.sequence

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "scheme": self.scheme,
            "city": self.city,
            "city_name": self.city_name,
            "sequence": self.sequence,
            "technical_school": self.technical_school,
        }


def parse_guangdong_site(
    class_code: str, site_sequence: str, field: str = CERTIFICATE_NUMBER_FIELD
) -> GuangdongSite:
    """Parse Guangdong's positions 8-13: city (8-9), category (10), serial (11-13).

    Raises:
        InvalidInput: rule ``certnum.position_8_9.guangdong_city`` (city not in table 5) or
            ``certnum.position_10.guangdong_category`` (digit not in table 6-1 for class Y,
            6-2 for class S).
    """
    city, category, sequence = site_sequence[0:2], site_sequence[2], site_sequence[3:6]
    # seed 003 §二(四)1, table 5.
    if city not in GUANGDONG_CITIES:
        raise InvalidInput(
            field,
            "certnum.position_8_9.guangdong_city",
            "positions 8-9 must be a Guangdong city code (粤人社办〔2020〕39号 table 5)",
        )
    # seed 003 §二(四)2, tables 6-1 (Y: 1-3) and 6-2 (S: 1-4).
    categories = GUANGDONG_CATEGORIES[class_code]
    if category not in categories:
        allowed = "1-3" if class_code == CLASS_EMPLOYER else "1-4"
        raise InvalidInput(
            field,
            "certnum.position_10.guangdong_category",
            f"position 10 must be a Guangdong organisation category {allowed} for class "
            f"{class_code} (粤人社办〔2020〕39号 table 6)",
        )
    # seed 003 §二(四)3: positions 11-13 range over 000-999, any three digits.
    return GuangdongSite(city, GUANGDONG_CITIES[city], category, categories[category], sequence)


def parse_henan_site(
    class_code: str, site_sequence: str, field: str = CERTIFICATE_NUMBER_FIELD
) -> HenanSite:
    """Parse Henan's positions 8-13: city (8-9) and sequence (10-13).

    Position 10 = 9 marks a technical school's certification centre assessing its own
    students, filed as an employer (class ``Y``): "评价对象为注册学籍的本校学生的，备案为用人单位
    评价机构……机构类别代码为 Y，编码第 10 位取值为 9" (豫职鉴〔2021〕1号 §一(三)2). The seed gives
    enterprises' position 10 as 0-8 (§一(一)2) but says nothing of class ``S``, so a class ``S``
    number with 9 there is accepted (and is not a technical school's).

    Raises:
        InvalidInput: rule ``certnum.position_8_9.henan_city`` (not in table 5).
    """
    city, sequence = site_sequence[0:2], site_sequence[2:6]
    # seed 001, 豫职鉴〔2020〕2号 §二(四), table 5.
    if city not in HENAN_CITIES:
        raise InvalidInput(
            field,
            "certnum.position_8_9.henan_city",
            "positions 8-9 must be a Henan city code 00-28 (豫职鉴〔2020〕2号 table 5)",
        )
    technical_school = sequence[0] == HENAN_TECHNICAL_SCHOOL_DIGIT and class_code == CLASS_EMPLOYER
    return HenanSite(city, HENAN_CITIES[city], sequence, technical_school)


#: Built-in provincial refinements of positions 8-13, by province code.
SITE_REFINEMENTS: Final[Mapping[str, RefinementParser]] = MappingProxyType(
    {
        PROVINCE_GUANGDONG: parse_guangdong_site,
        PROVINCE_HENAN: parse_henan_site,
    }
)


# --------------------------------------------------------------------------------------------
# Organisation code (positions 1-13) and certificate number (22 characters)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationCode:
    """Positions 1-13 of a certificate number: the code of an organisation / site.

    Build it with :func:`parse_organisation_code`; the constructor does not check.
    """

    class_code: str
    ministry_code: str
    province: str
    site_sequence: str
    refinement: SiteRefinement | None = None

    @property
    def filed_with_province(self) -> bool:
        """True when positions 2-5 are 0000 (first filed with a province, not the Ministry)."""
        return self.ministry_code == PROVINCE_FILED_ORGANISATION_CODE

    def format(self) -> str:
        """Return the 13-character code."""
        return self.class_code + self.ministry_code + self.province + self.site_sequence

    def as_dict(self) -> dict[str, object]:
        """Return the parts as a JSON-ready dict."""
        return {
            "class_code": self.class_code,
            "ministry_code": self.ministry_code,
            "province": self.province,
            "site_sequence": self.site_sequence,
            "refinement": None if self.refinement is None else self.refinement.as_dict(),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateNumber:
    """A parsed 22-character certificate number (人社鉴发〔2019〕2号).

    Build it with :func:`parse_certificate_number`; the constructor does not check.
    ``format()`` gives back the exact text that was parsed.
    """

    class_code: str
    """Position 1: ``Y`` or ``S``."""
    ministry_code: str
    """Positions 2-5: ``0000``-``9999`` (``0000``: first filed with a province)."""
    province: str
    """Positions 6-7: province code of table 4."""
    site_sequence: str
    """Positions 8-13: organisation / site sequence, six digits."""
    year: int
    """Positions 14-15: issue year, last two digits (0-99)."""
    level: int
    """Position 16: skill level 1-5."""
    serial: int
    """Positions 17-22: serial 1-999999."""
    refinement: SiteRefinement | None = None
    """The province's reading of positions 8-13, when the province has a registered rule."""

    @property
    def organisation_code(self) -> str:
        """Positions 1-13: the organisation / site code."""
        return self.class_code + self.ministry_code + self.province + self.site_sequence

    @property
    def organisation(self) -> OrganisationCode:
        """Positions 1-13 as an :class:`OrganisationCode`."""
        return OrganisationCode(
            self.class_code, self.ministry_code, self.province, self.site_sequence, self.refinement
        )

    @property
    def filed_with_province(self) -> bool:
        """True when positions 2-5 are 0000 (first filed with a province, not the Ministry)."""
        return self.ministry_code == PROVINCE_FILED_ORGANISATION_CODE

    def format(self) -> str:
        """Return the 22-character number."""
        return f"{self.organisation_code}{self.year:02d}{self.level}{self.serial:06d}"

    def as_dict(self) -> dict[str, object]:
        """Return the parts as a JSON-ready dict (the ``expected`` object of the vectors)."""
        return {
            "class_code": self.class_code,
            "organisation_code": self.organisation_code,
            "ministry_code": self.ministry_code,
            "province": self.province,
            "site_sequence": self.site_sequence,
            "refinement": None if self.refinement is None else self.refinement.as_dict(),
            "year": self.year,
            "level": self.level,
            "serial": self.serial,
        }


def _parse_positions_1_13(
    text: str, field: str, refinements: Mapping[str, RefinementParser]
) -> OrganisationCode:
    """Check positions 1-13 of ``text`` (at least 13 characters long)."""
    if refinements is SITE_REFINEMENTS:
        return _parse_default_positions_1_13(text[:13], field)
    return _parse_organisation_part(text, field, refinements)


@functools.lru_cache(maxsize=4096)
def _parse_default_positions_1_13(text: str, field: str) -> OrganisationCode:
    # An organisation's code repeats on every certificate it issues: answers under the default
    # refinements are kept (errors are not, they are raised anew).
    return _parse_organisation_part(text, field, SITE_REFINEMENTS)


def _parse_organisation_part(
    text: str, field: str, refinements: Mapping[str, RefinementParser]
) -> OrganisationCode:
    class_code, ministry_code = text[0], text[1:5]
    province, site_sequence = text[5:7], text[7:13]
    # 人社鉴发〔2019〕2号 §二(一), table 2: one uppercase letter, Y or S.
    if class_code not in ORGANISATION_CLASSES:
        raise InvalidInput(
            field,
            "certnum.position_1.class",
            "position 1 must be the organisation class Y or S (uppercase)",
        )
    # §二(二), table 3: 0001-9999 from the Ministry, 0000 when filed with a province.
    if len(ministry_code) != 4 or not _is_digits(ministry_code):
        raise InvalidInput(
            field,
            "certnum.position_2_5.organisation",
            "positions 2-5 must be 4 digits, the organisation code 0000-9999",
        )
    # §二(三), table 4.
    if province not in PROVINCES:
        raise InvalidInput(
            field,
            "certnum.position_6_7.province",
            "positions 6-7 must be a province code of table 4 (11-82)",
        )
    # §二(四): six digits assigned by the province.
    if len(site_sequence) != 6 or not _is_digits(site_sequence):
        raise InvalidInput(
            field,
            "certnum.position_8_13.site_sequence",
            "positions 8-13 must be 6 digits, the organisation / site sequence",
        )
    parser = refinements.get(province)
    refinement = None if parser is None else parser(class_code, site_sequence, field)
    return OrganisationCode(class_code, ministry_code, province, site_sequence, refinement)


def parse_organisation_code(
    text: str, *, refinements: Mapping[str, RefinementParser] = SITE_REFINEMENTS
) -> OrganisationCode:
    """Parse a 13-character organisation code (positions 1-13 of a certificate number).

    Returns:
        The parsed code; ``format()`` gives ``text`` back.

    Raises:
        InvalidInput: field ``organisation_code``; rule ``organisation_code.length`` or one of
            the position rules of :func:`parse_certificate_number` for positions 1-13.
    """
    if len(text) != ORGANISATION_CODE_LENGTH:
        raise InvalidInput(
            ORGANISATION_CODE_FIELD,
            "organisation_code.length",
            "must be 13 characters (positions 1-13 of a certificate number)",
        )
    return _parse_positions_1_13(text, ORGANISATION_CODE_FIELD, refinements)


def parse_certificate_number(
    text: str, *, refinements: Mapping[str, RefinementParser] = SITE_REFINEMENTS
) -> CertificateNumber:
    """Parse a 22-character certificate number (人社鉴发〔2019〕2号, plus provincial rules).

    ``refinements`` maps a province code to the parser of that province's positions 8-13;
    the default knows Guangdong (44) and Henan (41). Other provinces get ``refinement=None``.

    Returns:
        The parsed number; ``format()`` gives ``text`` back.

    Raises:
        InvalidInput: field ``certificate_number`` and the first broken rule, one of
            ``certnum.length``, ``certnum.position_1.class``, ``certnum.position_2_5.organisation``,
            ``certnum.position_6_7.province``, ``certnum.position_8_13.site_sequence``, a
            refinement rule (``certnum.position_8_9.guangdong_city``,
            ``certnum.position_10.guangdong_category``, ``certnum.position_8_9.henan_city``),
            ``certnum.position_14_15.year``,
            ``certnum.position_16.level`` or ``certnum.position_17_22.serial``.
    """
    organisation, year, level, serial = _parse_number(text, refinements)
    return CertificateNumber(
        organisation.class_code,
        organisation.ministry_code,
        organisation.province,
        organisation.site_sequence,
        year,
        level,
        serial,
        organisation.refinement,
    )


def certificate_number_parts(text: str) -> tuple[str, int, int, int]:
    """The organisation code (positions 1-13), issue year (14-15, two digits), level (16) and
    serial (17-22) of a certificate number, checked exactly as :func:`parse_certificate_number`
    checks it (same rules, same errors, default refinements), without building a
    :class:`CertificateNumber`: for readers of many numbers (the auditor replays millions).

    Raises:
        InvalidInput: as :func:`parse_certificate_number`.
    """
    _, year, level, serial = _parse_number(text, SITE_REFINEMENTS)
    return text[:ORGANISATION_CODE_LENGTH], year, level, serial


def _parse_number(
    text: str, refinements: Mapping[str, RefinementParser]
) -> tuple[OrganisationCode, int, int, int]:
    """The checks of :func:`parse_certificate_number`: positions 1-13 parsed, and the year,
    level and serial."""
    field = CERTIFICATE_NUMBER_FIELD
    # §一: one uppercase letter and 21 digits.
    if len(text) != CERTIFICATE_NUMBER_LENGTH:
        raise InvalidInput(field, "certnum.length", "must be 22 characters (人社鉴发〔2019〕2号)")
    organisation = _parse_positions_1_13(text, field, refinements)
    tail = text[13:]
    if _is_digits(tail):
        # The common case: positions 14-22 are digits; only the level and serial ranges remain.
        year_value, level_value, serial_value = int(tail[:2]), int(tail[2]), int(tail[3:])
        if level_value in LEVELS and serial_value:
            return organisation, year_value, level_value, serial_value
    year, level, serial = text[13:15], text[15], text[16:22]
    # §二(五): last two digits of the issue year.
    if not _is_digits(year):
        raise InvalidInput(
            field, "certnum.position_14_15.year", "positions 14-15 must be 2 digits, the issue year"
        )
    # §二(六), table 5.
    if not _is_digits(level) or int(level) not in LEVELS:
        raise InvalidInput(
            field, "certnum.position_16.level", "position 16 must be a skill level 1-5"
        )
    # §二(七): 000001-999999 per organisation, per year, per level.
    if not _is_digits(serial) or int(serial) == 0:
        raise InvalidInput(
            field,
            "certnum.position_17_22.serial",
            "positions 17-22 must be a serial 000001-999999",
        )
    return organisation, int(year), int(level), int(serial)


# --------------------------------------------------------------------------------------------
# Henan special vocational ability number (专项职业能力证书), 15 digits
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SpecialAbilityNumber:
    """A parsed Henan 专项职业能力 certificate number (seed 001, 河南省人力资源和社会保障厅
    关于规范开展全省专项职业能力考核工作的通知 §二(四), §四(一)).

    Positions 1-2 year, 3-10 examining-body code (3-6 area, 7 the digit 5, 8-10 body serial),
    11-15 certificate serial 00001-99999. Build it with :func:`parse_special_ability_number`.
    """

    year: int
    """Positions 1-2: issue year, last two digits."""
    area: str
    """Positions 3-6: area code (the same as the skill-appraisal body code of the area)."""
    body_serial: str
    """Positions 8-10: examining body within the area (000 = the area's appraisal centre)."""
    serial: int
    """Positions 11-15: certificate serial 1-99999."""

    @property
    def examining_body_code(self) -> str:
        """Positions 3-10: the 8-digit examining-body code."""
        return self.area + SPECIAL_ABILITY_DIGIT + self.body_serial

    def format(self) -> str:
        """Return the 15-digit number."""
        return f"{self.year:02d}{self.examining_body_code}{self.serial:05d}"

    def as_dict(self) -> dict[str, object]:
        """Return the parts as a JSON-ready dict (the ``expected`` object of the vectors)."""
        return {
            "year": self.year,
            "examining_body_code": self.examining_body_code,
            "area": self.area,
            "body_serial": self.body_serial,
            "serial": self.serial,
        }


def check_examining_body_code(text: object, field: str = "code") -> str:
    """Check a 专项职业能力 examining body's 8-digit code (豫人社办函〔2020〕41号 二(四), seed
    001): 4-digit area, the digit 5, 3-digit body serial; return it.

    Raises:
        InvalidInput: ``field``, rule ``examining_body.code``.
    """
    if (
        not isinstance(text, str)
        or len(text) != 8
        or not _is_digits(text)
        or text[4] != SPECIAL_ABILITY_DIGIT
    ):
        raise InvalidInput(
            field,
            "examining_body.code",
            "must be an 8-digit examining-body code: 4-digit area, the digit 5, 3-digit serial",
        )
    return text


def examining_body_of_registry_code(code: str, province: str) -> str | None:
    """The 8-digit examining-body code filed under the 13-character registry ``code`` in
    ``province`` (``S`` + area + province + ``5`` + serial + ``00``, the layout of
    ``node.core.formats.entry.examining_body_registry_code``), or None when ``code`` is not
    laid out so."""
    if len(code) != 13 or code[0] != "S" or code[5:7] != province or code[11:13] != "00":
        return None
    body = code[1:5] + code[7:11]
    try:
        return check_examining_body_code(body)
    except InvalidInput:
        return None


def parse_special_ability_number(text: str) -> SpecialAbilityNumber:
    """Parse Henan's 15-digit special vocational ability certificate number.

    Returns:
        The parsed number; ``format()`` gives ``text`` back.

    Raises:
        InvalidInput: field ``certificate_number``; rule ``specialnum.length``,
            ``specialnum.digits``, ``specialnum.position_7.ability_digit`` or
            ``specialnum.position_11_15.serial``.
    """
    field = CERTIFICATE_NUMBER_FIELD
    if len(text) != SPECIAL_ABILITY_NUMBER_LENGTH:
        raise InvalidInput(field, "specialnum.length", "must be 15 digits (专项职业能力证书)")
    if not _is_digits(text):
        raise InvalidInput(field, "specialnum.digits", "must be 15 digits (专项职业能力证书)")
    # §二(四): 4-digit area, the fixed digit 5 (专项职业能力), 3-digit body serial.
    if text[6] != SPECIAL_ABILITY_DIGIT:
        raise InvalidInput(
            field,
            "specialnum.position_7.ability_digit",
            "position 7 must be 5, the 专项职业能力 digit of the examining-body code",
        )
    # §四(一): 00001-99999 in sequence.
    if int(text[10:15]) == 0:
        raise InvalidInput(
            field,
            "specialnum.position_11_15.serial",
            "positions 11-15 must be a serial 00001-99999",
        )
    return SpecialAbilityNumber(
        year=int(text[0:2]), area=text[2:6], body_serial=text[7:10], serial=int(text[10:15])
    )


# --------------------------------------------------------------------------------------------
# Consistency with the other certificate fields
# --------------------------------------------------------------------------------------------


def check_year(number: CertificateNumber | SpecialAbilityNumber, issue_date: datetime.date) -> None:
    """Check that the number's year positions are the last two digits of ``issue_date``'s year.

    Raises:
        InvalidInput: field ``certificate_number``, rule ``certnum.position_14_15.issue_year``
            (``specialnum.position_1_2.issue_year`` for a special ability number).
    """
    if number.year == issue_date.year % 100:
        return
    if isinstance(number, SpecialAbilityNumber):
        raise InvalidInput(
            CERTIFICATE_NUMBER_FIELD,
            "specialnum.position_1_2.issue_year",
            "positions 1-2 must be the last two digits of the issue date's year",
        )
    raise InvalidInput(
        CERTIFICATE_NUMBER_FIELD,
        "certnum.position_14_15.issue_year",
        "positions 14-15 must be the last two digits of the issue date's year",
    )


def check_level(number: CertificateNumber, level: int) -> None:
    """Check that position 16 equals the certificate's ``level`` field.

    Raises:
        InvalidInput: field ``certificate_number``, rule ``certnum.position_16.matches_level``.
    """
    if number.level != level:
        raise InvalidInput(
            CERTIFICATE_NUMBER_FIELD,
            "certnum.position_16.matches_level",
            "position 16 must equal the certificate's skill level",
        )


def check_issuer(
    number: CertificateNumber, organisation_code: str, province: str | None = None
) -> None:
    """Check that positions 1-13 equal ``organisation_code`` and, when ``province`` is given,
    that positions 6-7 equal the issuing province.

    Raises:
        InvalidInput: field ``certificate_number``, rule
            ``certnum.position_1_13.matches_organisation_code`` or
            ``certnum.position_6_7.matches_province``.
    """
    if number.organisation_code != organisation_code:
        raise InvalidInput(
            CERTIFICATE_NUMBER_FIELD,
            "certnum.position_1_13.matches_organisation_code",
            "positions 1-13 must equal the issuing organisation's code",
        )
    if province is not None and number.province != province:
        raise InvalidInput(
            CERTIFICATE_NUMBER_FIELD,
            "certnum.position_6_7.matches_province",
            "positions 6-7 must equal the issuing province",
        )


#: Every rule id this module raises.
RULES: Final[frozenset[str]] = frozenset(
    {
        "certnum.length",
        "certnum.position_1.class",
        "certnum.position_2_5.organisation",
        "certnum.position_6_7.province",
        "certnum.position_8_13.site_sequence",
        "certnum.position_8_9.guangdong_city",
        "certnum.position_10.guangdong_category",
        "certnum.position_8_9.henan_city",
        "certnum.position_14_15.year",
        "certnum.position_16.level",
        "certnum.position_17_22.serial",
        "organisation_code.length",
        "specialnum.length",
        "specialnum.digits",
        "specialnum.position_7.ability_digit",
        "specialnum.position_11_15.serial",
        "certnum.position_14_15.issue_year",
        "specialnum.position_1_2.issue_year",
        "certnum.position_16.matches_level",
        "certnum.position_1_13.matches_organisation_code",
        "certnum.position_6_7.matches_province",
    }
)
