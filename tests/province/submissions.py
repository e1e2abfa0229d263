"""Signed submission files of the sample organisation, as an issuer would upload them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

from certreg.dev.sample import sample_certificate
from node.core.formats.snapshot import Network
from node.core.issuer import sign_certificate, submission_line
from tests.province.helpers import KEY, certificate_number


def write_submission(
    path: Path,
    network: Network,
    serials: range,
    *,
    seed: int = 7,
    append: bool = False,
    issued: dt.date | None = None,
) -> Path:
    """Write (or append) JSON Lines rows for the sample certificates ``serials`` signed for
    ``network`` (``issued``: on that day instead of the sample's, numbered for its year)."""
    rng = random.Random(f"{seed}/{serials.start}")
    with path.open("a" if append else "w", encoding="utf-8") as out:
        for serial in serials:
            certificate = sample_certificate(random.Random(serial), serial)
            if issued is not None:
                number = certificate_number(serial, issued)
                certificate = dataclasses.replace(
                    certificate, issue_date=issued.isoformat(), certificate_number=number
                )
            salted, signature = sign_certificate(
                certificate, network, suite="ed25519", private_key=KEY, key_id=0,
                random_bytes=rng.randbytes,
            )  # fmt: skip
            out.write(submission_line(salted, signature))
    return path
