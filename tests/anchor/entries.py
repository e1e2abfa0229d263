"""Log entries for the anchoring tests, built the way ``node/sample.py`` builds them."""

from __future__ import annotations

import random

from node.commitment import salt_certificate
from node.entry import Attributes, LogEntry, Signature
from node.sample import sample_certificate, sample_network
from node.signatures import get_suite, signing_message

_SUITE = get_suite("ed25519")
_KEY = _SUITE.generate_private_key(b"\x07" * 32)


def make_entries(count: int, *, start: int = 0, seed: int = 1) -> list[LogEntry]:
    """``count`` signed issue entries of province 44, serials ``start + 1`` onwards."""
    rng = random.Random(f"{seed}/{start}")
    network = sample_network()
    entries = []
    for serial in range(start + 1, start + count + 1):
        certificate = sample_certificate(rng, serial)
        salted = salt_certificate(certificate, rng.randbytes)
        commitment = salted.commitment()
        value = _SUITE.sign(_KEY, signing_message(network.chain_id, network.contract, commitment))
        entries.append(
            LogEntry(
                kind="issue",
                province="44",
                organisation_code=certificate.organisation_code,
                certificate_number=certificate.certificate_number,
                commitment=commitment,
                attributes=Attributes.of(certificate),
                signature=Signature("ed25519", 0, value),
            )
        )
    return entries
