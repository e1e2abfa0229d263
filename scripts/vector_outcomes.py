"""What the bundle vectors pin of a verification beyond its code: the reason, the block and time
it is as of, its basis, every check (name, outcome, detail) and every computed hash. The
JavaScript verifier must give the same (tests/web/vectors.mjs ``sameOutcome``), except the
wording of a failed format check's detail (two parsers, one rule)."""

from __future__ import annotations

import json
from typing import Any

from node.core.verify import VerificationResult

#: The keys a pinned vector carries besides ``result``.
PINNED = ("reason", "valid", "as_of_block", "as_of_time", "basis", "checks", "hashes")


def pinned(outcome: VerificationResult) -> dict[str, Any]:
    """The pinned part of ``outcome`` as JSON values."""
    data = json.loads(json.dumps(outcome.to_json()))
    data["reason"] = outcome.reason
    return {key: data[key] for key in PINNED}
