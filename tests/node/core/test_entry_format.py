"""The direct formatter of log entries (``node.core.formats.entry.direct_jcs``) against RFC 8785."""

from __future__ import annotations

import dataclasses
import random

import pytest
import rfc8785

from node.core.errors import InvalidInput
from node.core.formats.entry import Attributes, LogEntry, Signature, direct_jcs

NUMBER = "S000144002009255000001"


def _entry(rng: random.Random, kind: str) -> LogEntry:
    certificate = kind in ("issue", "correct")
    return LogEntry(
        kind=kind,
        province="44",
        organisation_code=NUMBER[:13],
        certificate_number=NUMBER[:16] + f"{rng.randrange(1, 999_999):06d}",
        commitment=rng.randbytes(32),
        links=(rng.randbytes(32),) if kind == "correct" else (),
        reason=rng.choice([None, 0, 7, 65535]) if kind == "issue" else rng.randrange(0, 65536),
        attributes=Attributes(
            "2025-03-14", rng.randrange(1, 6), "6-18-01-01", rng.choice(["--", "6-18-01-01-02"])
        )
        if certificate
        else None,
        signature=Signature(
            rng.choice(["ed25519", "ecdsa-secp256k1", "sm2-sm3"]),
            rng.randrange(0, 2**32),
            rng.randbytes(rng.choice([64, 65, 72])),
        )
        if certificate
        else None,
    )


@pytest.mark.parametrize("kind", ["issue", "correct", "revoke", "suspend", "reinstate", "delete"])
def test_direct_formatter_equals_rfc8785(kind: str) -> None:
    rng = random.Random(kind)
    for _ in range(200):
        entry = _entry(rng, kind)
        direct = direct_jcs(entry)
        assert direct is not None
        assert direct == rfc8785.dumps(entry.to_json()) == entry.canonical_bytes()


def test_unusual_values_fall_back_to_the_encoder() -> None:
    rng = random.Random(1)
    entry = _entry(rng, "issue")
    assert entry.attributes is not None and entry.signature is not None
    # An issue date off the pattern can no longer make an entry (entry.issue_date).
    for day in ('2025-03-14"', "2025-02-30", "0000-01-01", "20250314"):
        with pytest.raises(InvalidInput) as refused:
            dataclasses.replace(entry, attributes=Attributes(day, 5, "6-18-01-01", "--"))
        assert refused.value.rule == "entry.issue_date"
    odd = [
        Attributes("2025-03-14", True, "6-18-01-01", "--"),  # type: ignore[arg-type]
        Attributes("2025-03-14", 5, "６-18-01-01", "--"),  # fullwidth digit
    ]
    for attributes in odd:
        changed = dataclasses.replace(entry, attributes=attributes)
        assert direct_jcs(changed) is None
        assert changed.canonical_bytes() == rfc8785.dumps(changed.to_json())
    other_suite = Signature("ed25519\n", 0, b"\x01")
    changed = dataclasses.replace(entry, signature=other_suite)
    assert direct_jcs(changed) is None
    assert changed.canonical_bytes() == rfc8785.dumps(changed.to_json())
