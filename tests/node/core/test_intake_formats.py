"""Bulk submissions: CSV (UTF-8, BOM, GB18030; English and Chinese headers) and JSON Lines.

Every bad input is refused with its field and rule, and no error message ever holds the holder
name or the ID number.
"""

from __future__ import annotations

import csv
import io
import json
import resource
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from node.core.certificate import FIELD_NAMES, Certificate
from node.core.errors import InvalidInput
from node.core.formats.submissions import (
    COLUMNS,
    MAX_LINE_BYTES,
    InvalidRow,
    ParsedRow,
    RawRow,
    RowResult,
    parse_csv,
    parse_jsonl,
    parse_raw_row,
    parse_submission,
    read_submission,
)
from node.core.rules.validation import validate_certificate

HOLDER = "欧阳娜娜"
ID_NUMBER = "11010519491231002X"

ENGLISH = list(FIELD_NAMES)
CHINESE = [
    "持证人姓名",
    "证件类型",
    "证件号码",
    "职业名称",
    "职业编码",
    "工种/职业方向",
    "工种编码",
    "职业技能等级",
    "证书编号",
    "发证日期",
    "发证机构名称",
    "机构代码",
]
VALUES = [
    HOLDER,
    "居民身份证",
    ID_NUMBER,
    "车工",
    "6-18-01-01",
    "数控车床",
    "6-18-01-01-02",
    "五级/初级工",
    "S000144002009255000001",
    "2025年3月14日",
    "广东省某技工学校职业技能等级认定中心",
    "S000144002009",
]
EXPECTED = {
    "holder_name": HOLDER,
    "id_type": "resident_id",
    "id_number": ID_NUMBER,
    "occupation_name": "车工",
    "occupation_code": "6-18-01-01",
    "work_type_name": "数控车床",
    "work_type_code": "6-18-01-01-02",
    "level": 5,
    "certificate_number": "S000144002009255000001",
    "issue_date": "2025-03-14",
    "organisation_name": "广东省某技工学校职业技能等级认定中心",
    "organisation_code": "S000144002009",
}
SALTS = {name: f"{i:02x}" * 32 for i, name in enumerate(FIELD_NAMES)}
SIGNATURE_HEX = "ab" * 64

#: Every error produced by any test, checked for personal data at the end of the module.
SEEN_ERRORS: list[InvalidInput] = []


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def results(data: bytes, fmt: str = "csv") -> list[RowResult]:
    rows = list(parse_submission(io.BytesIO(data), fmt))  # type: ignore[arg-type]
    SEEN_ERRORS.extend(r for r in rows if isinstance(r, InvalidInput))
    # Every test also holds the writer's path to the same answers: rows read raw
    # (read_submission, what bulk intake takes) and parsed where they are checked.
    raw = [
        parse_raw_row(r) if isinstance(r, RawRow) else r
        for r in read_submission(io.BytesIO(data), fmt)  # type: ignore[arg-type]
    ]
    assert [_shape(r) for r in raw] == [_shape(r) for r in rows]
    return rows


def _shape(row: RowResult) -> object:
    if isinstance(row, InvalidRow):
        return ("refused", row.row_number, row.field, row.rule, row.message)
    return row


def only_row(data: bytes, fmt: str = "csv") -> RowResult:
    rows = results(data, fmt)
    assert len(rows) == 1
    return rows[0]


def header_error(data: bytes, fmt: str = "csv") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_submission(io.BytesIO(data), fmt)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as read:  # the same refusal before any row is read
        read_submission(io.BytesIO(data), fmt)  # type: ignore[arg-type]
    assert (read.value.field, read.value.rule) == (caught.value.field, caught.value.rule)
    SEEN_ERRORS.append(caught.value)
    return caught.value


def row_error(data: bytes, fmt: str = "csv") -> InvalidRow:
    row = only_row(data, fmt)
    assert isinstance(row, InvalidRow), row
    return row


def with_cell(column: str, value: str, header: list[str] | None = None) -> bytes:
    names = list(header or ENGLISH)
    values = list(VALUES)
    if column in names:
        values[names.index(column)] = value
    else:
        names.append(column)
        values.append(value)
    return csv_bytes([names, values])


# --- good files ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("header", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_both_encodings_and_header_languages(encoding: str, header: list[str]) -> None:
    data = csv_bytes([header, VALUES, VALUES], encoding)
    rows = results(data)
    assert [r.row_number for r in rows] == [2, 3]
    for row in rows:
        assert isinstance(row, ParsedRow)
        assert row.fields == EXPECTED
        assert row.extras == {}
    # The fields make a certificate that passes the field rules.
    assert isinstance(rows[0], ParsedRow)
    validate_certificate(Certificate.from_fields(rows[0].fields))


def test_gb18030_only_characters_and_gbk_subset() -> None:
    # 𠀀 (U+20000) needs GB18030's four-byte form; the name is in GBK.
    values = list(VALUES)
    values[3] = "车工𠀀"
    row = only_row(csv_bytes([ENGLISH, values], "gb18030"))
    assert isinstance(row, ParsedRow)
    assert row.fields["occupation_name"] == "车工𠀀"


def test_ascii_header_then_gb18030_rows() -> None:
    data = csv_bytes([ENGLISH], "ascii") + csv_bytes([VALUES] * 3, "gb18030")
    assert all(isinstance(r, ParsedRow) for r in results(data))


@pytest.mark.parametrize("alias", ["工种", "职业方向", "工种/职业方向名称", "工种／职业方向"])
def test_work_type_column_aliases(alias: str) -> None:
    header = list(CHINESE)
    header[5] = alias
    row = only_row(csv_bytes([header, VALUES]))
    assert isinstance(row, ParsedRow) and row.fields == EXPECTED


def test_header_names_are_trimmed_and_case_insensitive() -> None:
    header = [f" {name.upper()} " for name in ENGLISH]
    assert isinstance(only_row(csv_bytes([header, VALUES])), ParsedRow)


def test_mixed_languages_and_column_order() -> None:
    header = list(reversed(CHINESE[:6] + ENGLISH[6:]))
    values = list(reversed(VALUES))
    row = only_row(csv_bytes([header, values]))
    assert isinstance(row, ParsedRow) and row.fields == EXPECTED


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("3", 3),
        ("三级", 3),
        ("三级/高级工", 3),
        ("三级／高级工", 3),
        ("高级工", 3),
        ("3级", 3),
        ("３", 3),
        (" 1 ", 1),
        ("一级/高级技师", 1),
        ("高级技师", 1),
        ("技师", 2),
        ("中级工", 4),
        ("初级工", 5),
        # Henan's table 5 (豫职鉴〔2020〕2号): 三级/高级, 四级/中级, 五级/初级.
        ("三级/高级", 3),
        ("三级 / 高级", 3),
        ("四级/中级", 4),
        ("五级／初级", 5),
    ],
)
def test_level_spellings(text: str, level: int) -> None:
    row = only_row(with_cell("level", text))
    assert isinstance(row, ParsedRow) and row.fields["level"] == level


@pytest.mark.parametrize(
    "text",
    ["2025-06-18", "2025/6/18", "2025年6月18日", "2025-6-18", "2025/06/18", "２０２５年６月１８日"],
)
def test_issue_date_spellings(text: str) -> None:
    row = only_row(with_cell("issue_date", text))
    assert isinstance(row, ParsedRow) and row.fields["issue_date"] == "2025-06-18"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("居民身份证", "resident_id"),
        ("身份证", "resident_id"),
        ("resident_id", "resident_id"),
        ("护照", "passport"),
        ("港澳居民来往内地通行证", "hk_macao_permit"),
        ("台湾居民来往大陆通行证", "taiwan_permit"),
        ("港澳台居民居住证", "hmt_residence_permit"),
        ("外国人永久居留身份证", "foreign_permanent_residence"),
    ],
)
def test_id_type_labels(text: str, code: str) -> None:
    row = only_row(with_cell("id_type", text))
    assert isinstance(row, ParsedRow) and row.fields["id_type"] == code


def test_free_text_is_kept_byte_for_byte() -> None:
    # Not the parser's business: validation refuses the trailing space later.
    row = only_row(with_cell("occupation_name", "车工 "))
    assert isinstance(row, ParsedRow) and row.fields["occupation_name"] == "车工 "


def test_signature_and_late_reason_columns() -> None:
    header = [*ENGLISH, "signature_suite", "key_id", "signature", "salts", "late_reason"]
    values = [*VALUES, "ed25519", "2", SIGNATURE_HEX.upper(), json.dumps(SALTS), "601"]
    row = only_row(csv_bytes([header, values]))
    assert isinstance(row, ParsedRow)
    assert row.extras == {
        "signature_suite": "ed25519",
        "key_id": 2,
        "signature": bytes.fromhex(SIGNATURE_HEX),
        "salts": {name: bytes.fromhex(salt) for name, salt in SALTS.items()},
        "late_reason": 601,
    }


def test_chinese_names_of_the_optional_columns() -> None:
    header = [*CHINESE, "签名算法", "密钥编号", "签名", "盐值", "逾期原因代码"]
    values = [*VALUES, "sm2-sm3", "0", SIGNATURE_HEX, json.dumps(SALTS), ""]
    row = only_row(csv_bytes([header, values]))
    assert isinstance(row, ParsedRow)
    assert row.extras["signature_suite"] == "sm2-sm3"
    assert "late_reason" not in row.extras


def test_signature_columns_may_be_empty_in_a_row() -> None:
    header = [*ENGLISH, "signature_suite", "key_id", "signature", "salts"]
    row = only_row(csv_bytes([header, [*VALUES, "", "", "", ""]]))
    assert isinstance(row, ParsedRow) and row.extras == {}


def test_blank_lines_trailing_commas_and_quoted_newlines() -> None:
    values = list(VALUES)
    values[10] = "广东省某技工学校\n职业技能等级认定中心"
    data = (
        csv_bytes([ENGLISH])
        + b"\r\n"
        + csv_bytes([values])
        + csv_bytes([[*VALUES, "", ""]])
        + b"\r\n\r\n"
    )
    rows = results(data)
    assert [r.row_number for r in rows] == [3, 5]
    assert all(isinstance(r, ParsedRow) for r in rows)


def test_repr_of_a_row_hides_personal_data() -> None:
    row = only_row(csv_bytes([ENGLISH, VALUES]))
    assert HOLDER not in repr(row) and ID_NUMBER not in repr(row)


def test_columns_table_matches_the_field_names() -> None:
    assert [c.name for c in COLUMNS[:12]] == list(FIELD_NAMES)
    assert [c.zh for c in COLUMNS[:12]] == CHINESE
    assert all(c.required for c in COLUMNS[:12])
    assert not any(c.required for c in COLUMNS[12:])


# --- bad headers: refused before any row is read ---------------------------------------------


def test_unknown_column_is_not_echoed() -> None:
    error = header_error(csv_bytes([[*ENGLISH, "备注"], [*VALUES, ""]]))
    # A file without its header row has a holder's name here: never echoed.
    assert (error.field, error.rule) == ("column 13", "intake.unknown_column")
    assert "备注" not in error.message


@pytest.mark.parametrize(
    ("extra", "field"),
    [("持证人姓名", "holder_name"), ("holder_name", "holder_name"), ("工种", "work_type_name")],
)
def test_duplicate_columns(extra: str, field: str) -> None:
    error = header_error(csv_bytes([[*ENGLISH, extra], [*VALUES, "x"]]))
    assert (error.field, error.rule) == (field, "intake.duplicate_column")


@pytest.mark.parametrize("missing", range(12))
def test_missing_required_column(missing: int) -> None:
    header = [name for i, name in enumerate(CHINESE) if i != missing]
    error = header_error(csv_bytes([header]))
    assert (error.field, error.rule) == (FIELD_NAMES[missing], "intake.missing_column")
    assert CHINESE[missing] in error.message


def test_partial_signature_columns() -> None:
    error = header_error(csv_bytes([[*ENGLISH, "signature_suite", "signature"]]))
    assert (error.field, error.rule) == ("key_id", "intake.signature_columns")


def test_header_is_checked_before_any_row_is_read() -> None:
    class Counting(io.BytesIO):
        lines = 0

        def readline(self, size: int | None = -1, /) -> bytes:
            self.lines += 1
            return super().readline(size)

    stream = Counting(csv_bytes([[*ENGLISH, "bogus"]]) + csv_bytes([VALUES] * 5))
    with pytest.raises(InvalidInput):
        parse_csv(stream)
    assert stream.lines == 1


def test_a_data_row_as_header_is_not_echoed() -> None:
    error = header_error(csv_bytes([VALUES, VALUES]))
    assert (error.field, error.rule) == ("header", "intake.no_header")


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    error = header_error(data)
    assert (error.field, error.rule) == ("header", "intake.empty_file")


def test_nameless_column() -> None:
    error = header_error(csv_bytes([[*ENGLISH, ""]]))
    assert (error.field, error.rule) == ("column 13", "intake.unknown_column")


def test_utf16_is_refused() -> None:
    error = header_error(csv_bytes([ENGLISH], "utf-16"))
    assert (error.field, error.rule) == ("header", "intake.encoding")


def test_header_in_neither_encoding() -> None:
    error = header_error(b"holder_name,\xff\xff\r\n")
    assert (error.field, error.rule) == ("header", "intake.encoding")


# --- bad rows: refused one by one, with the column and the row number ------------------------


@pytest.mark.parametrize(
    ("column", "value", "field", "rule"),
    [
        ("holder_name", "", "holder_name", "intake.required"),
        ("id_number", "", "id_number", "intake.required"),
        ("work_type_name", "", "work_type_name", "intake.required"),
        ("id_type", "身份证明", "id_type", "intake.id_type"),
        ("level", "6", "level", "intake.level"),
        ("level", "六级", "level", "intake.level"),
        ("level", "高级", "level", "intake.level"),
        ("issue_date", "2025-02-30", "issue_date", "intake.issue_date"),
        ("issue_date", "18/6/2025", "issue_date", "intake.issue_date"),
        ("issue_date", "20250618", "issue_date", "intake.issue_date"),
        ("issue_date", "2025-06-18T00:00", "issue_date", "intake.issue_date"),
        ("late_reason", "101", "late_reason", "reason.not_for_action"),
        ("late_reason", "9999", "late_reason", "reason.unknown"),
        ("late_reason", "六百零一", "late_reason", "reason.unknown"),
        ("late_reason", "-601", "late_reason", "reason.unknown"),
    ],
)
def test_bad_cells(column: str, value: str, field: str, rule: str) -> None:
    error = row_error(with_cell(column, value))
    assert (error.field, error.rule, error.row_number) == (field, rule, 2)
    assert error.message.startswith("row 2: ")


SIGNED_HEADER = [*ENGLISH, "signature_suite", "key_id", "signature", "salts"]


def signed(
    suite: str = "ed25519", key_id: str = "0", signature: str = SIGNATURE_HEX, salts: str = ""
) -> bytes:
    return csv_bytes(
        [SIGNED_HEADER, [*VALUES, suite, key_id, signature, salts or json.dumps(SALTS)]]
    )


BAD_SALTS = {**SALTS, "level": "00" * 31}


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        (signed(suite="rsa"), "signature_suite", "intake.signature_suite"),
        (signed(key_id="-1"), "key_id", "intake.key_id"),
        (signed(key_id="4294967296"), "key_id", "intake.key_id"),
        (signed(key_id="one"), "key_id", "intake.key_id"),
        (signed(signature="ab" * 63), "signature", "intake.signature"),
        (signed(signature="zz" * 64), "signature", "intake.signature"),
        (signed(salts="not json"), "salts", "intake.salts"),
        (signed(salts="[1, 2]"), "salts", "intake.salts"),
        (signed(salts=json.dumps(dict(list(SALTS.items())[:11]))), "salts", "intake.salts"),
        (signed(salts=json.dumps(BAD_SALTS)), "salts", "intake.salts"),
        (signed(suite=""), "signature_suite", "intake.signature_incomplete"),
        (signed(signature=""), "signature", "intake.signature_incomplete"),
    ],
)
def test_bad_signature_cells(data: bytes, field: str, rule: str) -> None:
    error = row_error(data)
    assert (error.field, error.rule) == (field, rule)


def test_salts_with_a_duplicate_key() -> None:
    text = json.dumps(SALTS)[:-1] + ', "level": "' + "11" * 32 + '"}'
    error = row_error(signed(salts=text))
    assert (error.field, error.rule) == ("salts", "intake.salts")


def test_short_row_and_non_empty_extra_cells() -> None:
    error = row_error(csv_bytes([ENGLISH, VALUES[:-1]]))
    assert (error.field, error.rule) == ("row", "intake.row_length")
    error = row_error(csv_bytes([ENGLISH, [*VALUES, "x"]]))
    assert (error.field, error.rule) == ("row", "intake.row_length")


def test_bad_rows_do_not_stop_the_file() -> None:
    bad = list(VALUES)
    bad[7] = "九级"
    data = csv_bytes([CHINESE, VALUES, bad, VALUES[:3], VALUES])
    rows = results(data)
    assert [type(r).__name__ for r in rows] == [
        "ParsedRow",
        "InvalidRow",
        "InvalidRow",
        "ParsedRow",
    ]
    assert [r.row_number for r in rows] == [2, 3, 4, 5]


def test_csv_syntax_error_then_recovery() -> None:
    data = csv_bytes([ENGLISH]) + b'"a"b,c\r\n' + csv_bytes([VALUES])
    rows = results(data)
    assert isinstance(rows[0], InvalidRow)
    assert (rows[0].field, rows[0].rule, rows[0].row_number) == ("row", "intake.csv_syntax", 2)
    assert isinstance(rows[-1], ParsedRow) and rows[-1].row_number == 3


def test_line_in_another_encoding_is_one_bad_row() -> None:
    data = csv_bytes([ENGLISH, VALUES], "utf-8") + csv_bytes([VALUES], "gb18030")
    data += csv_bytes([VALUES], "utf-8")
    rows = results(data)
    assert isinstance(rows[1], InvalidRow)
    assert (rows[1].field, rows[1].rule, rows[1].row_number) == ("row", "intake.encoding", 3)
    assert isinstance(rows[0], ParsedRow) and isinstance(rows[2], ParsedRow)


def test_overlong_line_is_skipped() -> None:
    values = list(VALUES)
    values[3] = "车" * (MAX_LINE_BYTES // 3 + 10)
    data = csv_bytes([ENGLISH, values, VALUES])
    rows = results(data)
    assert isinstance(rows[0], InvalidRow)
    assert (rows[0].rule, rows[0].row_number) == ("intake.line_length", 2)
    assert isinstance(rows[1], ParsedRow) and rows[1].row_number == 3


# --- JSON Lines ------------------------------------------------------------------------------


def jsonl(*objects: object, prefix: bytes = b"") -> bytes:
    return prefix + b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


GOOD = dict(zip(ENGLISH, VALUES, strict=True))


def test_jsonl_rows_with_integers_and_chinese_keys() -> None:
    chinese = dict(zip(CHINESE, VALUES, strict=True))
    typed = {**GOOD, "level": 5, "key_id": 3, "signature_suite": "ecdsa-secp256k1",
             "signature": SIGNATURE_HEX, "salts": SALTS, "late_reason": 605}  # fmt: skip
    rows = results(jsonl(GOOD, chinese, typed, prefix=b"\xef\xbb\xbf") + b"\n  \n", "jsonl")
    assert [r.row_number for r in rows] == [1, 2, 3]
    for row in rows:
        assert isinstance(row, ParsedRow) and row.fields == EXPECTED
    assert isinstance(rows[2], ParsedRow)
    assert rows[2].extras["key_id"] == 3 and rows[2].extras["late_reason"] == 605


@pytest.mark.parametrize(
    ("line", "field", "rule"),
    [
        (b"not json", "row", "intake.json"),
        (b"[1, 2]", "row", "intake.json"),
        (b'{"level": NaN}', "row", "intake.json"),
        (json.dumps({**GOOD, "备注": "x"}).encode(), "row", "intake.unknown_column"),
        (json.dumps({**GOOD, "持证人姓名": HOLDER}).encode(), "holder_name",
         "intake.duplicate_column"),
        (json.dumps(GOOD)[:-1].encode() + b', "level": "3"}', "level", "intake.duplicate_column"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "issue_date"}).encode(), "issue_date",
         "intake.missing_column"),
        (json.dumps({**GOOD, "holder_name": None}).encode(), "holder_name", "intake.required"),
        (json.dumps({**GOOD, "id_number": 110105}).encode(), "id_number", "intake.type"),
        (json.dumps({**GOOD, "level": True}).encode(), "level", "intake.level"),
        (json.dumps({**GOOD, "level": 3.0}).encode(), "level", "intake.level"),
        (json.dumps({**GOOD, "issue_date": 20250618}).encode(), "issue_date", "intake.type"),
        (json.dumps({**GOOD, "late_reason": 101}).encode(), "late_reason",
         "reason.not_for_action"),
        (json.dumps({**GOOD, "key_id": 1}).encode(), "signature_suite",
         "intake.signature_incomplete"),
        ("欧阳".encode("gb18030"), "row", "intake.encoding"),
    ],
)  # fmt: skip
def test_jsonl_bad_lines(line: bytes, field: str, rule: str) -> None:
    rows = results(jsonl(GOOD) + line + b"\n" + jsonl(GOOD), "jsonl")
    assert isinstance(rows[0], ParsedRow) and isinstance(rows[2], ParsedRow)
    error = rows[1]
    assert isinstance(error, InvalidRow)
    assert (error.field, error.rule, error.row_number) == (field, rule, 2)


def test_unknown_format() -> None:
    with pytest.raises(ValueError):
        parse_submission(io.BytesIO(b""), "xlsx")  # type: ignore[arg-type]


# --- streaming ---------------------------------------------------------------------------------


class GeneratedStream:
    """A CSV file of ``rows`` rows made on the fly: nothing of it is ever held in memory."""

    def __init__(self, rows: int, encoding: str = "utf-8") -> None:
        self._lines = self._generate(rows, encoding)
        self._pending = b""

    @staticmethod
    def _generate(rows: int, encoding: str) -> Iterator[bytes]:
        yield csv_bytes([CHINESE], encoding)
        line = csv_bytes([VALUES], encoding)
        for _ in range(rows):
            yield line

    def readline(self, size: int | None = -1, /) -> bytes:
        if not self._pending:
            self._pending = next(self._lines, b"")
        limit = len(self._pending) if size is None or size < 0 else size
        line, self._pending = self._pending[:limit], self._pending[limit:]
        return line


def peak_memory(rows: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        for row in parse_csv(GeneratedStream(rows, "gb18030")):
            assert isinstance(row, ParsedRow)
            count += 1
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_number_of_rows() -> None:
    small_count, small_peak = peak_memory(1_000)
    large_count, large_peak = peak_memory(20_000)
    assert (small_count, large_count) == (1_000, 20_000)
    assert large_peak < small_peak + 64 * 1024


@pytest.mark.slow
def test_a_million_rows_in_flat_memory() -> None:
    # tracemalloc would slow this four-fold; the peak resident size must barely move instead
    # (holding the rows would take well over a gigabyte).
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    count = 0
    for row in parse_csv(GeneratedStream(1_000_000)):
        assert isinstance(row, ParsedRow)
        count += 1
    elapsed = time.perf_counter() - started
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert count == 1_000_000
    assert grown_kib < 64 * 1024, grown_kib
    assert elapsed < 300, elapsed


def test_jsonl_streams_too() -> None:
    class Lines:
        def __init__(self, rows: int) -> None:
            self.left = rows
            self.line = jsonl(GOOD)

        def readline(self, size: int | None = -1, /) -> bytes:
            if self.left == 0:
                return b""
            self.left -= 1
            return self.line

    tracemalloc.start()
    try:
        count = sum(isinstance(row, ParsedRow) for row in parse_jsonl(Lines(20_000)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 256 * 1024


# --- personal data ---------------------------------------------------------------------------


def check_no_personal_data(error: InvalidInput, *secrets: str) -> None:
    for text in (str(error), error.message, error.field, repr(error.args)):
        for secret in secrets:
            assert secret not in text, error


@pytest.fixture(autouse=True)
def no_personal_data_in_any_error() -> Iterator[None]:
    # After every test of this module: no error it saw holds the holder name or ID number.
    SEEN_ERRORS.clear()
    yield
    for error in SEEN_ERRORS:
        check_no_personal_data(error, HOLDER, "欧阳", ID_NUMBER, "110105")


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@given(
    name=st.text(CJK, min_size=2, max_size=6),
    id_number=st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True),
    column=st.sampled_from(range(12)),
    bad=st.sampled_from(["", "九级", "2025-13-01", "x" * 3, "身份证明"]),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_refusals_never_echo_personal_data(
    name: str, id_number: str, column: int, bad: str, encoding: str
) -> None:
    values = list(VALUES)
    values[0], values[2] = name, id_number
    values[column] = bad
    # A name that is also part of other text (广东 in the organisation's name, 证书 in a column
    # name) would be found there, not echoed: such names test nothing.
    others = [VALUES[1], *VALUES[3:], bad, *ENGLISH, *CHINESE]
    assume(not any(name in text for text in others))
    for data in (csv_bytes([ENGLISH, values], encoding), csv_bytes([values, values], encoding)):
        try:
            rows = list(parse_csv(io.BytesIO(data)))
        except InvalidInput as error:
            check_no_personal_data(error, name, id_number)
            continue
        for row in rows:
            if isinstance(row, InvalidInput):
                check_no_personal_data(row, name, id_number)
            else:
                assert name not in repr(row) and id_number not in repr(row)


# --- certificate types (format 2, issue #17 item 1) ------------------------------------------

SPECIAL = {
    "level": "不划分等级",
    "certificate_number": "251601500200001",
    "organisation_code": "16015002",
}


def typed_row(certificate_type: str, level: str, header: list[str] | None = None) -> bytes:
    names = [*(header or ENGLISH), "证书类型" if header is CHINESE else "certificate_type"]
    values = list(VALUES)
    values[ENGLISH.index("level")] = level
    return csv_bytes([names, [*values, certificate_type]])


@pytest.mark.parametrize(
    ("cell", "certificate_type"),
    [
        ("special_ability", "special_ability"),
        ("专项职业能力证书", "special_ability"),
        (" Special_Ability ", "special_ability"),
        ("vocational_qualification", "vocational_qualification"),
        ("职业资格证书", "vocational_qualification"),
    ],
)
def test_certificate_type_column(cell: str, certificate_type: str) -> None:
    level = "" if certificate_type == "special_ability" else "三级"
    for header in (ENGLISH, CHINESE):
        row = only_row(typed_row(cell, level, header))
        assert isinstance(row, ParsedRow), row
        assert row.fields["certificate_type"] == certificate_type
        assert row.fields["level"] == (0 if certificate_type == "special_ability" else 3)
        assert Certificate.from_fields(row.fields).certificate_type == certificate_type


@pytest.mark.parametrize("cell", ["", "skill_level", "职业技能等级证书"])
def test_a_blank_or_skill_level_type_is_format_1(cell: str) -> None:
    row = only_row(typed_row(cell, "五级/初级工"))
    assert isinstance(row, ParsedRow)
    assert row.fields == EXPECTED  # no certificate_type field: the twelve of format 1


@pytest.mark.parametrize("level", ["", "0", "不划分等级", "无"])
def test_special_ability_level_is_not_graded(level: str) -> None:
    row = only_row(typed_row("special_ability", level))
    assert isinstance(row, ParsedRow) and row.fields["level"] == 0


def test_special_ability_with_a_grade_is_parsed_for_validation_to_refuse() -> None:
    # The parser reads a grade as written; the rule (level.ungraded) is validation's.
    row = only_row(typed_row("special_ability", "三级"))
    assert isinstance(row, ParsedRow) and row.fields["level"] == 3
    # Outside special_ability an ungraded spelling stays a bad level cell.
    assert row_error(typed_row("skill_level", "不划分等级")).rule == "intake.level"
    assert row_error(typed_row("vocational_qualification", "")).rule == "intake.required"


def test_unknown_certificate_type_is_refused_with_its_rule() -> None:
    error = row_error(typed_row("职业资格", "三级"))
    assert (error.field, error.rule) == ("certificate_type", "intake.certificate_type")
    error = row_error(jsonl({**EXPECTED, "certificate_type": 2}), "jsonl")
    assert (error.field, error.rule) == ("certificate_type", "intake.type")


def test_format_2_salts_cover_the_type() -> None:
    twelve = {name: f"{i:02x}" * 32 for i, name in enumerate(FIELD_NAMES)}
    thirteen = {**twelve, "certificate_type": "ff" * 32}
    base = {
        **EXPECTED,
        **SPECIAL,
        "certificate_type": "special_ability",
        "signature_suite": "ed25519",
        "key_id": 0,
        "signature": SIGNATURE_HEX,
    }
    row = only_row(jsonl({**base, "salts": thirteen}), "jsonl")
    assert isinstance(row, ParsedRow)
    assert set(row.extras["salts"]) == set(thirteen)  # type: ignore[arg-type]
    error = row_error(jsonl({**base, "salts": twelve}), "jsonl")
    assert (error.field, error.rule) == ("salts", "intake.salts")
    assert "certificate_type" in error.message
    # A format-1 row with a thirteenth salt is refused too.
    format1 = {**base, "certificate_type": "", "level": 3, "salts": thirteen}
    assert row_error(jsonl(format1), "jsonl").rule == "intake.salts"
