"""Assertion helpers for the contract suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from anchor.errors import ContractRevert


def reverts(name: str, call: Callable[[], Any], **expected: Any) -> ContractRevert:
    """Assert that ``call`` raises ContractRevert ``name`` with (at least) ``expected`` args."""
    with pytest.raises(ContractRevert) as info:
        call()
    assert info.value.name == name, str(info.value)
    for key, value in expected.items():
        assert info.value.arguments[key] == value, (key, info.value.arguments)
    return info.value
