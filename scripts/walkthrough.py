"""The cross-province walkthrough against a running ``certreg dev up`` (docs/DEV.md).

Usage: ``.venv/bin/python scripts/walkthrough.py [--dir .certreg-dev]``; the same as
``certreg dev walkthrough``. Exits 0 only when every step held.
"""

from __future__ import annotations

import sys

from certreg.cli import main

if __name__ == "__main__":
    sys.exit(main(["dev", "walkthrough", *sys.argv[1:]]))
