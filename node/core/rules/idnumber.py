"""ID numbers (证件号码) by ID type (证件类型): format checks, no I/O, no clock.

The resident identity number follows GB 11643 (公民身份号码): 6-digit area, 8-digit birth date,
3-digit sequence and an ISO 7064 MOD 11-2 check character. The 港澳台居民居住证 and the 2017
外国人永久居留身份证 use the same 18-character shape and check character. The other ID types are
checked by format only (see the per-type notes below and docs/FORMATS.md, "ID types").

ID numbers are personal information (data guide 中就培发〔2022〕1号 art. 18, seed 002): no error
message raised here ever contains the number or any part of it. Messages are constant strings.

Rule ids are ``id_type.known`` and ``id_number.<id_type>.<check>``, where ``<check>`` is one of
``length``, ``format``, ``area``, ``birth_date``, ``birth_date_range`` and ``check_character``.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from node.core.errors import InvalidInput
from node.core.rules.codes import (
    HMT_RESIDENCE_AREAS,
    ID_FOREIGN_PERMANENT_RESIDENCE,
    ID_HK_MACAO_PERMIT,
    ID_HMT_RESIDENCE_PERMIT,
    ID_PASSPORT,
    ID_RESIDENT,
    ID_TAIWAN_PERMIT,
    ID_TYPES,
    PROVINCES,
    RESIDENT_ID_PROVINCES,
)

FIELD: Final = "id_number"

#: Earliest birth date accepted in an 18-character number (GB 11643 numbers carry the century).
EARLIEST_BIRTH_DATE: Final = datetime.date(1900, 1, 1)

# ISO 7064 MOD 11-2 as used by GB 11643: weight of position i (1-based) is 2^(18-i) mod 11.
_WEIGHTS: Final[tuple[int, ...]] = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS: Final = "10X98765432"

_DIGITS: Final = frozenset("0123456789")

# A per-type check: (number, today) -> None, raising InvalidInput.
_Validator = Callable[[str, datetime.date | None], None]

# Formats of the ID types checked by shape only. ``[0-9]`` rather than ``\d``: ``\d`` would also
# match non-ASCII digits such as full-width ``１``.
# Passport: any uppercase ASCII letters and digits, 5-17 characters. This admits Chinese
# passports (E/G + 8 digits, and the newer E + letter + 7 digits) and foreign passports, whose
# numbers have no common format (ICAO 9303 allows up to 9 characters in the MRZ number field
# plus an optional overflow; 17 leaves room for national variants).
_PASSPORT: Final = re.compile(r"[A-Z0-9]{5,17}")
# 港澳居民来往内地通行证 (回乡证): H (Hong Kong) or M (Macao), then 8 digits (current card) or
# 10 digits (older cards).
_HK_MACAO_PERMIT: Final = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
# 台湾居民来往大陆通行证 (台胞证): 8 digits (current card) or 10 digits (older cards).
_TAIWAN_PERMIT: Final = re.compile(r"[0-9]{8}|[0-9]{10}")
# 外国人永久居留身份证, 2004 format: 3-letter nationality code and 12 digits (15 characters).
_FOREIGN_PERMANENT_RESIDENCE_OLD: Final = re.compile(r"[A-Z]{3}[0-9]{12}")


def _is_digits(text: str) -> bool:
    # ASCII digits only (on ASCII text, isdigit accepts exactly 0-9 and refuses "").
    return text.isascii() and text.isdigit()


def resident_id_check_character(first17: str) -> str:
    """Return the GB 11643 check character (``0``-``9`` or ``X``) for 17 ASCII digits.

    The check is ISO 7064 MOD 11-2: the weighted sum of the first 17 digits with weights
    ``2^(18-i) mod 11``; the check character makes the total congruent to 1 mod 11.

    Raises:
        InvalidInput: ``first17`` is not exactly 17 ASCII digits (rule
            ``id_number.resident_id.format``).
    """
    if len(first17) != 17 or not _is_digits(first17):
        raise InvalidInput(
            FIELD, f"{FIELD}.{ID_RESIDENT}.format", "the first 17 characters must be digits"
        )
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARACTERS[total % 11]


def _check_birth_date(id_type: str, yyyymmdd: str, today: datetime.date | None) -> datetime.date:
    try:
        born = datetime.date(int(yyyymmdd[0:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidInput(
            FIELD, f"{FIELD}.{id_type}.birth_date", "the birth date is not a real date"
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise InvalidInput(
            FIELD, f"{FIELD}.{id_type}.birth_date_range", "the birth date is before the year 1900"
        )
    if today is not None and born > today:
        raise InvalidInput(
            FIELD, f"{FIELD}.{id_type}.birth_date_range", "the birth date is in the future"
        )
    return born


def _check_gb11643_shape(
    id_type: str,
    number: str,
    today: datetime.date | None,
    area_ok: Callable[[str], bool],
    area_message: str,
) -> None:
    """Check an 18-character GB 11643-shaped number: area, birth date, sequence, check."""
    if len(number) != 18:
        raise InvalidInput(FIELD, f"{FIELD}.{id_type}.length", "must be 18 characters")
    first17, check = number[:17], number[17]
    if not _is_digits(first17):
        raise InvalidInput(
            FIELD, f"{FIELD}.{id_type}.format", "the first 17 characters must be digits"
        )
    if check not in _DIGITS and check != "X":
        raise InvalidInput(
            FIELD,
            f"{FIELD}.{id_type}.format",
            "the check character (position 18) must be a digit or an uppercase X",
        )
    if not area_ok(first17):
        raise InvalidInput(FIELD, f"{FIELD}.{id_type}.area", area_message)
    _check_birth_date(id_type, first17[6:14], today)
    if resident_id_check_character(first17) != check:
        raise InvalidInput(
            FIELD,
            f"{FIELD}.{id_type}.check_character",
            "the check character (position 18) does not match (GB 11643, ISO 7064 MOD 11-2)",
        )


def _resident_id(number: str, today: datetime.date | None) -> None:
    # GB 11643: the first two digits are the province of the GB/T 2260 area code.
    _check_gb11643_shape(
        ID_RESIDENT,
        number,
        today,
        lambda first17: first17[:2] in RESIDENT_ID_PROVINCES,
        "the area code (positions 1-6) must start with a mainland province code",
    )


def _hmt_residence_permit(number: str, today: datetime.date | None) -> None:
    # 港澳台居民居住证: GB 11643 shape with area 810000 (HK), 820000 (Macao) or 830000 (Taiwan).
    _check_gb11643_shape(
        ID_HMT_RESIDENCE_PERMIT,
        number,
        today,
        lambda first17: first17[:6] in HMT_RESIDENCE_AREAS,
        "the area code (positions 1-6) must be 810000, 820000 or 830000",
    )


def _foreign_permanent_residence(number: str, today: datetime.date | None) -> None:
    id_type = ID_FOREIGN_PERMANENT_RESIDENCE
    if len(number) == 15:
        # 2004 card: nationality (3 letters) and 12 digits; checked by shape only.
        if _FOREIGN_PERMANENT_RESIDENCE_OLD.fullmatch(number) is None:
            raise InvalidInput(
                FIELD,
                f"{FIELD}.{id_type}.format",
                "a 15-character number must be 3 uppercase letters and 12 digits",
            )
        return
    if len(number) != 18:
        raise InvalidInput(FIELD, f"{FIELD}.{id_type}.length", "must be 15 or 18 characters")
    # 2017 card: 9, issuing province (2 digits), nationality (3 digits), birth date (8 digits),
    # sequence (3 digits), GB 11643 check character.
    _check_gb11643_shape(
        id_type,
        number,
        today,
        lambda first17: first17[0] == "9" and first17[1:3] in PROVINCES,
        "an 18-character number must start with 9 and the issuing province code",
    )


def _by_format(id_type: str, pattern: re.Pattern[str], message: str) -> _Validator:
    def check(number: str, today: datetime.date | None) -> None:
        if pattern.fullmatch(number) is None:
            raise InvalidInput(FIELD, f"{FIELD}.{id_type}.format", message)

    return check


_VALIDATORS: Final[Mapping[str, _Validator]] = MappingProxyType(
    {
        ID_RESIDENT: _resident_id,
        ID_PASSPORT: _by_format(ID_PASSPORT, _PASSPORT, "must be 5-17 uppercase letters or digits"),
        ID_HK_MACAO_PERMIT: _by_format(
            ID_HK_MACAO_PERMIT, _HK_MACAO_PERMIT, "must be H or M followed by 8 or 10 digits"
        ),
        ID_TAIWAN_PERMIT: _by_format(ID_TAIWAN_PERMIT, _TAIWAN_PERMIT, "must be 8 or 10 digits"),
        ID_HMT_RESIDENCE_PERMIT: _hmt_residence_permit,
        ID_FOREIGN_PERMANENT_RESIDENCE: _foreign_permanent_residence,
    }
)
assert set(_VALIDATORS) == set(ID_TYPES)


def validate_id_type(id_type: str) -> None:
    """Check that ``id_type`` is one of the ID types of docs/FORMATS.md.

    Raises:
        InvalidInput: field ``id_type``, rule ``id_type.known``.
    """
    if id_type not in ID_TYPES:
        raise InvalidInput("id_type", "id_type.known", "must be one of " + ", ".join(ID_TYPES))


def validate_id_number(id_type: str, id_number: str, *, today: datetime.date | None = None) -> None:
    """Check that ``id_number`` is valid for ``id_type``; return ``None`` when it is.

    ``today``, when given, bounds birth dates carried in the number (no birth in the future).

    Raises:
        InvalidInput: field ``id_type`` (rule ``id_type.known``) for an unknown ID type, or
            field ``id_number`` with rule ``id_number.<id_type>.<check>``. The message never
            contains the number or any part of it.
    """
    validate_id_type(id_type)
    _VALIDATORS[id_type](id_number, today)
