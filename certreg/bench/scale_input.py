"""The input of ``certreg bench scale``: the synthetic data set's N signed certificates
(:func:`certreg.dev.dataset.synthetic_submissions`) written as one JSON Lines submission file
per province (what each province's organisations upload), plus a file of the plain
certificate fields for the peer.

The rows are the issuer's side (salted, signed; node/core/issuer.py). Writing them is the
benchmark's "generation" stage, timed on its own and not part of the registry's figures.
Personal data (synthetic holder names and ID numbers) exists only in these files, in a temporary
folder that the benchmark removes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Protocol

from node.core.certificate import FIELD_NAMES


class Submission(Protocol):
    """A signed submission row of a province (``certreg.dev.dataset.SyntheticSubmission``)."""

    @property
    def province(self) -> str: ...

    @property
    def line(self) -> str: ...


def peer_fields(line: str) -> str:
    """The twelve plain certificate fields of a submission row, as one JSON line (the peer's
    input: the same values, without our salts and signature)."""
    row = json.loads(line)
    return json.dumps({name: row[name] for name in FIELD_NAMES}, ensure_ascii=False) + "\n"


def write_inputs(
    submissions: Iterator[Submission],
    files: Mapping[str, Path],
    peer_file: Path,
    peer_documents: int,
) -> Counter[str]:
    """Stream ``submissions`` into one file per province (``files``) and the first
    ``peer_documents`` of them, as plain fields, into ``peer_file``; return rows per province."""
    rows: Counter[str] = Counter()
    handles: dict[str, IO[str]] = {}
    try:
        for province, path in files.items():
            handles[province] = path.open("w", encoding="utf-8")
        with peer_file.open("w", encoding="utf-8") as peer:
            for written, submission in enumerate(submissions):
                handles[submission.province].write(submission.line)
                rows[submission.province] += 1
                if written < peer_documents:
                    peer.write(peer_fields(submission.line))
    finally:
        for handle in handles.values():
            handle.close()
    return rows


__all__ = ["Submission", "peer_fields", "write_inputs"]
