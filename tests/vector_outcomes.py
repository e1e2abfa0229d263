"""One comparison of a verification with a vector that pins its whole outcome (scripts/
vector_outcomes.py writes them): the code, and when the vector carries them the reason, the
block and time it is as of, the basis, every check and every computed hash."""

from __future__ import annotations

import json
from typing import Any

from node.core.verify import VerificationResult

PINNED = ("reason", "valid", "as_of_block", "as_of_time", "basis", "checks", "hashes")


def assert_same_outcome(result: VerificationResult, case: dict[str, Any]) -> None:
    assert result.code.value == case["result"], result.to_json()
    got = json.loads(json.dumps(result.to_json())) | {"reason": result.reason}
    pinned = [key for key in PINNED if key in case]
    assert {key: got[key] for key in pinned} == {key: case[key] for key in pinned}
