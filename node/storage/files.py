"""Files that hold personal data or secrets: readable and writable by their owner only.

Exported bundles carry the holder's name, ID number and salts; key files carry private keys.
Each is created with mode 0600, and an existing file is set to 0600 before it is written (an
``open`` with ``O_CREAT`` keeps an existing file's mode).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600


@contextmanager
def open_private(path: Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """Open ``path`` for writing text, truncated, with mode 0600 from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    os.fchmod(fd, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding=encoding) as out:
        yield out


def write_private(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` with mode 0600 (see :func:`open_private`)."""
    with open_private(path, encoding) as out:
        out.write(text)


def write_private_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON (UTF-8, Chinese kept as is) with mode 0600."""
    write_private(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")
