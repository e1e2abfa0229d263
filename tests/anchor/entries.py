"""Log entries for the anchoring tests, built the way ``certreg/dev/sample.py`` builds them."""

from __future__ import annotations

import random

from certreg.dev.sample import sample_entry, sample_network
from node.core.crypto.signatures import get_suite
from node.core.formats.entry import LogEntry

_SUITE = get_suite("ed25519")
_KEY = _SUITE.generate_private_key(b"\x07" * 32)


def make_entries(count: int, *, start: int = 0, seed: int = 1) -> list[LogEntry]:
    """``count`` signed issue entries of province 44, serials ``start + 1`` onwards."""
    rng = random.Random(f"{seed}/{start}")
    network = sample_network()
    return [
        sample_entry(rng, serial, network, "ed25519", _KEY)[1]
        for serial in range(start + 1, start + count + 1)
    ]
