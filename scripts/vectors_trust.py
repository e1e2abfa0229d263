"""Trust vectors (tests/vectors/trust.json): trust-root chains, signed and unsigned snapshots,
stale snapshots, bundles with cosignatures (JSON and compact) and disputed certificates, with the
result both verifiers must give (docs/FORMATS.md "Trust roots", "Signed snapshots",
"Verification result codes").

Three member provinces (11, 31, 44) with fixed checkpoint-signing keys (31's is SM2, the others
Ed25519); root 2 of the chain replaces 44's key, so a signature by 44's old key no longer counts.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any

from vector_outcomes import pinned

from certreg.dev.sample import _sign, make_sample
from node.core.crypto.signatures import get_suite
from node.core.formats.compact import encode_compact
from node.core.formats.network import BlockRef
from node.core.formats.snapshot import (
    AuditRecord,
    OrganisationState,
    ScopeRecord,
    Snapshot,
    SnapshotCalendar,
    SnapshotExtras,
    SnapshotTrustSource,
    StatusRecord,
)
from node.core.formats.trust import (
    AuditFinding,
    AuditStatement,
    ProvinceSignature,
    RootMember,
    TrustRoot,
    TrustRootBody,
    TrustRootFile,
    Witness,
    WitnessKey,
    snapshot_message,
)
from node.core.rules.scope import ScopeItem
from node.core.rules.workdays import WorkdayCalendar
from node.core.verify import verify_bundle_text

#: 2025-06-20 10:00 China time: the sample's checkpoints are anchored from here (two working
#: days after its issue date, 2025-06-18).
ANCHORED = 1_750_384_800
TAKEN = ANCHORED + 3_600
MAX_AGE = 7 * 86_400
FRESH = TAKEN + 86_400
LATER = TAKEN + 8 * 86_400
#: 23 months after the issue date: a backdated certificate.
BACKDATED = 1_810_000_000


def _seed(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


@dataclasses.dataclass(frozen=True)
class _Signer:
    province: str
    suite: str
    private_key: bytes

    @property
    def key(self) -> WitnessKey:
        return WitnessKey(self.suite, get_suite(self.suite).public_key(self.private_key))

    def sign(self, message: bytes) -> ProvinceSignature:
        return ProvinceSignature(self.province, _sign(self.suite, self.private_key, message))


def _signer(province: str, suite: str, generation: int = 1) -> _Signer:
    private = get_suite(suite).generate_private_key(_seed("witness", province, generation))
    return _Signer(province, suite, private)


def _calendar() -> SnapshotCalendar:
    full = SnapshotCalendar.of(WorkdayCalendar.default())
    return SnapshotCalendar(tuple(y for y in full.years if 2025 <= y.year <= 2026))


def _flip(signature: ProvinceSignature) -> ProvinceSignature:
    value = bytearray(signature.signature)
    value[5] ^= 1
    return ProvinceSignature(signature.province, bytes(value))


def build() -> dict[str, Any]:
    sample = make_sample(11, "ed25519")
    network = sample.snapshot.network
    old = {
        "11": _signer("11", "ed25519"),
        "31": _signer("31", "sm2-sm3"),
        "44": _signer("44", "ed25519"),
    }
    new = {**old, "44": _signer("44", "ed25519", 2)}
    block = BlockRef(40, _seed("root block"), ANCHORED - 86_400)

    def body(signers: dict[str, _Signer], serial: int, previous: bytes | None) -> TrustRootBody:
        members = tuple(RootMember(p, s.key) for p, s in sorted(signers.items()))
        return TrustRootBody(network, serial, block, members, previous)

    root1 = body(old, 1, None)
    root2 = body(new, 2, root1.digest())
    signed1 = TrustRoot(root1, tuple(s.sign(root1.message()) for s in old.values()))
    signed2 = TrustRoot(
        root2,
        tuple(old[p].sign(root2.message()) for p in ("11", "31"))
        + tuple(new[p].sign(root2.message()) for p in ("44",)),
    )
    # Root 2 signed by 11 and 31: a threshold of root 1's keys and of root 2's own.
    chain = TrustRootFile((signed1, signed2))
    roots = {
        "chain": chain.to_json(),
        "root-1-only": TrustRootFile((signed1,)).to_json(),
        "root-2-one-signature": TrustRootFile(
            (signed1, TrustRoot(root2, signed2.signatures[:1]))
        ).to_json(),
        "root-2-wrong-previous": TrustRootFile(
            (
                signed1,
                TrustRoot(
                    dataclasses.replace(root2, previous=b"\x07" * 32),
                    tuple(
                        s.sign(dataclasses.replace(root2, previous=b"\x07" * 32).message())
                        for s in (old["11"], old["31"])
                    ),
                ),
            )
        ).to_json(),
        "root-1-unsigned": TrustRootFile((TrustRoot(root1, ()),)).to_json(),
    }
    root_tests = [
        {"id": 1, "comment": "chain of two roots", "file": "chain", "pinned": None,
         "result": "valid", "serial": 2},
        {"id": 2, "comment": "pinned root 1 follows to root 2", "file": "chain",
         "pinned": ["root-1-only", 0], "result": "valid", "serial": 2},
        {"id": 3, "comment": "root 2 with one signature", "file": "root-2-one-signature",
         "pinned": None, "result": "invalid", "rule": "trust_root.signatures"},
        {"id": 4, "comment": "root 2 names another previous root", "file": "root-2-wrong-previous",
         "pinned": None, "result": "invalid", "rule": "trust_root.chain"},
        {"id": 5, "comment": "root 1 without signatures", "file": "root-1-unsigned",
         "pinned": None, "result": "invalid", "rule": "trust_root.signatures"},
        {"id": 6, "comment": "pinned root 2 is not in a file of root 1 only",
         "file": "root-1-only", "pinned": ["chain", 1], "result": "invalid",
         "rule": "trust_root.pinned"},
    ]  # fmt: skip

    base = sample.snapshot
    checkpoints = tuple(
        dataclasses.replace(c, timestamp=ANCHORED + 60 * c.index) for c in base.checkpoints
    )
    organisation = base.organisations[0]
    history = (OrganisationState(ANCHORED - 400 * 86_400, "active", organisation.scope_hash),)
    entry = sample.bundle.entry
    leaf = sample.bundle.proof.leaf_index
    scope = ScopeRecord(organisation.scope_hash, (ScopeItem("6-20-01-01", (3, 4)),))
    genuine = dataclasses.replace(
        base,
        block=dataclasses.replace(base.block, timestamp=ANCHORED + 96),
        organisations=(dataclasses.replace(organisation, history=history),),
        checkpoints=checkpoints,
        extras=SnapshotExtras(time=TAKEN, scopes=(scope,), calendar=_calendar()),
    )

    def signed(snapshot: Snapshot, *by: _Signer) -> Snapshot:
        snapshot = dataclasses.replace(snapshot, signatures=())
        message = snapshot_message(snapshot.digest(), snapshot.time)
        return dataclasses.replace(snapshot, signatures=tuple(s.sign(message) for s in by))

    def audit(kind: str) -> AuditRecord:
        statement = AuditStatement(
            network,
            "44",
            1,
            checkpoints[1].tree_size,
            checkpoints[1].root,
            (AuditFinding(leaf, kind, entry.commitment),),
        )
        return AuditRecord(
            auditor=_seed("auditor")[:20],
            content_hash=statement.content_hash(),
            cid="bafy" + statement.content_hash().hex()[:52],
            block_number=base.block.number,
            transaction_hash=_seed("audit tx"),
            statement=statement,
        )

    def extras(**changes: Any) -> SnapshotExtras:
        assert genuine.extras is not None
        return dataclasses.replace(genuine.extras, **changes)

    main = signed(genuine, new["11"], new["44"])
    revoked_record = StatusRecord(
        "44", entry.commitment, "revoked", 3, None, 30, ANCHORED + 600, _seed("revoke tx")
    )
    other_network = dataclasses.replace(
        genuine, network=dataclasses.replace(network, chain_id=network.chain_id + 1)
    )
    backdated_checkpoints = tuple(
        dataclasses.replace(c, timestamp=BACKDATED + 60 * c.index) for c in base.checkpoints
    )
    backdated = dataclasses.replace(
        genuine,
        checkpoints=backdated_checkpoints,
        block=dataclasses.replace(base.block, timestamp=BACKDATED + 96),
        extras=extras(time=BACKDATED + 3_600),
    )
    snapshots = {
        "signed": main,
        "signed-all": signed(genuine, *new.values()),
        "unsigned": genuine,
        "version-1": base,
        "one-signature": signed(genuine, new["11"]),
        "old-key-of-44": signed(genuine, new["11"], old["44"]),
        "bad-signature": dataclasses.replace(
            main, signatures=(main.signatures[0], _flip(main.signatures[1]))
        ),
        "altered-after-signing": dataclasses.replace(main, statuses=(revoked_record,)),
        "revoked": signed(dataclasses.replace(genuine, statuses=(revoked_record,)), *new.values()),
        "other-network": signed(other_network, new["11"], new["44"]),
        "backdated": signed(backdated, new["11"], new["44"]),
        "audit-finding": signed(
            dataclasses.replace(genuine, extras=extras(audits=(audit("deadline.late"),))),
            new["11"],
            new["44"],
        ),
        "suspended-organisation": signed(
            dataclasses.replace(
                genuine,
                organisations=(
                    dataclasses.replace(
                        organisation,
                        history=(
                            *history,
                            OrganisationState(
                                ANCHORED - 86_400, "suspended", organisation.scope_hash
                            ),
                        ),
                    ),
                ),
            ),
            new["11"],
            new["44"],
        ),
        "outside-scope": signed(
            dataclasses.replace(
                genuine,
                extras=extras(
                    scopes=(ScopeRecord(organisation.scope_hash, (ScopeItem("4-03-02-01", (3,)),)),)
                ),
            ),
            new["11"],
            new["44"],
        ),
    }

    # A bundle carrying its checkpoint's cosignatures (root 2's keys).
    bundle = dataclasses.replace(
        sample.bundle, witness=Witness(ANCHORED + 60, checkpoints[0].tree_size, ())
    )
    statement = bundle.statement()
    assert statement is not None

    def cosigned(*by: _Signer, previous_size: int | None = None) -> Any:
        assert bundle.witness is not None
        unsigned = bundle
        if previous_size is not None:
            unsigned = dataclasses.replace(
                bundle, witness=dataclasses.replace(bundle.witness, previous_size=previous_size)
            )
        said = unsigned.statement()
        assert unsigned.witness is not None and said is not None
        witness = dataclasses.replace(
            unsigned.witness, cosignatures=tuple(s.sign(said.message()) for s in by)
        )
        return dataclasses.replace(unsigned, witness=witness)

    witnessed = cosigned(new["11"], new["31"])
    forged = cosigned(new["11"], old["44"])
    snapshot_json = {name: snap.to_json() for name, snap in snapshots.items()}
    current = chain.verify()
    tests: list[dict[str, Any]] = []

    def add(
        comment: str,
        item: Any,
        snapshot: str | None,
        result: str,
        *,
        at: int = FRESH,
        root: bool = True,
        max_age: int | None = MAX_AGE,
        disputes: tuple[str, ...] = (),
    ) -> None:
        text = item if isinstance(item, str) else _json(item.to_json())
        trust = (
            None
            if snapshot is None
            else SnapshotTrustSource(Snapshot.from_json(snapshot_json[snapshot]))
        )
        outcome = verify_bundle_text(
            text, trust, at=at, root=current if root else None, max_age=max_age
        )
        if outcome.code.value != result or tuple(d.kind for d in outcome.disputes) != disputes:
            raise AssertionError(f"{comment}: expected {result}, got {outcome.to_json()}")
        key = "compact" if isinstance(item, str) else "bundle"
        tests.append(
            {
                "id": len(tests) + 1,
                "comment": comment,
                "input": {
                    key: item if isinstance(item, str) else item.to_json(),
                    "snapshot": snapshot,
                    "root": root,
                    "at": at,
                    "max_age": max_age,
                },
                "result": result,
                "disputes": list(disputes),
                **pinned(outcome),
            }
        )

    plain = sample.bundle
    add("signed by two of three, fresh", plain, "signed", "VALID")
    add("signed by all three", plain, "signed-all", "VALID")
    add("compact form, signed snapshot", encode_compact(plain), "signed", "VALID")
    add("no trust root: an unsigned snapshot is taken as given", plain, "unsigned", "VALID",
        root=False, max_age=None)  # fmt: skip
    add("no trust root: version 1 snapshot as before", plain, "version-1", "VALID", root=False,
        max_age=None, at=1_900_000_000)  # fmt: skip
    add("unsigned snapshot", plain, "unsigned", "UNTRUSTED_SNAPSHOT")
    add("version 1 snapshot with a trust root", plain, "version-1", "UNTRUSTED_SNAPSHOT",
        at=1_900_000_000)  # fmt: skip
    add("one signature of three", plain, "one-signature", "UNTRUSTED_SNAPSHOT")
    add("signed with 44's replaced key", plain, "old-key-of-44", "UNTRUSTED_SNAPSHOT")
    add("a signature bit flipped", plain, "bad-signature", "UNTRUSTED_SNAPSHOT")
    add("a revocation removed after signing", plain, "altered-after-signing", "UNTRUSTED_SNAPSHOT")
    add("snapshot of another network", plain, "other-network", "WRONG_NETWORK")
    add("eight days old", plain, "signed", "STALE", at=LATER)
    add("eight days old, no maximum age", plain, "signed", "VALID", at=LATER, max_age=None)
    add("exactly the maximum age old", plain, "signed", "VALID", at=TAKEN + MAX_AGE)
    add("1 s past the maximum age", plain, "signed", "STALE", at=TAKEN + MAX_AGE + 1)
    add("asked about a time before the snapshot", plain, "signed", "VALID", at=TAKEN - 60)
    add("revoked in a signed snapshot", plain, "revoked", "REVOKED")
    add("anchored 23 months after the issue date", plain, "backdated", "DISPUTED",
        at=BACKDATED + 7_200, disputes=("deadline.over_six_months",))  # fmt: skip
    add("named in an auditor's finding", plain, "audit-finding", "DISPUTED",
        disputes=("deadline.late",))  # fmt: skip
    add("organisation suspended when anchored", plain, "suspended-organisation", "DISPUTED",
        disputes=("organisation.not_active",))  # fmt: skip
    add("occupation outside the filed scope", plain, "outside-scope", "DISPUTED",
        disputes=("scope.outside",))  # fmt: skip
    add("cosigned by two of three, no snapshot", witnessed, None, "VALID")
    add("cosigned, compact form, no snapshot", encode_compact(witnessed), None, "VALID")
    add("cosigned, and a signed snapshot", witnessed, "signed", "VALID")
    add("cosigned by 11 and 44's replaced key", forged, None, "UNTRUSTED_SNAPSHOT")
    add("no cosignatures, no snapshot", plain, None, "UNTRUSTED_SNAPSHOT")
    # The cosigned statement's time and previous size at their edges.
    cosigned_at = ANCHORED + 60
    add("cosigned, verified at the statement's time", witnessed, None, "VALID", at=cosigned_at)
    add("cosigned, verified 1 s before the statement's time", witnessed, None, "NOT_ANCHORED",
        at=cosigned_at - 1)  # fmt: skip
    leaf = sample.bundle.proof.leaf_index
    add("cosigned, the leaf is the checkpoint's first new one",
        cosigned(new["11"], new["31"], previous_size=leaf), None, "VALID")  # fmt: skip
    assert leaf + 1 == sample.bundle.proof.tree_size  # so the previous size below is the tree's
    add("cosigned, previous size equal to the tree size",
        cosigned(new["11"], new["31"], previous_size=leaf + 1), None, "MALFORMED")  # fmt: skip
    tampered = copy.deepcopy(witnessed.to_json())
    tampered["witness"]["timestamp"] += 1
    outcome = verify_bundle_text(_json(tampered), None, at=FRESH, root=current)
    assert outcome.code.value == "UNTRUSTED_SNAPSHOT", outcome.to_json()
    tests.append(
        {
            "id": len(tests) + 1,
            "comment": "cosigned statement's time changed",
            "input": {"bundle": tampered, "snapshot": None, "root": True, "at": FRESH,
                      "max_age": MAX_AGE},
            "result": "UNTRUSTED_SNAPSHOT",
            "disputes": [],
            **pinned(outcome),
        }
    )  # fmt: skip
    return {
        "algorithm": "certreg-trust",
        "version": 1,
        "notes": (
            "trust_roots: trust-root files; root_tests verify trust_roots[file] (pinned: "
            "[file, i] is roots[i].root of that file, or null) and give the current serial or the "
            "rule broken. tests: verify input.bundle (JSON) or input.compact (QR text) against "
            "snapshots[input.snapshot] (or none: null) at unix time input.at with the current "
            "root of trust_roots.chain (input.root) and the maximum age input.max_age (seconds, "
            "or null); result is the code, disputes the dispute kinds in order."
        ),
        "trust_roots": roots,
        "root_tests": root_tests,
        "snapshots": snapshot_json,
        "tests": tests,
    }


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
