"""The one bounded JSON reader for untrusted text (docs/THREAT-MODEL.md "Bounded parsing").

Every JSON document that arrives from outside the node (bundles, snapshots, trust roots,
manifests and scope documents read from the chain's store, submission rows, API bodies) is read
by :func:`loads`, which refuses, each with its own rule id and :class:`InvalidInput`:

- ``json.size``: more than ``max_bytes`` bytes (UTF-8);
- ``json.depth``: arrays and objects nested deeper than ``max_depth``. The depth is counted by a
  loop over the bracket characters *before* parsing, so the recursive C parser of the standard
  library never sees a document deep enough to exhaust the C stack, whatever the interpreter's
  recursion limit (a library such as ``py_ecc`` raises it to 100,000, and CPython's guard then no
  longer protects the stack);
- ``json.duplicate_key``: an object that names a key twice (the last value would win silently);
- ``json.number``: an integer of more than ``max_integer_digits`` digits, or any number literal
  longer than that (CPython refuses integers over 4,300 digits with a ``ValueError`` of its own,
  and converting long ones is quadratic);
- ``json.surrogate``: a string (key or value) holding a lone UTF-16 surrogate (``"\\ud800"``),
  which cannot be written back as UTF-8;
- ``json.syntax`` (or the format's own rule, e.g. ``bundle.json``): anything else the standard
  parser refuses, bytes that are not UTF-8, and ``NaN``, ``Infinity`` and ``-Infinity``, which
  are not JSON (the browser's ``JSON.parse`` refuses them too).

Messages never quote the input: a key or value may be a holder's name.
"""

from __future__ import annotations

import functools
import json
import re
from array import array
from itertools import accumulate
from typing import Any, Final

from node.core.errors import InvalidInput

#: Default limits; callers pass tighter (or, for snapshots, larger) ones.
MAX_BYTES: Final = 16 * 1024 * 1024
MAX_DEPTH: Final = 32
MAX_INTEGER_DIGITS: Final = 80  # a uint256 has 78 decimal digits

RULES: Final = (
    "json.size",
    "json.depth",
    "json.duplicate_key",
    "json.number",
    "json.surrogate",
    "json.syntax",
)

# A JSON string literal (escapes included); what is left outside them is structure and scalars.
# An unterminated one runs to the end of the text (a lone backslash included), so the pattern
# matches at once from every quote it tries and never backtracks: without that, text such as
# '"\\"\\"\\"…' with no closing quote made every quote a new linear scan (quadratic time).
_STRING: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_STEPS: Final = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# Where a lone surrogate can come from besides a raw one: a \\uD800-\\uDFFF escape.
_ESCAPED_SURROGATE: Final = re.compile("\\\\u[dD][89a-fA-F]")


def _may_hold_surrogate(text: str) -> bool:
    """Whether ``text`` may hold a lone surrogate (a raw one, or an escape of one): cheap tests
    in C first, since a regular expression over non-ASCII text costs more than the parse."""
    if "\\u" in text and _ESCAPED_SURROGATE.search(text):
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Refused(ValueError):
    def __init__(self, rule: str | None, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.key = key


class DuplicateKey(InvalidInput):
    """``json.duplicate_key``; :attr:`key` is the repeated key, for callers that may name it when
    it is one of their own (a known column), never put in the message."""

    def __init__(self, field: str, message: str, key: str) -> None:
        super().__init__(field, "json.duplicate_key", message)
        self.key = key


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside string literals, counted without recursion (and
    without a Python-level loop over the text: regular expressions drop the strings and every
    other character, and the running depth is summed in C)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    steps = array("b", brackets.translate(_STEPS).encode("latin-1"))
    return max(0, max(accumulate(steps)))


def check_depth(text: str, field: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse JSON text nested deeper than ``max_depth`` (``json.depth``), before any recursive
    parser sees it.

    Text with no more opening brackets than ``max_depth`` (strings included) cannot be nested
    deeper, and is passed without the scan: a submission row has one or two."""
    if text.count("{") + text.count("[") <= max_depth:
        return
    if nesting_depth(text) > max_depth:
        raise InvalidInput(field, "json.depth", f"nested deeper than {max_depth} levels")


def _pairs(check_keys: bool) -> Any:
    """The object hook: refuses a repeated key, and (``check_keys``: the text may hold a
    surrogate) a key with a lone surrogate, in the order the keys stand."""

    def fast(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            return checked(pairs)  # names the first repeated key
        return result

    def checked(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise _Refused("json.duplicate_key", "an object names one key twice", key)
            if _SURROGATE.search(key):
                raise _Refused("json.surrogate", "a key holds a lone UTF-16 surrogate")
            result[key] = value
        return result

    return checked if check_keys else fast


def _integer(max_digits: int) -> Any:
    def parse(literal: str) -> int:
        if len(literal.lstrip("-")) > max_digits:
            raise _Refused("json.number", f"an integer has more than {max_digits} digits")
        return int(literal)

    return parse


def _float(max_digits: int) -> Any:
    def parse(literal: str) -> float:
        if len(literal) > max_digits:
            raise _Refused("json.number", f"a number literal is longer than {max_digits}")
        return float(literal)

    return parse


def _constant(_name: str) -> Any:
    raise _Refused(None, "NaN and Infinity are not JSON")


@functools.lru_cache(maxsize=16)
def _decoder(max_integer_digits: int, check_keys: bool) -> json.JSONDecoder:
    """A decoder with the bounding hooks (stateless, so one per set of bounds is shared)."""
    return json.JSONDecoder(
        object_pairs_hook=_pairs(check_keys),
        parse_int=_integer(max_integer_digits),
        parse_float=_float(max_integer_digits),
        parse_constant=_constant,
    )


def _check_strings(value: Any) -> None:
    """Refuse lone surrogates in string values (keys are checked by the object hook); a loop
    over an explicit stack, never recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _Refused("json.surrogate", "a string holds a lone UTF-16 surrogate")
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def loads(
    data: str | bytes,
    field: str = "json",
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_integer_digits: int = MAX_INTEGER_DIGITS,
    rule: str = "json.syntax",
) -> Any:
    """Parse untrusted JSON text within bounds (see the module docstring).

    Raises:
        InvalidInput: at ``field``, with one of the rules of :data:`RULES` (``rule``, a
            format's own rule id, in place of ``json.syntax``).
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise InvalidInput(field, "json.size", f"larger than {max_bytes} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(field, rule, "not UTF-8") from exc
    else:
        text = data
        # A character is at most 4 bytes; only count exactly when the cheap bound is not enough.
        if len(text) > max_bytes or (
            len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise InvalidInput(field, "json.size", f"larger than {max_bytes} bytes")
    check_depth(text, field, max_depth)
    may_hold_surrogate = _may_hold_surrogate(text)
    try:
        value = _decoder(max_integer_digits, may_hold_surrogate).decode(text)
        if may_hold_surrogate:
            _check_strings(value)
    except _Refused as exc:
        if exc.key is not None:
            raise DuplicateKey(field, str(exc), exc.key) from None
        raise InvalidInput(field, exc.rule or rule, str(exc)) from None
    except (ValueError, RecursionError) as exc:
        # The standard parser's message quotes no input, only a position.
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise InvalidInput(field, rule, f"not valid JSON: {message}") from None
    return value
