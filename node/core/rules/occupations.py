"""The occupation catalogue: codes of the 国家职业分类大典 with their standard names, the
category level of each code, and the 准入类 flag of the 国家职业资格目录.

A certificate's occupation (and work type) is named "严格按照国家职业分类大典（2015版）中标准名称"
(粤人社办〔2020〕39号 附件 4 §二(四)4); "不得直接用大类、中类或小类名称作为职业名称进行申报" (Henan
compilation, filing notes); and 准入类 occupations are outside skill-level assessment: "准入类职业
（工种）不纳入企业技能等级认定范围" (Henan compilation), "不得申报准入职业" (ibid.). What the
catalogue covers it checks (:meth:`OccupationCatalogue.check`); a code it does not cover is accepted
with a row warning, since the project ships only the entries the policy documents name.

The catalogue is a value parsed from a JSON document (:func:`parse_catalogue`) — the one the
project ships (``province/data/occupations.json``) and any a node's configuration adds — and handed
to intake like the working-day calendar. Document::

    {"version": 1,
     "entries": [{"code": "6-18-01-01", "name": "车工", "level": "occupation"},
                 {"code": "6-18-00-00", "name": "机械制造基础加工人员", "level": "middle"},
                 {"name": "消防设施操作员", "level": "occupation", "admission": true}]}

``level`` is ``major`` (大类), ``middle`` (中类), ``minor`` (小类), ``occupation`` (职业, four
parts) or ``work_type`` (工种, five parts). ``admission`` marks a 准入类 occupation of the 国家职业
资格目录; its ``code`` may be left out, since the 目录 names occupations without codes: such an
entry is matched by its name.

Pure: values and checks, no I/O.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Final

from node.core.errors import InvalidInput
from node.core.rules.flags import Flag

LEVELS: Final = ("major", "middle", "minor", "occupation", "work_type")
_CODE: Final = re.compile(r"^[1-8](?:-\d{2}){3}(?:-\d{2})?$")
_NO_CODE: Final = "--"


@dataclasses.dataclass(frozen=True, slots=True)
class Occupation:
    """One catalogue entry."""

    code: str | None
    name: str
    level: str
    admission: bool = False
    #: The day (``YYYY-MM-DD``) the occupation left the catalogue: certificates issued before it
    #: stay valid, none is issued from it on. None: still listed.
    removed: str | None = None


def is_category_code(code: str) -> bool:
    """Whether a four-part code names a category, not an occupation: a part ``00``
    (``6-00-00-00`` 大类, ``6-18-00-00`` 中类, ``6-18-01-00`` 小类); the 大典 numbers its entries
    from ``01``."""
    return "-00" in code


@dataclasses.dataclass(frozen=True, slots=True)
class OccupationCatalogue:
    """Codes to entries, and the names of 准入类 occupations."""

    by_code: Mapping[str, Occupation] = dataclasses.field(default_factory=dict)
    """Never mutated (a plain dict, so that the value pickles into intake's worker
    processes)."""
    admission_names: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.by_code) + len(self.admission_names)

    def merged(self, other: OccupationCatalogue) -> OccupationCatalogue:
        """This catalogue with ``other``'s entries added (``other`` wins on a code)."""
        return OccupationCatalogue(
            {**self.by_code, **other.by_code},
            self.admission_names | other.admission_names,
        )

    def check(
        self,
        occupation_code: str,
        occupation_name: str,
        work_type_code: str = _NO_CODE,
        work_type_name: str = _NO_CODE,
        *,
        admission_allowed: bool = False,
        issue_date: str | None = None,
    ) -> tuple[Flag, ...]:
        """Check a certificate's occupation and work type against the catalogue.

        ``admission_allowed``: a 准入类 occupation may be certified (a 职业资格证书; a
        skill-level certificate may not). ``issue_date``: refuse an occupation that left the
        catalogue on or before it (``issue_date`` / ``occupation.removed``); one issued
        before the removal stays valid.

        Returns:
            A ``occupation.not_in_catalogue`` warning when the catalogue has no entry for the
            occupation code (the row is accepted), else nothing.

        Raises:
            InvalidInput: ``occupation_code`` / ``occupation.category_only`` (a category code,
                or a code the catalogue lists as a category); ``occupation_code`` /
                ``occupation.admission`` (a 准入类 occupation, by code or by name);
                ``occupation_name`` / ``occupation.name_mismatch`` and ``work_type_name`` /
                ``occupation.work_type_name_mismatch`` (not the standard name of the code).
        """
        entry = self.by_code.get(occupation_code)
        if is_category_code(occupation_code) or (
            entry is not None and entry.level not in ("occupation", "work_type")
        ):
            raise InvalidInput(
                "occupation_code",
                "occupation.category_only",
                "the code names a category (大类、中类或小类), not an occupation",
            )
        if not admission_allowed and (
            occupation_name in self.admission_names or (entry is not None and entry.admission)
        ):
            raise InvalidInput(
                "occupation_code",
                "occupation.admission",
                "a 准入类 occupation of the 国家职业资格目录 is not assessed for a skill-level "
                "certificate",
            )
        if entry is None:
            return (
                Flag(
                    "occupation.not_in_catalogue",
                    "warning",
                    f"occupation {occupation_code} is not in the node's occupation catalogue; "
                    "its name was not checked",
                ),
            )
        if entry.removed is not None and issue_date is not None and issue_date >= entry.removed:
            raise InvalidInput(
                "issue_date",
                "occupation.removed",
                f"occupation {occupation_code} left the catalogue on {entry.removed}: certificates "
                "issued before that day stay valid, none is issued from it on",
            )
        if occupation_name != entry.name:
            raise InvalidInput(
                "occupation_name",
                "occupation.name_mismatch",
                f"the standard name of {occupation_code} is {entry.name}",
            )
        work = self.by_code.get(work_type_code)
        if work is not None and work_type_name != work.name:
            raise InvalidInput(
                "work_type_name",
                "occupation.work_type_name_mismatch",
                f"the standard name of {work_type_code} is {work.name}",
            )
        return ()


_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _fail(at: str, message: str) -> InvalidInput:
    return InvalidInput(at, "occupation.catalogue_document", message)


def parse_catalogue(value: object) -> OccupationCatalogue:
    """Read a catalogue document (module docstring).

    Raises:
        InvalidInput: rule ``occupation.catalogue_document``, naming the entry
            (``entries[3].code``).
    """
    if not isinstance(value, Mapping) or set(value) != {"version", "entries"}:
        raise _fail("catalogue", "a JSON object with exactly 'version' and 'entries'")
    if value["version"] != 1:
        raise _fail("catalogue.version", "must be 1")
    entries = value["entries"]
    if not isinstance(entries, list):
        raise _fail("catalogue.entries", "must be a list")
    by_code: dict[str, Occupation] = {}
    admission: set[str] = set()
    for i, item in enumerate(entries):
        at = f"entries[{i}]"
        if not isinstance(item, Mapping) or not set(item) <= {
            "code",
            "name",
            "level",
            "admission",
            "removed",
        }:
            raise _fail(at, "an object of code, name, level, admission and removed")
        removed = item.get("removed")
        if removed is not None and (
            not isinstance(removed, str) or _DATE.fullmatch(removed) is None or not _date(removed)
        ):
            raise _fail(f"{at}.removed", "the day it left the catalogue, YYYY-MM-DD")
        name, level = item.get("name"), item.get("level")
        code, flag = item.get("code"), item.get("admission", False)
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise _fail(f"{at}.name", "a non-blank name without surrounding spaces")
        if level not in LEVELS:
            raise _fail(f"{at}.level", f"one of {LEVELS}")
        if not isinstance(flag, bool):
            raise _fail(f"{at}.admission", "true or false")
        if code is None:
            if not flag:
                raise _fail(f"{at}.code", "only a 准入类 entry may leave out its code")
            admission.add(name)
            continue
        if not isinstance(code, str) or not _CODE.match(code):
            raise _fail(f"{at}.code", "a code like 6-18-01-01 or 6-18-01-01-02")
        parts = code.count("-") + 1
        if (level == "work_type") != (parts == 5):
            raise _fail(f"{at}.level", "a work type has five parts, every other level four")
        if (level == "occupation") == is_category_code(code) and parts == 4:
            raise _fail(f"{at}.level", "a category code has a part 00, an occupation none")
        if code in by_code:
            raise _fail(f"{at}.code", f"{code} is listed twice")
        by_code[code] = Occupation(code, name, str(level), flag, removed)
        if flag:
            admission.add(name)
    return OccupationCatalogue(by_code, frozenset(admission))


__all__ = [
    "LEVELS",
    "Occupation",
    "OccupationCatalogue",
    "is_category_code",
    "parse_catalogue",
]
