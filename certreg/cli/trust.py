"""``certreg trust-root``: build the consortium's trust root from the chain, sign it, collect the
members' signatures (docs/FORMATS.md "Trust roots"; anchor/trust_roots.py for the workflow)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from certreg.cli.explanations import print_error
from node.core.crypto.signatures import SUITE_NAMES
from node.core.errors import ChainError, InvalidInput
from node.core.formats.trust import PROVINCE_RE, ProvinceSignature, TrustRootFile


def _signatures(folder: Path | None) -> list[ProvinceSignature]:
    if folder is None or not folder.is_dir():
        return []
    return [
        ProvinceSignature.from_json(json.loads(path.read_text("utf-8")), path.name)
        for path in sorted(folder.glob("*.json"))
    ]


def cmd_trust_root(args: argparse.Namespace) -> int:
    """Write the trust-root file; exit 0 when its chain verifies, 1 when it still needs
    signatures, 2 on an error."""
    from anchor.chain import RegistryClient
    from anchor.trust_roots import assemble, root_body_from_chain, sign_root
    from certreg.cli import _contract_address

    try:
        previous = (
            None
            if args.previous is None
            else TrustRootFile.from_text(Path(args.previous).read_bytes())
        )
        client = RegistryClient.connect(
            args.rpc, _contract_address(args.contract), sender="0x" + "00" * 20
        )
        body = root_body_from_chain(client, previous, args.block)
        folder = None if args.signatures is None else Path(args.signatures)
        signatures = _signatures(folder)
        if args.sign_key is not None:
            if args.province is None or not PROVINCE_RE.fullmatch(args.province):
                raise InvalidInput("--province", "cli.required", "--sign-key needs --province NN")
            private = bytes.fromhex(Path(args.sign_key).read_text("ascii").strip())
            mine = sign_root(body, args.province, args.suite, private)
            signatures.append(mine)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{args.province}-{body.serial}.json").write_text(
                    json.dumps(mine.to_json()) + "\n", encoding="ascii"
                )
        document = assemble(body, signatures, previous)
    except (OSError, ValueError, InvalidInput, ChainError) as exc:
        print_error(exc, "error: cannot build the trust root: ")
        return 2
    Path(args.out).write_text(json.dumps(document.to_json(), indent=2) + "\n", encoding="ascii")
    try:
        document.verify(None if previous is None else previous.roots[0].body)
    except InvalidInput as exc:
        print(f"wrote {args.out}: root {body.serial} at block {body.block.number}, not yet "
              f"signed enough: {exc}", file=sys.stderr)  # fmt: skip
        return 1
    print(
        f"wrote {args.out}: root {body.serial} at block {body.block.number}, "
        f"{len(body.members)} members, threshold {body.threshold}"
    )
    return 0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``certreg trust-root``."""
    p = subparsers.add_parser(
        "trust-root", help="build (and sign) the consortium's trust root from the chain"
    )
    p.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    p.add_argument("--contract", required=True, help="contract address")
    p.add_argument("-o", "--out", required=True, help="trust-root file to write")
    p.add_argument("--previous", help="the current trust-root file: the new root extends it")
    p.add_argument("--block", type=int, help="the block the root reflects (default: latest)")
    p.add_argument(
        "--signatures", help="folder of members' signature files ({province, signature})"
    )
    p.add_argument("--sign-key", help="file with this member's checkpoint-signing key (hex)")
    p.add_argument("--province", help="this member's province (with --sign-key)")
    p.add_argument("--suite", choices=[s for s in SUITE_NAMES if s != "ecdsa-secp256k1"],
                   default="ed25519", help="suite of --sign-key")  # fmt: skip
    p.set_defaults(func=cmd_trust_root)
