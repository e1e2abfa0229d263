"""Filings read and checked: a filing (备案) as JSON or Python values becomes an
:class:`OrganisationFiling` (code, name, category, normalised scope, keys) or raises
:class:`~node.core.errors.InvalidInput` naming the field and the rule. Nothing here reads the
database or the chain.

Rule ids (field in brackets): ``filing.type`` / ``filing.keys`` (``filing``); ``keys.type``,
``keys.empty``, ``keys.too_many`` (``keys``); ``key.type``, ``key.keys``, ``key.suite``,
``key.public_key``, ``key.time``, ``key.validity`` (``keys[i].…`` or the argument); the rules of
:mod:`node.core.rules.scope` and :func:`node.core.rules.certnum.parse_organisation_code`.

A 专项职业能力 examining body (``"kind": "examining_body"``) is filed by its 8-digit code
(豫人社办函〔2020〕41号 二(四): ``examining_body.code``) under the registry code the contract keys
it by (:func:`node.core.formats.entry.examining_body_registry_code`), with ungraded items
(``"levels": [0]``, ``scope.ungraded``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

from node.core.crypto.signatures import SUITE_IDS
from node.core.errors import InvalidInput
from node.core.formats.entry import examining_body_registry_code
from node.core.rules.certnum import check_examining_body_code, parse_organisation_code
from node.core.rules.scope import (
    EXAMINING_BODY,
    ScopeDocument,
    ScopeItem,
    build_scope_document,
    check_name,
    code_category,
    normalise_scope,
)
from node.core.time import CHINA_STANDARD_TIME

#: Keys one filing may carry (the first is filed, the others rotated in without closing).
MAX_FILING_KEYS: Final = 16

#: China Standard Time: dates in filings are days in China (docs/DOMAIN.md, README "Key validity").
CHINA_TZ: Final = CHINA_STANDARD_TIME

#: Key times end at 2^53 - 1: every snapshot carries them, and snapshots are read by the
#: in-browser verifier too, whose JSON numbers are exact only up to there (node/core/formats/
#: snapshot.py MAX_INDEX); a larger time on chain would make every snapshot unreadable.
_KEY_TIME_MAX: Final = 2**53 - 1
_FILING_KEYS: Final = frozenset(
    {"code", "name", "category", "scope", "keys", "kind"}
    | {"address", "contact", "filing_number", "filing_period"}
)
#: Longest public particular (address, contact, filing number), in characters.
PARTICULAR_MAX_LENGTH: Final = 200
_KEY_KEYS: Final = frozenset({"suite", "public_key", "valid_from", "valid_until"})


@dataclasses.dataclass(frozen=True, slots=True)
class KeySpec:
    """A signing key to register: suite name, encoded public key, validity
    ``[valid_from, valid_until)`` in unix seconds, ``valid_until`` 0 open."""

    suite: str
    public_key: bytes
    valid_from: int
    valid_until: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class FilingParticulars:
    """The public particulars of a filing (人社鉴发〔2019〕3号 三: 地址、联系方式、备案编号; Henan's
    备案期限 ``filing_from`` … ``filing_until``, None open). The organisation's own, no personal
    data."""

    address: str | None = None
    contact: str | None = None
    filing_number: str | None = None
    filing_from: dt.date | None = None
    filing_until: dt.date | None = None


def _particular(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or value != value.strip()
        or len(value) > PARTICULAR_MAX_LENGTH
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        raise InvalidInput(
            key,
            "filing.particular",
            f"must be text of 1-{PARTICULAR_MAX_LENGTH} characters, no control characters or "
            "surrounding spaces",
        )
    return value


def _period(value: object) -> tuple[dt.date | None, dt.date | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping) or not set(value) <= {"from", "until"} or "from" not in value:
        raise InvalidInput("filing_period", "filing.period", 'must be {"from", "until"} dates')
    days: list[dt.date | None] = []
    for key in ("from", "until"):
        text = value.get(key)
        if text is None and key == "until":
            days.append(None)
            continue
        try:
            days.append(dt.date.fromisoformat(text) if isinstance(text, str) else None)
        except ValueError:
            days.append(None)
        if days[-1] is None:
            raise InvalidInput(f"filing_period.{key}", "filing.period", "must be YYYY-MM-DD")
    start, end = days
    if end is not None and start is not None and end <= start:
        raise InvalidInput("filing_period.until", "filing.period", "must be after from")
    return start, end


def parse_particulars(obj: Mapping[str, object]) -> FilingParticulars | None:
    """The public particulars of a filing object (``address``, ``contact``, ``filing_number``,
    ``filing_period``: ``{"from": "2024-01-01", "until": "2028-12-31"}``), or None when it
    gives none.

    Raises:
        InvalidInput: ``filing.particular``, ``filing.period``.
    """
    if not {"address", "contact", "filing_number", "filing_period"} & set(obj):
        return None
    start, end = _period(obj.get("filing_period"))
    return FilingParticulars(
        address=_particular(obj, "address"),
        contact=_particular(obj, "contact"),
        filing_number=_particular(obj, "filing_number"),
        filing_from=start,
        filing_until=end,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationFiling:
    """A checked filing; build it with :func:`parse_filing` or :meth:`OrganisationFiling.of`."""

    code: str
    name: str
    category: str | None
    scope: tuple[ScopeItem, ...]
    """The scope items, normalised (sorted, levels sorted)."""
    keys: tuple[KeySpec, ...]
    kind: str | None = None
    """``examining_body`` for a 专项职业能力 examining body (``code`` is then its registry code),
    else None."""
    particulars: FilingParticulars | None = None
    """Address, contact, filing number and period, when the filing gives them."""

    @classmethod
    def of(
        cls,
        *,
        code: str,
        name: str,
        scope: object,
        keys: Sequence[KeySpec],
        category: str | None = None,
        kind: str | None = None,
    ) -> OrganisationFiling:
        """Check a filing given as Python values (``category`` None takes the code's; ``kind``
        ``examining_body``: ``code`` is the examining body's registry code).

        Raises:
            InvalidInput: a rule of the module docstring.
        """
        if kind == EXAMINING_BODY:
            derived = None
        else:
            parse_organisation_code(code)
            derived = code_category(code)
        if category is None:
            category = derived
        if not keys:
            raise InvalidInput("keys", "keys.empty", "an organisation is filed with a key")
        if len(keys) > MAX_FILING_KEYS:
            raise InvalidInput("keys", "keys.too_many", f"at most {MAX_FILING_KEYS} keys")
        for i, key in enumerate(keys):
            check_key(key, f"keys[{i}]")
        filing = cls(code, check_name(name), category, normalise_scope(scope), tuple(keys), kind)
        filing.document(code[5:7])  # Checks class and category against the code.
        return filing

    def document(self, province: str) -> ScopeDocument:
        """The scope document of this filing.

        Raises:
            InvalidInput: a rule of :func:`node.core.rules.scope.build_scope_document`.
        """
        return build_scope_document(
            province=province,
            organisation_code=self.code,
            name=self.name,
            org_class=self.code[0],
            category=self.category,
            scope=[item.to_json() for item in self.scope],
            kind=self.kind,
        )


def check_key(key: KeySpec, at: str) -> None:
    """Check a key as the contract does (docs/CONTRACT.md "Organisations": ed25519 32 bytes,
    ecdsa-secp256k1 33 bytes with prefix 02/03, sm2-sm3 65 bytes with prefix 04)."""
    if key.suite not in SUITE_IDS:
        raise InvalidInput(f"{at}.suite", "key.suite", f"one of {', '.join(SUITE_IDS)}")
    pk = key.public_key
    if not isinstance(pk, bytes) or not _key_shape_ok(key.suite, pk):
        raise InvalidInput(
            f"{at}.public_key", "key.public_key", f"not an encoded {key.suite} public key"
        )
    _check_time(key.valid_from, f"{at}.valid_from")
    _check_time(key.valid_until, f"{at}.valid_until")
    if key.valid_until and key.valid_until <= key.valid_from:
        raise InvalidInput(f"{at}.valid_until", "key.validity", "must be 0 or after valid_from")


def _key_shape_ok(suite: str, pk: bytes) -> bool:
    if suite == "ed25519":
        return len(pk) == 32
    if suite == "ecdsa-secp256k1":
        return len(pk) == 33 and pk[0] in (2, 3)
    return len(pk) == 65 and pk[0] == 4


def _check_time(value: object, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _KEY_TIME_MAX:
        raise InvalidInput(at, "key.time", "must be unix seconds 0 … 2^53-1")
    return value


def parse_time(value: object, at: str) -> int:
    """Unix seconds from an integer, an aware :class:`datetime.datetime`, or an ISO 8601 text:
    a date (``2026-01-01``: midnight China Standard Time, UTC+8) or a date-time (an offset, or
    UTC+8 when it has none).

    Raises:
        InvalidInput: field ``at``, rule ``key.time``.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInput(at, "key.time", "must be timezone-aware")
        return _check_time(int(value.timestamp()), at)
    if isinstance(value, str):
        try:
            if len(value) == 10:
                day = dt.date.fromisoformat(value)
                moment = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
            else:
                moment = dt.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=CHINA_TZ)
        except ValueError as exc:
            raise InvalidInput(at, "key.time", "not an ISO 8601 date or date-time") from exc
        return _check_time(int(moment.timestamp()), at)
    return _check_time(value, at)


def _parse_key(value: object, at: str) -> KeySpec:
    if not isinstance(value, Mapping):
        raise InvalidInput(at, "key.type", "must be an object")
    if not set(value) <= _KEY_KEYS or not {"suite", "public_key", "valid_from"} <= set(value):
        raise InvalidInput(at, "key.keys", "suite, public_key, valid_from (and valid_until)")
    suite = value["suite"]
    if not isinstance(suite, str) or suite not in SUITE_IDS:
        raise InvalidInput(f"{at}.suite", "key.suite", f"one of {', '.join(SUITE_IDS)}")
    text = value["public_key"]
    try:
        if not isinstance(text, str) or text != text.lower():
            raise ValueError("not lowercase hex")
        public_key = bytes.fromhex(text)
    except ValueError as exc:
        raise InvalidInput(f"{at}.public_key", "key.public_key", "must be lowercase hex") from exc
    until = value.get("valid_until")
    return KeySpec(
        suite=suite,
        public_key=public_key,
        valid_from=parse_time(value["valid_from"], f"{at}.valid_from"),
        valid_until=0 if until is None else parse_time(until, f"{at}.valid_until"),
    )


def parse_filing(obj: object, *, province: str | None = None) -> OrganisationFiling:
    """Read a filing from a JSON object::

        {"code": "S000144002009", "name": "…", "category": "2",
         "scope": [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}],
         "keys": [{"suite": "ed25519", "public_key": "<hex>",
                   "valid_from": "2026-01-01", "valid_until": 0}]}

    ``category`` may be left out (or null): it is the code's (Guangdong position 10) or none.
    ``valid_*`` are unix seconds or ISO dates / date-times in UTC+8; ``valid_until`` 0, null
    or absent is open. ``"kind": "examining_body"`` files a 专项职业能力 examining body: ``code``
    is then its 8-digit code, filed under its registry code in ``province`` (the filing node's),
    and every item's ``levels`` is ``[0]``.

    Raises:
        InvalidInput: every rule of the module docstring, naming the field (``keys[1].suite``).
    """
    if not isinstance(obj, Mapping):
        raise InvalidInput("filing", "filing.type", "must be a JSON object")
    unknown = sorted(set(obj) - _FILING_KEYS)
    missing = sorted({"code", "name", "scope", "keys"} - set(obj))
    if unknown or missing:
        raise InvalidInput(
            "filing", "filing.keys", f"unknown keys {unknown}, missing keys {missing}"
        )
    code = obj["code"]
    kind = obj.get("kind")
    if kind is not None and kind != EXAMINING_BODY:
        raise InvalidInput("kind", "filing.kind", f"must be {EXAMINING_BODY} or absent")
    if kind == EXAMINING_BODY:
        if province is None:
            raise ValueError("an examining body is filed in a province: pass province")
        code = examining_body_registry_code(check_examining_body_code(code, "code"), province)
    if not isinstance(code, str):
        raise InvalidInput("organisation_code", "organisation_code.length", "must be a string")
    keys = obj["keys"]
    if not isinstance(keys, list):
        raise InvalidInput("keys", "keys.type", "must be a list of keys")
    if len(keys) > MAX_FILING_KEYS:
        raise InvalidInput("keys", "keys.too_many", f"at most {MAX_FILING_KEYS} keys")
    filing = OrganisationFiling.of(
        code=code,
        name=obj["name"],
        scope=obj["scope"],
        keys=[_parse_key(k, f"keys[{i}]") for i, k in enumerate(keys)],
        category=obj.get("category"),
        kind=kind,
    )
    particulars = parse_particulars(obj)
    return filing if particulars is None else dataclasses.replace(filing, particulars=particulars)


__all__ = [
    "CHINA_TZ",
    "MAX_FILING_KEYS",
    "FilingParticulars",
    "KeySpec",
    "OrganisationFiling",
    "check_key",
    "parse_filing",
    "parse_particulars",
    "parse_time",
]
