"""Bulk submissions: CSV and JSON Lines files parsed into rows of certificate fields.

The columns, their Chinese names and the accepted spellings are documented in
``docs/INTAKE.md``; :data:`COLUMNS` is the same table in code.

Parsing is streaming: the file is read one line at a time (at most :data:`MAX_LINE_BYTES` per
line), so a file of a million rows is processed in flat memory. :func:`parse_csv` reads and
checks the header before it returns; a bad header (an unknown, duplicate or nameless column, a
missing required column, no header at all) raises :class:`~node.core.errors.InvalidInput` before
any row is read. The rows then come out of the returned iterator one by one, each either a
:class:`ParsedRow` or an :class:`InvalidRow` (an ``InvalidInput`` carrying the row number):
one bad row never stops the rest of the file.

Rows are parsed, not validated: values are normalised to the pinned field types of
docs/FORMATS.md (``id_type`` as its code, ``level`` as an integer, ``issue_date`` as
``YYYY-MM-DD``) and free text is passed through byte for byte. Build a
:class:`~node.core.certificate.Certificate` with ``Certificate.from_fields(row.fields)`` and check
it with :func:`node.core.rules.validation.validate_certificate`. An issuer's salts and signature are
over the normalised values.

Error messages give the row number and the column, never a cell's value: cells may hold the
holder's name or ID number (data guide art. 18).

Encodings: CSV may be UTF-8 (with or without a byte order mark) or GB18030 (what Chinese office
software saves as "ANSI"; GB18030 includes GBK and GB2312). The choice is made on the first line
that is not plain ASCII: UTF-8 when that line is valid UTF-8, otherwise GB18030; every later line
must be in the same encoding. JSON Lines is UTF-8 only (RFC 8259 §8.1), a leading byte order
mark allowed.

Rule ids (all ``intake.*``): ``empty_file``, ``encoding``, ``line_length``, ``no_header``,
``unknown_column``, ``duplicate_column``, ``missing_column``, ``signature_columns`` (header);
``csv_syntax``, ``row_length``, ``json``, ``required``, ``type``, ``id_type``, ``level``,
``issue_date``, ``certificate_type``, ``signature_suite``, ``key_id``, ``signature``,
``salts``, ``signature_incomplete`` (rows); ``late_reason`` uses the ``reason.*`` rules of
:func:`node.core.rules.reasons.check_reason`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple, Protocol

from node.core import safejson
from node.core.certificate import (
    FIELD_NAMES,
    PERSONAL_FIELDS,
    SKILL_LEVEL,
    SPECIAL_ABILITY,
    TYPE_FIELD,
    UNGRADED_LEVEL,
    VOCATIONAL_QUALIFICATION,
    FieldValue,
    committed_field_names,
)
from node.core.crypto.signatures import SUITE_NAMES, get_suite
from node.core.errors import InvalidInput
from node.core.rules.codes import ID_TYPES, LEVELS
from node.core.rules.reasons import ACTION_ISSUE, check_reason

#: Longest line read, in bytes; a longer line is refused as one bad row (rule
#: ``intake.line_length``) and skipped.
MAX_LINE_BYTES: Final = 1 << 20

#: Largest ``key_id`` (the contract's key index is a ``uint32`` in its events).
MAX_KEY_ID: Final = 2**32 - 1

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")

# Column names of the optional columns.
SIGNATURE_SUITE: Final = "signature_suite"
KEY_ID: Final = "key_id"
SIGNATURE: Final = "signature"
SALTS: Final = "salts"
LATE_REASON: Final = "late_reason"
#: The issuer-signature columns: all four or none, in the header and in each row.
SIGNATURE_COLUMNS: Final[tuple[str, ...]] = (SIGNATURE_SUITE, KEY_ID, SIGNATURE, SALTS)


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """One column of a submission: its field name, its data-guide name and other spellings."""

    name: str
    zh: str
    aliases: tuple[str, ...] = ()
    required: bool = True


#: Every column, certificate fields first (in :data:`~node.core.certificate.FIELD_NAMES` order).
#: The Chinese names are those of data guide art. 7 (中就培发〔2022〕1号, seed 002); the
#: aliases are the other spellings found on certificates and in the guide itself.
COLUMNS: Final[tuple[Column, ...]] = (
    Column("holder_name", "持证人姓名"),
    Column("id_type", "证件类型"),
    Column("id_number", "证件号码"),
    Column("occupation_name", "职业名称"),
    Column("occupation_code", "职业编码"),
    Column("work_type_name", "工种/职业方向", ("工种", "职业方向", "工种/职业方向名称")),
    Column("work_type_code", "工种编码"),
    Column("level", "职业技能等级"),
    # Art. 20 calls the number 证书编码.
    Column("certificate_number", "证书编号", ("证书编码",)),
    Column("issue_date", "发证日期"),
    Column("organisation_name", "发证机构名称"),
    Column("organisation_code", "机构代码"),
    # Format 2 (issue #17): blank or absent is a 职业技能等级证书 (format 1, twelve salts).
    Column(TYPE_FIELD, "证书类型", ("证书种类",), required=False),
    Column(SIGNATURE_SUITE, "签名算法", required=False),
    Column(KEY_ID, "密钥编号", required=False),
    Column(SIGNATURE, "签名", required=False),
    Column(SALTS, "盐值", required=False),
    Column(LATE_REASON, "逾期原因代码", required=False),
)

_BY_NAME: Final[Mapping[str, Column]] = MappingProxyType({c.name: c for c in COLUMNS})


def _header_key(text: str) -> str:
    # Header names are matched after NFKC (full-width "／" is "/"), trimming and lower-casing.
    return unicodedata.normalize("NFKC", text).strip().lower()


_COLUMN_LOOKUP: Final[Mapping[str, str]] = MappingProxyType(
    {
        _header_key(spelling): column.name
        for column in COLUMNS
        for spelling in (column.name, column.zh, *column.aliases)
    }
)


@functools.lru_cache(maxsize=1024)
def _column_of(key: str) -> str | None:
    """The column a header name or JSON key spells, or ``None`` (each row of a JSON Lines file
    repeats the same keys, so answers are kept)."""
    return _COLUMN_LOOKUP.get(_header_key(key))


#: Henan's labels of levels 3-5 (豫职鉴〔2020〕2号 table 5, seed 001): "三级 / 高级", "四级 / 中级",
#: "五级 / 初级" (without the 工 of 人社鉴发〔2019〕2号).
HENAN_LEVEL_LABELS: Final[Mapping[int, str]] = MappingProxyType(
    {3: "三级/高级", 4: "四级/中级", 5: "五级/初级"}
)

#: Spellings of the skill level (人社鉴发〔2019〕2号 table 5): ``3``, ``3级``, ``三级``,
#: ``三级/高级工``, ``高级工``, and Henan's full labels ``三级/高级`` … (a bare ``高级`` stays
#: refused: it could be 高级工 or 高级技师). After NFKC and with the spaces around the slash
#: removed, so ``三级 / 高级``, ``三级／高级工`` and ``３`` work too.
_LEVEL_LOOKUP: Final[Mapping[str, int]] = MappingProxyType(
    {
        **{
            spelling: level
            for level, label in LEVELS.items()
            for spelling in (
                str(level),
                f"{level}级",
                label.split("/")[0],
                label,
                label.split("/")[1],
            )
        },
        **{label: level for level, label in HENAN_LEVEL_LABELS.items()},
    }
)

#: Spellings of the certificate type: the code and the certificate's title (中就培发〔2022〕1号
#: covers all three; 人社部发〔2019〕90号 二).
_TYPE_LOOKUP: Final[Mapping[str, str]] = MappingProxyType(
    {
        SKILL_LEVEL: SKILL_LEVEL,
        SPECIAL_ABILITY: SPECIAL_ABILITY,
        VOCATIONAL_QUALIFICATION: VOCATIONAL_QUALIFICATION,
        "职业技能等级证书": SKILL_LEVEL,
        "专项职业能力证书": SPECIAL_ABILITY,
        "职业资格证书": VOCATIONAL_QUALIFICATION,
    }
)

#: Spellings of "not graded" in the level cell of a 专项职业能力证书 (劳社厅发〔2006〕29号:
#: 不划分等级), which commits level 0; a blank cell means the same for that type.
_UNGRADED_SPELLINGS: Final = frozenset({"0", "不划分等级", "不分等级", "无", "-", "--", "—"})

#: Spellings of the ID type: the code, the label of :data:`node.core.rules.codes.ID_TYPES`, and
# common
#: short forms.
_ID_TYPE_LOOKUP: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{code: code for code in ID_TYPES},
        **{label: code for code, label in ID_TYPES.items()},
        "身份证": "resident_id",
        "港澳通行证": "hk_macao_permit",
        "台胞证": "taiwan_permit",
        "外国人永久居留证": "foreign_permanent_residence",
    }
)

# Dates (ASCII digits after NFKC): 2025-06-18, 2025-6-18, 2025/6/18, 2025年6月18日.
_DATE_PATTERNS: Final = (
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)
_DIGITS: Final = re.compile(r"[0-9]+")


class BinaryReadable(Protocol):
    """What the parsers read from: a binary file object (``open(path, "rb")``, ``BytesIO``)."""

    def readline(self, size: int | None = -1, /) -> bytes: ...


class InvalidRow(InvalidInput):
    """A row of a submission broke a rule. ``field`` names the column (``row`` for the row as a
    whole); the message starts with the row number and never holds a cell's value."""

    def __init__(self, row_number: int, field: str, rule: str, message: str) -> None:
        super().__init__(field, rule, f"row {row_number}: {message}")
        self.row_number = row_number


ExtraValue = str | int | bytes | dict[str, bytes]


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedRow:
    """One parsed row.

    ``row_number`` is the line of the file on which the row starts (in CSV the header is line
    1). ``fields`` holds the twelve certificate fields, normalised, and ``certificate_type`` for a
    format-2 certificate (``special_ability``, ``vocational_qualification``; its ``level`` is 0
    for a ``special_ability`` one written blank or 不划分等级). ``extras`` holds the optional
    columns that were given: ``signature_suite`` (str), ``key_id`` (int), ``signature``
    (bytes), ``salts`` (dict of field name to 32 bytes), ``late_reason`` (int).
    """

    row_number: int
    fields: dict[str, FieldValue]
    extras: dict[str, ExtraValue]

    def __repr__(self) -> str:
        # Never show personal data, even in tracebacks or debug logs.
        shown = {k: v for k, v in self.fields.items() if k not in PERSONAL_FIELDS}
        return f"ParsedRow(row_number={self.row_number}, fields={shown!r}, extras=...)"


RowResult = ParsedRow | InvalidRow


class RawRow(NamedTuple):
    """A row read from a submission but not parsed yet (:func:`read_submission`): the text of
    a JSON Lines line, or a CSV record as column name to cell. :func:`parse_raw_row` turns it
    into what :func:`parse_submission` yields for it; bulk intake does that in its worker
    processes, so the writer only reads lines."""

    row_number: int
    data: str | dict[str, str]

    def __repr__(self) -> str:
        # Never show personal data, even in tracebacks or debug logs.
        return f"RawRow(row_number={self.row_number}, data=...)"


ReadRow = RawRow | InvalidRow
"""What :func:`read_submission` yields: a row to parse, or a row already refused (a line too
long or not in the file's encoding, malformed CSV, a record of the wrong length)."""


def parse_raw_row(row: RawRow) -> RowResult:
    """Parse a row of :func:`read_submission`: exactly what :func:`parse_submission` yields
    for it."""
    if isinstance(row.data, str):
        return _jsonl_row(row.row_number, row.data)
    return _row(row.row_number, row.data)


# --------------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------------


class _BadLine(Exception):
    def __init__(self, line_number: int, rule: str, message: str) -> None:
        super().__init__(message)
        self.line_number = line_number
        self.rule = rule
        self.message = message


class _Lines:
    """Decoded lines of a stream, one at a time; raises :class:`_BadLine` for a line that is too
    long or not in the file's encoding, and can be iterated again after that."""

    def __init__(self, stream: BinaryReadable, *, allow_gb18030: bool) -> None:
        self._stream = stream
        self._allow_gb18030 = allow_gb18030
        self._encoding: str | None = None
        self.line_number = 0

    @property
    def encoding(self) -> str | None:
        return self._encoding

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.line_number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            # Skip the rest of the line without keeping it.
            while True:
                rest = self._stream.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            raise _BadLine(
                self.line_number, "intake.line_length", f"line longer than {MAX_LINE_BYTES} bytes"
            )
        if self.line_number == 1:
            if raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
                self._encoding = "utf-8"
            elif raw.startswith(_UTF16_BOMS):
                raise _BadLine(
                    1, "intake.encoding", "UTF-16 is not accepted; save the file as UTF-8"
                )
        if raw.isascii():
            return raw.decode("ascii")
        if self._encoding is None:
            candidates = ("utf-8", "gb18030") if self._allow_gb18030 else ("utf-8",)
            for encoding in candidates:
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError:
                    continue
                self._encoding = encoding
                return text
            expected = "UTF-8 or GB18030" if self._allow_gb18030 else "UTF-8"
            raise _BadLine(self.line_number, "intake.encoding", f"not valid {expected}")
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError:
            raise _BadLine(
                self.line_number,
                "intake.encoding",
                f"not valid {self._encoding.upper()}, the encoding of the earlier lines",
            ) from None


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise _CellError(field, "intake.type", "must be a string")
    return value


def _normalised(field: str, value: object) -> str:
    return unicodedata.normalize("NFKC", _text(field, value)).strip()


def _id_type(value: object) -> str:
    code = _ID_TYPE_LOOKUP.get(_normalised("id_type", value))
    if code is None:
        raise _CellError(
            "id_type",
            "intake.id_type",
            "unknown ID type; use a code or label of docs/FORMATS.md, e.g. 居民身份证",
        )
    return code


def _certificate_type(value: object) -> str:
    text = _normalised(TYPE_FIELD, value)
    certificate_type = _TYPE_LOOKUP.get(text) or _TYPE_LOOKUP.get(text.lower())
    if certificate_type is None:
        raise _CellError(
            TYPE_FIELD,
            "intake.certificate_type",
            "must be skill_level, special_ability or vocational_qualification "
            "(职业技能等级证书, 专项职业能力证书, 职业资格证书)",
        )
    return certificate_type


def _ungraded_level(value: object) -> int:
    """The level cell of a 专项职业能力证书: blank or a spelling of "not graded" is level 0;
    any other value is read as a skill level, which validation then refuses
    (``level.ungraded``)."""
    if _is_blank(value) or value == UNGRADED_LEVEL:
        return UNGRADED_LEVEL
    if isinstance(value, str) and _normalised("level", value) in _UNGRADED_SPELLINGS:
        return UNGRADED_LEVEL
    return _level(value)


def _level(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value in LEVELS:
            return value
    elif isinstance(value, str):
        level = _LEVEL_LOOKUP.get(re.sub(r"\s*/\s*", "/", _normalised("level", value)))
        if level is not None:
            return level
    raise _CellError(
        "level", "intake.level", "must be a skill level 1-5, e.g. 3, 三级, 三级/高级工 or 高级工"
    )


def _issue_date(value: object) -> str:
    text = _normalised("issue_date", value)
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        try:
            day = datetime.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            break
        return day.isoformat()
    raise _CellError(
        "issue_date",
        "intake.issue_date",
        "must be a real date written 2025-06-18, 2025/6/18 or 2025年6月18日",
    )


def _integer(field: str, rule: str, value: object, maximum: int) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = _normalised(field, value)
        if _DIGITS.fullmatch(text) and len(text) <= 10:
            number = int(text)
    if number is None or not 0 <= number <= maximum:
        raise _CellError(field, rule, f"must be an integer 0-{maximum}")
    return number


def _hex_bytes(field: str, rule: str, value: object, length: int) -> bytes:
    text = value.strip() if isinstance(value, str) else None
    if text is not None and len(text) == 2 * length:
        # fromhex refuses anything but hex digits and ASCII whitespace; whitespace inside the
        # text leaves fewer than ``length`` bytes, so the length check refuses it too.
        try:
            data = bytes.fromhex(text)
        except ValueError:
            pass
        else:
            if len(data) == length:
                return data
    raise _CellError(field, rule, f"must be {2 * length} hexadecimal digits")


def _salts(value: object, names: tuple[str, ...] = FIELD_NAMES) -> dict[str, bytes]:
    if isinstance(value, str):
        try:
            value = safejson.loads(value, SALTS, max_bytes=MAX_LINE_BYTES, max_depth=2)
        except InvalidInput:
            value = None
    if not isinstance(value, dict):
        raise _CellError(SALTS, "intake.salts", "must be a JSON object of field name to salt")
    if set(value) != set(names):
        raise _CellError(
            SALTS,
            "intake.salts",
            "must hold a salt for each of the twelve fields"
            if names == FIELD_NAMES
            else "must hold a salt for each of the twelve fields and certificate_type",
        )
    return {name: _hex_bytes(SALTS, "intake.salts", value[name], 32) for name in names}


def _row(row_number: int, cells: Mapping[str, object]) -> RowResult:
    """Normalise one row, given as column name to raw cell (a CSV string or a JSON value)."""
    try:
        fields: dict[str, FieldValue] = {}
        certificate_type = SKILL_LEVEL
        if not _is_blank(type_cell := cells.get(TYPE_FIELD)):
            certificate_type = _certificate_type(type_cell)
        ungraded = certificate_type == SPECIAL_ABILITY
        for name in FIELD_NAMES:
            value = cells.get(name)
            if ungraded and name == "level":
                fields[name] = _ungraded_level(value)
                continue
            if _is_blank(value):
                raise _CellError(name, "intake.required", "required cell is empty")
            if name == "id_type":
                fields[name] = _id_type(value)
            elif name == "level":
                fields[name] = _level(value)
            elif name == "issue_date":
                fields[name] = _issue_date(value)
            else:
                fields[name] = _text(name, value)
        if certificate_type != SKILL_LEVEL:
            fields[TYPE_FIELD] = certificate_type
        extras: dict[str, ExtraValue] = {}
        given = [name for name in SIGNATURE_COLUMNS if not _is_blank(cells.get(name))]
        if given:
            missing = [name for name in SIGNATURE_COLUMNS if name not in given]
            if missing:
                raise _CellError(
                    missing[0],
                    "intake.signature_incomplete",
                    "signature_suite, key_id, signature and salts go together; this is missing",
                )
            suite_name = _normalised(SIGNATURE_SUITE, cells[SIGNATURE_SUITE])
            if suite_name not in SUITE_NAMES:
                raise _CellError(
                    SIGNATURE_SUITE,
                    "intake.signature_suite",
                    f"must be one of {', '.join(SUITE_NAMES)}",
                )
            extras[SIGNATURE_SUITE] = suite_name
            extras[KEY_ID] = _integer(KEY_ID, "intake.key_id", cells[KEY_ID], MAX_KEY_ID)
            extras[SIGNATURE] = _hex_bytes(
                SIGNATURE,
                "intake.signature",
                cells[SIGNATURE],
                get_suite(suite_name).signature_length,
            )
            extras[SALTS] = _salts(cells[SALTS], committed_field_names(certificate_type))
        late = cells.get(LATE_REASON)
        if not _is_blank(late):
            code = _integer(LATE_REASON, "reason.unknown", late, 65535)
            try:
                check_reason(ACTION_ISSUE, code, field=LATE_REASON)
            except InvalidInput as exc:
                raise _CellError(exc.field, exc.rule, exc.message) from None
            extras[LATE_REASON] = code
    except _CellError as exc:
        return InvalidRow(row_number, exc.field, exc.rule, exc.message)
    return ParsedRow(row_number=row_number, fields=fields, extras=extras)


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


def _shown(name: str) -> str:
    # A column name as it appears in an error: quoted, and cut short.
    return repr(name if len(name) <= 40 else name[:40] + "…")


def _check_columns(present: list[str], row_number: int | None) -> None:
    """Check that the required columns are present and, in a header, that the signature columns
    come together (in a JSON Lines row, :func:`_row` checks the signature cells instead)."""

    def error(column: str, rule: str, message: str) -> InvalidInput:
        if row_number is None:
            return InvalidInput(column, rule, message)
        return InvalidRow(row_number, column, rule, message)

    for column in COLUMNS:
        if column.required and column.name not in present:
            raise error(
                column.name,
                "intake.missing_column",
                f"required column {column.name} ({column.zh}) is missing",
            )
    if row_number is not None:
        return
    signature_given = [name for name in SIGNATURE_COLUMNS if name in present]
    if signature_given and len(signature_given) != len(SIGNATURE_COLUMNS):
        missing = next(name for name in SIGNATURE_COLUMNS if name not in present)
        raise error(
            missing,
            "intake.signature_columns",
            "signature_suite, key_id, signature and salts go together; "
            f"column {missing} ({_BY_NAME[missing].zh}) is missing",
        )


def _map_header(names: list[str]) -> list[str]:
    """Map a CSV header to column names.

    Raises:
        InvalidInput: field ``header`` (rule ``intake.no_header``) or the column
            (``intake.unknown_column``, ``intake.duplicate_column``, ``intake.missing_column``,
            ``intake.signature_columns``).
    """
    keys = [_header_key(name) for name in names]
    if not any(key in _COLUMN_LOOKUP for key in keys):
        # Probably a data row: say so without echoing it (it may hold personal data).
        raise InvalidInput(
            "header",
            "intake.no_header",
            "the first line must name the columns (see docs/INTAKE.md); no known column found",
        )
    mapped: list[str] = []
    for position, key in enumerate(keys, start=1):
        if not key:
            raise InvalidInput(
                f"column {position}", "intake.unknown_column", f"column {position} has no name"
            )
        column = _COLUMN_LOOKUP.get(key)
        if column is None:
            # Never echo the name: a file without its header row has a holder's name here.
            raise InvalidInput(
                f"column {position}",
                "intake.unknown_column",
                f"unknown column name (column {position}); "
                "see docs/INTAKE.md for the accepted columns",
            )
        if column in mapped:
            raise InvalidInput(
                column,
                "intake.duplicate_column",
                f"column {column} ({_BY_NAME[column].zh}) appears twice "
                f"(column {mapped.index(column) + 1} and column {position})",
            )
        mapped.append(column)
    _check_columns(mapped, None)
    return mapped


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_reader(lines: _Lines) -> Iterator[list[str]]:
    return csv.reader(lines, dialect="excel", strict=True)


def parse_csv(stream: BinaryReadable) -> Iterator[RowResult]:
    """Parse a CSV submission: :func:`read_csv` with each row parsed (:func:`parse_raw_row`).

    Raises:
        InvalidInput: a bad header (see :func:`read_csv`), before any row is read.
    """
    return _parsed(read_csv(stream))


def _parsed(rows: Iterator[ReadRow]) -> Iterator[RowResult]:
    for row in rows:
        yield parse_raw_row(row) if isinstance(row, RawRow) else row


def read_csv(stream: BinaryReadable) -> Iterator[ReadRow]:
    """Parse a CSV submission (RFC 4180 / Excel dialect, comma-separated).

    Reads and checks the header now; returns an iterator over the rows, read lazily. Blank lines
    are skipped. A row may have more cells than the header only if the extra cells are empty
    (spreadsheets write trailing commas).

    Returns:
        An iterator of :class:`RawRow` and :class:`InvalidRow`, in file order.

    Raises:
        InvalidInput: a bad header, before any row is read: field ``header`` with rule
            ``intake.empty_file``, ``intake.encoding``, ``intake.line_length``,
            ``intake.csv_syntax`` or ``intake.no_header``; or the column's name with rule
            ``intake.unknown_column``, ``intake.duplicate_column``, ``intake.missing_column`` or
            ``intake.signature_columns``.
    """
    lines = _Lines(stream, allow_gb18030=True)
    reader = _csv_reader(lines)
    try:
        header = next(reader, None)
        while header == []:  # blank lines before the header
            header = next(reader, None)
    except _BadLine as exc:
        raise InvalidInput("header", exc.rule, f"header: {exc.message}") from None
    except csv.Error:
        raise InvalidInput("header", "intake.csv_syntax", "header is not valid CSV") from None
    if header is None:
        raise InvalidInput("header", "intake.empty_file", "the file is empty")
    columns = _map_header(header)
    return _csv_rows(lines, reader, columns)


def _csv_rows(lines: _Lines, reader: Iterator[list[str]], columns: list[str]) -> Iterator[ReadRow]:
    width = len(columns)
    while True:
        row_number = lines.line_number + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except _BadLine as exc:
            yield InvalidRow(exc.line_number, "row", exc.rule, exc.message)
            reader = _csv_reader(lines)
            continue
        except csv.Error:
            yield InvalidRow(row_number, "row", "intake.csv_syntax", "malformed CSV record")
            reader = _csv_reader(lines)
            continue
        if not record:
            continue
        if len(record) < width or any(cell != "" for cell in record[width:]):
            yield InvalidRow(
                row_number,
                "row",
                "intake.row_length",
                f"has {len(record)} cells, the header has {width}",
            )
            continue
        yield RawRow(row_number, dict(zip(columns, record, strict=False)))


# --------------------------------------------------------------------------------------------
# JSON Lines
# --------------------------------------------------------------------------------------------


def parse_jsonl(stream: BinaryReadable) -> Iterator[RowResult]:
    """Parse a JSON Lines submission: one JSON object per line, keyed by column name (either
    language, as in CSV). Values are strings, except that ``level``, ``key_id`` and
    ``late_reason`` may also be JSON integers and ``salts`` a JSON object. ``null`` counts as an
    empty cell. Blank lines are skipped.

    There is no header, so every column check is made per row.

    Returns:
        An iterator of :class:`ParsedRow` and :class:`InvalidRow`, in file order.
    """
    return _parsed(read_jsonl(stream))


def read_jsonl(stream: BinaryReadable) -> Iterator[ReadRow]:
    """Read a JSON Lines submission a line at a time without parsing the lines: each non-blank
    line is a :class:`RawRow` holding its text (:func:`parse_raw_row` parses it), a line too
    long or not UTF-8 an :class:`InvalidRow`."""
    lines = _Lines(stream, allow_gb18030=False)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except _BadLine as exc:
            yield InvalidRow(exc.line_number, "row", exc.rule, exc.message)
            continue
        if line.strip():
            yield RawRow(lines.line_number, line)


def _jsonl_row(row_number: int, line: str) -> RowResult:
    """Parse one JSON Lines line (not blank)."""
    try:
        # A row is an object of scalars, ``salts`` an object or a string: depth 2 at most.
        value = safejson.loads(
            line, "row", max_bytes=MAX_LINE_BYTES, max_depth=2, rule="intake.json"
        )
    except safejson.DuplicateKey as exc:
        # A key is named only when it is a known column: any other key may be personal data.
        known = exc.key in _BY_NAME
        return InvalidRow(
            row_number,
            exc.key if known else "row",
            "intake.duplicate_column",
            f"key {_shown(exc.key)} appears twice" if known else "a key appears twice",
        )
    except InvalidInput as exc:
        return InvalidRow(row_number, "row", exc.rule, exc.message)
    if not isinstance(value, dict):
        return InvalidRow(row_number, "row", "intake.json", "must be a JSON object")
    cells: dict[str, object] = {}
    for key, cell in value.items():
        column = _column_of(key)
        if column is None:
            # Never echo the key: a holder's name sent as a key is personal data.
            return InvalidRow(
                row_number,
                "row",
                "intake.unknown_column",
                "an unknown key (not a column of docs/INTAKE.md)",
            )
        if column in cells:
            return InvalidRow(
                row_number,
                column,
                "intake.duplicate_column",
                f"column {column} ({_BY_NAME[column].zh}) is given twice",
            )
        cells[column] = cell
    try:
        _check_columns(list(cells), row_number)
    except InvalidRow as exc:
        return exc
    return _row(row_number, cells)


def read_submission(stream: BinaryReadable, fmt: Literal["csv", "jsonl"]) -> Iterator[ReadRow]:
    """Read a submission in format ``csv`` (:func:`read_csv`) or ``jsonl`` (:func:`read_jsonl`)
    without parsing its rows; bulk intake (:meth:`node.services.intake.IntakeService.iter_per_row`)
    takes these and parses them where it checks them.

    Raises:
        ValueError: an unknown format.
        InvalidInput: a bad CSV header (see :func:`read_csv`).
    """
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "jsonl":
        return read_jsonl(stream)
    raise ValueError(f"unknown submission format {fmt!r}")


def parse_submission(stream: BinaryReadable, fmt: Literal["csv", "jsonl"]) -> Iterator[RowResult]:
    """Parse a submission in format ``csv`` (:func:`parse_csv`) or ``jsonl``
    (:func:`parse_jsonl`).

    Raises:
        ValueError: an unknown format.
        InvalidInput: a bad CSV header (see :func:`parse_csv`).
    """
    return _parsed(read_submission(stream, fmt))
