"""``certreg bundle redact BUNDLE --disclose FIELDS [-o OUT] [--compact]``: a holder's redacted
bundle (docs/SHARING.md "The holder").

The holder chooses the fields to show; the other fields a bundle may hide (holder name, ID
type, ID number, occupation name, work-type name, organisation name) are replaced by their
field hashes, so the bundle still verifies against the same commitment. The fields the public
log entry mirrors (number, organisation code, dates, level, codes) always stay. The bundle is
read from a file (JSON or the compact ``CR1:`` text) and written owner-only (0600), or printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from node.core.errors import InvalidInput
from node.core.formats.bundle import ENTRY_MIRRORED_FIELDS, REDACTABLE_FIELDS, Bundle
from node.core.formats.commitment import Redacted
from node.core.formats.compact import encode_compact, parse_bundle_text
from node.storage.files import write_private


def redacted(bundle: Bundle, disclose: str) -> Bundle:
    """``bundle`` with every redactable field not named in ``disclose`` (comma-separated)
    redacted.

    Raises:
        InvalidInput: ``--disclose`` / ``bundle.disclose`` (an unknown field name).
    """
    names = [n.strip() for n in disclose.split(",") if n.strip()]
    unknown = [n for n in names if n not in REDACTABLE_FIELDS + ENTRY_MIRRORED_FIELDS]
    if unknown:
        raise InvalidInput(
            "--disclose",
            "bundle.disclose",
            f"unknown field {unknown[0]!r}; fields: {', '.join(REDACTABLE_FIELDS)}",
        )
    return bundle.redact(*(n for n in REDACTABLE_FIELDS if n not in names))


def cmd_redact(args: argparse.Namespace) -> int:
    raw = parse_bundle_text(Path(args.bundle).read_text(encoding="utf-8"))
    out = redacted(Bundle.from_json(raw), args.disclose)
    text = (
        encode_compact(out) + "\n"
        if args.compact
        else json.dumps(out.to_json(), ensure_ascii=False, indent=2) + "\n"
    )
    if args.out:
        write_private(Path(args.out), text, "utf-8")
        hidden = [n for n in REDACTABLE_FIELDS if isinstance(out.certificate.fields[n], Redacted)]
        print(f"wrote {args.out} (redacted: {', '.join(hidden) or 'nothing'})", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def add_parsers(subparsers: Any) -> None:
    """Register ``certreg bundle redact``."""
    bundle = subparsers.add_parser("bundle", help="work on a holder's bundle")
    verbs = bundle.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("redact", help="hide fields of a bundle; it still verifies")
    p.add_argument("bundle", help="the bundle (JSON or compact CR1: text)")
    p.add_argument(
        "--disclose",
        required=True,
        help="comma-separated fields to show, e.g. occupation_name,organisation_name "
        f"(may hide: {', '.join(REDACTABLE_FIELDS)})",
    )
    p.add_argument("-o", "--out", help="file to write (owner-only); default stdout")
    p.add_argument("--compact", action="store_true", help="write the compact QR text")
    p.set_defaults(func=cmd_redact)
