"""Occupations and work types for the synthetic data set, transcribed from the seeds.

Every entry is one line of a filed scope (备案的评价范围, data guide 中就培发〔2022〕1号 art. 9):
an occupation of the 国家职业分类大典, optionally one work type (工种/职业方向) of it, and the skill
levels the scope may hold. The entries come from three lists of the policy documents (docs/DOMAIN.md
"Sources"):

- ``seed 001`` (Henan compilation, 河南省人力资源和社会保障厅 notice of 2021-01-14, §三(五),
  "机构填写备案申请表时，可参照下表填写评价范围"): 车工, 家政服务员, 汽车维修工 and 钳工 with their
  work types and levels. The seed gives the work types' names but not their five-part codes,
  except for 车工 (below); the fifth part of the other work types is numbered here in the order
  the seed lists them (``-01``, ``-02`` …). That numbering is this project's, not the 大典's.
- ``seed 002`` (Hunan notice, 附件 annual plan example): the work-type codes of 车工
  (``6-18-01-01-01`` 普通车床, ``6-18-01-01-02`` 数控车床) and 电工 ``6-31-01-03``. The seed shows
  电工 at level 2 only; it is filed here for levels 1-5 like the other trades with a national
  standard of five levels (钳工, 汽车维修工 in seed 001).
- ``seed 003`` (Guangdong 粤人社办〔2020〕39号 附件 1, 可提供职业（工种）试题资源目录): 21
  occupations with codes and levels. Parenthesised alternative names in the seed are dropped
  (``缝纫工(服装制作工)`` is filed as 缝纫工); for 园林绿化工 the seed's levels 3-5 are kept at the
  occupation level.

Sectors group the occupations an organisation of one kind of business would be filed for; the
data set builds organisation names and scopes from them. Pure data, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from node.core.certificate import NO_WORK_TYPE


@dataclasses.dataclass(frozen=True, slots=True)
class Occupation:
    """One filable scope line: an occupation, optionally a work type of it, and its levels."""

    occupation_code: str
    occupation_name: str
    work_type_code: str
    """Five-part work-type code, or ``--`` when the line is the occupation itself."""
    work_type_name: str
    """Work-type name, or ``--`` when the line is the occupation itself."""
    levels: tuple[int, ...]
    """Skill levels 1-5 the line may be filed for, ascending."""
    source: str
    """The seed the line is transcribed from."""

    @property
    def key(self) -> str:
        """The scope key intake matches (node.services.intake.filed_scope): work type, else
        occupation."""
        return self.occupation_code if self.work_type_code == NO_WORK_TYPE else self.work_type_code

    def scope_item(self) -> dict[str, object]:
        """The filing's scope item (province/organisations/filing.py ``parse_filing``)."""
        item: dict[str, object] = {"occupation_code": self.occupation_code}
        if self.work_type_code != NO_WORK_TYPE:
            item["work_type_code"] = self.work_type_code
        item["levels"] = list(self.levels)
        return item


_HENAN: Final = "seed 001 (河南 2021-01-14 §三(五))"
_HUNAN: Final = "seed 002 (湖南 认定计划 附件)"
_GUANGDONG: Final = "seed 003 (粤人社办〔2020〕39号 附件 1)"
_ALL: Final = (1, 2, 3, 4, 5)


def _o(code: str, name: str, levels: tuple[int, ...], source: str) -> Occupation:
    return Occupation(code, name, NO_WORK_TYPE, NO_WORK_TYPE, tuple(sorted(levels)), source)


def _w(
    code: str, name: str, part: str, work: str, levels: tuple[int, ...], source: str
) -> Occupation:
    return Occupation(code, name, f"{code}-{part}", work, tuple(sorted(levels)), source)


#: Every scope line, keyed by :attr:`Occupation.key`.
OCCUPATIONS: Final[Mapping[str, Occupation]] = MappingProxyType(
    {
        o.key: o
        for o in (
            # seed 001 with the 车工 work-type codes of seed 002.
            _o("6-18-01-01", "车工", (5,), _HENAN),
            _w("6-18-01-01", "车工", "01", "普通车床", (1, 2, 3, 4), f"{_HENAN}; {_HUNAN}"),
            _w("6-18-01-01", "车工", "02", "数控车床", (1, 2, 3, 4), f"{_HENAN}; {_HUNAN}"),
            _w("4-10-01-06", "家政服务员", "01", "家务服务员", (3, 4, 5), _HENAN),
            _w("4-10-01-06", "家政服务员", "02", "母婴护理员", (3, 4, 5), _HENAN),
            _w("4-10-01-06", "家政服务员", "03", "家庭照护员", (3, 4, 5), _HENAN),
            _o("4-10-01-06", "家政服务员", (2,), _HENAN),
            _w("4-12-01-01", "汽车维修工", "01", "汽车维修检验工", _ALL, _HENAN),
            _w("4-12-01-01", "汽车维修工", "02", "汽车机械维修工", _ALL, _HENAN),
            _w("4-12-01-01", "汽车维修工", "03", "汽车电器维修工", _ALL, _HENAN),
            _w("4-12-01-01", "汽车维修工", "04", "汽车车身整形修复工", _ALL, _HENAN),
            _w("4-12-01-01", "汽车维修工", "05", "汽车车身涂装修复工", _ALL, _HENAN),
            _w("4-12-01-01", "汽车维修工", "06", "汽车美容装潢工", (4, 5), _HENAN),
            _w("4-12-01-01", "汽车维修工", "07", "汽车玻璃维修工", (3, 4, 5), _HENAN),
            _o("6-20-01-01", "钳工", _ALL, _HENAN),
            # seed 002.
            _o("6-31-01-03", "电工", _ALL, _HUNAN),
            # seed 003.
            _o("3-01-02-07", "制图员", (3, 4), _GUANGDONG),
            _o("4-01-02-01", "营销员", (3, 4, 5), _GUANGDONG),
            _o("4-01-02-02", "电子商务师", (3, 4), _GUANGDONG),
            _o("4-01-02-04", "收银员", (3, 4, 5), _GUANGDONG),
            _o("4-05-05-02", "鉴定估价师", (3,), _GUANGDONG),
            _o("4-01-05-02", "医药商品购销员", (3, 4, 5), _GUANGDONG),
            _o("4-02-01-07", "城市轨道交通服务员", (3, 5), _GUANGDONG),
            _o("4-02-06-03", "物流服务师", (3, 4), _GUANGDONG),
            _o("4-03-01-02", "客房服务员", (3, 4, 5), _GUANGDONG),
            _o("4-03-02-05", "餐厅服务员", (3, 4, 5), _GUANGDONG),
            _o("4-07-02-03", "客户服务管理员", (3,), _GUANGDONG),
            _o("4-08-08-20", "形象设计师", (3,), _GUANGDONG),
            _o("4-08-09-01", "商业摄影师", (3, 4, 5), _GUANGDONG),
            _o("4-09-10-01", "园林绿化工", (3, 4, 5), _GUANGDONG),
            _o("4-09-10-05", "插花花艺师", (3, 4, 5), _GUANGDONG),
            _o("4-12-03-02", "家用电子产品维修工", (3, 4, 5), _GUANGDONG),
            _o("4-14-02-01", "公共营养师", (3, 4), _GUANGDONG),
            _o("6-05-01-03", "缝纫工", (3, 4, 5), _GUANGDONG),
            _o("6-18-01-07", "多工序数控机床操作调整工", (3, 4), _GUANGDONG),
            _o("6-31-03-01", "化学检验员", (3, 4, 5), _GUANGDONG),
        )
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class Sector:
    """A line of business: the scope lines its organisations are filed for, and the words
    that make their names (an employer's trade, a social organisation's field)."""

    name: str
    keys: tuple[str, ...]
    """Keys of :data:`OCCUPATIONS`."""
    employer_suffixes: tuple[str, ...]
    """How an employer (class Y) of this sector ends its name, e.g. ``机械制造有限公司``."""
    field: str
    """The field a social organisation or association names, e.g. ``机械``."""


def _keys(*prefixes: str) -> tuple[str, ...]:
    return tuple(k for k in OCCUPATIONS if any(k.startswith(p) for p in prefixes))


#: Sectors, in a fixed order (the data set draws from them by index).
SECTORS: Final[tuple[Sector, ...]] = (
    Sector(
        "machinery",
        _keys("6-18-01-01", "6-20-01-01", "6-18-01-07", "6-31-01-03", "3-01-02-07"),
        ("机械制造有限公司", "精密机械有限公司", "重工股份有限公司", "数控设备有限公司"),
        "机械",
    ),
    Sector(
        "automotive",
        _keys("4-12-01-01", "6-31-01-03", "4-05-05-02"),
        ("汽车销售服务有限公司", "汽车服务有限公司", "汽车维修有限公司"),
        "汽车维修",
    ),
    Sector(
        "household",
        _keys("4-10-01-06", "4-14-02-01"),
        ("家政服务有限公司", "母婴护理服务有限公司"),
        "家政服务",
    ),
    Sector(
        "hospitality",
        _keys("4-03-01-02", "4-03-02-05", "4-01-02-04", "4-14-02-01"),
        ("大酒店有限公司", "酒店管理有限公司", "餐饮管理有限公司"),
        "餐饮酒店",
    ),
    Sector(
        "commerce",
        _keys("4-01-02-01", "4-01-02-02", "4-01-02-04", "4-02-06-03", "4-07-02-03"),
        ("商贸有限公司", "电子商务有限公司", "物流有限公司", "百货有限公司"),
        "商贸流通",
    ),
    Sector(
        "electronics",
        _keys("4-12-03-02", "6-31-01-03", "6-31-03-01"),
        ("电子科技有限公司", "电器有限公司", "检测技术有限公司"),
        "电子电器",
    ),
    Sector(
        "garment",
        _keys("6-05-01-03", "4-08-08-20"),
        ("服装有限公司", "服饰有限公司"),
        "服装",
    ),
    Sector(
        "services",
        _keys("4-08-08-20", "4-08-09-01", "4-09-10-01", "4-09-10-05", "4-01-05-02", "4-02-01-07"),
        ("文化传播有限公司", "园林绿化有限公司", "医药连锁有限公司", "轨道交通运营有限公司"),
        "现代服务",
    ),
)

__all__ = ["OCCUPATIONS", "SECTORS", "Occupation", "Sector"]
