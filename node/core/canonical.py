"""JSON the node writes: canonical (RFC 8785, JSON Canonicalization Scheme, via the ``rfc8785``
package), and :func:`json_encoder`, ``json.dumps`` with its encoder made once (storage columns)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import rfc8785

from node.core.errors import InvalidInput


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of a JSON value.

    Raises:
        InvalidInput: the value cannot be represented in I-JSON (e.g. a float that is not
            finite, an integer beyond 2**53, a non-string key).
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput("json", "canonical.jcs", f"not canonicalisable: {exc}") from exc


_MAX_SAFE_INT = 2**53 - 1


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only ASCII strings, safe integers, booleans, None, lists, dicts."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= _MAX_SAFE_INT
    if isinstance(value, str):
        return value.isascii()
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False


def canonical_json_fast(value: Any) -> bytes:
    """Return ``JCS(value)``, quickly when the value is plain ASCII JSON without floats.

    For such values RFC 8785's output equals ``json.dumps`` with sorted keys and no spaces
    (ASCII keys sort the same by UTF-16 code unit and by code point; integers print the same).
    Log entries are always of this kind. ``tests/node/core/test_commitment.py`` holds the two equal.
    """
    if _plain(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "ascii"
        )
    return canonical_json(value)


#: The characters RFC 8785 (ECMAScript ``JSON.stringify``) escapes in a string.
_ESCAPED = re.compile('[\x00-\x1f"\\\\]')


def canonical_pair(name: str, value: str | int) -> bytes:
    """Return ``JCS([name, value])`` for a string name and a string or integer value.

    A fast path for field hashing: for these two types RFC 8785's output equals Python's
    ``json.dumps`` with ``ensure_ascii=False`` and no spaces (both escape only ``"``, ``\\``
    and control characters, as ``\\b \\t \\n \\f \\r`` or lowercase ``\\u00xx``); a string
    with none of these is simply quoted, without calling an encoder.
    ``tests/test_canonical.py`` holds the two equal on random text. Anything else falls back
    to the ``rfc8785`` package.
    """
    if type(value) is str and _ESCAPED.search(value) is None and _ESCAPED.search(name) is None:
        # Nothing to escape: JCS is the two strings in quotes (the common case, no encoder call).
        try:
            return f'["{name}","{value}"]'.encode()
        except UnicodeEncodeError:
            return canonical_json([name, value])
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_SAFE_INT:
        encoded_value = str(value)
    elif isinstance(value, str):
        encoded_value = json.dumps(value, ensure_ascii=False)
    else:
        return canonical_json([name, value])
    try:
        return f"[{json.dumps(name, ensure_ascii=False)},{encoded_value}]".encode()
    except UnicodeEncodeError:
        # Lone surrogates are not valid I-JSON: let the reference implementation refuse them.
        return canonical_json([name, value])


def json_encoder(
    *, ensure_ascii: bool = True, separators: tuple[str, str] = (", ", ": ")
) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=..., separators=...)`` as a function whose C encoder is
    made once, not per call (the making was half the cost of encoding an audit event's details
    or a record's values). Without circular-reference markers: a value that contains itself
    fails with ``RecursionError``, not ``ValueError``. Falls back to ``json.dumps`` where the C
    accelerator is missing."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return functools.partial(json.dumps, ensure_ascii=ensure_ascii, separators=separators)
    item_separator, key_separator = separators
    chunks = make(
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring,
        None,
        key_separator,
        item_separator,
        False,
        False,
        True,
    )
    return lambda value: "".join(chunks(value, 0))
