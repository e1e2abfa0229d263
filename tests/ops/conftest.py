"""Fixtures of the operations tests (tests/ops/nodes.py holds the helpers)."""

from __future__ import annotations

import pytest

from tests.ops.nodes import Consortium, new_consortium


@pytest.fixture
def consortium() -> Consortium:
    return new_consortium()
