"""Build the boundary bundle vectors (``tests/vectors/bundle-boundaries.json``).

Every comparison of the verifier with a time or a bound, tried on both sides of its edge: a status
change stamped exactly at the verification time (in force), a checkpoint anchored exactly then
(anchored), a key whose ``valid_until`` is the start of the issue day or whose ``valid_from`` is
its end in China Standard Time (not valid), a leap day and year ends, and integers at 2^53 - 1
(the largest JSON integer both verifiers read) and 2^53 (refused). The expected result code, the
reason and the hashes the verifier computed are the Python verifier's; the JavaScript verifier must
give the same (tests/web/vectors.mjs).
"""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

from vector_outcomes import pinned

from certreg.dev.sample import SAMPLE_TIME, make_sample, sample_certificate
from node.core.crypto.signatures import get_suite, signing_message
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof
from node.core.formats.commitment import salt_certificate
from node.core.formats.compact import encode_compact
from node.core.formats.entry import Attributes, LogEntry, Signature
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource, StatusRecord
from node.core.time import day_bounds
from node.core.verify import verify_bundle_text

MAX_SAFE = 2**53 - 1


def _dated(issue_date: str, seed: int, valid_from: int | None = None) -> tuple[Bundle, Snapshot]:
    """A sample bundle of a certificate issued on ``issue_date`` (ed25519), VALID unless its key's
    ``valid_from`` (default 30 days before the issue date) says otherwise."""
    base = make_sample(seed, "ed25519", others=2)
    rng = random.Random(seed)
    number = f"S000144011001{issue_date[2:4]}3{seed:06d}"
    certificate = dataclasses.replace(
        sample_certificate(rng, seed), issue_date=issue_date, certificate_number=number
    )
    salted = salt_certificate(certificate, rng.randbytes)
    network = base.bundle.network
    commitment = salted.commitment()
    value = get_suite("ed25519").sign(
        base.private_key, signing_message(network.chain_id, network.contract, commitment)
    )
    entry = LogEntry(
        kind="issue",
        province="44",
        organisation_code=certificate.organisation_code,
        certificate_number=number,
        commitment=commitment,
        attributes=Attributes.of(certificate),
        signature=Signature("ed25519", 0, value),
    )
    log = base.log
    index = log.append(entry.leaf_hash())
    last = base.snapshot.checkpoints[-1]
    checkpoint = dataclasses.replace(
        last,
        index=last.index + 1,
        tree_size=log.size,
        root=log.root(),
        block_number=last.block_number + 5,
        timestamp=last.timestamp + 60,
    )
    bundle = Bundle(
        network=network,
        certificate=salted,
        entry=entry,
        proof=InclusionProof(index, log.size, tuple(log.inclusion_proof(index))),
        anchor=AnchorRef(
            province="44",
            checkpoint_index=checkpoint.index,
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            block_number=checkpoint.block_number,
            transaction_hash=checkpoint.transaction_hash,
        ),
    )
    snapshot = dataclasses.replace(
        base.snapshot, checkpoints=(*base.snapshot.checkpoints, checkpoint)
    )
    # The sample key became valid in 2025: this one from 30 days before the issue date.
    if valid_from is None:
        valid_from = day_bounds(issue_date)[0] - 30 * 86_400
    return bundle, _with_key(snapshot, valid_from=valid_from)


def _with_key(snapshot: Snapshot, **changes: Any) -> Snapshot:
    organisation = snapshot.organisations[0]
    key = dataclasses.replace(organisation.keys[0], **changes)
    return dataclasses.replace(
        snapshot, organisations=(dataclasses.replace(organisation, keys=(key,)),)
    )


def _status(bundle: Bundle, name: str, timestamp: int, reason: int = 30) -> StatusRecord:
    successor = b"\x09" * 32 if name == "superseded" else None
    return StatusRecord(
        "44", bundle.entry.commitment, name, reason, successor, 40, timestamp, b"\x05" * 32
    )


def build() -> dict[str, Any]:
    snapshots: dict[str, Any] = {}
    bundles: dict[str, Any] = {}
    tests: list[dict[str, Any]] = []

    def add(
        comment: str, bundle: str, snapshot: str, at: int, result: str, compact: bool = False
    ) -> None:
        raw = bundles[bundle]
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        trust = SnapshotTrustSource(Snapshot.from_json(snapshots[snapshot]))
        outcome = verify_bundle_text(text, trust, at=at)
        if outcome.code.value != result:
            raise AssertionError(f"{comment}: expected {result}, got {outcome.code.value}")
        tests.append(
            {
                "id": len(tests) + 1,
                "comment": comment,
                "input": {"bundle": bundle, "snapshot": snapshot, "at": at},
                "result": result,
                **pinned(outcome),
            }
        )

    main = make_sample(11, "ed25519")
    bundle = main.bundle
    snapshot = main.snapshot
    bundles["main"] = bundle.to_json()
    bundles["main-compact"] = encode_compact(bundle)
    snapshots["main"] = snapshot.to_json()
    checkpoint_time = snapshot.checkpoints[-1].timestamp
    at = SAMPLE_TIME + 86_400

    # Status changes: in force from their own timestamp on.
    for name, code in (
        ("revoked", "REVOKED"),
        ("suspended", "SUSPENDED"),
        ("superseded", "SUPERSEDED"),
    ):
        for delta, want in ((0, code), (1, "VALID")):
            key = f"{name}-at{delta:+d}"
            changed = dataclasses.replace(snapshot, statuses=(_status(bundle, name, at + delta),))
            snapshots[key] = changed.to_json()
            add(f"{name} stamped {delta} s after the verification time", "main", key, at, want)
    suspended = _status(bundle, "suspended", at - 100)
    for delta, want in ((0, "VALID"), (1, "SUSPENDED")):
        key = f"reinstated-at{delta:+d}"
        statuses = (suspended, _status(bundle, "reinstated", at + delta, 0))
        snapshots[key] = dataclasses.replace(snapshot, statuses=statuses).to_json()
        add(f"suspended, reinstated {delta} s after the verification time", "main", key, at, want)

    # The checkpoint: anchored at or before the verification time.
    add("verified at the checkpoint's own time", "main", "main", checkpoint_time, "VALID")
    add("verified 1 s before the checkpoint", "main", "main", checkpoint_time - 1, "NOT_ANCHORED")
    add(
        "compact form verified at the checkpoint's own time",
        "main-compact",
        "main",
        checkpoint_time,
        "VALID",
    )

    # The checkpoint the snapshot holds differs from the bundle's anchor in one value, or in all.
    last = snapshot.checkpoints[-1]
    for label, changes in (
        ("tree_size", {"tree_size": last.tree_size + 1}),
        ("root", {"root": b"\x07" * 32}),
        ("block_number", {"block_number": last.block_number + 1}),
        ("transaction_hash", {"transaction_hash": b"\x08" * 32}),
        (
            "everything",
            {
                "tree_size": last.tree_size + 1,
                "root": b"\x07" * 32,
                "block_number": last.block_number + 1,
                "transaction_hash": b"\x08" * 32,
            },
        ),
    ):
        key = f"checkpoint-{label}"
        changed_checkpoint = dataclasses.replace(last, **changes)
        checkpoints = (*snapshot.checkpoints[:-1], changed_checkpoint)
        snapshots[key] = dataclasses.replace(snapshot, checkpoints=checkpoints).to_json()
        add(f"the snapshot's checkpoint differs in {label}", "main", key, at, "NOT_ANCHORED")

    # Keys: validity [valid_from, valid_until) must meet the issue day (China Standard Time).
    def key_cases(label: str, bundle_name: str, base: Snapshot, issue_date: str, at: int) -> None:
        start, end = day_bounds(issue_date)
        for name, changes, want in (
            ("valid_until = day start", {"valid_until": start}, "KEY_NOT_VALID_AT_TIME"),
            ("valid_until = day start + 1", {"valid_until": start + 1}, "VALID"),
            ("valid_from = day end", {"valid_from": end}, "KEY_NOT_VALID_AT_TIME"),
            ("valid_from = day end - 1", {"valid_from": end - 1}, "VALID"),
            ("valid_from = day start, no end", {"valid_from": start, "valid_until": 0}, "VALID"),
            # A verifier that took UTC days would refuse this one (08:00 China time).
            ("valid_until = UTC midnight", {"valid_until": start + 8 * 3600}, "VALID"),
            (
                "valid_until = previous UTC midnight",
                {"valid_until": start - 16 * 3600},
                "KEY_NOT_VALID_AT_TIME",
            ),
        ):
            key = f"{bundle_name}-key-{name}"
            snapshots[key] = _with_key(base, **changes).to_json()
            add(f"{label}: {name}", bundle_name, key, at, want)

    key_cases("issued 2025-06-18", "main", snapshot, "2025-06-18", at)
    for issue_date, seed in (
        ("2024-02-29", 21),
        ("2025-12-31", 22),
        ("2026-01-01", 23),
        ("2025-01-01", 24),
    ):
        dated, dated_snapshot = _dated(issue_date, seed)
        name = f"issued-{issue_date}"
        bundles[name] = dated.to_json()
        snapshots[name] = dated_snapshot.to_json()
        add(f"issued {issue_date}", name, name, at, "VALID")
        key_cases(f"issued {issue_date}", name, dated_snapshot, issue_date, at)
    # Days of the first centuries (JavaScript's Date.UTC reads years 0-99 as 1900-1999): real
    # days, before any key's validity (which starts at the earliest at the unix epoch).
    for issue_date, seed in (("0001-01-01", 25), ("0099-12-31", 26)):
        dated, dated_snapshot = _dated(issue_date, seed, valid_from=0)
        name = f"issued-{issue_date}"
        bundles[name] = dated.to_json()
        snapshots[name] = dated_snapshot.to_json()
        add(f"issued {issue_date}", name, name, at, "KEY_NOT_VALID_AT_TIME")

    # Integers at the edge of what a JSON number holds exactly in JavaScript.
    big = dataclasses.replace(
        snapshot,
        checkpoints=(
            snapshot.checkpoints[0],
            dataclasses.replace(snapshot.checkpoints[-1], block_number=MAX_SAFE),
        ),
        block=dataclasses.replace(snapshot.block, number=MAX_SAFE, timestamp=MAX_SAFE),
    )
    snapshots["block-max-safe"] = big.to_json()
    big_bundle = dataclasses.replace(
        bundle, anchor=dataclasses.replace(bundle.anchor, block_number=MAX_SAFE)
    )
    bundles["block-max-safe"] = big_bundle.to_json()
    bundles["block-max-safe-compact"] = encode_compact(big_bundle)
    over = bundle.to_json()
    over["anchor"]["block_number"] = MAX_SAFE + 1
    bundles["block-2^53"] = over
    add("block number 2^53 - 1", "block-max-safe", "block-max-safe", at, "VALID")
    add("block number 2^53 - 1, compact", "block-max-safe-compact", "block-max-safe", at, "VALID")
    add("block number 2^53", "block-2^53", "main", at, "MALFORMED")
    too_big = dataclasses.replace(
        bundle, anchor=dataclasses.replace(bundle.anchor, block_number=MAX_SAFE + 1)
    )
    bundles["block-2^53-compact"] = encode_compact(too_big)
    add("block number 2^53, compact", "block-2^53-compact", "main", at, "MALFORMED")
    add("verified at 2^53 - 1", "main", "main", MAX_SAFE, "VALID")
    late = dataclasses.replace(snapshot, statuses=(_status(bundle, "revoked", MAX_SAFE),))
    snapshots["revoked-max-safe"] = late.to_json()
    add("revoked at 2^53 - 1, verified then", "main", "revoked-max-safe", MAX_SAFE, "REVOKED")
    add(
        "revoked at 2^53 - 1, verified 1 s before",
        "main",
        "revoked-max-safe",
        MAX_SAFE - 1,
        "VALID",
    )
    for label, value, want in (
        ("2^53 - 1", MAX_SAFE, "TAMPERED"),
        ("2^53", MAX_SAFE + 1, "MALFORMED"),
    ):
        sized = bundle.to_json()
        sized["proof"]["tree_size"] = sized["anchor"]["tree_size"] = value
        bundles[f"tree-size-{label}"] = sized
        add(f"tree size {label}", f"tree-size-{label}", "main", at, want)
        indexed = bundle.to_json()
        indexed["proof"]["leaf_index"] = value
        bundles[f"leaf-index-{label}"] = indexed
        add(
            f"leaf index {label}",
            f"leaf-index-{label}",
            "main",
            at,
            "TAMPERED" if value == MAX_SAFE else want,
        )
        chained = bundle.to_json()
        chained["network"]["chain_id"] = value
        bundles[f"chain-id-{label}"] = chained
        add(
            f"chain id {label}",
            f"chain-id-{label}",
            "main",
            at,
            "WRONG_NETWORK" if value == MAX_SAFE else want,
        )
    # A valid commitment under a signature with one bit flipped: only the signature check can
    # refuse it (the page's call of verifySignature is pinned by this case alone).
    forged = bundle.to_json()
    value = bytearray.fromhex(forged["entry"]["signature"]["value"])
    value[0] ^= 1
    forged["entry"]["signature"]["value"] = value.hex()
    bundles["signature-bit-flipped"] = forged
    add("signature with one bit flipped", "signature-bit-flipped", "main", at, "TAMPERED")
    # Texts of the date's shape that are not days of the calendar, and entries of a kind that
    # is not a certificate's: refused by the format check (before the commitment could fail).
    for label, day in (("a 30 February", "2025-02-30"), ("year 0", "0000-01-01")):
        misdated = bundle.to_json()
        misdated["entry"]["attributes"]["issue_date"] = day
        bundles[f"issued-{day}"] = misdated
        add(f"issued {day}, {label}", f"issued-{day}", "main", at, "MALFORMED")
    for kind in ("revoke", "delete"):
        other = bundle.to_json()
        other["entry"]["kind"] = kind
        bundles[f"entry-kind-{kind}"] = other
        add(f"a bundle of a {kind} entry", f"entry-kind-{kind}", "main", at, "MALFORMED")
    return {
        "algorithm": "certreg-bundle-boundaries",
        "version": 1,
        "notes": (
            "Verify bundles[input.bundle] (a JSON object, or compact QR text) against "
            "snapshots[input.snapshot] at unix time input.at. result, reason, as_of_block, checks "
            "(name, passed, detail), hashes, valid, as_of_time and basis are what the Python "
            "verifier gives; every verifier "
            "must give the same, except the wording of a failed format check's detail (two "
            "parsers, one rule)."
        ),
        "bundles": bundles,
        "snapshots": snapshots,
        "tests": tests,
    }
