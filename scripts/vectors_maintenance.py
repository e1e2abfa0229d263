"""Province-maintenance vectors (tests/vectors/bundles-maintenance.json): a correction the
province signed with its maintenance key (``setMemberKey`` purpose 3) for a terminated
organisation (中就培发〔2022〕1号 第十六条), with the result both verifiers must give.

The sample log (certreg.dev.sample, seed 31) gets one more entry, the province's correction of
its last certificate, anchored in a third checkpoint. The snapshots differ only in the
organisation's status and the member's maintenance keys.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import random
from typing import Any

from certreg.dev.sample import SAMPLE_TIME, make_sample
from node.core.crypto.signatures import get_suite
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof
from node.core.formats.commitment import salt_certificate
from node.core.formats.compact import encode_compact
from node.core.formats.entry import Attributes, LogEntry
from node.core.formats.snapshot import Checkpoint, OrganisationKey, Snapshot
from node.core.issuer import sign_as_province

AT = 1_900_000_000
_ED25519 = get_suite("ed25519")


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def build() -> dict[str, Any]:
    """The vectors (see the module docstring)."""
    from make_vectors import _case_adder  # the shared adder: verified before it is written

    sample = make_sample(31)
    network = sample.bundle.network
    old = sample.bundle.entry
    certificate = dataclasses.replace(
        sample.bundle.certificate.certificate(), occupation_name="焊工（省级维护更正）"
    )
    salted = salt_certificate(certificate, random.Random("maintenance salts").randbytes)
    maintenance = _ED25519.generate_private_key(_digest("province 44 maintenance key"))
    commitment = salted.commitment()
    entry = LogEntry(
        kind="correct",
        province=old.province,
        organisation_code=old.organisation_code,
        certificate_number=old.certificate_number,
        commitment=commitment,
        links=(old.commitment,),
        reason=403,
        attributes=Attributes.of(certificate),
        signature=sign_as_province(maintenance, network, commitment),
    )
    log = sample.log
    log.append(entry.leaf_hash())
    size = log.size
    previous = sample.snapshot.checkpoints[-1]
    checkpoint = Checkpoint(
        province=previous.province,
        index=previous.index + 1,
        tree_size=size,
        root=log.root(size),
        block_number=previous.block_number + 5,
        timestamp=SAMPLE_TIME + 600,
        manifest_cid="bafy" + _digest("maintenance manifest").hex()[:52],
        transaction_hash=_digest("maintenance anchor tx"),
    )
    bundle = Bundle(
        network=network,
        certificate=salted,
        entry=entry,
        proof=InclusionProof(size - 1, size, tuple(log.inclusion_proof(size - 1, size))),
        anchor=AnchorRef(
            checkpoint.province,
            checkpoint.index,
            checkpoint.tree_size,
            checkpoint.root,
            checkpoint.block_number,
            checkpoint.transaction_hash,
        ),
    )
    key = OrganisationKey(0, "ed25519", _ED25519.public_key(maintenance), SAMPLE_TIME, 0)
    base = sample.snapshot
    [organisation] = base.organisations

    def snapshot(status: str, keys: tuple[OrganisationKey, ...]) -> dict[str, Any]:
        members = tuple(
            dataclasses.replace(m, maintenance_keys=keys) if m.province == "44" else m
            for m in base.members
        )
        value = dataclasses.replace(
            base,
            members=members,
            organisations=(dataclasses.replace(organisation, status=status),),
            checkpoints=(*base.checkpoints, checkpoint),
        )
        return Snapshot.to_json(value)

    snapshots = {
        "terminated": snapshot("terminated", (key,)),
        "active": snapshot("active", (key,)),
        "suspended": snapshot("suspended", (key,)),
        "no-maintenance-key": snapshot("terminated", ()),
        "key-after-anchoring": snapshot(
            "terminated", (dataclasses.replace(key, valid_from=checkpoint.timestamp + 1),)
        ),
        "key-replaced-before-anchoring": snapshot(
            "terminated",
            (
                dataclasses.replace(key, valid_until=checkpoint.timestamp - 60),
                OrganisationKey(
                    1,
                    "ed25519",
                    _ED25519.public_key(_ED25519.generate_private_key(_digest("next key"))),
                    checkpoint.timestamp - 60,
                    0,
                ),
            ),
        ),
        "key-replaced-after-anchoring": snapshot(
            "terminated",
            (
                dataclasses.replace(key, valid_until=checkpoint.timestamp + 60),
                OrganisationKey(
                    1,
                    "ed25519",
                    _ED25519.public_key(_ED25519.generate_private_key(_digest("next key"))),
                    checkpoint.timestamp + 60,
                    0,
                ),
            ),
        ),
    }
    tests: list[dict[str, Any]] = []
    add = _case_adder(tests, snapshots)
    valid = bundle.to_json()

    def mutate(path: list[Any], value: Any) -> dict[str, Any]:
        changed = copy.deepcopy(valid)
        target = changed
        for name in path[:-1]:
            target = target[name]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return changed

    add("province correction, organisation terminated", valid, "terminated", "VALID", AT)
    add("the same, compact", encode_compact(bundle), "terminated", "VALID", AT)
    add(
        "the same, id_number redacted",
        bundle.redact("id_number").to_json(),
        "terminated",
        "VALID",
        AT,
    )
    add("organisation still active", valid, "active", "UNKNOWN_ISSUER", AT)
    add("organisation suspended", valid, "suspended", "UNKNOWN_ISSUER", AT)
    add(
        "no maintenance key published",
        valid,
        "no-maintenance-key",
        "KEY_NOT_VALID_AT_TIME",
        AT,
    )
    add(
        "maintenance key published after the anchoring",
        valid,
        "key-after-anchoring",
        "KEY_NOT_VALID_AT_TIME",
        AT,
    )
    add(
        "maintenance key replaced before the anchoring (signed by the old key)",
        valid,
        "key-replaced-before-anchoring",
        "TAMPERED",
        AT,
    )
    add(
        "maintenance key replaced after the anchoring",
        valid,
        "key-replaced-after-anchoring",
        "VALID",
        AT,
    )
    add(
        "signer removed (the organisation has no key 3)",
        mutate(["entry", "signature", "signer"], None),
        "terminated",
        "KEY_NOT_VALID_AT_TIME",
        AT,
    )
    add(
        "unknown signer",
        mutate(["entry", "signature", "signer"], "organisation"),
        "terminated",
        "MALFORMED",
        AT,
    )
    add(
        "province signer with another key id",
        mutate(["entry", "signature", "key_id"], 0),
        "terminated",
        "MALFORMED",
        AT,
    )
    signature = bytearray.fromhex(valid["entry"]["signature"]["value"])
    signature[5] ^= 1
    add(
        "signature bit flipped",
        mutate(["entry", "signature", "value"], signature.hex()),
        "terminated",
        "TAMPERED",
        AT,
    )
    add(
        "occupation name changed",
        mutate(["fields", "occupation_name", "value"], "焊工"),
        "terminated",
        "TAMPERED",
        AT,
    )
    return {
        "algorithm": "certreg-bundle",
        "version": 2,
        "notes": (
            "Corrections signed by the province's maintenance key (setMemberKey purpose 3; "
            "entry.signature.signer 'province', key_id 3) for a terminated organisation "
            "(中就培发〔2022〕1号 art. 16). The key is the member's maintenance key in force when "
            "the entry was first anchored. Verify input.bundle (JSON) or input.compact against "
            "snapshots[input.snapshot] at unix time input.at."
        ),
        "snapshots": snapshots,
        "tests": tests,
    }
