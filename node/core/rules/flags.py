"""What the screening rules report: a :class:`Flag` with a stable code, a severity and a detail
without personal data (data guide 中就培发〔2022〕1号 art. 17; the rules are in
:mod:`node.core.rules.screening` and :mod:`node.core.rules.serials`).

Severities:

- ``warning``: worth a look, nothing is suspended (a gap in the serials);
- ``review``: the province reviews; the certificate's query service may be suspended meanwhile;
- ``error``: the data breaks a rule and is refused or revoked.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Severity = Literal["warning", "review", "error"]


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """One screening finding: a stable ``code``, its severity and a detail without personal
    data."""

    code: str
    severity: Severity
    detail: str


__all__ = ["Flag", "Severity"]
