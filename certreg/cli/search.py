"""``certreg search --api URL [--key K] (two of --certificate-number, --name, --id-number)``:
the two-of-three search through any province's API, about any province's certificate
(docs/SHARING.md): the number routes to its province, name and ID number go to every member.

Prints each match (province, number, status, the successor of a superseded version, the
fields as the key may see them) and the provinces that did not answer; ``--json`` prints the
API's answer. A partner key gives ``--business-code`` and ``--item-code`` (and may give
``--org-name``, ``--username``, ``--item-name``, ``--use-for``). Exit status: 0 found, 1
nothing found or refused, 2 the API could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import urllib3

PARAMS = (
    ("certificate_number", "certificate_number"),
    ("name", "name"),
    ("id_number", "id_number"),
    ("org_name", "orgName"),
    ("username", "username"),
    ("item_name", "itemName"),
    ("item_code", "itemCode"),
    ("business_code", "businessCode"),
    ("use_for", "UseFor"),
)


def cmd_search(args: argparse.Namespace) -> int:
    fields = {name: getattr(args, attr) for attr, name in PARAMS if getattr(args, attr)}
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    url = args.api.rstrip("/") + "/v1/certificates/search"
    try:
        reply = urllib3.request(
            "GET", url, fields=fields, headers=headers, timeout=args.timeout, retries=False
        )
    except urllib3.exceptions.HTTPError as exc:
        print(f"error: cannot reach {args.api}: {type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        value: Any = json.loads(reply.data)
    except ValueError:
        print(f"error: {args.api} answered {reply.status} without JSON", file=sys.stderr)
        return 2
    if reply.status != 200:
        print(
            f"refused: {reply.status} {value.get('rule')} ({value.get('field')}): "
            f"{value.get('detail')}",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(value, ensure_ascii=False))
    else:
        for match in value["matches"]:
            line = f"{match['province']}  {match['certificate_number']}  {match['status']}"
            if match.get("superseded_by"):
                line += f"  superseded by {match['superseded_by'][:16]}…"
            print(line)
            for key, shown in (match.get("certificate") or {}).items():
                print(f"    {key}: {shown}")
        if not value["matches"]:
            print("no certificate matches")
        for province, why in value.get("unanswered", {}).items():
            print(f"province {province} did not answer: {why}")
    return 0 if value["matches"] else 1


def add_parsers(subparsers: Any) -> None:
    """Register ``certreg search``."""
    p = subparsers.add_parser(
        "search", help="find certificates by two of number, name, ID number (any province)"
    )
    p.add_argument("--api", required=True, help="any province's API, e.g. http://127.0.0.1:8041")
    p.add_argument("--key", help="an API key (a partner's, an issuer's …); default: public")
    p.add_argument("--certificate-number")
    p.add_argument("--name")
    p.add_argument("--id-number")
    p.add_argument("--org-name")
    p.add_argument("--username")
    p.add_argument("--item-name")
    p.add_argument("--item-code")
    p.add_argument("--business-code")
    p.add_argument("--use-for", help="the purpose (UseFor)")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
