"""The certificate record: the nine data-guide fields plus three codes.

Field names are the pinned field paths of ``docs/FORMATS.md``; the same names are used in JSON,
SQL and the commitment. Source: 中就培发〔2022〕1号 art. 7 (seed 002) and the certificate style
notice 人社鉴发〔2021〕1号 (seed 001).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from node.core.errors import InvalidInput

# Field values are strings except ``level`` (an integer 1-5).
FieldValue = str | int

#: The committed fields, in their canonical order (the order used by the compact form).
FIELD_NAMES: tuple[str, ...] = (
    "holder_name",
    "id_type",
    "id_number",
    "occupation_name",
    "occupation_code",
    "work_type_name",
    "work_type_code",
    "level",
    "certificate_number",
    "issue_date",
    "organisation_name",
    "organisation_code",
)

#: Certificate types (中就培发〔2022〕1号 covers all three; 人社部发〔2019〕90号 二 names the
#: evaluation routes). ``skill_level`` 职业技能等级证书 is the type of every format-1 certificate.
SKILL_LEVEL = "skill_level"
#: 专项职业能力证书: 15-digit number, 8-digit examining-body code, not graded, valid 5 years.
SPECIAL_ABILITY = "special_ability"
#: 职业资格证书: number format from the province's configuration.
VOCATIONAL_QUALIFICATION = "vocational_qualification"
CERTIFICATE_TYPES: tuple[str, ...] = (SKILL_LEVEL, SPECIAL_ABILITY, VOCATIONAL_QUALIFICATION)
#: The committed type field (format 2; format 1 certificates are ``skill_level``).
TYPE_FIELD = "certificate_type"
#: Format 2 commits the twelve fields and the type.
FIELD_NAMES_V2: tuple[str, ...] = (*FIELD_NAMES, TYPE_FIELD)
#: The ``level`` of a certificate that is not graded (专项职业能力: 不划分等级).
UNGRADED_LEVEL = 0
#: Years a special vocational ability certificate is valid from its issue date
#: (劳社厅发〔2006〕29号 三: "自颁发之日起有效期为5年").
SPECIAL_ABILITY_VALID_YEARS = 5


def committed_field_names(certificate_type: str) -> tuple[str, ...]:
    """The committed fields of a certificate of ``certificate_type``: format 1 (twelve fields)
    for ``skill_level``, format 2 (with ``certificate_type``) for the other types."""
    return FIELD_NAMES if certificate_type == SKILL_LEVEL else FIELD_NAMES_V2


#: Fields that are personal information (data guide art. 18): never published or logged.
PERSONAL_FIELDS: frozenset[str] = frozenset({"holder_name", "id_number"})

#: Placeholder for "no work type / occupational direction" (data guide: never empty).
NO_WORK_TYPE = "--"


@dataclasses.dataclass(frozen=True, slots=True)
class Certificate:
    """One vocational skill certificate, all twelve fields disclosed."""

    holder_name: str
    id_type: str
    id_number: str
    occupation_name: str
    occupation_code: str
    work_type_name: str
    work_type_code: str
    level: int
    certificate_number: str
    issue_date: str
    organisation_name: str
    organisation_code: str
    certificate_type: str = SKILL_LEVEL

    def fields(self) -> dict[str, FieldValue]:
        """Return the committed fields as a dict keyed by field path, in canonical order (no
        ``certificate_type`` for a ``skill_level`` certificate, which format 1 carries)."""
        return {name: getattr(self, name) for name in committed_field_names(self.certificate_type)}

    def __repr__(self) -> str:
        # Never show personal data, even in tracebacks or debug logs.
        return (
            f"Certificate(certificate_number={self.certificate_number!r}, "
            f"organisation_code={self.organisation_code!r}, level={self.level!r}, "
            f"issue_date={self.issue_date!r}, certificate_type={self.certificate_type!r})"
        )

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Certificate:
        """Build a certificate from a mapping of field path to value.

        Checks only the shape (every field present, no unknown field, the right JSON type);
        the rules of the data guide are checked by
        :func:`node.core.rules.validation.validate_certificate`.

        Raises:
            InvalidInput: a field is missing, unknown or of the wrong type.
        """
        unknown = sorted(set(fields) - set(FIELD_NAMES_V2))
        if unknown:
            raise InvalidInput(unknown[0], "schema.unknown_field", "unknown certificate field")
        values: dict[str, FieldValue] = {}
        if TYPE_FIELD in fields:
            certificate_type = fields[TYPE_FIELD]
            if certificate_type not in CERTIFICATE_TYPES:
                raise InvalidInput(
                    TYPE_FIELD, "schema.certificate_type", f"must be one of {CERTIFICATE_TYPES}"
                )
            values[TYPE_FIELD] = certificate_type
        for name in FIELD_NAMES:
            if name not in fields:
                raise InvalidInput(name, "schema.required", "required field is missing")
            value = fields[name]
            if name == "level":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise InvalidInput(name, "schema.type", "must be an integer 1-5")
            elif not isinstance(value, str):
                raise InvalidInput(name, "schema.type", "must be a string")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]
