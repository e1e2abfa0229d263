"""Reference tables of the certificate rules, as typed read-only constants.

Every table cites the seed document it is taken from:

- ``seed 001``: the Henan policy compilation. It carries the national coding rule
  人社鉴发〔2019〕2号 (tables 2-5), the Henan coding rule 豫职鉴〔2020〕2号 (table 5, city codes),
  the Henan notice 豫职鉴〔2021〕1号 (position 10 for technical schools) and the Henan special
  vocational ability notice (15-digit 专项职业能力 number).
- ``seed 002``: the national certificate data guide 中就培发〔2022〕1号 (art. 7, the fields).
- ``seed 003``: Guangdong's coding rule 粤人社办〔2020〕39号 annex 4 (tables 5, 6-1, 6-2).

The tables are :class:`types.MappingProxyType` views, so nobody can change them at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: Province codes, table 4 of the national coding rule 人社鉴发〔2019〕2号 (seed 001, seed 003).
#: Henan's copy of the table (豫职鉴〔2020〕2号, seed 001) lists 14 as 陕西省; that is a typo in
#: the source, 14 is 山西省 (陕西省 is 61), as Guangdong's copy (seed 003) has it.
PROVINCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "11": "北京市",
        "12": "天津市",
        "13": "河北省",
        "14": "山西省",
        "15": "内蒙古自治区",
        "21": "辽宁省",
        "22": "吉林省",
        "23": "黑龙江省",
        "31": "上海市",
        "32": "江苏省",
        "33": "浙江省",
        "34": "安徽省",
        "35": "福建省",
        "36": "江西省",
        "37": "山东省",
        "41": "河南省",
        "42": "湖北省",
        "43": "湖南省",
        "44": "广东省",
        "45": "广西壮族自治区",
        "46": "海南省",
        "50": "重庆市",
        "51": "四川省",
        "52": "贵州省",
        "53": "云南省",
        "54": "西藏自治区",
        "61": "陕西省",
        "62": "甘肃省",
        "63": "青海省",
        "64": "宁夏回族自治区",
        "65": "新疆维吾尔自治区",
        "66": "新疆生产建设兵团",
        "71": "台湾省",
        "81": "香港特别行政区",
        "82": "澳门特别行政区",
    }
)

#: The provinces' names in English (the page and documents show a province by name, never by
#: code alone), in the same order as :data:`PROVINCES`.
PROVINCES_EN: Final[Mapping[str, str]] = MappingProxyType(
    {
        "11": "Beijing",
        "12": "Tianjin",
        "13": "Hebei",
        "14": "Shanxi",
        "15": "Inner Mongolia",
        "21": "Liaoning",
        "22": "Jilin",
        "23": "Heilongjiang",
        "31": "Shanghai",
        "32": "Jiangsu",
        "33": "Zhejiang",
        "34": "Anhui",
        "35": "Fujian",
        "36": "Jiangxi",
        "37": "Shandong",
        "41": "Henan",
        "42": "Hubei",
        "43": "Hunan",
        "44": "Guangdong",
        "45": "Guangxi",
        "46": "Hainan",
        "50": "Chongqing",
        "51": "Sichuan",
        "52": "Guizhou",
        "53": "Yunnan",
        "54": "Tibet",
        "61": "Shaanxi",
        "62": "Gansu",
        "63": "Qinghai",
        "64": "Ningxia",
        "65": "Xinjiang",
        "66": "Xinjiang Production and Construction Corps",
        "71": "Taiwan",
        "81": "Hong Kong",
        "82": "Macao",
    }
)

#: The province codes whose coding rules this project models as refinements of positions 8-13.
PROVINCE_HENAN: Final = "41"
PROVINCE_GUANGDONG: Final = "44"

#: Skill levels, table 5 of 人社鉴发〔2019〕2号 (seed 001) and table 7 of Guangdong's rule
#: (seed 003). The label is the form printed on the certificate (人社鉴发〔2021〕1号).
LEVELS: Final[Mapping[int, str]] = MappingProxyType(
    {
        1: "一级/高级技师",
        2: "二级/技师",
        3: "三级/高级工",
        4: "四级/中级工",
        5: "五级/初级工",
    }
)

#: Organisation classes, position 1, table 2 of 人社鉴发〔2019〕2号 (seed 001).
CLASS_EMPLOYER: Final = "Y"
CLASS_SOCIAL: Final = "S"
ORGANISATION_CLASSES: Final[Mapping[str, str]] = MappingProxyType(
    {
        CLASS_EMPLOYER: "用人单位",
        CLASS_SOCIAL: "社会培训评价组织",
    }
)

#: Positions 2-5 when the organisation was first filed with a province, not the Ministry
#: (人社鉴发〔2019〕2号 table 3, seed 001).
PROVINCE_FILED_ORGANISATION_CODE: Final = "0000"

#: Guangdong city codes, positions 8-9, table 5 of Guangdong's coding rule (seed 003 §二(四)1).
GUANGDONG_CITIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "00": "广东省省本级",
        "01": "广州市",
        "02": "韶关市",
        "03": "深圳市",
        "04": "珠海市",
        "05": "汕头市",
        "06": "佛山市",
        "07": "江门市",
        "08": "湛江市",
        "09": "茂名市",
        "12": "肇庆市",
        "13": "惠州市",
        "14": "梅州市",
        "15": "汕尾市",
        "16": "河源市",
        "17": "阳江市",
        "18": "清远市",
        "19": "东莞市",
        "20": "中山市",
        "51": "潮州市",
        "52": "揭阳市",
        "53": "云浮市",
    }
)

#: Guangdong organisation category, position 10, by class: table 6-1 for ``Y`` (employers) and
#: table 6-2 for ``S`` (social training and assessment organisations) (seed 003 §二(四)2).
GUANGDONG_CATEGORIES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        CLASS_EMPLOYER: MappingProxyType(
            {
                "1": "国有企业",
                "2": "非国有企业",
                "3": "其他",
            }
        ),
        CLASS_SOCIAL: MappingProxyType(
            {
                "1": "企业",
                "2": "技工院校",
                "3": "行业协会（学会）",
                "4": "其他",
            }
        ),
    }
)

#: Henan city codes (省直 and cities / counties directly under the province), positions 8-9,
#: table 5 of 豫职鉴〔2020〕2号 (seed 001). Labels as in the seed (长垣 was then a county).
HENAN_CITIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "00": "省直",
        "01": "郑州市",
        "02": "开封市",
        "03": "洛阳市",
        "04": "平顶山市",
        "05": "安阳市",
        "06": "鹤壁市",
        "07": "新乡市",
        "08": "焦作市",
        "09": "濮阳市",
        "10": "许昌市",
        "11": "漯河市",
        "12": "三门峡市",
        "13": "南阳市",
        "14": "商丘市",
        "15": "信阳市",
        "16": "周口市",
        "17": "驻马店市",
        "18": "济源市",
        "19": "巩义市",
        "20": "兰考县",
        "21": "汝州市",
        "22": "滑县",
        "23": "长垣县",
        "24": "邓州市",
        "25": "永城市",
        "26": "固始县",
        "27": "鹿邑县",
        "28": "新蔡县",
    }
)

#: Henan position 10 value reserved for a technical school's certification centre assessing its
#: own students, filed as an employer (class ``Y``); other employers use 0-8
#: (豫职鉴〔2021〕1号 §一(一)2 and §一(三)2, seed 001).
HENAN_TECHNICAL_SCHOOL_DIGIT: Final = "9"

#: Position 5 of the 8-digit examining-body code of a Henan special vocational ability
#: certificate (专项职业能力证书): the fixed digit 5 (seed 001,
#: 关于规范开展全省专项职业能力考核工作的通知 §二(四) and §四(一)).
SPECIAL_ABILITY_DIGIT: Final = "5"

#: Major categories of the 国家职业分类大典 that hold skill occupations: 三、四、五、六大类
#: (seed 002, 社会培训评价组织备案事项办理指南 §(六) 申报职业（工种）范围; seed 004 §一(一)).
SKILL_MAJOR_CATEGORIES: Final[frozenset[str]] = frozenset({"3", "4", "5", "6"})

#: ID types (证件类型) and their Chinese labels (docs/FORMATS.md, "ID types").
ID_RESIDENT: Final = "resident_id"
ID_PASSPORT: Final = "passport"
ID_HK_MACAO_PERMIT: Final = "hk_macao_permit"
ID_TAIWAN_PERMIT: Final = "taiwan_permit"
ID_HMT_RESIDENCE_PERMIT: Final = "hmt_residence_permit"
ID_FOREIGN_PERMANENT_RESIDENCE: Final = "foreign_permanent_residence"
ID_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        ID_RESIDENT: "居民身份证",
        ID_PASSPORT: "护照",
        ID_HK_MACAO_PERMIT: "港澳居民来往内地通行证",
        ID_TAIWAN_PERMIT: "台湾居民来往大陆通行证",
        ID_HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
        ID_FOREIGN_PERMANENT_RESIDENCE: "外国人永久居留身份证",
    }
)

#: Area codes (first six characters) of the 港澳台居民居住证 number: GB 11643 shape with
#: 810000 Hong Kong, 820000 Macao, 830000 Taiwan.
HMT_RESIDENCE_AREAS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "810000": "香港",
        "820000": "澳门",
        "830000": "台湾",
    }
)

#: Province prefixes a 居民身份证 number can start with: the table 4 codes that are GB/T 2260
#: mainland divisions. 66 (兵团) is not a GB/T 2260 code (兵团 residents hold 65… numbers);
#: 71, 81 and 82 are not issued on resident identity cards (Hong Kong, Macao and Taiwan
#: residents hold the 港澳台居民居住证 with 81/82/83, see :data:`HMT_RESIDENCE_AREAS`).
RESIDENT_ID_PROVINCES: Final[frozenset[str]] = frozenset(PROVINCES) - {"66", "71", "81", "82"}
