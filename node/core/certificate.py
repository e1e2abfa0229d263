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

    def fields(self) -> dict[str, FieldValue]:
        """Return the fields as a dict keyed by field path, in canonical order."""
        return {name: getattr(self, name) for name in FIELD_NAMES}

    def __repr__(self) -> str:
        # Never show personal data, even in tracebacks or debug logs.
        return (
            f"Certificate(certificate_number={self.certificate_number!r}, "
            f"organisation_code={self.organisation_code!r}, level={self.level!r}, "
            f"issue_date={self.issue_date!r})"
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
        unknown = sorted(set(fields) - set(FIELD_NAMES))
        if unknown:
            raise InvalidInput(unknown[0], "schema.unknown_field", "unknown certificate field")
        values: dict[str, FieldValue] = {}
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
