"""Build the certificate-number and ID-number test vectors.

Writes ``tests/vectors/certificate-numbers.json`` (:func:`build`) and
``tests/vectors/id-numbers.json`` (:func:`build_id_numbers`): Wycheproof-style documents read by
every implementation (Python core, contract, browser verifier). Run
``python -m scripts.vectors_certnum`` from the project root to rewrite both files; the output is
deterministic, byte for byte.

Every ID number here is synthetic: built from an area code, a birth date and a sequence chosen
for the test, with the check character computed (or deliberately broken). The resident ID
``11010519491231002X`` is the worked example printed in GB 11643 itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from node.core.rules.certnum import parse_certificate_number, parse_special_ability_number
from node.core.rules.idnumber import resident_id_check_character

VECTORS = Path(__file__).resolve().parent.parent / "tests" / "vectors"
CERTIFICATE_NUMBERS_OUTPUT = VECTORS / "certificate-numbers.json"
ID_NUMBERS_OUTPUT = VECTORS / "id-numbers.json"

CERTIFICATE_NUMBER_NOTES = (
    "Certificate numbers (证书编号). kind 'national': the 22-character rule 人社鉴发〔2019〕2号 "
    "(position 1 class Y/S; 2-5 organisation code 0000-9999; 6-7 province code of table 4; "
    "8-13 organisation/site sequence; 14-15 issue year; 16 level 1-5; 17-22 serial "
    "000001-999999), refined for province 44 by Guangdong's rule 粤人社办〔2020〕39号 (8-9 city "
    "of its table 5, 10 organisation category 1-3 for Y and 1-4 for S, 11-13 serial 000-999) "
    "and for province 41 by Henan's 豫职鉴〔2020〕2号 and 豫职鉴〔2021〕1号 (8-9 city 00-28, "
    "10-13 sequence; position 10 = 9 with class Y is a technical school certifying its own "
    "students, with class S it is not restricted). Other provinces have refinement null. "
    "kind 'special_ability': Henan's 15-digit "
    "专项职业能力 number (2-digit year, 8-digit examining-body code = 4-digit area + 5 + 3-digit "
    "serial, 5-digit serial 00001-99999). Input is the exact text; nothing is trimmed or "
    "upper-cased; digits are ASCII only. Checks run left to right (length first; a provincial "
    "refinement right after positions 8-13) and 'rule' is the first rule broken. 'expected' "
    "holds the parsed parts; formatting them gives back the input."
)

ID_NUMBER_NOTES = (
    "ID numbers (证件号码) by ID type (docs/FORMATS.md). resident_id: GB 11643, 18 characters: "
    "6-digit area whose first two digits are a mainland province code (table 4 without 66, 71, "
    "81, 82), 8-digit birth date (a real date, not before 1900-01-01, not after 'today' when "
    "given), 3-digit sequence, ISO 7064 MOD 11-2 check character 0-9 or uppercase X. "
    "hmt_residence_permit: the same shape with area 810000, 820000 or 830000. "
    "foreign_permanent_residence: 15 characters (3 uppercase letters + 12 digits) or 18 "
    "characters (9, a province code, 3-digit nationality, birth date, sequence, GB 11643 check "
    "character). passport: 5-17 uppercase ASCII letters or digits. hk_macao_permit: H or M and 8 "
    "or 10 digits. taiwan_permit: 8 or 10 digits. Checks run in the order length, format, area, "
    "birth date, check character; 'rule' is the first rule broken. All numbers are synthetic."
)


class _Builder:
    def __init__(self) -> None:
        self.tests: list[dict[str, Any]] = []

    def _add(self, test: dict[str, Any]) -> None:
        self.tests.append({"id": len(self.tests) + 1, **test})

    def national(self, text: str, comment: str) -> None:
        expected = parse_certificate_number(text).as_dict()
        self._add(
            {
                "comment": comment,
                "input": text,
                "kind": "national",
                "result": "valid",
                "expected": expected,
            }
        )

    def special(self, text: str, comment: str) -> None:
        expected = parse_special_ability_number(text).as_dict()
        self._add(
            {
                "comment": comment,
                "input": text,
                "kind": "special_ability",
                "result": "valid",
                "expected": expected,
            }
        )

    def invalid(self, kind: str, text: str, rule: str, comment: str) -> None:
        self._add(
            {"comment": comment, "input": text, "kind": kind, "result": "invalid", "rule": rule}
        )

    def id_valid(self, id_type: str, number: str, comment: str, today: str | None = None) -> None:
        self._add(
            {
                "comment": comment,
                "input": {"id_type": id_type, "id_number": number, "today": today},
                "result": "valid",
            }
        )

    def id_invalid(
        self,
        id_type: str,
        number: str,
        rule: str,
        comment: str,
        today: str | None = None,
        field: str = "id_number",
    ) -> None:
        self._add(
            {
                "comment": comment,
                "input": {"id_type": id_type, "id_number": number, "today": today},
                "result": "invalid",
                "field": field,
                "rule": rule,
            }
        )


def _national_tests(b: _Builder) -> None:
    nat = "national"
    # Valid: the published examples.
    b.national("Y000144001005205000001", "Guangdong example 1: province-level, state-owned (Y 1)")
    b.national("S000144002009205000001", "Guangdong example 2: province-level, 技工院校 (S 2)")
    b.national("Y000044032006205000001", "Guangdong example 3: 深圳, non-state enterprise (Y 2)")
    b.national(
        "S000011033002205000001",
        "Guangdong example 4 as printed: province 11 (北京), a source typo; parsed by the "
        "national rule only, no refinement",
    )
    b.national("S000144002009255000001", "the FORMATS.md example")
    b.national("Y000123000001195000001", "national example 1 (Heilongjiang), no refinement")
    b.national("S000011000001195000001", "national example 4 (Beijing, filed with the province)")
    # Valid: Henan.
    b.national("Y000141000001195000001", "Henan example 1: 省直 employer")
    b.national("S000041000123195000001", "Henan example 4: 省直 social organisation")
    b.national("Y000041120001195000001", "Henan example 5: 三门峡 (12)")
    b.national("Y000041288999245999999", "Henan 新蔡县 (28), the last city of table 5")
    b.national("Y000041009001243000042", "Henan position 10 = 9: technical school, class Y")
    b.national("S000041008888241000007", "Henan class S with position 10 = 8")
    b.national(
        "S000041009001195000001",
        "Henan class S with position 10 = 9: the seed reserves 9 only for class Y schools",
    )
    # Valid: Guangdong variants.
    b.national("Y000044013000221000001", "Guangdong 广州, category Y 3 (other), serial 000")
    b.national("S999944534999232123456", "Guangdong 云浮 (53), category S 4 (other), code 9999")
    b.national("S000044193017234000100", "Guangdong 东莞 (19), industry association (S 3)")
    # Valid: other provinces and edge values.
    b.national("Y000165000000001999999", "兵团 (66), year 00, serial 999999")
    b.national("S000114123456992000001", "山西 (14; Henan's table says 陕西, a typo), year 99")
    b.national("S000161654321243000002", "陕西 (61)")
    b.national("Y000171000001244000003", "台湾 (71)")
    b.national("Y000181000001245000004", "香港 (81)")
    b.national("S000182000001245000005", "澳门 (82)")
    for level in range(1, 6):
        b.national(f"S00013300000124{level}000001", f"level {level}")

    # Invalid: length.
    b.invalid(nat, "", "certnum.length", "empty")
    b.invalid(nat, "S00014400200925500000", "certnum.length", "21 characters")
    b.invalid(nat, "S0001440020092550000011", "certnum.length", "23 characters")
    b.invalid(nat, "S 0001 44 002009 25 5 000001", "certnum.length", "printed with spaces")
    b.invalid(nat, " S000144002009255000001", "certnum.length", "leading space")
    b.invalid(nat, "S000144002009", "certnum.length", "an organisation code alone")
    b.invalid(nat, "241601500100001", "certnum.length", "a special ability number")
    # Invalid: position 1.
    b.invalid(nat, "s000144002009255000001", "certnum.position_1.class", "lowercase class s")
    b.invalid(nat, "y000144001005255000001", "certnum.position_1.class", "lowercase class y")
    b.invalid(nat, "X000144002009255000001", "certnum.position_1.class", "class X")
    b.invalid(nat, "0000144002009255000001", "certnum.position_1.class", "digit in position 1")
    b.invalid(nat, "Ｓ000144002009255000001", "certnum.position_1.class", "full-width Ｓ")
    b.invalid(
        nat,
        "s000144002009255000000",
        "certnum.position_1.class",
        "several errors: the leftmost (position 1) is reported",
    )
    # Invalid: positions 2-5.
    b.invalid(nat, "S0O0144002009255000001", "certnum.position_2_5.organisation", "letter O")
    b.invalid(nat, "S00０144002009255000001", "certnum.position_2_5.organisation", "full-width 0")
    b.invalid(nat, "S-00144002009255000001", "certnum.position_2_5.organisation", "hyphen")
    # Invalid: positions 6-7.
    b.invalid(nat, "S000100002009255000001", "certnum.position_6_7.province", "province 00")
    b.invalid(nat, "S000110002009255000001", "certnum.position_6_7.province", "province 10")
    b.invalid(nat, "S000116002009255000001", "certnum.position_6_7.province", "province 16")
    b.invalid(nat, "S000167002009255000001", "certnum.position_6_7.province", "province 67")
    b.invalid(nat, "S000183002009255000001", "certnum.position_6_7.province", "province 83")
    b.invalid(nat, "S000199002009255000001", "certnum.position_6_7.province", "province 99")
    b.invalid(nat, "S00014A002009255000001", "certnum.position_6_7.province", "letter")
    # Invalid: positions 8-13.
    b.invalid(
        nat,
        "Y00014100XXXX195000001",
        "certnum.position_8_13.site_sequence",
        "Henan example's XXXX placeholder left in",
    )
    b.invalid(nat, "S00011100000A195000001", "certnum.position_8_13.site_sequence", "letter")
    b.invalid(nat, "S0001110000０1195000001", "certnum.position_8_13.site_sequence", "full-width")
    # Invalid: Guangdong refinement.
    gd_city, gd_cat = (
        "certnum.position_8_9.guangdong_city",
        "certnum.position_10.guangdong_category",
    )
    b.invalid(nat, "S000144102009255000001", gd_city, "Guangdong city 10 (not in table 5)")
    b.invalid(nat, "S000144112009255000001", gd_city, "Guangdong city 11 (not in table 5)")
    b.invalid(nat, "S000144212009255000001", gd_city, "Guangdong city 21 (not in table 5)")
    b.invalid(nat, "S000144502009255000001", gd_city, "Guangdong city 50 (not in table 5)")
    b.invalid(nat, "S000144542009255000001", gd_city, "Guangdong city 54 (not in table 5)")
    b.invalid(nat, "S000144000009255000001", gd_cat, "Guangdong category 0")
    b.invalid(nat, "S000144005009255000001", gd_cat, "Guangdong category 5 for class S")
    b.invalid(nat, "S000144009009255000001", gd_cat, "Guangdong category 9 for class S")
    b.invalid(nat, "Y000144004009255000001", gd_cat, "Guangdong category 4 is S-only")
    b.invalid(nat, "Y000144000009255000001", gd_cat, "Guangdong category 0 for class Y")
    # Invalid: Henan refinement.
    hn_city = "certnum.position_8_9.henan_city"
    b.invalid(nat, "Y000141290001195000001", hn_city, "Henan city 29 (not in table 5)")
    b.invalid(nat, "Y000141990001195000001", hn_city, "Henan city 99 (not in table 5)")
    # Invalid: positions 14-15.
    b.invalid(nat, "S0001440020092A5000001", "certnum.position_14_15.year", "letter in year")
    b.invalid(nat, "S000144002009 55000001", "certnum.position_14_15.year", "space in year")
    # Invalid: position 16.
    lvl = "certnum.position_16.level"
    b.invalid(nat, "S000144002009250000001", lvl, "level 0")
    b.invalid(nat, "S000144002009256000001", lvl, "level 6")
    b.invalid(nat, "S000144002009259000001", lvl, "level 9")
    b.invalid(nat, "S00014400200925A000001", lvl, "letter in level")
    b.invalid(nat, "S00014400200925５000001", lvl, "full-width 5")
    # Invalid: positions 17-22.
    ser = "certnum.position_17_22.serial"
    b.invalid(nat, "S000144002009255000000", ser, "serial 000000")
    b.invalid(nat, "S00014400200925500000A", ser, "letter in serial")
    b.invalid(nat, "S00014400200925500000x", ser, "lowercase letter in serial")
    b.invalid(nat, "S00014400200925500000１", ser, "full-width 1 in serial")
    b.invalid(nat, "S0001440020092550000-1", ser, "minus sign in serial")


def _special_ability_tests(b: _Builder) -> None:
    sp = "special_ability"
    b.special("241601500100001", "郑州 area 1601, examining body 001, serial 00001")
    b.special("201601500099999", "area appraisal centre (body 000), serial 99999")
    b.special("991234599912345", "year 99, body 999")
    b.special("000000500000001", "all-zero year and area")
    b.invalid(sp, "", "specialnum.length", "empty")
    b.invalid(sp, "24160150010000", "specialnum.length", "14 digits")
    b.invalid(sp, "2416015001000011", "specialnum.length", "16 digits")
    b.invalid(sp, "S000144002009255000001", "specialnum.length", "a national number")
    b.invalid(sp, "24160150010000A", "specialnum.digits", "letter")
    b.invalid(sp, "2416015001000１1", "specialnum.digits", "full-width digit")
    b.invalid(sp, "24 160150010000", "specialnum.digits", "space")
    b.invalid(sp, "241601400100001", "specialnum.position_7.ability_digit", "position 7 is 4")
    b.invalid(sp, "241601000100001", "specialnum.position_7.ability_digit", "position 7 is 0")
    b.invalid(sp, "241601500100000", "specialnum.position_11_15.serial", "serial 00000")


def build() -> dict[str, Any]:
    """Return the certificate-number vector document (deterministic)."""
    b = _Builder()
    _national_tests(b)
    _special_ability_tests(b)
    return {
        "algorithm": "certreg-certificate-number",
        "version": 1,
        "notes": CERTIFICATE_NUMBER_NOTES,
        "tests": b.tests,
    }


def _gb11643(first17: str) -> str:
    """Append the GB 11643 check character to 17 digits."""
    return first17 + resident_id_check_character(first17)


def _bad_check(first17: str) -> str:
    """Append a check character that is wrong (the next one in 0-9, X)."""
    chars = "0123456789X"
    return first17 + chars[(chars.index(resident_id_check_character(first17)) + 1) % 11]


def _id_tests(b: _Builder) -> None:
    rid = "resident_id"
    pre = f"id_number.{rid}"
    # Valid resident IDs.
    b.id_valid(rid, "11010519491231002X", "the worked example of GB 11643 (check X)")
    b.id_valid(rid, _gb11643("44030419900307123"), "深圳 area, born 1990-03-07")
    b.id_valid(rid, _gb11643("41010220000229004"), "郑州 area, born on a leap day")
    b.id_valid(rid, _gb11643("65010219000101001"), "born 1900-01-01, the earliest accepted")
    b.id_valid(
        rid, _gb11643("54010220250601002"), "born on 'today' (2025-06-01)", today="2025-06-01"
    )
    b.id_valid(rid, _gb11643("14010519851111999"), "山西 (14), sequence 999")
    b.id_valid(rid, _gb11643("61010519851111000"), "陕西 (61), sequence 000")
    # Invalid resident IDs.
    b.id_invalid(rid, "", f"{pre}.length", "empty")
    b.id_invalid(rid, "11010519491231002", f"{pre}.length", "17 characters")
    b.id_invalid(rid, "11010519491231002X0", f"{pre}.length", "19 characters")
    b.id_invalid(
        rid, "110105491231002", f"{pre}.length", "15-digit first-generation number (not accepted)"
    )
    b.id_invalid(rid, "11010519491231002x", f"{pre}.format", "lowercase x check character")
    b.id_invalid(rid, "11010519491231002Y", f"{pre}.format", "check character Y")
    b.id_invalid(rid, "1101051949123100AX", f"{pre}.format", "letter in the sequence")
    b.id_invalid(rid, "11010519491231００2X", f"{pre}.format", "full-width digits")
    b.id_invalid(rid, " 11010519491231002", f"{pre}.format", "leading space")
    b.id_invalid(rid, _gb11643("00010119900101001"), f"{pre}.area", "province 00")
    b.id_invalid(rid, _gb11643("66010119900101001"), f"{pre}.area", "66 (兵团) is no area code")
    b.id_invalid(rid, _gb11643("71010119900101001"), f"{pre}.area", "71 (台湾) on a resident ID")
    b.id_invalid(rid, _gb11643("81000019900101001"), f"{pre}.area", "81 belongs to the permit")
    b.id_invalid(rid, _gb11643("99010119900101001"), f"{pre}.area", "province 99")
    b.id_invalid(rid, _gb11643("11010519990230001"), f"{pre}.birth_date", "born 1999-02-30")
    b.id_invalid(rid, _gb11643("11010520011301001"), f"{pre}.birth_date", "month 13")
    b.id_invalid(rid, _gb11643("11010519000229001"), f"{pre}.birth_date", "1900 is no leap year")
    b.id_invalid(rid, _gb11643("11010500000000001"), f"{pre}.birth_date", "all-zero date")
    b.id_invalid(rid, _gb11643("11010518991231001"), f"{pre}.birth_date_range", "born 1899")
    b.id_invalid(
        rid,
        _gb11643("11010520250602001"),
        f"{pre}.birth_date_range",
        "born the day after 'today'",
        today="2025-06-01",
    )
    b.id_invalid(rid, "110105194912310021", f"{pre}.check_character", "check 1 instead of X")
    b.id_invalid(rid, "11010519491231003X", f"{pre}.check_character", "sequence digit changed")
    b.id_invalid(rid, "11010519491213002X", f"{pre}.check_character", "adjacent digits swapped")
    b.id_invalid(rid, _bad_check("44030419900307123"), f"{pre}.check_character", "wrong check")

    # Unknown ID types.
    for id_type, comment in (
        ("id_card", "unknown ID type"),
        ("", "empty ID type"),
        ("RESIDENT_ID", "ID types are lowercase"),
        ("居民身份证", "the Chinese label is not the ID type"),
    ):
        b.id_invalid(id_type, "11010519491231002X", "id_type.known", comment, field="id_type")

    # Passports.
    pp = "passport"
    b.id_valid(pp, "E12345678", "Chinese ordinary passport, E + 8 digits")
    b.id_valid(pp, "G12345678", "Chinese passport, older G series")
    b.id_valid(pp, "EA1234567", "Chinese passport, E + letter + 7 digits")
    b.id_valid(pp, "123456789", "digits only (e.g. US)")
    b.id_valid(pp, "X1234", "5 characters, the shortest accepted")
    b.id_valid(pp, "ABCDEFGH123456789", "17 characters, the longest accepted")
    b.id_invalid(pp, "", f"id_number.{pp}.format", "empty")
    b.id_invalid(pp, "E123", f"id_number.{pp}.format", "4 characters")
    b.id_invalid(pp, "ABCDEFGH1234567890", f"id_number.{pp}.format", "18 characters")
    b.id_invalid(pp, "e12345678", f"id_number.{pp}.format", "lowercase letter")
    b.id_invalid(pp, "E 12345678", f"id_number.{pp}.format", "space")
    b.id_invalid(pp, "E-12345678", f"id_number.{pp}.format", "hyphen")
    b.id_invalid(pp, "Ｅ12345678", f"id_number.{pp}.format", "full-width letter")

    # Hong Kong / Macao permits (回乡证).
    hk = "hk_macao_permit"
    b.id_valid(hk, "H12345678", "Hong Kong, 8 digits")
    b.id_valid(hk, "M12345678", "Macao, 8 digits")
    b.id_valid(hk, "H1234567890", "Hong Kong, 10 digits (older card)")
    b.id_invalid(hk, "H1234567", f"id_number.{hk}.format", "7 digits")
    b.id_invalid(hk, "H123456789", f"id_number.{hk}.format", "9 digits")
    b.id_invalid(hk, "K12345678", f"id_number.{hk}.format", "letter K")
    b.id_invalid(hk, "h12345678", f"id_number.{hk}.format", "lowercase h")
    b.id_invalid(hk, "12345678", f"id_number.{hk}.format", "no letter")

    # Taiwan permits (台胞证).
    tw = "taiwan_permit"
    b.id_valid(tw, "12345678", "8 digits")
    b.id_valid(tw, "1234567890", "10 digits (older card)")
    b.id_invalid(tw, "1234567", f"id_number.{tw}.format", "7 digits")
    b.id_invalid(tw, "123456789", f"id_number.{tw}.format", "9 digits")
    b.id_invalid(tw, "12345678A", f"id_number.{tw}.format", "letter")
    b.id_invalid(tw, "T12345678", f"id_number.{tw}.format", "leading letter")

    # 港澳台居民居住证.
    hmt = "hmt_residence_permit"
    hpre = f"id_number.{hmt}"
    b.id_valid(hmt, _gb11643("81000019900101001"), "Hong Kong (810000)")
    b.id_valid(hmt, _gb11643("82000019851231002"), "Macao (820000)")
    b.id_valid(hmt, _gb11643("83000020000229003"), "Taiwan (830000)")
    b.id_invalid(hmt, "8100001990010100", f"{hpre}.length", "16 characters")
    b.id_invalid(hmt, "81000019900101001x", f"{hpre}.format", "lowercase x")
    b.id_invalid(hmt, _gb11643("81000119900101001"), f"{hpre}.area", "area 810001")
    b.id_invalid(hmt, _gb11643("84000019900101001"), f"{hpre}.area", "area 840000")
    b.id_invalid(hmt, _gb11643("11010519900101001"), f"{hpre}.area", "a mainland area")
    b.id_invalid(hmt, _gb11643("81000019900431001"), f"{hpre}.birth_date", "April 31")
    b.id_invalid(hmt, _bad_check("81000019900101001"), f"{hpre}.check_character", "wrong check")

    # 外国人永久居留身份证.
    fpr = "foreign_permanent_residence"
    fpre = f"id_number.{fpr}"
    b.id_valid(fpr, "USA110075061512", "2004 card: 3 letters + 12 digits")
    b.id_valid(fpr, _gb11643("91184019750615001"), "2017 card: 9, 11, nationality 840")
    b.id_valid(fpr, _gb11643("94439220010911002"), "2017 card: 9, 44, nationality 392")
    b.id_invalid(fpr, "USA11007506151", f"{fpre}.length", "14 characters")
    b.id_invalid(fpr, "9118401975061500", f"{fpre}.length", "16 characters")
    b.id_invalid(fpr, "usa110075061512", f"{fpre}.format", "2004 card, lowercase letters")
    b.id_invalid(fpr, "US1110075061512", f"{fpre}.format", "2004 card, 2 letters")
    b.id_invalid(fpr, "9118401975061500x", f"{fpre}.length", "17 characters")
    b.id_invalid(fpr, "91184019750615001x", f"{fpre}.format", "2017 card, lowercase x")
    b.id_invalid(fpr, _gb11643("81184019750615001"), f"{fpre}.area", "2017 card not starting 9")
    b.id_invalid(fpr, _gb11643("99984019750615001"), f"{fpre}.area", "2017 card, province 99")
    b.id_invalid(fpr, _gb11643("91184019751315001"), f"{fpre}.birth_date", "month 13")
    b.id_invalid(
        fpr,
        _gb11643("91184020300615001"),
        f"{fpre}.birth_date_range",
        "born after 'today'",
        today="2025-06-01",
    )
    b.id_invalid(fpr, _bad_check("91184019750615001"), f"{fpre}.check_character", "wrong check")


def build_id_numbers() -> dict[str, Any]:
    """Return the ID-number vector document (deterministic, synthetic numbers only)."""
    b = _Builder()
    _id_tests(b)
    return {
        "algorithm": "certreg-id-number",
        "version": 1,
        "notes": ID_NUMBER_NOTES,
        "tests": b.tests,
    }


def render(document: dict[str, Any]) -> str:
    """Return the file text of a vector document: pretty-printed JSON and a newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write both vector files; return the exit status."""
    VECTORS.mkdir(parents=True, exist_ok=True)
    for path, document in (
        (CERTIFICATE_NUMBERS_OUTPUT, build()),
        (ID_NUMBERS_OUTPUT, build_id_numbers()),
    ):
        path.write_text(render(document), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
