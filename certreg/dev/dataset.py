"""The synthetic consortium data set: organisations, issuer keys and signed submissions.

Everything is made up and derived from a seed: the same seed and inputs give the same
organisations, keys and submission rows (Ed25519 and ECDSA signatures are deterministic; SM2
signs with a random nonce, so only its signature bytes differ between runs).

**Organisations** (:func:`synthetic_organisations`) of both classes, ``Y`` 用人单位 and ``S``
社会培训评价组织, alternating, with codes valid under the national rule 人社鉴发〔2019〕2号 and
the province's refinement (node/core/rules/certnum.py): Guangdong city, category and serial
(seed 003), Henan city and sequence with position 10 = 9 for technical schools certifying their own
students (class Y, seed 001); Hunan, which has no provincial rule in the seeds, city (GB/T 2260
prefecture) and a four-digit sequence, as Henan. Positions 2-5 are ``0000`` (filed with the
province) for most and a Ministry code for about one in ten. Each organisation is filed for the
occupations of one line of business (certreg/dev/occupations.py, transcribed from the seeds), a
social organisation for at most three occupations (seed 002, 湖南 notice §二: 每个社会培训评价组织
申报职业不超过3个), with the levels of each line. The first organisation of every province is
filed for 钳工 at all five levels, so a province's data holds every level. One signing key each
(key id 0), valid from :data:`KEY_VALID_FROM` (2020-01-01); no row is issued before the day its
organisations' keys became valid.

**Submissions** (:func:`synthetic_submissions`): a stream of signed JSON Lines rows
(node/core/issuer.py ``submission_line``) that the province node's intake accepts on
``received_on``. Provinces by weight (even by default), organisations by a skewed size, scope
line at random, level weighted towards 3-5; serials sequential per organisation, issue year and
level from ``start_serials`` (national rule positions 17-22), in issue-date order. Holders have
Chinese names (surname and one or two given characters) and, mostly, a synthetic resident ID
(GB 11643, check character of node/core/rules/idnumber.py) with an area code of the province or, for
migrant workers, of another, and a birth date making them 18-60 on the issue date; a few hold a
Hong Kong / Macao or Taiwan permit, a residence permit, a passport or a foreigner's permanent
residence card (docs/FORMATS.md "ID types").

Issue dates: every day from six months before ``received_on`` to ``received_on`` that
:meth:`node.core.rules.workdays.WorkdayCalendar.check_upload` accepts (in the working-day calendar
the caller passes, the nodes' own), working days weighted far above rest days, so the spread
crosses the public holidays of those months (chinese-calendar via node/core/rules/workdays.py).
About :data:`LATE_SHARE` of the rows are issued after the
30-working-day upload deadline (data guide 中就培发〔2022〕1号 arts. 10, 12) and carry a late-upload
reason (6xx, node/core/rules/reasons.py); the rest are on time. None is more than 6 months old or
after ``received_on``.

Personal data (holder names, ID numbers) exists only inside the submission lines, which are the
issuer's input; nothing here logs it, and :class:`SyntheticSubmission`'s ``repr`` leaves the
line out.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from certreg.dev.occupations import OCCUPATIONS, SECTORS, Occupation, Sector
from node.core.certificate import Certificate
from node.core.crypto.signatures import get_suite, signing_message
from node.core.errors import InvalidInput
from node.core.formats.commitment import SALT_SIZE, salt_certificate
from node.core.formats.entry import Signature
from node.core.formats.snapshot import Network
from node.core.issuer import submission_line
from node.core.rules.codes import (
    CLASS_EMPLOYER,
    CLASS_SOCIAL,
    GUANGDONG_CITIES,
    HENAN_CITIES,
    ID_FOREIGN_PERMANENT_RESIDENCE,
    ID_HK_MACAO_PERMIT,
    ID_HMT_RESIDENCE_PERMIT,
    ID_PASSPORT,
    ID_RESIDENT,
    ID_TAIWAN_PERMIT,
    PROVINCE_FILED_ORGANISATION_CODE,
    PROVINCE_GUANGDONG,
    PROVINCE_HENAN,
    PROVINCES,
    RESIDENT_ID_PROVINCES,
)
from node.core.rules.idnumber import resident_id_check_character
from node.core.rules.reasons import Reason
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import CHINA_STANDARD_TIME, china_date_of_unix
from node.storage.files import write_private
from province.organisations import KeySpec, OrganisationFiling

#: The founding provinces of the local consortium: 广东, 河南, 湖南.
FOUNDERS: tuple[str, ...] = ("44", "41", "43")

PROVINCE_HUNAN: Final = "43"

#: 2020-01-01 00:00 China Standard Time: when every synthetic organisation's key becomes valid.
KEY_VALID_FROM: Final = int(dt.datetime(2020, 1, 1, tzinfo=CHINA_STANDARD_TIME).timestamp())

#: Share of rows uploaded after the 30-working-day deadline, with a late reason.
LATE_SHARE: Final = 0.02

#: Weight of a rest day (weekend, holiday) as an issue date, against 1 for a working day.
REST_DAY_WEIGHT: Final = 0.08

#: Relative weight of each skill level when a scope line allows it (most certificates are
#: 五级/四级/三级; 技师 and 高级技师 are rare).
LEVEL_WEIGHTS: Final[Mapping[int, float]] = {1: 2.0, 2: 6.0, 3: 27.0, 4: 35.0, 5: 30.0}

#: Late-upload reasons (node/core/rules/reasons.py, data guide art. 12) and their weights.
LATE_REASONS: Final[tuple[tuple[Reason, float], ...]] = (
    (Reason.LATE_ORGANISATION_DELAY, 50.0),
    (Reason.LATE_SYSTEM_FAILURE, 20.0),
    (Reason.LATE_RESULTS_UNDER_REVIEW, 15.0),
    (Reason.LATE_FORCE_MAJEURE, 5.0),
    (Reason.LATE_OTHER, 10.0),
)

_MAX_SERIAL: Final = 999_999

# --------------------------------------------------------------------------------------------
# Provinces: cities for organisation codes and names, areas for holders' ID numbers


@dataclasses.dataclass(frozen=True, slots=True)
class _Province:
    code: str
    name: str
    cities: tuple[tuple[str, int], ...]
    """Positions 8-9 of organisation codes and their weights."""
    city_names: Mapping[str, str]
    areas: tuple[str, ...]
    """GB/T 2260 county-level codes of the province, for holders' resident IDs."""
    migrant_share: float
    """Share of holders whose resident ID is from another province."""
    foreign_share: float
    """Share of holders with another ID type than the resident ID."""


# Hunan prefecture codes (GB/T 2260 positions 3-4, 4301 长沙 …); no Hunan coding rule is in the
# seeds, so positions 8-9 of a Hunan code reuse them (00 for the province level, as Henan does).
_HUNAN_CITIES: Final[Mapping[str, str]] = {
    "00": "湖南省",
    "01": "长沙市",
    "02": "株洲市",
    "03": "湘潭市",
    "04": "衡阳市",
    "05": "邵阳市",
    "06": "岳阳市",
    "07": "常德市",
    "10": "郴州市",
    "12": "怀化市",
}

_PROVINCE_PROFILES: Final[Mapping[str, _Province]] = {
    PROVINCE_GUANGDONG: _Province(
        PROVINCE_GUANGDONG,
        "广东省",
        (
            ("01", 30),
            ("03", 25),
            ("06", 10),
            ("19", 10),
            ("20", 5),
            ("04", 4),
            ("05", 4),
            ("13", 4),
            ("07", 3),
            ("00", 3),
        ),
        {**GUANGDONG_CITIES, "00": "广东省"},
        # 广州 荔湾 越秀 海珠 天河 白云, 深圳 罗湖 福田 南山 宝安, 珠海 香洲, 汕头 金平,
        # 佛山 禅城 顺德, 东莞, 中山, 惠州 惠城, 江门 蓬江.
        (
            "440103",
            "440104",
            "440105",
            "440106",
            "440111",
            "440303",
            "440304",
            "440305",
            "440306",
            "440402",
            "440511",
            "440604",
            "440606",
            "441900",
            "442000",
            "441302",
            "440703",
        ),
        0.35,
        0.017,
    ),
    PROVINCE_HENAN: _Province(
        PROVINCE_HENAN,
        "河南省",
        (
            ("01", 30),
            ("03", 10),
            ("13", 8),
            ("07", 6),
            ("02", 5),
            ("05", 5),
            ("14", 5),
            ("00", 5),
            ("10", 4),
            ("15", 4),
            ("16", 4),
            ("17", 4),
        ),
        {**HENAN_CITIES, "00": "河南省"},
        # 郑州 中原 二七 管城 金水, 开封 龙亭, 洛阳 老城 涧西, 安阳 文峰, 新乡 红旗,
        # 许昌 魏都, 南阳 宛城, 商丘 梁园, 信阳 浉河, 周口 川汇, 驻马店 驿城.
        (
            "410102",
            "410103",
            "410104",
            "410105",
            "410202",
            "410302",
            "410305",
            "410502",
            "410702",
            "411002",
            "411302",
            "411402",
            "411502",
            "411602",
            "411702",
        ),
        0.08,
        0.003,
    ),
    PROVINCE_HUNAN: _Province(
        PROVINCE_HUNAN,
        "湖南省",
        (
            ("01", 35),
            ("02", 10),
            ("04", 10),
            ("03", 8),
            ("06", 8),
            ("07", 8),
            ("10", 6),
            ("05", 5),
            ("12", 5),
            ("00", 5),
        ),
        _HUNAN_CITIES,
        # 长沙 芙蓉 天心 岳麓 开福 雨花, 株洲 荷塘, 湘潭 雨湖, 衡阳 珠晖, 邵阳 双清,
        # 岳阳 岳阳楼, 常德 武陵, 郴州 北湖, 怀化 鹤城.
        (
            "430102",
            "430103",
            "430104",
            "430105",
            "430111",
            "430202",
            "430302",
            "430405",
            "430502",
            "430602",
            "430702",
            "431002",
            "431202",
        ),
        0.08,
        0.003,
    ),
}

# Where migrant workers' resident IDs come from (first four digits: a prefecture; two more
# digits complete a plausible county code).
_MIGRANT_AREAS: Final[tuple[str, ...]] = (
    "430102",  # 湖南 长沙 芙蓉
    "430405",  # 湖南 衡阳 珠晖
    "431002",  # 湖南 郴州 北湖
    "410105",  # 河南 郑州 金水
    "411302",  # 河南 南阳 宛城
    "411602",  # 河南 周口 川汇
    "450102",  # 广西 南宁 兴宁
    "450302",  # 广西 桂林 秀峰
    "510104",  # 四川 成都 锦江
    "511302",  # 四川 南充 顺庆
    "360102",  # 江西 南昌 东湖
    "360702",  # 江西 赣州 章贡
    "420102",  # 湖北 武汉 江岸
    "520102",  # 贵州 贵阳 南明
    "440106",  # 广东 广州 天河
)


def _profile(province: str) -> _Province:
    """The profile of ``province``; provinces without one get a plain, generic profile."""
    known = _PROVINCE_PROFILES.get(province)
    if known is not None:
        return known
    if province not in RESIDENT_ID_PROVINCES:
        raise InvalidInput(
            "province",
            "dataset.province",
            "must be a mainland province code (node/core/rules/codes.py RESIDENT_ID_PROVINCES)",
        )
    name = PROVINCES[province]
    return _Province(province, name, (("01", 1),), {"01": name}, (f"{province}0102",), 0.05, 0.003)


# --------------------------------------------------------------------------------------------
# Organisations

# Brand words of made-up company and school names (two characters each).
_BRANDS: Final[tuple[str, ...]] = tuple(
    _b[i : i + 2]
    for _b in (
        "宏达华兴恒信永盛鑫源金桥远航博达中联嘉禾瑞丰汇通正大",
        "天成德润安康广信立新同创兴业明辉启航卓越众诚新锐长青",
        "东升富源盛世海纳蓝天凯旋祥和锦程腾飞华瑞振华联创信达",
        "鼎盛通达旭日万嘉和美佳禾荣昌弘毅致远恒昌泰和",
    )
    for i in range(0, len(_b), 2)
)


@dataclasses.dataclass(frozen=True)
class SyntheticOrganisation:
    """A synthetic assessment organisation: its filing (province/organisations/filing.py) and
    the private key of its key 0."""

    province: str
    filing: OrganisationFiling
    suite: str
    private_key: bytes

    def __repr__(self) -> str:
        # The private key stays out of logs and tracebacks.
        return (
            f"SyntheticOrganisation(province={self.province!r}, code={self.filing.code!r}, "
            f"suite={self.suite!r})"
        )

    def filing_json(self) -> dict[str, Any]:
        """The JSON object ``certreg node file-org FILE`` reads
        (:func:`province.organisations.parse_filing`)."""
        return {
            "code": self.filing.code,
            "name": self.filing.name,
            "category": self.filing.category,
            "scope": [item.to_json() for item in self.filing.scope],
            "keys": [
                {
                    "suite": key.suite,
                    "public_key": key.public_key.hex(),
                    "valid_from": key.valid_from,
                    "valid_until": key.valid_until,
                }
                for key in self.filing.keys
            ],
        }


def _kind(class_code: str, province: str, rng: random.Random) -> str:
    """What kind of organisation to make, which also fixes Guangdong's category digit (table
    6-1 for Y: 1 国有企业, 2 非国有企业, 3 其他; 6-2 for S: 1 企业, 2 技工院校, 3 行业协会, 4 其他)
    and a Henan technical school's position 10."""
    if class_code == CLASS_EMPLOYER:
        kinds: tuple[str, ...] = ("state", "private", "private", "private", "other")
        if province == PROVINCE_HENAN:
            kinds += ("school",)
        return rng.choice(kinds)
    return rng.choice(("enterprise", "enterprise", "enterprise", "college", "association", "other"))


_GUANGDONG_CATEGORY: Final[Mapping[str, str]] = {
    "state": "1",
    "private": "2",
    "other": "3",
    "enterprise": "1",
    "college": "2",
    "association": "3",
    "school": "3",
}


def _site_sequence(
    profile: _Province, city: str, kind: str, rng: random.Random, used: set[str]
) -> str:
    """Positions 8-13, unique in the province."""
    for _ in range(10_000):
        if profile.code == PROVINCE_GUANGDONG:
            # seed 003 §二(四): city, category (table 6), serial 000-999.
            sequence = f"{city}{_GUANGDONG_CATEGORY[kind]}{rng.randint(1, 999):03d}"
        elif profile.code == PROVINCE_HENAN and kind == "school":
            # 豫职鉴〔2021〕1号 §一: position 10 = 9 for a technical school's own students.
            sequence = f"{city}9{rng.randint(1, 999):03d}"
        else:
            # Henan 豫职鉴〔2020〕2号 §二(四): city and a sequence; 0-8 in position 10.
            sequence = f"{city}{rng.randint(1, 8999):04d}"
        if sequence not in used:
            used.add(sequence)
            return sequence
    raise InvalidInput("count", "dataset.codes_exhausted", "no free organisation code left")


def _name(kind: str, city_name: str, sector: Sector, brand: str, rng: random.Random) -> str:
    """A name of the usual shape for the kind of organisation."""
    if kind == "state":
        return f"{city_name}{brand}集团有限公司"
    if kind == "private":
        return f"{city_name}{brand}{rng.choice(sector.employer_suffixes)}"
    if kind == "other":
        return f"{city_name}{brand}{sector.field}服务中心"
    if kind == "school":
        return f"{city_name}{brand}技师学院"
    if kind == "enterprise":
        suffix = rng.choice(
            ("职业技能评价中心有限公司", "职业技能培训有限公司", "人力资源服务有限公司")
        )
        return f"{city_name}{brand}{suffix}"
    if kind == "college":
        return f"{city_name}{brand}{rng.choice(('技工学校', '高级技工学校', '技师学院'))}"
    if kind == "association":
        suffix = rng.choice(("行业协会", "协会", "技能人才促进会", "行业商会"))
        field = sector.field if rng.random() < 0.5 else brand + sector.field
        return f"{city_name}{field}{suffix}"
    return f"{city_name}{brand}职业培训学校"


def _scope(
    class_code: str, sector: Sector, rng: random.Random, *, all_levels: bool
) -> list[Occupation]:
    """Scope lines for one organisation: whole occupations of the sector (a social
    organisation at most three, seed 002), or, for the first organisation, 钳工 too."""
    by_occupation: dict[str, list[Occupation]] = {}
    for key in sector.keys:
        line = OCCUPATIONS[key]
        by_occupation.setdefault(line.occupation_code, []).append(line)
    codes = sorted(by_occupation)
    most = 3 if class_code == CLASS_SOCIAL else 4
    chosen = rng.sample(codes, rng.randint(1, min(most, len(codes))))
    if all_levels:
        fitter = "6-20-01-01"  # 钳工, levels 1-5 (seed 001)
        chosen = [fitter, *[c for c in chosen if c != fitter][: most - 1]]
        by_occupation.setdefault(fitter, [OCCUPATIONS[fitter]])
    lines: list[Occupation] = []
    for code in chosen:
        candidates = by_occupation[code]
        if len(candidates) > 2:
            candidates = rng.sample(candidates, rng.randint(2, len(candidates)))
        lines.extend(candidates)
    return lines


def _private_key(suite: str, seed: int, province: str, code: str) -> bytes:
    material = hashlib.sha256(f"certreg dev key|{seed}|{province}|{code}|{suite}".encode()).digest()
    return get_suite(suite).generate_private_key(material)


def synthetic_organisations(
    province: str, count: int, *, seed: int, suite: str = "ed25519"
) -> list[SyntheticOrganisation]:
    """``count`` synthetic organisations of ``province``, alternately class S and Y (see the
    module docstring), each with one ``suite`` key valid from :data:`KEY_VALID_FROM`.

    Deterministic for ``(province, count, seed, suite)``; the first ``n`` organisations are the
    same whatever ``count`` is.

    Raises:
        InvalidInput: ``province`` / ``dataset.province`` (not a mainland province code);
            ``count`` / ``dataset.count`` (negative); ``suite`` / ``key.suite``.
    """
    profile = _profile(province)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput("count", "dataset.count", "must be a non-negative integer")
    get_suite(suite)  # Raises for an unknown suite.
    cities, city_weights = zip(*profile.cities, strict=True)
    cumulative = list(itertools.accumulate(city_weights))
    used_sequences: set[str] = set()
    used_names: set[str] = set()
    out: list[SyntheticOrganisation] = []
    for index in range(count):
        rng = random.Random(f"certreg dev organisation|{seed}|{province}|{index}")
        class_code = CLASS_SOCIAL if index % 2 == 0 else CLASS_EMPLOYER
        kind = _kind(class_code, province, rng)
        city = rng.choices(cities, cum_weights=cumulative)[0]
        sector = SECTORS[0] if index == 0 else rng.choice(SECTORS)
        if kind == "school":
            sector = rng.choice(SECTORS[:2])  # Technical schools teach trades.
        ministry = (
            f"{rng.randint(1, 999):04d}" if rng.random() < 0.1 else PROVINCE_FILED_ORGANISATION_CODE
        )
        sequence = _site_sequence(profile, city, kind, rng, used_sequences)
        code = f"{class_code}{ministry}{province}{sequence}"
        name = _unique_name(kind, profile.city_names[city], sector, rng, used_names)
        lines = _scope(class_code, sector, rng, all_levels=index == 0)
        private_key = _private_key(suite, seed, province, code)
        filing = OrganisationFiling.of(
            code=code,
            name=name,
            scope=[line.scope_item() for line in lines],
            keys=[KeySpec(suite, get_suite(suite).public_key(private_key), KEY_VALID_FROM)],
        )
        out.append(SyntheticOrganisation(province, filing, suite, private_key))
    return out


def _unique_name(
    kind: str, city_name: str, sector: Sector, rng: random.Random, used: set[str]
) -> str:
    """A name not yet used in the province: one brand word, then two, then a number."""
    for attempt in range(1_000):
        brand = rng.choice(_BRANDS)
        if attempt >= 50:
            brand += rng.choice(_BRANDS)[0]
        name = _name(kind, city_name, sector, brand, rng)
        if attempt >= 500:
            name = f"{city_name}{brand}{attempt}{name[len(city_name) + len(brand) :]}"
        if name not in used:
            used.add(name)
            return name
    raise InvalidInput("count", "dataset.names_exhausted", "no free organisation name left")


# --------------------------------------------------------------------------------------------
# Holders: names and ID numbers (synthetic; nobody's)

_SURNAMES: Final[tuple[str, ...]] = (
    *"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程",
    *"苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝",
    *"龚邵万钱严覃武戴莫孔向汤",
    "欧阳",
    "司马",
    "上官",
    "诸葛",
)
# Common surnames are far more frequent: weight 1 / (rank + 4).
_SURNAME_CUMULATIVE: Final[list[float]] = list(
    itertools.accumulate(1.0 / (rank + 4) for rank in range(len(_SURNAMES)))
)
_GIVEN_MALE: Final = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文海东亮成峰晨博睿轩宏毅"
)
_GIVEN_FEMALE: Final = (
    "芳娜敏静丽艳娟霞秀英华梅兰玲婷雪琳颖倩萍红燕慧莉佳欣怡悦璐丹晶洁琴云月瑶雯蕾薇"
)
_FOREIGN_NAMES: Final[tuple[str, ...]] = (
    "NGUYEN VAN AN",
    "TRAN THI HOA",
    "LE VAN MINH",
    "PHAM THI LAN",
    "SOMCHAI SAETANG",
    "MAUNG AUNG KYAW",
    "JOHN SMITH",
    "MARIA GARCIA",
)
# Passport number shapes: Vietnam (letter and 7 digits), others (2 letters and 7 digits).
_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# ID types other than the resident ID, with weights (docs/FORMATS.md "ID types").
_OTHER_ID_TYPES: Final[tuple[tuple[str, float], ...]] = (
    (ID_HK_MACAO_PERMIT, 40.0),
    (ID_HMT_RESIDENCE_PERMIT, 20.0),
    (ID_TAIWAN_PERMIT, 15.0),
    (ID_PASSPORT, 20.0),
    (ID_FOREIGN_PERMANENT_RESIDENCE, 5.0),
)
_OTHER_ID_NAMES, _OTHER_ID_WEIGHTS = zip(*_OTHER_ID_TYPES, strict=True)
_OTHER_ID_CUMULATIVE: Final = list(itertools.accumulate(_OTHER_ID_WEIGHTS))
# Youngest and oldest holder on the issue date, in days: 18 and 60 years (a year has at least
# 365 days, so 18 * 365 + 5 days is at least 18 years, 60 * 365 days less than 60 years).
_YOUNGEST_DAYS: Final = 18 * 365 + 5
_OLDEST_DAYS: Final = 60 * 365
_MODE_DAYS: Final = 30 * 365


def _chinese_name(rng: random.Random, male: bool) -> str:
    surname = _SURNAMES[
        bisect.bisect_left(_SURNAME_CUMULATIVE, rng.random() * _SURNAME_CUMULATIVE[-1])
    ]
    pool = _GIVEN_MALE if male else _GIVEN_FEMALE
    given = rng.choice(pool) if rng.random() < 0.3 else rng.choice(pool) + rng.choice(pool)
    return surname + given


def _gb11643(prefix6: str, born: dt.date, male: bool, rng: random.Random) -> str:
    """An 18-character GB 11643 number: area, birth date, sequence (odd for men), check."""
    sequence = rng.randrange(1 if male else 0, 1000, 2)
    first17 = f"{prefix6}{born:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_character(first17)


def _holder(profile: _Province, issue_date: dt.date, rng: random.Random) -> tuple[str, str, str]:
    """A synthetic holder for a certificate issued on ``issue_date``: (name, ID type, number)."""
    male = rng.random() < 0.55
    age_days = int(rng.triangular(_YOUNGEST_DAYS, _OLDEST_DAYS, _MODE_DAYS))
    born = issue_date - dt.timedelta(days=age_days)
    if rng.random() >= profile.foreign_share:
        areas = _MIGRANT_AREAS if rng.random() < profile.migrant_share else profile.areas
        number = _gb11643(rng.choice(areas), born, male, rng)
        return _chinese_name(rng, male), ID_RESIDENT, number
    id_type = _OTHER_ID_NAMES[
        bisect.bisect_left(_OTHER_ID_CUMULATIVE, rng.random() * _OTHER_ID_CUMULATIVE[-1])
    ]
    if id_type == ID_HK_MACAO_PERMIT:
        number = rng.choice("HHHM") + f"{rng.randrange(10**8):08d}"
    elif id_type == ID_TAIWAN_PERMIT:
        number = f"{rng.randrange(10**8):08d}"
    elif id_type == ID_HMT_RESIDENCE_PERMIT:
        number = _gb11643(rng.choice(("810000", "810000", "820000", "830000")), born, male, rng)
    elif id_type == ID_PASSPORT:
        number = rng.choice(_LETTERS) + f"{rng.randrange(10**7):07d}"
        return rng.choice(_FOREIGN_NAMES), id_type, number
    else:
        # 2017 card: 9, issuing province, nationality (3 digits), birth date, sequence, check.
        prefix = f"9{profile.code}{rng.choice(('704', '764', '104', '840'))}"
        return rng.choice(_FOREIGN_NAMES), id_type, _gb11643(prefix, born, male, rng)
    return _chinese_name(rng, male), id_type, number


# --------------------------------------------------------------------------------------------
# Issue dates


def issue_days(
    received_on: dt.date, calendar: WorkdayCalendar
) -> tuple[list[dt.date], list[dt.date]]:
    """Every day an upload received on ``received_on`` accepts as an issue date, split into
    (on time, late) by :meth:`node.core.rules.workdays.WorkdayCalendar.check_upload` of
    ``calendar`` itself: on time within 30 working days (data guide art. 10), late up to 6
    months (art. 12). Ascending.

    Raises:
        InvalidInput: field ``received_on``, rule ``workdays.calendar_range`` when the calendar
            data does not cover the days before ``received_on``.
    """
    on_time: list[dt.date] = []
    late: list[dt.date] = []
    for back in range(200, -1, -1):
        day = received_on - dt.timedelta(days=back)
        try:
            calendar.check_upload(day, received_on, None)
        except InvalidInput as exc:
            if exc.rule == "late_reason.required":
                late.append(day)
            continue
        on_time.append(day)
    if not on_time:
        raise InvalidInput(
            "received_on",
            "workdays.calendar_range",
            "no issue date is acceptable on this day (outside the chinese-calendar years?)",
        )
    return on_time, late


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` over ``weights`` (largest remainder, deterministic)."""
    if total == 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    rest = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def _day_plan(
    received_on: dt.date,
    count: int,
    late_share: float,
    rng: random.Random,
    earliest: dt.date,
    calendar: WorkdayCalendar,
) -> list[tuple[dt.date, int, bool]]:
    """(issue date, rows, late) in date order, none before ``earliest``; rest days get
    :data:`REST_DAY_WEIGHT`."""
    on_time, late = issue_days(received_on, calendar)
    on_time = [day for day in on_time if day >= earliest]
    late = [day for day in late if day >= earliest]
    if not on_time:
        raise InvalidInput(
            "received_on",
            "dataset.before_keys",
            "no on-time issue date falls after the organisations' keys became valid",
        )
    late_count = round(count * late_share) if late else 0

    def weights(days: list[dt.date]) -> list[float]:
        return [
            (1.0 if calendar.is_working_day(day) else REST_DAY_WEIGHT) * rng.uniform(0.6, 1.4)
            for day in days
        ]

    plan = [
        (day, n, True) for day, n in zip(late, _allocate(late_count, weights(late)), strict=True)
    ] + [
        (day, n, False)
        for day, n in zip(on_time, _allocate(count - late_count, weights(on_time)), strict=True)
    ]
    return [item for item in plan if item[1]]


# --------------------------------------------------------------------------------------------
# Submissions


@dataclasses.dataclass(frozen=True)
class SyntheticSubmission:
    """One signed submission row and its public facts. ``line`` carries personal data."""

    province: str
    organisation_code: str
    certificate_number: str
    issue_date: dt.date
    line: str

    def __repr__(self) -> str:
        # ``line`` holds the holder's name and ID number: never in logs or tracebacks.
        return (
            f"SyntheticSubmission(province={self.province!r}, "
            f"certificate_number={self.certificate_number!r}, issue_date={self.issue_date!r})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Issuer:
    organisation: SyntheticOrganisation
    profile: _Province
    lines: tuple[Occupation, ...]
    levels: tuple[tuple[tuple[int, ...], list[float]], ...]
    """For each scope line: its levels and their cumulative weights."""
    sign: Any


def _signer(organisation: SyntheticOrganisation) -> Any:
    """A callable signing a message with the organisation's key 0 (the Ed25519 key object is
    built once: loading it per row would cost as much as signing)."""
    if organisation.suite == "ed25519":
        return Ed25519PrivateKey.from_private_bytes(organisation.private_key).sign
    suite = get_suite(organisation.suite)
    key = organisation.private_key
    return lambda message: suite.sign(key, message)


def _issuer(organisation: SyntheticOrganisation) -> _Issuer:
    lines = tuple(
        dataclasses.replace(
            OCCUPATIONS[item.work_type_code or item.occupation_code], levels=item.levels
        )
        for item in organisation.filing.scope
    )
    levels = tuple(
        (line.levels, list(itertools.accumulate(LEVEL_WEIGHTS[level] for level in line.levels)))
        for line in lines
    )
    return _Issuer(
        organisation, _profile(organisation.province), lines, levels, _signer(organisation)
    )


def _check_inputs(
    organisations: Sequence[SyntheticOrganisation],
    count: int,
    province_weights: Mapping[str, float] | None,
    late_share: float,
) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput("count", "dataset.count", "must be a non-negative integer")
    if count and not organisations:
        raise InvalidInput("organisations", "dataset.organisations", "no organisation to issue")
    if not 0.0 <= late_share <= 1.0:
        raise InvalidInput("late_share", "dataset.late_share", "must be between 0 and 1")
    if province_weights is not None:
        provinces = {o.province for o in organisations}
        if set(province_weights) - provinces or any(w < 0 for w in province_weights.values()):
            raise InvalidInput(
                "province_weights",
                "dataset.province_weights",
                "weights must be non-negative and name provinces of the organisations",
            )
        if count and not any(province_weights.get(p, 0) > 0 for p in provinces):
            raise InvalidInput(
                "province_weights", "dataset.province_weights", "no province has a weight"
            )


def synthetic_submissions(
    organisations: Sequence[SyntheticOrganisation],
    network: Network,
    count: int,
    *,
    seed: int,
    received_on: dt.date,
    calendar: WorkdayCalendar,
    start_serials: Mapping[tuple[str, int, int], int] | None = None,
    province_weights: Mapping[str, float] | None = None,
    late_share: float = LATE_SHARE,
    rows: range | None = None,
) -> Iterator[SyntheticSubmission]:
    """Yield ``count`` signed submission rows for ``network``, in issue-date order (see the
    module docstring), each accepted by its province node's intake on ``received_on`` when the
    node judges deadlines in ``calendar``.

    ``rows``: only the rows of this range (step 1) of the ``count``, the very rows the whole
    run yields there: the rows before it are drawn (the random sequence and the serials move
    on as in the whole run) but neither salted nor signed, so several processes can each make
    a part of one data set (:func:`certreg.bench.province` writes its file so).

    ``start_serials`` maps ``(organisation code, issue year, level)`` to the last serial already
    used (a second run continues after it). ``province_weights`` maps province codes to
    weights (default: even over the organisations' provinces). Memory does not grow with
    ``count``: rows are made as they are consumed.

    Raises:
        InvalidInput: ``count`` / ``dataset.count``; ``organisations`` /
            ``dataset.organisations``; ``province_weights`` / ``dataset.province_weights``;
            ``late_share`` / ``dataset.late_share``; ``received_on`` /
            ``workdays.calendar_range`` or ``dataset.before_keys`` (no on-time day after the
            keys' start); ``certificate_number`` / ``dataset.serials_exhausted``
            (more than 999999 in one organisation, year and level). Raised on the first
            ``next()``.
    """
    _check_inputs(organisations, count, province_weights, late_share)
    if count == 0:
        return
    rng = random.Random(f"certreg dev submissions|{seed}|{received_on.isoformat()}")
    provinces = list(dict.fromkeys(o.province for o in organisations))
    weights = [1.0 if province_weights is None else province_weights.get(p, 0.0) for p in provinces]
    province_cumulative = list(itertools.accumulate(weights))
    issuers: dict[str, list[_Issuer]] = {p: [] for p in provinces}
    for organisation in organisations:
        issuers[organisation.province].append(_issuer(organisation))
    # Organisations differ in size: a skewed weight each.
    size_cumulative = {
        p: list(itertools.accumulate(rng.lognormvariate(0.0, 0.9) for _ in group))
        for p, group in issuers.items()
    }
    serials: dict[tuple[str, int, int], int] = dict(start_serials or {})
    signing = (network.chain_id, network.contract)
    # Key 0 of every organisation signs on every issue date (node/core/verify.py key_valid_on).
    earliest = max(china_date_of_unix(o.filing.keys[0].valid_from) for o in organisations)
    wanted = range(count) if rows is None else rows
    if wanted.step != 1:
        raise ValueError("rows must be a range of step 1")
    made = 0
    for day, day_rows, late in _day_plan(received_on, count, late_share, rng, earliest, calendar):
        issue_date = day.isoformat()
        for _ in range(day_rows):
            if made >= wanted.stop:
                return
            province = provinces[
                bisect.bisect_right(province_cumulative, rng.random() * province_cumulative[-1])
            ]
            cumulative = size_cumulative[province]
            issuer = issuers[province][
                bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
            ]
            drawn = _draw(issuer, day, late, serials, rng)
            if made >= wanted.start:
                yield _submission(issuer, day, issue_date, drawn, signing)
            made += 1


@dataclasses.dataclass(frozen=True, slots=True)
class _Drawn:
    """The random parts of one certificate: everything but its salting and signature."""

    index: int
    level: int
    number: str
    holder: tuple[str, str, str]
    salts: bytes
    late_reason: int | None


def _draw(
    issuer: _Issuer,
    day: dt.date,
    late: bool,
    serials: dict[tuple[str, int, int], int],
    rng: random.Random,
) -> _Drawn:
    """Draw one certificate of ``issuer`` issued on ``day`` (its serial taken)."""
    filing = issuer.organisation.filing
    index = rng.randrange(len(issuer.lines))
    levels, cumulative = issuer.levels[index]
    level = levels[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]
    key = (filing.code, day.year, level)
    serial = serials.get(key, 0) + 1
    if serial > _MAX_SERIAL:
        raise InvalidInput(
            "certificate_number",
            "dataset.serials_exhausted",
            "more than 999999 certificates for one organisation, year and level",
        )
    serials[key] = serial
    number = f"{filing.code}{day.year % 100:02d}{level}{serial:06d}"
    holder = _holder(issuer.profile, day, rng)
    salts = rng.randbytes(SALT_SIZE * 12)
    return _Drawn(index, level, number, holder, salts, _late_reason(rng) if late else None)


def _submission(
    issuer: _Issuer,
    day: dt.date,
    issue_date: str,
    drawn: _Drawn,
    signing: tuple[int, bytes],
) -> SyntheticSubmission:
    """Make, salt and sign the certificate ``drawn``."""
    filing = issuer.organisation.filing
    line = issuer.lines[drawn.index]
    level, number, salts = drawn.level, drawn.number, drawn.salts
    name, id_type, id_number = drawn.holder
    certificate = Certificate(
        holder_name=name,
        id_type=id_type,
        id_number=id_number,
        occupation_name=line.occupation_name,
        occupation_code=line.occupation_code,
        work_type_name=line.work_type_name,
        work_type_code=line.work_type_code,
        level=level,
        certificate_number=number,
        issue_date=issue_date,
        organisation_name=filing.name,
        organisation_code=filing.code,
    )
    offsets = iter(range(0, len(salts), SALT_SIZE))
    salted = salt_certificate(certificate, lambda n: salts[(o := next(offsets)) : o + n])
    value = issuer.sign(signing_message(*signing, salted.commitment()))
    text = submission_line(
        salted, Signature(issuer.organisation.suite, 0, value), late_reason=drawn.late_reason
    )
    return SyntheticSubmission(issuer.organisation.province, filing.code, number, day, text)


_LATE_CODES, _LATE_WEIGHTS = zip(*LATE_REASONS, strict=True)
_LATE_CUMULATIVE: Final = list(itertools.accumulate(_LATE_WEIGHTS))


def _late_reason(rng: random.Random) -> int:
    return int(
        _LATE_CODES[bisect.bisect_right(_LATE_CUMULATIVE, rng.random() * _LATE_CUMULATIVE[-1])]
    )


# --------------------------------------------------------------------------------------------
# Files

ORGANISATIONS_DIR: Final = "organisations"
ISSUER_KEYS_FILE: Final = "issuer-keys.json"
SUBMISSIONS_FILE: Final = "submissions.jsonl"


@dataclasses.dataclass(frozen=True, slots=True)
class ProvinceFiles:
    """What :func:`write_dataset` wrote for one province."""

    province: str
    organisations: tuple[Path, ...]
    """``<folder>/<province>/organisations/<code>.json``: filings for ``certreg node file-org``."""
    issuer_keys: Path
    """``<folder>/<province>/issuer-keys.json`` (mode 0600): the organisations' private keys."""
    submissions: Path
    """``<folder>/<province>/submissions.jsonl``: for ``certreg node ingest``."""
    certificates: int
    """Rows in ``submissions``."""


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetFiles:
    """What :func:`write_dataset` wrote: files per province and the last serials used."""

    folder: Path
    provinces: Mapping[str, ProvinceFiles]
    last_serials: Mapping[tuple[str, int, int], int]
    """``(organisation code, issue year, level) -> last serial``: ``start_serials`` of a later
    run that adds more certificates."""

    @property
    def certificates(self) -> int:
        return sum(files.certificates for files in self.provinces.values())


def issuer_keys_json(organisations: Sequence[SyntheticOrganisation]) -> dict[str, Any]:
    """The content of ``issuer-keys.json``: per organisation code, key 0's suite, key id,
    public key and private key (hex)::

        {"type": "certreg.dev.issuer_keys", "version": 1,
         "keys": {"S000044011001": {"suite": "ed25519", "key_id": 0,
                                    "public_key": "…", "private_key": "…"}}}
    """
    return {
        "type": "certreg.dev.issuer_keys",
        "version": 1,
        "keys": {
            o.filing.code: {
                "suite": o.suite,
                "key_id": 0,
                "public_key": o.filing.keys[0].public_key.hex(),
                "private_key": o.private_key.hex(),
            }
            for o in organisations
        },
    }


def read_issuer_keys(path: Path) -> dict[str, tuple[str, int, bytes]]:
    """Read ``issuer-keys.json``: organisation code -> (suite, key id, private key).

    Raises:
        InvalidInput: field ``issuer_keys``, rule ``dataset.issuer_keys`` when the file is not
            such a document.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("type") != "certreg.dev.issuer_keys" or document.get("version") != 1:
            raise ValueError("not an issuer-keys document")
        return {
            code: (str(key["suite"]), int(key["key_id"]), bytes.fromhex(key["private_key"]))
            for code, key in document["keys"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(
            "issuer_keys", "dataset.issuer_keys", "not a certreg.dev.issuer_keys document"
        ) from exc


def write_dataset(
    folder: Path,
    organisations: Sequence[SyntheticOrganisation],
    network: Network,
    count: int,
    *,
    seed: int,
    received_on: dt.date,
    calendar: WorkdayCalendar,
    progress: bool = True,
    start_serials: Mapping[tuple[str, int, int], int] | None = None,
    province_weights: Mapping[str, float] | None = None,
    late_share: float = LATE_SHARE,
) -> DatasetFiles:
    """Write the organisations' filings and keys and ``count`` submissions
    (:func:`synthetic_submissions`) under ``folder``, one sub-folder per province:
    ``organisations/<code>.json``, ``issuer-keys.json`` (mode 0600) and ``submissions.jsonl``
    (rows in issue-date order). Shows a tqdm progress bar over ``count`` when ``progress``.

    Existing files of the same names are replaced. Memory does not grow with ``count``.

    Raises:
        InvalidInput: the rules of :func:`synthetic_submissions`; nothing is written when the
            inputs are refused.
    """
    _check_inputs(organisations, count, province_weights, late_share)
    issue_days(received_on, calendar)  # Refuses an uncovered day before anything is written.
    by_province: dict[str, list[SyntheticOrganisation]] = {}
    for organisation in organisations:
        by_province.setdefault(organisation.province, []).append(organisation)
    filings: dict[str, list[Path]] = {}
    for province, group in by_province.items():
        directory = folder / province / ORGANISATIONS_DIR
        directory.mkdir(parents=True, exist_ok=True)
        filings[province] = []
        for organisation in group:
            path = directory / f"{organisation.filing.code}.json"
            text = json.dumps(organisation.filing_json(), ensure_ascii=False, indent=2)
            path.write_text(text + "\n", encoding="utf-8")
            filings[province].append(path)
        keys = json.dumps(issuer_keys_json(group), indent=2)
        write_private(folder / province / ISSUER_KEYS_FILE, keys + "\n")
    counts = dict.fromkeys(by_province, 0)
    last_serials: dict[tuple[str, int, int], int] = dict(start_serials or {})
    outputs = {
        province: (folder / province / SUBMISSIONS_FILE).open("w", encoding="utf-8")
        for province in by_province
    }
    try:
        rows = synthetic_submissions(
            organisations,
            network,
            count,
            seed=seed,
            received_on=received_on,
            calendar=calendar,
            start_serials=start_serials,
            province_weights=province_weights,
            late_share=late_share,
        )
        with tqdm(total=count, desc="dataset", unit="row", disable=not progress) as bar:
            for row in rows:
                outputs[row.province].write(row.line)
                counts[row.province] += 1
                number = row.certificate_number
                key = (row.organisation_code, row.issue_date.year, int(number[15]))
                last_serials[key] = int(number[16:])
                bar.update(1)
    finally:
        for output in outputs.values():
            output.close()
    return DatasetFiles(
        folder=folder,
        provinces={
            province: ProvinceFiles(
                province=province,
                organisations=tuple(filings[province]),
                issuer_keys=folder / province / ISSUER_KEYS_FILE,
                submissions=folder / province / SUBMISSIONS_FILE,
                certificates=counts[province],
            )
            for province in by_province
        },
        last_serials=last_serials,
    )
