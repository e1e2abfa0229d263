"""The unified social credit code (统一社会信用代码) of GB 32100-2015, with its check character.

Eighteen characters from the 31 of :data:`CHARSET` (digits and capitals without I, O, Z, S, V):
position 1 the registration department (登记管理部门), 2 the organisation category, 3-8 the
administrative division (six digits, GB/T 2260), 9-17 the organisation's code (GB 11714), 18
the check character: with the character values ``v`` of positions 1-17 and the weights
``w(i) = 3^(i-1) mod 31``, the check value is ``31 - (Σ v·w mod 31)``, and 31 is written ``0``.
A sharing partner is named by its code (docs/SHARING.md; data guide 中就培发〔2022〕1号 art. 22:
the body that applies in writing).
"""

from __future__ import annotations

import re
from typing import Final

from node.core.errors import InvalidInput

CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
_FORM: Final = re.compile(rf"[{CHARSET}]{{2}}[0-9]{{6}}[{CHARSET}]{{10}}")


def uscc_check_character(first17: str) -> str:
    """The check character (position 18) of the first seventeen characters.

    Raises:
        InvalidInput: ``credit_code`` / ``uscc.format`` when a character is not in the set.
    """
    if len(first17) != 17 or any(c not in CHARSET for c in first17):
        raise InvalidInput("credit_code", "uscc.format", "17 characters of the GB 32100 set")
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def check_uscc(code: str, field: str = "credit_code") -> str:
    """Return ``code`` (stripped, upper case) when it is a well-formed unified social credit
    code whose check character is right.

    Raises:
        InvalidInput: ``field`` / ``uscc.format`` (not 18 characters of the set, or positions
            3-8 not digits), ``uscc.check`` (the check character is wrong).
    """
    value = code.strip().upper()
    if not _FORM.fullmatch(value):
        raise InvalidInput(
            field,
            "uscc.format",
            "a unified social credit code is 18 characters (digits and capitals without I, O, "
            "Z, S, V; positions 3-8 digits)",
        )
    if uscc_check_character(value[:17]) != value[17]:
        raise InvalidInput(field, "uscc.check", "the check character (position 18) is wrong")
    return value
