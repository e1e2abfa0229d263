"""The trust source of ``POST /v1/verify`` and ``GET /v1/snapshot``: a snapshot of the node's
chain taken at request time (docs/SNAPSHOT.md: online verification is a fresh snapshot), cached
per block. A new block is replayed incrementally from the cached snapshot (``since``), so the
cost of a request is one ``eth_blockNumber`` unless the chain moved.

What the node serves is a version 2 snapshot (docs/FORMATS.md "Signed snapshots"): the chain
state with the time it was taken and the node's working-day calendar, so that verifiers re-run
the rules on it. With a checkpoint-signing key (``certreg serve --checkpoint-key``) the node
signs it and asks its federation peers to cosign it (``POST /v1/snapshot/cosign``: each peer
rebuilds the snapshot from its own reading of the chain and signs only the same digest), so a
verifier holding the trust root can trust it once a threshold of members signed. A signed
snapshot is kept until the chain moves or it is :attr:`SnapshotCache.resign_seconds` old.
Version 2 snapshots carry the audit statements published on chain that the node can fetch from
its store (``anchor.audit_statements``), so the findings naming a leaf reach verifiers.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from anchor.audit_statements import audit_records, store_fetch
from anchor.chain import RegistryClient
from anchor.manifest import ManifestStore
from anchor.snapshot import take_snapshot
from anchor.trust_roots import cosign_snapshot, sign_snapshot, signable_snapshot, snapshot_keys
from node.core.errors import InvalidInput
from node.core.formats.snapshot import AuditRecord, Snapshot, SnapshotCalendar
from node.core.formats.trust import ProvinceSignature, signers, snapshot_message
from node.core.rules.workdays import WorkdayCalendar
from province.federation import Federation

log = logging.getLogger(__name__)

#: The path peers are asked to cosign at.
COSIGN_PATH = "/v1/snapshot/cosign"
#: How many recent blocks' states are kept to answer peers' cosign requests (a peer whose chain
#: reading is a block or two behind or ahead still finds its block).
RECENT_BLOCKS = 4


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointKey:
    """The node's checkpoint-signing key (member key purpose 2): who signs and with what."""

    province: str
    suite: str
    private_key: bytes = dataclasses.field(repr=False)

    @classmethod
    def from_file(cls, province: str, suite: str, path: Path) -> CheckpointKey:
        """The key in ``path`` (hex, as ``certreg dev up`` writes ``checkpoint-key.hex``).

        Raises:
            InvalidInput: ``config.hex`` (not 32 bytes of hex), ``trust_root.key`` (a suite
                other than Ed25519 or SM2).
            OSError: the file cannot be read.
        """
        if suite not in ("ed25519", "sm2-sm3"):
            raise InvalidInput("--checkpoint-suite", "trust_root.key", "ed25519 or sm2-sm3")
        try:
            private = bytes.fromhex(path.read_text("ascii").strip())
        except (ValueError, UnicodeDecodeError):
            private = b""
        if len(private) != 32:
            raise InvalidInput(
                "--checkpoint-key", "config.hex", "a private key file of 64 hex digits"
            )
        return cls(province, suite, private)


class SnapshotCache:
    """The latest snapshot of ``client``'s contract, refreshed when the final block changes
    (the head less the client's confirmations: a reorganisation cannot change it)."""

    def __init__(
        self,
        client: RegistryClient,
        *,
        calendar: WorkdayCalendar | None = None,
        clock: Callable[[], float] | None = None,
        key: CheckpointKey | None = None,
        federation: Federation | None = None,
        resign_seconds: float = 600.0,
        store: ManifestStore | None = None,
    ) -> None:
        self._client = client
        # The calendar as a snapshot carries it, computed once (not per request).
        self._calendar = None if calendar is None else SnapshotCalendar.of(calendar)
        self._clock = clock
        self._key = key
        self._federation = federation
        self.resign_seconds = resign_seconds
        self._snapshot: Snapshot | None = None
        self._recent: collections.OrderedDict[int, Snapshot] = collections.OrderedDict()
        self._served: Snapshot | None = None
        self._store = store
        #: The audit statements published up to block ``_audits_to`` (-1: none read yet).
        self._audits: tuple[AuditRecord, ...] = ()
        self._audits_to = -1
        self._audit_lock = threading.Lock()
        self._lock = threading.Lock()
        self._sign_lock = threading.Lock()

    def current(self) -> Snapshot:
        """The chain state at the chain's latest final block (a version 1 snapshot).

        Raises:
            ChainError: the chain failed or disagrees with its own views.
        """
        head = self._client.final_block()
        cached = self._snapshot
        if cached is not None and cached.block.number == head:
            return cached
        with self._lock:
            cached = self._snapshot
            if cached is not None and cached.block.number >= head:
                return cached
            since = cached if cached is not None and cached.block.number < head else None
            snapshot = take_snapshot(self._client, block=head, since=since)
            self._snapshot = snapshot
            self._recent[head] = snapshot
            while len(self._recent) > RECENT_BLOCKS:
                self._recent.popitem(last=False)
            return snapshot

    def state_at(self, number: int) -> Snapshot:
        """The chain state at block ``number``: one of the recent blocks, or the next final one.

        Raises:
            InvalidInput: ``snapshot.cosign_block`` (a block this node no longer keeps, or not
                final here yet).
            ChainError: as :meth:`current`.
        """
        head = self.current()
        found = self._recent.get(number)
        if found is not None:
            return found
        raise InvalidInput(
            "block.number",
            "snapshot.cosign_block",
            f"this member keeps blocks {min(self._recent, default=head.block.number)}–"
            f"{head.block.number} (its final block)",
        )

    def trusted(self, time: int) -> Snapshot:
        """The current chain state as a version 2 snapshot taken at ``time`` with the node's
        working-day calendar (unsigned): what ``POST /v1/verify`` re-runs the rules on."""
        state = self.current()
        return signable_snapshot(state, time, self._calendar, self.audits(state.block.number))

    def audits(self, number: int) -> tuple[AuditRecord, ...]:
        """The audit statements published up to block ``number`` that this node could fetch
        from its store (none without a store), read incrementally.

        Raises:
            ChainError: the chain could not be read.
        """
        if self._store is None:
            return ()
        with self._audit_lock:
            if number > self._audits_to:
                found = audit_records(
                    self._client,
                    store_fetch(self._store),
                    to_block=number,
                    from_block=None if self._audits_to < 0 else self._audits_to + 1,
                )
                self._audits += found
                self._audits_to = number
            return tuple(a for a in self._audits if a.block_number <= number)

    def served(self) -> Snapshot:
        """What ``GET /v1/snapshot`` returns: the version 2 snapshot, signed by this node and
        the peers that agree when the node has a checkpoint-signing key."""
        now = self._now()
        state = self.current()
        audits = self.audits(state.block.number)
        if self._key is None:
            return signable_snapshot(state, now, self._calendar, audits)
        with self._sign_lock:
            kept = self._served
            if (
                kept is not None
                and kept.block == state.block
                and now - kept.time < self.resign_seconds
            ):
                return kept
            snapshot = signable_snapshot(state, now, self._calendar, audits)
            digest = snapshot.digest()  # the whole snapshot hashed once, for every signature
            key = self._key
            snapshot = sign_snapshot(
                snapshot, key.province, key.suite, key.private_key, digest=digest
            )
            snapshot = self._collect(snapshot, digest, key.province)
            self._served = snapshot
            return snapshot

    def cosign(self, number: int, block_hash: bytes, time: int, digest: bytes) -> ProvinceSignature:
        """This node's signature of another member's snapshot (see
        :func:`anchor.trust_roots.cosign_snapshot`).

        Raises:
            InvalidInput: ``snapshot.cosign_unavailable`` (no checkpoint-signing key here), or
                a ``snapshot.cosign_*`` rule of the check.
        """
        if self._key is None:
            raise InvalidInput(
                "key", "snapshot.cosign_unavailable", "this node has no checkpoint-signing key"
            )
        return cosign_snapshot(
            self.state_at(number),
            audits=self.audits(number),
            block_hash=block_hash,
            time=time,
            digest=digest,
            now=self._now(),
            calendar=self._calendar,
            province=self._key.province,
            suite=self._key.suite,
            private_key=self._key.private_key,
        )

    def _now(self) -> int:
        if self._clock is None:
            raise RuntimeError("a snapshot cache without a clock serves no version 2 snapshot")
        return int(self._clock())

    def _collect(self, snapshot: Snapshot, digest: bytes, ours: str) -> Snapshot:
        """``snapshot`` with the peers' cosignatures that verify by their keys on chain (a peer
        that is down, refuses or answers a bad signature is logged and left out)."""
        if self._federation is None or not self._federation.peers:
            return snapshot
        body = {
            "block": {
                "number": snapshot.block.number,
                "hash": "0x" + snapshot.block.hash.hex(),
            },
            "time": snapshot.time,
            "digest": digest.hex(),
        }
        others = [p for p in self._federation.peers if p != ours]
        answers = self._federation.ask(others, body, COSIGN_PATH)
        keys = snapshot_keys(self._client, snapshot)
        message = snapshot_message(digest, snapshot.time)
        found = list(snapshot.signatures)
        for province, answer in sorted(answers.items()):
            try:
                if answer.body is None:
                    raise InvalidInput("signature", "snapshot.cosign_refused", str(answer.reason))
                signature = ProvinceSignature.from_json(answer.body, "signature")
                if signature.province != province or not signers(message, [signature], keys):
                    raise InvalidInput(
                        "signature", "snapshot.cosign_refused", "does not verify by its key"
                    )
            except InvalidInput as exc:
                log.warning("snapshot cosignature of %s left out: %s", province, exc)
                continue
            found.append(signature)
        ordered = tuple(sorted(found, key=lambda s: s.province))
        return dataclasses.replace(snapshot, signatures=ordered)
