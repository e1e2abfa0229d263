"""Signed submission rows of the sample organisation for the API tests."""

from __future__ import annotations

from typing import Any

from node.core.certificate import Certificate
from node.core.issuer import submission_row
from province.node import ProvinceNode
from tests.province.helpers import certificate, salted, sign

#: The fixtures' certificates were issued on 2025-06-18 (certreg/dev/sample.py) and are anchored on
#: a test chain that runs on today's clock: a verifier that re-runs the public rules (the node's
#: ``POST /v1/verify``) finds them anchored more than six months late. Certificates issued today
#: (certreg/dev/demo.py, tests/api/test_verify_rules.py) verify VALID.
LATE_FIXTURE = ["deadline.over_six_months"]


def genuine_but_late(verdict: dict[str, Any]) -> bool:
    """Whether ``verdict`` is the fixtures' VALID: every check passed but the rules, which found
    only the late anchoring."""
    failed = [c["name"] for c in verdict["checks"] if c["passed"] is False]
    kinds = [d["kind"] for d in verdict.get("disputes", [])]
    return verdict["result"] == "DISPUTED" and failed == ["rules"] and kinds == LATE_FIXTURE


def row(node: ProvinceNode, serial: int, **changes: Any) -> dict[str, Any]:
    """The signed submission row (JSON object) of sample certificate ``serial``."""
    s = salted(certificate(serial, **changes))
    return submission_row(s, sign(node, s))


def holder(serial: int) -> Certificate:
    """The sample certificate ``serial`` (its holder name and ID number)."""
    return certificate(serial)
