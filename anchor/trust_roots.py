"""Trust roots from the chain (docs/FORMATS.md "Trust roots").

The workflow (``certreg trust-root``):

1. ``certreg trust-root --rpc URL --contract ADDRESS -o trust-root.json`` reads the members and
   their checkpoint-signing keys (``memberKey(province, 2)``) at the latest block and writes the
   new root's body into the file (after the roots of ``--previous``), with the signatures found
   in ``--signatures DIR``;
2. each member signs the body with its checkpoint-signing key (:func:`sign_root`,
   ``certreg trust-root … --sign-key FILE --province P``) and hands over its signature file;
3. step 1 again with the signatures folder; the file is complete when the chain verifies.

Kept beside :class:`anchor.registry.RegistryClient` as ``anchor.member_keys`` is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from web3.exceptions import Web3Exception

from anchor.member_keys import set_member_key
from anchor.registry import RegistryClient
from anchor.snapshot import take_snapshot
from anchor.transport import TxResult
from node.core.crypto.signatures import get_suite
from node.core.errors import ChainError, InvalidInput
from node.core.formats.snapshot import AuditRecord, Snapshot, SnapshotCalendar, SnapshotExtras
from node.core.formats.trust import (
    CHECKPOINT_KEY_PURPOSE,
    ProvinceSignature,
    RootMember,
    TrustRoot,
    TrustRootBody,
    TrustRootFile,
    WitnessKey,
    check_witness_key,
    snapshot_message,
)
from node.core.rules.workdays import WorkdayCalendar


def publish_checkpoint_key(client: RegistryClient, suite: str, public_key: bytes) -> TxResult:
    """Publish the client's member checkpoint-signing key (``setMemberKey(2, key)``).

    Raises:
        InvalidInput: ``trust_root.key`` (not an Ed25519 or SM2 public key).
        ContractRevert, ChainError: as :func:`anchor.member_keys.set_member_key`.
    """
    check_witness_key(suite, public_key)
    return set_member_key(client, CHECKPOINT_KEY_PURPOSE, public_key)


def _checkpoint_key(client: RegistryClient, province: int, block: int) -> bytes:
    try:
        value = client.contract.functions.memberKey(province, CHECKPOINT_KEY_PURPOSE).call(
            block_identifier=block
        )
    except (Web3Exception, OSError, ValueError) as exc:
        raise ChainError(f"cannot read the checkpoint key of {province}: {exc}") from exc
    return bytes(value)


def root_body_from_chain(
    client: RegistryClient, previous: TrustRootFile | None = None, block: int | None = None
) -> TrustRootBody:
    """The next root's body: the members at ``block`` (default the latest) with their
    checkpoint-signing keys (none when a member published no key or one of another shape),
    after ``previous``'s current root (serial 1 without it). Every member derives the same body
    from its own view of the chain at the same block, and signs only that.

    Raises:
        InvalidInput: ``trust_root.chain`` (``previous`` is of another network).
        ChainError: the chain could not be read.
    """
    snapshot = take_snapshot(client, block=block)
    number = snapshot.block.number
    members = tuple(
        RootMember(
            m.province, WitnessKey.from_chain(_checkpoint_key(client, int(m.province), number))
        )
        for m in sorted(snapshot.members, key=lambda m: m.province)
    )
    if previous is None:
        return TrustRootBody(snapshot.network, 1, snapshot.block, members, None)
    current = previous.current
    if current.network != snapshot.network:
        raise InvalidInput(
            "--previous", "trust_root.chain", "the previous root is of another network"
        )
    return TrustRootBody(
        snapshot.network, current.serial + 1, snapshot.block, members, current.digest()
    )


def sign_root(
    body: TrustRootBody, province: str, suite: str, private_key: bytes
) -> ProvinceSignature:
    """Province ``province``'s signature of a root body with its checkpoint-signing key."""
    return ProvinceSignature(province, get_suite(suite).sign(private_key, body.message()))


def assemble(
    body: TrustRootBody,
    signatures: Iterable[ProvinceSignature],
    previous: TrustRootFile | None = None,
) -> TrustRootFile:
    """The trust-root file: ``previous``'s roots and ``body`` with the signatures that verify
    by its own members' or the previous root's keys (a member whose key changed signs with
    both; duplicates and bad signatures are dropped)."""
    previous_keys = {} if previous is None else previous.current.keys
    kept: list[ProvinceSignature] = []
    message = body.message()
    for item in signatures:
        if item in kept:
            continue
        for key in (body.keys.get(item.province), previous_keys.get(item.province)):
            if key is not None and key.verify(message, item.signature):
                kept.append(item)
                break
    roots = () if previous is None else previous.roots
    ordered = tuple(sorted(kept, key=lambda s: (s.province, s.signature)))
    return TrustRootFile((*roots, TrustRoot(body, ordered)))


# ---------------------------------------------------------------------------------------------
# Signed snapshots (docs/FORMATS.md "Signed snapshots")


def signable_snapshot(
    snapshot: Snapshot,
    time: int,
    calendar: WorkdayCalendar | SnapshotCalendar | None = None,
    audits: Sequence[AuditRecord] = (),
) -> Snapshot:
    """``snapshot`` (of :func:`anchor.snapshot.take_snapshot`) as version 2, taken at ``time``,
    with the working-day calendar the consortium uses, the audit statements published on chain
    up to its block (:func:`anchor.audit_statements.audit_records`) and no signature yet.
    Organisations carry the history the replay recorded; the filed scopes are not added here.
    """
    number = snapshot.block.number
    if isinstance(calendar, WorkdayCalendar):
        calendar = SnapshotCalendar.of(calendar)  # ~8 ms: a caller serving many keeps its own
    return dataclasses.replace(
        snapshot,
        extras=SnapshotExtras(
            time=time,
            calendar=calendar,
            audits=tuple(a for a in audits if a.block_number <= number),
        ),
        signatures=(),
    )


def sign_snapshot(
    snapshot: Snapshot,
    province: str,
    suite: str,
    private_key: bytes,
    *,
    digest: bytes | None = None,
) -> Snapshot:
    """The version 2 snapshot with province ``province``'s signature over its digest and time
    added (replacing an earlier one of that province). ``digest``: the snapshot's digest when
    the caller has it already (it hashes the whole snapshot).

    Raises:
        InvalidInput: ``snapshot.version`` (a version 1 snapshot cannot be signed).
    """
    if snapshot.extras is None:
        raise InvalidInput("snapshot", "snapshot.version", "only a version 2 snapshot is signed")
    if digest is None:
        digest = snapshot.digest()
    message = snapshot_message(digest, snapshot.time)
    signature = ProvinceSignature(province, get_suite(suite).sign(private_key, message))
    others = tuple(s for s in snapshot.signatures if s.province != province)
    ordered = tuple(sorted((*others, signature), key=lambda s: s.province))
    return dataclasses.replace(snapshot, signatures=ordered)


#: How far a snapshot's time may be from the cosigning member's clock (seconds): a member vouches
#: for the time it signs, so it refuses a snapshot dated in the past or future beyond this.
COSIGN_TIME_SKEW = 300


def cosign_snapshot(
    state: Snapshot,
    *,
    block_hash: bytes,
    time: int,
    digest: bytes,
    now: int,
    calendar: WorkdayCalendar | SnapshotCalendar | None,
    province: str,
    suite: str,
    private_key: bytes,
    audits: Sequence[AuditRecord] = (),
    max_age: int = COSIGN_TIME_SKEW,
) -> ProvinceSignature:
    """Province ``province``'s signature of another member's snapshot, given only its block hash,
    time and digest: this member rebuilds the snapshot from its own reading of the chain
    (``state``, at the same block number) with its own working-day calendar and the audit
    statements it could fetch (``audits``), and signs only when the digests agree
    (``POST /v1/snapshot/cosign``, docs/FORMATS.md "Signed snapshots").

    Raises:
        InvalidInput: ``snapshot.cosign_block`` (another block at that height: a fork or a
            reorganisation), ``snapshot.cosign_time`` (``time`` more than ``max_age`` seconds
            before ``now`` or :data:`COSIGN_TIME_SKEW` after it),
            ``snapshot.cosign_digest`` (the state, calendar, audit statements or time differ
            from this member's).
    """
    if block_hash != state.block.hash:
        raise InvalidInput(
            "block.hash",
            "snapshot.cosign_block",
            f"block {state.block.number} is 0x{state.block.hash.hex()} on this member's chain",
        )
    if not now - max_age <= time <= now + COSIGN_TIME_SKEW:
        raise InvalidInput(
            "time",
            "snapshot.cosign_time",
            f"must be from {max_age} s before {now} to {COSIGN_TIME_SKEW} s after",
        )
    ours = signable_snapshot(state, time, calendar, audits)
    if ours.digest() != digest:
        raise InvalidInput(
            "digest",
            "snapshot.cosign_digest",
            "differs from this member's snapshot of that block (state or calendar)",
        )
    # The digests agree: ours is signed without hashing the snapshot again.
    return sign_snapshot(ours, province, suite, private_key, digest=digest).signatures[0]


def snapshot_keys(client: RegistryClient, snapshot: Snapshot) -> dict[str, WitnessKey | None]:
    """Each member's checkpoint-signing key at the snapshot's block (None: none published)."""
    number = snapshot.block.number
    return {
        m.province: WitnessKey.from_chain(_checkpoint_key(client, int(m.province), number))
        for m in snapshot.members
    }


__all__ = [
    "COSIGN_TIME_SKEW",
    "assemble",
    "cosign_snapshot",
    "publish_checkpoint_key",
    "root_body_from_chain",
    "sign_root",
    "sign_snapshot",
    "signable_snapshot",
    "snapshot_keys",
]
