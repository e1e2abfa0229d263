"""Strict reading of the pinned JSON formats (bundles, entries, snapshots).

Every reader checks the exact key set, the JSON type and the shape of each value, and raises
:class:`~node.core.errors.InvalidInput` naming the JSON path and the rule. Nothing unknown passes:
a value that is not understood is refused rather than ignored (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from node.core.errors import InvalidInput

_HEX = re.compile(r"[0-9a-f]*")
_MAX_SAFE_INT = 2**53 - 1


def hex_str(value: bytes) -> str:
    """Return lowercase hex without prefix."""
    return value.hex()


def hex0x(value: bytes) -> str:
    """Return lowercase hex with the ``0x`` prefix (addresses, transaction and block hashes)."""
    return "0x" + value.hex()


class Reader:
    """A view of one JSON object at ``path`` with typed, checked accessors."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise InvalidInput(path, "schema.type", "must be an object")
        self.value: Mapping[str, Any] = value
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def keys(self, required: set[str], optional: frozenset[str] | set[str] = frozenset()) -> None:
        """Check that exactly the required keys (and possibly optional ones) are present."""
        for key in sorted(required):
            if key not in self.value:
                raise InvalidInput(self.at(key), "schema.required", "required key is missing")
        for key in sorted(self.value):
            if key not in required and key not in optional:
                raise InvalidInput(self.at(key), "schema.unknown_key", "unknown key")

    def raw(self, key: str) -> Any:
        if key not in self.value:
            raise InvalidInput(self.at(key), "schema.required", "required key is missing")
        return self.value[key]

    def obj(self, key: str) -> Reader:
        return Reader(self.raw(key), self.at(key))

    def is_null(self, key: str) -> bool:
        return self.raw(key) is None

    def string(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.raw(key)
        return check_string(value, self.at(key), pattern)

    def integer(self, key: str, minimum: int = 0, maximum: int = _MAX_SAFE_INT) -> int:
        return check_integer(self.raw(key), self.at(key), minimum, maximum)

    def hex(self, key: str, size: int | None = None) -> bytes:
        return check_hex(self.raw(key), self.at(key), size)

    def hex0x(self, key: str, size: int) -> bytes:
        value = self.raw(key)
        if not isinstance(value, str) or not value.startswith("0x"):
            raise InvalidInput(self.at(key), "schema.hex", "must be 0x-prefixed lowercase hex")
        return check_hex(value[2:], self.at(key), size)

    def array(self, key: str, max_items: int = 10_000) -> list[Any]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise InvalidInput(self.at(key), "schema.type", "must be an array")
        if len(value) > max_items:
            raise InvalidInput(self.at(key), "schema.max_items", f"more than {max_items} items")
        return value


def check_string(value: Any, path: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise InvalidInput(path, "schema.type", "must be a string")
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidInput(path, "schema.pattern", f"must match {pattern.pattern}")
    return value


def check_integer(value: Any, path: str, minimum: int = 0, maximum: int = _MAX_SAFE_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(path, "schema.type", "must be an integer")
    if not minimum <= value <= maximum:
        raise InvalidInput(path, "schema.range", f"must be between {minimum} and {maximum}")
    return value


def check_hex(value: Any, path: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or len(value) % 2 or not _HEX.fullmatch(value):
        raise InvalidInput(path, "schema.hex", "must be lowercase hex with an even length")
    data = bytes.fromhex(value)
    if size is not None and len(data) != size:
        raise InvalidInput(path, "schema.hex_size", f"must be {size} bytes")
    return data
