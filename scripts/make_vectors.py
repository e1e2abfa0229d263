"""Write certreg's own test vectors (Wycheproof style) into tests/vectors/.

Every file derives from fixed seeds, so running this again reproduces the committed files byte
for byte (``tests/node/core/test_vectors.py`` checks that). The contract's tests and the browser
verifier read the same files.

    .venv/bin/python scripts/make_vectors.py
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from vector_outcomes import pinned  # noqa: E402

from certreg.dev.sample import SampleSet, make_sample, sample_certificate  # noqa: E402
from node.core.certificate import FIELD_NAMES  # noqa: E402
from node.core.formats.commitment import Disclosed, SaltedCertificate, salt_certificate  # noqa: E402
from node.core.formats.compact import encode_compact  # noqa: E402
from node.core.formats.snapshot import Snapshot, SnapshotTrustSource, StatusRecord  # noqa: E402
from node.core.verify import expiry_of, verify_bundle_text  # noqa: E402

AT = 1_900_000_000


def _fields_json(salted: SaltedCertificate) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELD_NAMES:
        proof = salted.fields[name]
        if isinstance(proof, Disclosed):
            out[name] = {"value": proof.value, "salt": proof.salt.hex()}
        else:
            out[name] = {"hash": proof.hash.hex()}
    return out


def build_commitments() -> dict[str, Any]:
    """Vectors for field hashes and commitments, with redaction and tampering."""
    rng = random.Random(20261123)
    tests: list[dict[str, Any]] = []

    def valid(comment: str, salted: SaltedCertificate) -> dict[str, Any]:
        test = {
            "id": len(tests) + 1,
            "comment": comment,
            "input": {"fields": _fields_json(salted)},
            "expected": {
                "field_hashes": {k: v.hex() for k, v in salted.field_hashes().items()},
                "commitment": salted.commitment().hex(),
            },
            "result": "valid",
        }
        tests.append(test)
        return test

    def invalid(comment: str, fields: dict[str, Any], commitment: str) -> None:
        tests.append(
            {
                "id": len(tests) + 1,
                "comment": comment,
                "input": {"fields": fields, "commitment": commitment},
                "result": "invalid",
            }
        )

    base = salt_certificate(sample_certificate(rng, 1), rng.randbytes)
    first = valid("all twelve fields disclosed", base)
    valid("id_number redacted", base.redact("id_number"))
    valid("holder_name and id_number redacted", base.redact("holder_name", "id_number"))
    valid("every field redacted", base.redact(*FIELD_NAMES))
    for level in (1, 5):
        valid(f"level {level}", salt_certificate(sample_certificate(rng, 2, level), rng.randbytes))
    no_work_type = dataclasses.replace(
        sample_certificate(rng, 2), work_type_name="--", work_type_code="--"
    )
    valid("no work type: '--'", salt_certificate(no_work_type, rng.randbytes))
    escapes = dataclasses.replace(
        sample_certificate(rng, 3), organisation_name='示例"机构"\\分部\t\u0001\u2028😀'
    )
    valid(
        "JCS escaping: quote, backslash, tab, control, U+2028, astral",
        salt_certificate(escapes, rng.randbytes),
    )

    fields = first["input"]["fields"]
    commitment = first["expected"]["commitment"]
    changed = copy.deepcopy(fields)
    changed["holder_name"]["value"] += "一"
    invalid("holder_name value changed", changed, commitment)
    changed = copy.deepcopy(fields)
    changed["level"]["value"] = 4
    invalid("level changed", changed, commitment)
    changed = copy.deepcopy(fields)
    salt = bytearray.fromhex(changed["id_number"]["salt"])
    salt[0] ^= 1
    changed["id_number"]["salt"] = salt.hex()
    invalid("id_number salt bit flipped", changed, commitment)
    changed = copy.deepcopy(fields)
    changed["holder_name"], changed["organisation_name"] = (
        changed["organisation_name"],
        changed["holder_name"],
    )
    invalid("field names swapped", changed, commitment)
    redacted = tests[1]["input"]["fields"]
    changed = copy.deepcopy(redacted)
    changed["id_number"]["hash"] = "00" * 32
    invalid("redacted field hash replaced", changed, commitment)
    return {
        "algorithm": "certreg-commitment",
        "version": 1,
        "notes": (
            "field hash = SHA-256(0x02 || salt || JCS([field_path, value])); commitment = "
            "SHA-256(0x03 || sorted field hashes). A redacted field is {hash}. 'invalid' tests "
            "give a commitment that the fields must NOT reproduce."
        ),
        "tests": tests,
    }


def _snapshot_variants(sample: SampleSet) -> dict[str, Snapshot]:
    base = sample.snapshot
    commitment = sample.bundle.entry.commitment
    key = base.organisations[0].keys[0]

    def status(name: str, successor: bytes | None = None) -> StatusRecord:
        return StatusRecord("44", commitment, name, 3, successor, 30, AT - 100, b"\x05" * 32)

    def with_key(**changes: Any) -> Snapshot:
        organisation = dataclasses.replace(
            base.organisations[0], keys=(dataclasses.replace(key, **changes),)
        )
        return dataclasses.replace(base, organisations=(organisation,))

    return {
        "main": base,
        "no-organisation": dataclasses.replace(base, organisations=()),
        "key-not-yet-valid": with_key(valid_from=1_800_000_000),
        "earlier-block": dataclasses.replace(base, checkpoints=base.checkpoints[:1]),
        "revoked": dataclasses.replace(base, statuses=(status("revoked"),)),
        "suspended": dataclasses.replace(base, statuses=(status("suspended"),)),
        "superseded": dataclasses.replace(base, statuses=(status("superseded", b"\x09" * 32),)),
        "reinstated": dataclasses.replace(
            base,
            statuses=(
                status("suspended"),
                dataclasses.replace(status("reinstated"), timestamp=AT - 50),
            ),
        ),
    }


def _case_adder(tests: list[dict[str, Any]], snapshots: dict[str, Any], pin: bool = False) -> Any:
    """``add(comment, bundle, snapshot, result, at=AT)``: verify the case now (a vector whose
    expected code Python does not give is never written) and append it to ``tests``; with
    ``pin``, with the whole outcome (scripts/vector_outcomes.py; bundles.json pins codes only,
    and stays byte-identical)."""

    def add(comment: str, bundle: Any, snapshot: str, result: str, at: int = AT) -> None:
        text = bundle if isinstance(bundle, str) else json.dumps(bundle, ensure_ascii=False)
        trust = SnapshotTrustSource(Snapshot.from_json(snapshots[snapshot]))
        outcome = verify_bundle_text(text, trust, at=at)
        if outcome.code.value != result:
            raise AssertionError(f"{comment}: expected {result}, got {outcome.code.value}")
        key = "compact" if isinstance(bundle, str) else "bundle"
        tests.append(
            {
                "id": len(tests) + 1,
                "comment": comment,
                "input": {key: bundle, "snapshot": snapshot, "at": at},
                "result": result,
                **(pinned(outcome) if pin else {}),
            }
        )

    return add


def build_bundles() -> dict[str, Any]:
    """Vectors for whole bundles against snapshots: every result code."""
    samples = {suite: make_sample(11, suite) for suite in ("ed25519", "ecdsa-secp256k1", "sm2-sm3")}
    main = samples["ed25519"]
    snapshots = {name: snap.to_json() for name, snap in _snapshot_variants(main).items()}
    for suite in ("ecdsa-secp256k1", "sm2-sm3"):
        snapshots[f"main-{suite}"] = samples[suite].snapshot.to_json()
    tests: list[dict[str, Any]] = []

    add = _case_adder(tests, snapshots)

    valid = main.bundle.to_json()
    add("valid, ed25519", valid, "main", "VALID")
    add(
        "valid, ecdsa-secp256k1",
        samples["ecdsa-secp256k1"].bundle.to_json(),
        "main-ecdsa-secp256k1",
        "VALID",
    )
    add("valid, sm2-sm3", samples["sm2-sm3"].bundle.to_json(), "main-sm2-sm3", "VALID")
    add("valid, id_number redacted", main.redacted.to_json(), "main", "VALID")
    add(
        "valid, every redactable field redacted",
        main.bundle.redact(
            "holder_name",
            "id_type",
            "id_number",
            "occupation_name",
            "work_type_name",
            "organisation_name",
        ).to_json(),
        "main",
        "VALID",
    )
    add("valid, compact QR form", encode_compact(main.bundle), "main", "VALID")

    def mutate(path: list[Any], value: Any) -> dict[str, Any]:
        changed = copy.deepcopy(valid)
        target = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return changed

    add(
        "holder_name changed",
        mutate(["fields", "holder_name", "value"], "王五"),
        "main",
        "TAMPERED",
    )
    add(
        "id_number salt changed",
        mutate(["fields", "id_number", "salt"], "11" * 32),
        "main",
        "TAMPERED",
    )
    add("entry commitment changed", mutate(["entry", "commitment"], "22" * 32), "main", "TAMPERED")
    add(
        "entry level differs from the level field",
        mutate(["entry", "attributes", "level"], 2),
        "main",
        "TAMPERED",
    )
    sig = valid["entry"]["signature"]["value"]
    add(
        "signature bit flipped",
        mutate(["entry", "signature", "value"], sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        "main",
        "TAMPERED",
    )
    proof = valid["proof"]["hashes"]
    add(
        "proof hash changed",
        mutate(["proof", "hashes"], ["33" * 32, *proof[1:]]),
        "main",
        "TAMPERED",
    )
    add(
        "leaf index changed",
        mutate(["proof", "leaf_index"], valid["proof"]["leaf_index"] - 1),
        "main",
        "TAMPERED",
    )
    add("other chain id", mutate(["network", "chain_id"], 1), "main", "WRONG_NETWORK")
    add(
        "anchor block number changed",
        mutate(["anchor", "block_number"], valid["anchor"]["block_number"] + 1),
        "main",
        "NOT_ANCHORED",
    )
    add("checkpoint not in the snapshot", valid, "earlier-block", "NOT_ANCHORED")
    add("organisation not filed", valid, "no-organisation", "UNKNOWN_ISSUER")
    add("key not valid on the issue date", valid, "key-not-yet-valid", "KEY_NOT_VALID_AT_TIME")
    add("revoked", valid, "revoked", "REVOKED")
    add("suspended", valid, "suspended", "SUSPENDED")
    add("superseded", valid, "superseded", "SUPERSEDED")
    add("suspended then reinstated", valid, "reinstated", "VALID")
    add("unknown key", {**valid, "extra": True}, "main", "MALFORMED")
    add("unsupported version", {**valid, "version": 2}, "main", "MALFORMED")
    add(
        "public field redacted",
        mutate(
            ["fields", "level"], {"hash": main.bundle.certificate.field_hashes()["level"].hex()}
        ),
        "main",
        "MALFORMED",
    )
    add("compact text garbled", "CR1:AAAA", "main", "MALFORMED")
    return {
        "algorithm": "certreg-bundle",
        "version": 1,
        "notes": (
            "Verify input.bundle (JSON) or input.compact (QR text) against "
            "snapshots[input.snapshot] at unix time input.at; result is the expected code."
        ),
        "snapshots": snapshots,
        "tests": tests,
    }


def build_bundles_v2() -> dict[str, Any]:
    """Format 2 (the committed certificate type): every type, and EXPIRED at its boundary."""
    samples = {
        t: make_sample(21, certificate_type=t)
        for t in ("skill_level", "special_ability", "vocational_qualification")
    }
    special = samples["special_ability"]
    snapshots = {t: sample.snapshot.to_json() for t, sample in samples.items()}
    tests: list[dict[str, Any]] = []
    special_json = special.bundle.to_json()
    attributes = special.bundle.entry.attributes
    assert attributes is not None
    expires = expiry_of("special_ability", attributes.issue_date)
    assert expires is not None

    add = _case_adder(tests, snapshots, pin=True)

    def mutate(path: list[Any], value: Any) -> dict[str, Any]:
        changed = copy.deepcopy(special_json)
        target = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return changed

    add(
        "skill_level sample (format 1)",
        samples["skill_level"].bundle.to_json(),
        "skill_level",
        "VALID",
    )
    add("special_ability, valid", special_json, "special_ability", "VALID")
    add("special_ability, compact", encode_compact(special.bundle), "special_ability", "VALID")
    add(
        "special_ability, id_number redacted",
        special.redacted.to_json(),
        "special_ability",
        "VALID",
    )
    add(
        "special_ability, last second of the fifth year",
        special_json,
        "special_ability",
        "VALID",
        expires - 1,
    )
    add(
        "special_ability, 00:00 CST five years after issue",
        special_json,
        "special_ability",
        "EXPIRED",
        expires,
    )
    add(
        "special_ability, EXPIRED from the compact form",
        encode_compact(special.bundle),
        "special_ability",
        "EXPIRED",
        expires + 86400,
    )
    add(
        "vocational_qualification, valid (no term)",
        samples["vocational_qualification"].bundle.to_json(),
        "vocational_qualification",
        "VALID",
        expires + 10 * 365 * 86400,
    )
    add(
        "certificate_type field changed",
        mutate(["fields", "certificate_type", "value"], "vocational_qualification"),
        "special_ability",
        "TAMPERED",
    )
    add(
        "entry certificate_type changed (a level-0 vocational_qualification)",
        mutate(["entry", "attributes", "certificate_type"], "vocational_qualification"),
        "special_ability",
        "MALFORMED",
    )
    add(
        "certificate_type redacted",
        mutate(["fields", "certificate_type"], {"hash": "44" * 32}),
        "special_ability",
        "MALFORMED",
    )
    add(
        "graded special_ability",
        mutate(["entry", "attributes", "level"], 3),
        "special_ability",
        "MALFORMED",
    )
    add(
        "version 1 bundle with a type",
        {**special_json, "version": 1},
        "special_ability",
        "MALFORMED",
    )
    add(
        "examining body differs from the number",
        mutate(["entry", "organisation_code"], "S160141500200"),
        "special_ability",
        "MALFORMED",
    )
    add(
        "examining-body code field differs",
        mutate(["fields", "organisation_code", "value"], "16015002"),
        "special_ability",
        "TAMPERED",
    )
    return {
        "algorithm": "certreg-bundle",
        "version": 2,
        "notes": (
            "Format 2 bundles (certificate_type committed). Verify input.bundle (JSON) or "
            "input.compact (QR text) against snapshots[input.snapshot] at unix time input.at."
        ),
        "snapshots": snapshots,
        "tests": tests,
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _dump_compact(value: dict[str, Any]) -> str:
    """One line per top-level key, one line per item of a long list: small and still diffable."""
    lines = ["{"]
    items = list(value.items())
    for position, (key, item) in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        if isinstance(item, list) and len(item) > 8:
            rows = [json.dumps(row, separators=(",", ":")) for row in item]
            lines.append(f"{json.dumps(key)}:[")
            lines += [f"{row}," for row in rows[:-1]] + [rows[-1], f"]{comma}"]
        else:
            text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"{json.dumps(key)}:{text}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


#: Vector files written compactly (large, generated, read by programs).
COMPACT = {"merkle.json"}


def builders() -> dict[str, Any]:
    """Map each vector file name to the function that builds it."""
    import vectors_boundaries
    import vectors_certnum
    import vectors_hostile
    import vectors_maintenance
    import vectors_merkle
    import vectors_signatures
    import vectors_sm
    import vectors_time
    import vectors_trust

    return {
        "commitments.json": build_commitments,
        "bundles.json": build_bundles,
        "bundles-v2.json": build_bundles_v2,
        "bundles-maintenance.json": vectors_maintenance.build,
        "signatures.json": vectors_signatures.build,
        "certificate-numbers.json": vectors_certnum.build,
        "id-numbers.json": vectors_certnum.build_id_numbers,
        "hostile.json": vectors_hostile.build,
        "trust.json": vectors_trust.build,
        "merkle.json": vectors_merkle.build,
        "bundle-boundaries.json": vectors_boundaries.build,
        "sm-kat.json": vectors_sm.build,
        "time.json": vectors_time.build,
    }


def main() -> None:
    out = ROOT / "tests" / "vectors"
    out.mkdir(parents=True, exist_ok=True)
    for name, build in builders().items():
        dump = _dump_compact if name in COMPACT else _dump
        (out / name).write_text(dump(build()), encoding="utf-8")
        print(f"wrote tests/vectors/{name}")


if __name__ == "__main__":
    main()
