"""Signed submission rows of the sample organisation for the API tests."""

from __future__ import annotations

from typing import Any

from node.core.certificate import Certificate
from node.core.issuer import submission_row
from province.node import ProvinceNode
from tests.province.helpers import certificate, salted, sign


def row(node: ProvinceNode, serial: int, **changes: Any) -> dict[str, Any]:
    """The signed submission row (JSON object) of sample certificate ``serial``."""
    s = salted(certificate(serial, **changes))
    return submission_row(s, sign(node, s))


def holder(serial: int) -> Certificate:
    """The sample certificate ``serial`` (its holder name and ID number)."""
    return certificate(serial)
