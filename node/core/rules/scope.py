"""The scope document of a filed organisation and the hash the contract keeps of it.

When a province files an organisation (备案) it fixes what the organisation may certify: the
occupations (and work types) and, for each, the skill levels (data guide 中就培发〔2022〕1号
art. 9; seed 002, 社会培训评价组织备案事项办理指南 §(六) 申报职业（工种）范围). The node
publishes that filing as a **scope document** (docs/FORMATS.md "Scope documents"): RFC 8785
canonical JSON

.. code-block:: json

    {"type": "certreg.scope", "version": 1, "province": "44",
     "organisation_code": "S000144002009", "name": "…", "org_class": "S", "category": "2",
     "scope": [{"occupation_code": "6-18-01-01", "levels": [3, 4, 5]}]}

put into the manifest store (IPFS, or the local directory with the same CIDs). Its CIDv0 is the
base58btc multihash ``0x12 0x20 ‖ digest`` of the document's UnixFS root node; the contract keeps
the 32-byte ``digest`` as the organisation's ``scopeHash``. An auditor turns the on-chain hash
back into the CID (:func:`cid_of_scope_hash`), fetches the bytes and reads them with
:func:`parse_scope_document`. The document carries codes, levels and the organisation's name
only, never personal data.

Pure: no I/O. Rule ids (field in brackets):

- ``scope.type`` (``scope``), ``scope.empty``, ``scope.too_many`` (more than
  :data:`MAX_SCOPE_ENTRIES`), ``scope.item`` and ``scope.keys`` (``scope[i]``);
- ``occupation_code.format``, ``occupation_code.major_category`` (``scope[i].occupation_code``),
  the rules of :func:`node.core.rules.validation.validate_certificate`;
- ``work_type_code.format``, ``work_type_code.extends_occupation``
  (``scope[i].work_type_code``);
- ``scope.levels`` (not a non-empty list), ``level.range``, ``scope.levels_duplicate``
  (``scope[i].levels``);
- ``scope.duplicate`` (``scope[i]``): the same occupation (and work type) twice;
- ``name.type``, ``name.empty``, ``name.length``, ``name.control_character``,
  ``name.whitespace`` (``name``);
- the ``certnum.*`` / ``organisation_code.length`` rules of
  :func:`node.core.rules.certnum.parse_organisation_code` (``organisation_code``),
  ``organisation.province`` (``province``), ``organisation.class`` (``org_class``),
  ``organisation.category`` (``category``);
- ``scope_document.*`` for documents that are not version-1 scope documents, ``scope.cid`` and
  ``scope.hash`` for CIDs and hashes;
- a 专项职业能力 examining body (``kind`` ``examining_body``, a key of its document only):
  ``filing.kind`` (``kind``), ``examining_body.code`` and ``examining_body.registry_code``
  (``organisation_code``), ``scope.ungraded`` (``scope[i].levels``): its items are not graded
  (levels ``[0]``, 劳社厅发〔2006〕29号: 不划分等级) and a skill-level filing's always are.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Final, Protocol

from node.core import safejson
from node.core.canonical import canonical_json
from node.core.certificate import NO_WORK_TYPE, UNGRADED_LEVEL
from node.core.errors import InvalidInput
from node.core.rules.certnum import (
    GuangdongSite,
    examining_body_of_registry_code,
    parse_organisation_code,
)
from node.core.rules.codes import LEVELS, PROVINCES, SKILL_MAJOR_CATEGORIES

SCOPE_TYPE: Final = "certreg.scope"
SCOPE_VERSION: Final = 1

#: Most occupation entries one filing may hold: the 国家职业分类大典 (2022) lists 1,636
#: occupations; work types add entries, and the cap keeps a document (and a filing) bounded.
MAX_SCOPE_ENTRIES: Final = 2_000
#: A scope document larger than this is refused (``json.size``) before it is parsed.
MAX_SCOPE_BYTES: Final = 4 * 1024 * 1024

#: Longest organisation name accepted, in characters.
NAME_MAX_LENGTH: Final = 200

#: Length of the digest the contract keeps (``bytes32 scopeHash``).
SCOPE_HASH_LENGTH: Final = 32

# 国家职业分类大典 codes (as in node/core/rules/validation.py): major category, then middle, minor
# and occupation; a work type adds a fifth part. ASCII digits only.
_OCCUPATION_CODE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_WORK_TYPE_CODE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ITEM_KEYS: Final = frozenset(
    {"occupation_code", "work_type_code", "levels", "effective_from", "effective_until"}
)
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DOCUMENT_KEYS: Final = frozenset(
    {"type", "version", "province", "organisation_code", "name", "org_class", "category", "scope"}
)
#: The ``kind`` of a 专项职业能力 examining body's filing (豫人社办函〔2020〕41号 二(四)).
EXAMINING_BODY: Final = "examining_body"
_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_MULTIHASH_SHA256: Final = b"\x12\x20"


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeItem:
    """One filed occupation (or work type of it) and the levels filed for it (sorted).

    ``effective_from`` is the day (China Standard Time, ``YYYY-MM-DD``) an incremental filing
    (增量备案) of the item took effect, ``effective_until`` the first day it is no longer in
    force (removed from the scope); None: filed from the start, never removed. A certificate
    may only be issued on a day the item is in force (豫人社办函〔2021〕155号: 增量备案 must be
    complete before issuing).
    """

    occupation_code: str
    levels: tuple[int, ...]
    work_type_code: str | None = None
    effective_from: str | None = None
    effective_until: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object; ``work_type_code`` and the dates only when set (so an undated
        scope document keeps its bytes and its hash)."""
        out: dict[str, Any] = {"occupation_code": self.occupation_code}
        if self.work_type_code is not None:
            out["work_type_code"] = self.work_type_code
        out["levels"] = list(self.levels)
        if self.effective_from is not None:
            out["effective_from"] = self.effective_from
        if self.effective_until is not None:
            out["effective_until"] = self.effective_until
        return out

    def in_force_on(self, day: str) -> bool:
        """Whether the item is in force on ``day`` (``YYYY-MM-DD``; ISO dates compare as text)."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_until is None or day < self.effective_until
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ScopeDocument:
    """A validated scope document; build it with :func:`build_scope_document`."""

    province: str
    organisation_code: str
    name: str
    org_class: str
    category: str | None
    scope: tuple[ScopeItem, ...]
    kind: str | None = None
    """``examining_body`` for a 专项职业能力 examining body, else None (and no ``kind`` key)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": SCOPE_TYPE,
            "version": SCOPE_VERSION,
            "province": self.province,
            "organisation_code": self.organisation_code,
            "name": self.name,
            "org_class": self.org_class,
            "category": self.category,
            "scope": [item.to_json() for item in self.scope],
        }
        if self.kind is not None:
            out["kind"] = self.kind
        return out

    def to_bytes(self) -> bytes:
        """The published bytes: ``JCS(document)``."""
        return canonical_json(self.to_json())

    def stored_scope(self) -> list[dict[str, Any]]:
        """The scope in the shape the node stores and intake reads
        (:func:`node.services.intake.filed_scope`): ``[{"occupation_code", "levels"}, …]``."""
        return [item.to_json() for item in self.scope]


# --------------------------------------------------------------------------------------------
# Validation


def _levels(value: object, at: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(at, "scope.levels", "must be a non-empty list of levels 1-5")
    if value == [UNGRADED_LEVEL] and type(value[0]) is int:
        # An examining body's item (不划分等级); build_scope_document checks the kind.
        return (UNGRADED_LEVEL,)
    # 人社鉴发〔2019〕2号 table 5 (seed 001): levels 1-5. bool is an int subclass; refuse it.
    if any(isinstance(v, bool) or not isinstance(v, int) or v not in LEVELS for v in value):
        raise InvalidInput(at, "level.range", "every level must be a skill level 1-5")
    if len(set(value)) != len(value):
        raise InvalidInput(at, "scope.levels_duplicate", "a level is listed twice")
    return tuple(sorted(value))


def _occupation(value: object, at: str) -> str:
    if not isinstance(value, str) or _OCCUPATION_CODE.fullmatch(value) is None:
        raise InvalidInput(at, "occupation_code.format", "must be an occupation code d-dd-dd-dd")
    # Only skill occupations (major categories 3-6) are filed (seed 002 §(六)).
    if value[0] not in SKILL_MAJOR_CATEGORIES:
        raise InvalidInput(
            at,
            "occupation_code.major_category",
            "must be in major category 3, 4, 5 or 6 (skill occupations)",
        )
    return value


def _work_type(value: object, occupation: str, at: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or _WORK_TYPE_CODE.fullmatch(value) is None:
        raise InvalidInput(at, "work_type_code.format", "must be a work type code d-dd-dd-dd-dd")
    if not value.startswith(occupation + "-"):
        raise InvalidInput(
            at, "work_type_code.extends_occupation", "must extend the occupation code by one part"
        )
    return value


def _item(value: object, at: str) -> ScopeItem:
    if not isinstance(value, Mapping):
        raise InvalidInput(at, "scope.item", "must be an object")
    if not set(value) <= _ITEM_KEYS or "occupation_code" not in value or "levels" not in value:
        raise InvalidInput(
            at, "scope.keys", "must have occupation_code and levels (and work_type_code)"
        )
    occupation = _occupation(value["occupation_code"], f"{at}.occupation_code")
    work_type = _work_type(value.get("work_type_code"), occupation, f"{at}.work_type_code")
    start = _date(value.get("effective_from"), f"{at}.effective_from")
    end = _date(value.get("effective_until"), f"{at}.effective_until")
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            f"{at}.effective_until", "scope.effective_order", "must be after effective_from"
        )
    return ScopeItem(occupation, _levels(value["levels"], f"{at}.levels"), work_type, start, end)


def _date(value: object, at: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or _DATE.fullmatch(value) is None:
        raise InvalidInput(at, "scope.effective_date", "must be a date YYYY-MM-DD")
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(at, "scope.effective_date", "not a calendar date") from None
    return value


def normalise_scope(scope: object) -> tuple[ScopeItem, ...]:
    """Check a filed scope and return it sorted by occupation code (then work type), each
    item's levels sorted.

    Raises:
        InvalidInput: a rule of the module docstring; the field names the item
            (``scope[3].levels``, counted in the order given).
    """
    if not isinstance(scope, list):
        raise InvalidInput("scope", "scope.type", "must be a list of occupations and levels")
    if not scope:
        raise InvalidInput("scope", "scope.empty", "an organisation is filed for some occupation")
    if len(scope) > MAX_SCOPE_ENTRIES:
        raise InvalidInput("scope", "scope.too_many", f"at most {MAX_SCOPE_ENTRIES} entries")
    items: list[ScopeItem] = []
    seen: set[tuple[str, str]] = set()
    for i, value in enumerate(scope):
        item = _item(value, f"scope[{i}]")
        key = (item.occupation_code, item.work_type_code or "")
        if key in seen:
            raise InvalidInput(f"scope[{i}]", "scope.duplicate", "occupation listed twice")
        seen.add(key)
        items.append(item)
    return tuple(sorted(items, key=lambda it: (it.occupation_code, it.work_type_code or "")))


def check_name(name: object) -> str:
    """Check an organisation name: a non-blank string of at most :data:`NAME_MAX_LENGTH`
    characters, no control or invisible characters, no surrounding whitespace (one spelling,
    as for the certificate's ``organisation_name``).

    Raises:
        InvalidInput: field ``name``, rules ``name.type``, ``name.empty``, ``name.length``,
            ``name.control_character``, ``name.whitespace``.
    """
    if not isinstance(name, str):
        raise InvalidInput("name", "name.type", "must be a string")
    if not name.strip():
        raise InvalidInput("name", "name.empty", "must not be empty")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput("name", "name.length", f"must be 1-{NAME_MAX_LENGTH} characters")
    if any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in name):
        raise InvalidInput(
            "name", "name.control_character", "must not contain control or invisible characters"
        )
    if name != name.strip():
        raise InvalidInput("name", "name.whitespace", "must not start or end with whitespace")
    return name


def code_category(organisation_code: str) -> str | None:
    """The provincial category digit the code carries, or None where the province's rule has
    none: Guangdong's position 10 (粤人社办〔2020〕39号 annex 4 §二(四)2, seed 003).

    Raises:
        InvalidInput: the code breaks a rule of
        :func:`node.core.rules.certnum.parse_organisation_code`.
    """
    refinement = parse_organisation_code(organisation_code).refinement
    return refinement.category if isinstance(refinement, GuangdongSite) else None


def build_scope_document(
    *,
    province: str,
    organisation_code: str,
    name: str,
    org_class: str,
    category: str | None,
    scope: object,
    kind: str | None = None,
) -> ScopeDocument:
    """Check every part of a filing's public description and return its scope document.

    ``org_class`` must be the code's position 1; ``category`` must be the category digit the
    code carries (:func:`code_category`), None where the province has none. ``kind``
    ``examining_body``: a 专项职业能力 examining body filed under its registry code (class S,
    no category, every item ungraded).

    Raises:
        InvalidInput: a rule of the module docstring.
    """
    if not isinstance(province, str) or province not in PROVINCES:
        raise InvalidInput("province", "organisation.province", "must be a province code 11-82")
    if not isinstance(organisation_code, str):
        raise InvalidInput("organisation_code", "organisation_code.length", "must be a string")
    if kind not in (None, EXAMINING_BODY):
        raise InvalidInput("kind", "filing.kind", f"must be {EXAMINING_BODY} or absent")
    if kind == EXAMINING_BODY:
        if examining_body_of_registry_code(organisation_code, province) is None:
            raise InvalidInput(
                "organisation_code",
                "examining_body.registry_code",
                "must be S + area + province + 5 + serial + 00 (an examining body's registry code)",
            )
        expected_category = None
    else:
        expected_category = code_category(organisation_code)
    if organisation_code[5:7] != province:
        raise InvalidInput(
            "province", "organisation.province", "code positions 6-7 must be the province"
        )
    if org_class != organisation_code[0]:
        raise InvalidInput("org_class", "organisation.class", "must be the code's position 1")
    if category != expected_category:
        raise InvalidInput(
            "category",
            "organisation.category",
            "must be the category digit the code carries (Guangdong position 10), else null",
        )
    items = normalise_scope(scope)
    for i, item in enumerate(items):
        if (item.levels == (UNGRADED_LEVEL,)) != (kind == EXAMINING_BODY):
            raise InvalidInput(
                f"scope[{i}].levels",
                "scope.ungraded",
                "an examining body's items are not graded (levels [0]); other items are graded 1-5",
            )
    return ScopeDocument(
        province=province,
        organisation_code=organisation_code,
        name=check_name(name),
        org_class=org_class,
        category=category,
        scope=items,
        kind=kind,
    )


def scope_document(
    *,
    province: str,
    organisation_code: str,
    name: str,
    org_class: str,
    category: str | None,
    scope: object,
) -> bytes:
    """The published bytes (RFC 8785) of the scope document of a filing.

    Raises:
        InvalidInput: a rule of the module docstring.
    """
    return build_scope_document(
        province=province,
        organisation_code=organisation_code,
        name=name,
        org_class=org_class,
        category=category,
        scope=scope,
    ).to_bytes()


def parse_scope_document(data: bytes) -> ScopeDocument:
    """Read a published scope document strictly (for the auditor): exactly the version-1 keys,
    every rule of :func:`build_scope_document`, items already sorted, levels already sorted,
    and the bytes exactly their canonical form.

    Raises:
        InvalidInput: ``scope_document.json`` (not UTF-8 JSON), ``scope_document.keys``,
            ``scope_document.version``, ``scope_document.order`` (items or levels not in the
            pinned order), ``scope_document.canonical`` (other bytes than JCS), or a rule of
            :func:`build_scope_document`.
    """
    value = safejson.loads(
        data, "scope_document", max_bytes=MAX_SCOPE_BYTES, rule="scope_document.json"
    )
    if not isinstance(value, dict) or set(value) - {"kind"} != _DOCUMENT_KEYS:
        raise InvalidInput("scope_document", "scope_document.keys", "wrong keys")
    if value["type"] != SCOPE_TYPE or type(value["version"]) is not int or value["version"] != 1:
        raise InvalidInput("scope_document", "scope_document.version", "not a version 1 scope")
    document = build_scope_document(
        province=value["province"],
        organisation_code=value["organisation_code"],
        name=value["name"],
        org_class=value["org_class"],
        category=value["category"],
        scope=value["scope"],
        kind=value.get("kind"),
    )
    if document.stored_scope() != value["scope"]:
        raise InvalidInput("scope", "scope_document.order", "items or levels are not sorted")
    if document.to_bytes() != data:
        raise InvalidInput("scope_document", "scope_document.canonical", "not canonical JSON")
    return document


# --------------------------------------------------------------------------------------------
# CID <-> scope hash


def cid_of_scope_hash(scope_hash: bytes) -> str:
    """The CIDv0 whose sha2-256 digest is ``scope_hash``: base58btc of ``0x12 0x20 ‖ hash``.

    Raises:
        InvalidInput: field ``scope_hash``, rule ``scope.hash`` unless 32 bytes.
    """
    if not isinstance(scope_hash, bytes) or len(scope_hash) != SCOPE_HASH_LENGTH:
        raise InvalidInput("scope_hash", "scope.hash", "must be 32 bytes")
    data = _MULTIHASH_SHA256 + scope_hash
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return out  # The multihash starts with 0x12, so there are no leading zero bytes.


def scope_hash_of_cid(cid: str) -> bytes:
    """The 32-byte sha2-256 digest inside a CIDv0 (``Qm…``, 46 base58btc characters).

    Raises:
        InvalidInput: field ``cid``, rule ``scope.cid``: not a CIDv0 of a sha2-256 multihash.
    """
    if not isinstance(cid, str) or len(cid) != 46 or any(c not in _B58 for c in cid):
        raise InvalidInput("cid", "scope.cid", "must be a CIDv0 (46 base58btc characters)")
    number = 0
    for char in cid:
        number = number * 58 + _B58.index(char)
    if number >= 1 << (8 * 34):
        raise InvalidInput("cid", "scope.cid", "not a 34-byte multihash")
    data = number.to_bytes(34, "big")
    if data[:2] != _MULTIHASH_SHA256 or cid_of_scope_hash(data[2:]) != cid:
        raise InvalidInput("cid", "scope.cid", "not a sha2-256 multihash (CIDv0)")
    return data[2:]


__all__ = [
    "MAX_SCOPE_ENTRIES",
    "NAME_MAX_LENGTH",
    "SCOPE_TYPE",
    "SCOPE_VERSION",
    "ScopeDocument",
    "ScopeItem",
    "build_scope_document",
    "check_name",
    "cid_of_scope_hash",
    "code_category",
    "normalise_scope",
    "parse_scope_document",
    "scope_document",
    "scope_hash_of_cid",
]


# -- the filed scope as intake and the auditor check it -----------------------------------------


class FiledScope(dict[str, frozenset[int]]):
    """Code (work type, else occupation) -> every level ever filed for it, and ``dated``: the
    items that carry effective dates, as (code, from, until, levels), so that a certificate is
    judged by the scope in force on its issue date (:meth:`on`)."""

    dated: tuple[tuple[str, str | None, str | None, frozenset[int]], ...] = ()

    def on(self, day: str) -> dict[str, frozenset[int]]:
        """Code -> the levels in force on ``day`` (``YYYY-MM-DD``)."""
        dated_codes = {code for code, _, _, _ in self.dated}
        out: dict[str, set[int]] = {
            code: set(levels) for code, levels in self.items() if code not in dated_codes
        }
        for code, start, end, levels in self.dated:
            if (start is None or start <= day) and (end is None or day < end):
                out.setdefault(code, set()).update(levels)
        return {code: frozenset(levels) for code, levels in out.items()}


def filed_scope(scope: Any) -> FiledScope:
    """Read the scope ``OrganisationRepository`` stores, ``[{"occupation_code", "levels"}]``
    (an item may name a work type with ``work_type_code`` instead, and carry
    ``effective_from`` / ``effective_until`` dates), as code -> levels.

    Raises:
        InvalidInput: the stored scope has another shape (``scope.malformed``).
    """
    out: dict[str, set[int]] = {}
    dated: list[tuple[str, str | None, str | None, frozenset[int]]] = []
    if not isinstance(scope, list):
        raise InvalidInput("scope", "scope.malformed", "the filed scope is not a list")
    for item in scope:
        if not isinstance(item, Mapping):
            raise InvalidInput("scope", "scope.malformed", "a filed scope item is not an object")
        code = item.get("work_type_code") or item.get("occupation_code")
        levels = item.get("levels")
        if not isinstance(code, str) or not isinstance(levels, list):
            raise InvalidInput("scope", "scope.malformed", "a filed scope item is malformed")
        kept = {level for level in levels if isinstance(level, int) and not isinstance(level, bool)}
        out.setdefault(code, set()).update(kept)
        start, end = item.get("effective_from"), item.get("effective_until")
        if start is not None or end is not None:
            if not isinstance(start, str | None) or not isinstance(end, str | None):
                raise InvalidInput("scope", "scope.malformed", "an effective date is not a date")
            dated.append((code, start, end, frozenset(kept)))
    filed = FiledScope({code: frozenset(levels) for code, levels in out.items()})
    filed.dated = tuple(dated)
    return filed


class PublicAttributes(Protocol):
    """The public attributes the database checks read (a :class:`~node.core.certificate.Certificate`
    or a log entry's :class:`~node.core.formats.entry.Attributes`)."""

    @property
    def issue_date(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def occupation_code(self) -> str: ...
    @property
    def work_type_code(self) -> str: ...


def check_scope(certificate: PublicAttributes, scope: Mapping[str, frozenset[int]]) -> None:
    """Refuse a certificate outside the filed scope (data guide art. 9), and, when the scope's
    items carry effective dates (:class:`FiledScope`), outside the scope in force on its issue
    date.

    Raises:
        InvalidInput: ``occupation_code`` / ``scope.occupation`` when neither the occupation nor
            the work type is filed; ``level`` / ``scope.level`` when they are, but not at this
            level; ``issue_date`` / ``scope.not_in_force`` when they are, but were not in
            force on the issue date.
    """
    codes = [certificate.occupation_code]
    if certificate.work_type_code != NO_WORK_TYPE:
        codes.append(certificate.work_type_code)
    filed = [scope[code] for code in codes if code in scope]
    if not filed:
        raise InvalidInput(
            "occupation_code",
            "scope.occupation",
            "occupation and work type are not in the filed scope (data guide art. 9)",
        )
    if not any(certificate.level in levels for levels in filed):
        raise InvalidInput(
            "level",
            "scope.level",
            "level is not in the filed scope for this occupation (data guide art. 9)",
        )
    if isinstance(scope, FiledScope) and scope.dated:
        in_force = scope.on(certificate.issue_date)
        if not any(certificate.level in in_force.get(code, ()) for code in codes):
            raise InvalidInput(
                "issue_date",
                "scope.not_in_force",
                "the occupation and level were not in the filed scope in force on the issue "
                "date: an incremental filing (增量备案) must take effect before issuing "
                "(豫人社办函〔2021〕155号)",
            )
