"""Witnessing: a member node checks every member's checkpoints against what it witnessed before
and cosigns them, or refuses with the rule broken (docs/FORMATS.md "Witness statements").

One pass (:meth:`CheckpointWitness.run_once`, a step of the node's loop and ``certreg node
witness``):

1. **Witness.** For each member province (its own included), the checkpoints after the last
   one this node cosigned, in order, up to the latest *final* block (``chain.confirmations``;
   a checkpoint in a later block waits for the next pass). For each checkpoint it checks:

   - the checkpoint it cosigned last is still on chain unchanged (same index ⇒ same size and
     root), else ``witness.rewritten``;
   - the size grows beyond the size witnessed (``witness.shrunk``);
   - the manifest the event names is readable and is this checkpoint's: the province, index,
     previous size (the chain's previous checkpoint), size and root of the chain event
     (``witness.manifest``);
   - every signed entry of the manifest (issue, correction) is signed by a key the chain
     holds for it, as the offline verifier of a cosigned bundle takes on trust
     (node/core/verify.py "attested by the cosigners"): the organisation is filed by the
     entry's province, its key ``key_id`` has the signature's suite and was valid on the issue
     date, and the signature verifies over the network's signing message; an entry the
     province signed (maintenance of a terminated organisation) verifies with the province's
     maintenance key (``witness.signature``); keys are read at the final block;
   - the entries of the manifests since the tree it witnessed, appended to that tree's right
     edge, give the anchored root, and the RFC 9162 consistency proof from the witnessed tree
     to the new one, computed from that edge and those entries, verifies
     (``witness.inconsistent``).

   A checkpoint that passes is cosigned with the node's checkpoint-signing key (the one it
   published as ``memberKey(province, 2)``), the statement published to the manifest store
   (IPFS) and recorded with its CID and the new right edge in ``witness_statements`` in one
   transaction; a checkpoint that fails is refused: the signed refusal names the rule and what
   the witness saw, and is published and recorded the same way. Later checkpoints of that
   province are checked against the last *cosigned* tree (with the refused checkpoints'
   entries), so a fork stays refused; an unreadable manifest stops that province until the
   next pass.

2. **Collect.** From each peer's API (``GET /v1/cosignatures?province=P&witness=W&after=I``),
   the statements that peer made about every member's checkpoints since the last one held:
   kept only when the peer's published checkpoint-signing key verifies them, a cosignature
   only when its statement is the chain's checkpoint as this node reads it. Unreachable peers
   are logged and asked again on the next pass.

Crash-safe and idempotent: a statement is keyed by (witness, province, index, root); a pass
that stopped after publishing and before recording publishes the same bytes again (the same
CID) and records them once; a second pass over the same chain adds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final

from sqlalchemy.orm import Session

from anchor.errors import CheckpointNotFound
from anchor.manifest import Manifest, ManifestStore, cid_v0, header_mismatch
from anchor.member_keys import member_key
from anchor.registry import Checkpoint, Organisation, OrganisationKey, RegistryClient
from node.core import safejson
from node.core.crypto.signatures import SUITE_IDS, get_suite, signing_message
from node.core.errors import InvalidInput, ManifestStoreError, VerificationError
from node.core.formats.bundle import Bundle
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE
from node.core.formats.network import Network
from node.core.formats.trust import (
    CHECKPOINT_KEY_PURPOSE,
    CheckpointStatement,
    Refusal,
    Witness,
    WitnessKey,
    threshold_for,
)
from node.core.time import day_bounds
from node.core.witnessing import (
    EMPTY_TREE,
    StatementDocument,
    WitnessedTree,
    extend,
)
from node.storage import Database
from node.storage.witness import PAGE, StoredStatement, WitnessStatements

log = logging.getLogger(__name__)

#: Longest ``detail`` of a refusal (node.core.formats.trust.Refusal).
_DETAIL: Final = 500


@dataclasses.dataclass(frozen=True, slots=True)
class WitnessPass:
    """What one pass did."""

    cosigned: int = 0
    refused: int = 0
    collected: int = 0

    def __add__(self, other: WitnessPass) -> WitnessPass:
        return WitnessPass(
            self.cosigned + other.cosigned,
            self.refused + other.refused,
            self.collected + other.collected,
        )


def province_code(province: int) -> str:
    return f"{province:02d}"


def statement_of(
    network: Network, checkpoint: Checkpoint, previous_size: int
) -> CheckpointStatement:
    """The statement a witness signs about ``checkpoint`` (docs/FORMATS.md "Cosignatures")."""
    return CheckpointStatement(
        network=network,
        province=province_code(checkpoint.province),
        index=checkpoint.index,
        previous_size=previous_size,
        tree_size=checkpoint.size,
        root=checkpoint.root,
        block_number=checkpoint.block_number,
        transaction_hash=bytes.fromhex(checkpoint.transaction_hash.removeprefix("0x")),
        timestamp=checkpoint.timestamp,
    )


def stored(document: StatementDocument, now: dt.datetime, edge: bytes | None) -> StoredStatement:
    """The row of ``document`` (its CID computed from its bytes)."""
    refusal = document.refusal
    return StoredStatement(
        witness=document.witness,
        province=document.statement.province,
        index=document.statement.index,
        tree_size=document.statement.tree_size,
        root=document.statement.root,
        kind=document.kind,
        statement=document.statement.to_json(),
        signature=document.signature,
        rule=None if refusal is None else refusal.rule,
        detail=None if refusal is None else refusal.detail,
        cid=cid_v0(document.to_bytes()),
        frontier=edge,
        created_at=now,
    )


def document_of(item: StoredStatement) -> StatementDocument:
    """The published document of a stored statement."""
    statement = CheckpointStatement.from_json(item.statement)
    refusal = None
    if item.kind == "refusal":
        refusal = Refusal(statement, item.rule or "", item.detail or "")
    return StatementDocument(item.witness, statement, item.signature, refusal)


def checkpoint_keys(client: RegistryClient, provinces: list[int]) -> dict[str, WitnessKey | None]:
    """Each province's published checkpoint-signing key (None: none, or of another shape)."""
    return {
        province_code(p): WitnessKey.from_chain(member_key(client, p, CHECKPOINT_KEY_PURPOSE))
        for p in provinces
    }


def _add(item: StoredStatement, session: Session) -> bool:
    return WitnessStatements(session).add(item)


class _Refused(Exception):
    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail[:_DETAIL]


Fetch = Callable[[str], Any]


def fetch_json(url: str, timeout: float = 5.0) -> Any:
    """GET ``url`` and read its JSON (bounded); raises OSError or InvalidInput."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return safejson.loads(response.read(4 * 1024 * 1024 + 1), "response")


class CheckpointWitness:
    """Witnesses the members' checkpoints for province ``province`` (module docstring)."""

    def __init__(
        self,
        db: Database,
        province: str,
        client: RegistryClient,
        store: ManifestStore,
        network: Network,
        *,
        suite: str,
        private_key: bytes,
        peers: Mapping[str, str] | None = None,
        clock: Callable[[], dt.datetime],
        fetch: Fetch | None = None,
        manifest_timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.province = province
        self.client = client
        self.store = store
        self.network = network
        self.suite = suite
        self._private = private_key
        self.public_key = get_suite(suite).public_key(private_key)
        self.peers = {p: url.rstrip("/") for p, url in (peers or {}).items() if p != province}
        self.clock = clock
        self._fetch: Fetch = fetch or fetch_json
        self.manifest_timeout = manifest_timeout

    def __repr__(self) -> str:
        return f"CheckpointWitness(province={self.province!r})"

    # -- the pass ------------------------------------------------------------------------

    def check_key(self) -> None:
        """Raise unless the key is the checkpoint-signing key this province published.

        Raises:
            InvalidInput: ``witness.key``.
            ChainError: the chain cannot be read.
        """
        published = member_key(self.client, int(self.province), CHECKPOINT_KEY_PURPOSE)
        if published != self.public_key:
            raise InvalidInput(
                "config.witness.key",
                "witness.key",
                f"province {self.province} published another checkpoint-signing key (or none; "
                "`certreg consortium set-key checkpoint`)",
            )

    def run_once(self) -> WitnessPass:
        """Witness every member's new final checkpoints, then collect the peers' statements.

        Raises:
            InvalidInput: ``witness.key`` (the key is not the one published).
            ChainError: the chain failed; what was recorded stays, the next pass continues (a
                manifest the store cannot give now leaves that province for the next pass).
        """
        self.check_key()
        final = self.client.final_block()
        members = sorted(self.client.members())
        done = WitnessPass()
        for province in members:
            try:
                done += self._witness_log(province, final)
            except ManifestStoreError as exc:  # that log waits; the others go on
                log.warning("cannot witness province %02d now: %s", province, exc)
        if self.peers:
            done += self._collect(members)
        return done

    def _witness_log(self, province: int, final: int) -> WitnessPass:
        code = province_code(province)
        with self.db.transaction() as session:
            last = WitnessStatements(session).last_cosigned(self.province, code)
        tree = EMPTY_TREE
        if last is not None:
            assert last.frontier is not None
            tree = WitnessedTree.from_edge_bytes(last.tree_size, last.root, last.frontier)
            try:
                on_chain = self.client.checkpoint(province, last.index)
            except CheckpointNotFound:  # a reorganisation dropped it: wait for the chain
                return WitnessPass()
            if on_chain.block_number <= final and (on_chain.size, on_chain.root) != (
                last.tree_size,
                last.root,
            ):
                previous = int(last.statement["previous_size"])
                refused = self._record(
                    statement_of(self.network, on_chain, previous),
                    _Refused(
                        "witness.rewritten",
                        f"checkpoint {last.index} was witnessed with size {last.tree_size} and "
                        f"root {last.root.hex()}; the chain now has size {on_chain.size} and "
                        f"root {on_chain.root.hex()}",
                    ),
                )
                return WitnessPass(refused=int(refused))
        count = self.client.checkpoint_count(province)
        start = 0 if last is None else last.index + 1
        previous_size = tree.size
        carried: list[bytes] = []
        done = WitnessPass()
        for index in range(start, count):
            checkpoint = self.client.checkpoint(province, index)
            if checkpoint.block_number > final:
                break  # not final yet: the next pass
            statement = statement_of(self.network, checkpoint, previous_size)
            leaves: list[bytes] = []
            try:
                manifest = self._manifest(checkpoint, previous_size)
                leaves = manifest.leaf_hashes()
                self._check_signatures(manifest)
                if checkpoint.size <= tree.size:
                    raise _Refused(
                        "witness.shrunk",
                        f"size {checkpoint.size} does not grow the witnessed size {tree.size}",
                    )
                extension = extend(tree, carried + leaves)
                if extension.tree.root != checkpoint.root:
                    raise _Refused(
                        "witness.inconsistent",
                        f"the entries since the witnessed tree (size {tree.size}, root "
                        f"{tree.root.hex()}) give root {extension.tree.root.hex()} at size "
                        f"{extension.tree.size}, not the anchored root {checkpoint.root.hex()}",
                    )
            except _Refused as refusal:
                done += WitnessPass(refused=int(self._record(statement, refusal)))
                if refusal.rule == "witness.manifest":
                    break  # its entries are unknown: nothing later can be checked
                carried += leaves
            else:
                done += WitnessPass(cosigned=int(self._record(statement, None, extension.tree)))
                tree, carried = extension.tree, []
            previous_size = checkpoint.size
        return done

    def _manifest(self, checkpoint: Checkpoint, previous_size: int) -> Manifest:
        """The checkpoint's manifest, once it is shown to be its manifest.

        Raises:
            _Refused: ``witness.manifest``.
            ManifestStoreError: the store cannot give it now (the next pass asks again).
        """
        data = self.store.get(checkpoint.manifest_cid, timeout=self.manifest_timeout)
        try:
            manifest = Manifest.from_bytes(data)
        except InvalidInput as exc:
            raise _Refused(
                "witness.manifest",
                f"manifest {checkpoint.manifest_cid} is not a manifest ({exc.rule} at {exc.field})",
            ) from exc
        wrong = header_mismatch(
            manifest,
            province_code(checkpoint.province),
            checkpoint.index,
            previous_size,
            checkpoint.size,
            checkpoint.root,
        )
        if wrong:
            raise _Refused(
                "witness.manifest",
                f"manifest {checkpoint.manifest_cid} is not this checkpoint's: its "
                f"{', '.join(wrong)} differ from the chain's",
            )
        return manifest

    def _check_signatures(self, manifest: Manifest) -> None:
        """Raise ``witness.signature`` at the first signed entry the chain's keys refuse."""
        organisations: dict[str, Organisation] = {}
        keys: dict[tuple[str, int], OrganisationKey | None] = {}
        for offset, entry in enumerate(manifest.entries):
            signature, attributes = entry.signature, entry.attributes
            if signature is None or attributes is None:
                continue  # a status entry: not signed by an issuer
            leaf = manifest.previous_size + offset
            try:
                if signature.by_province:
                    public_key = member_key(
                        self.client, int(entry.province), MAINTENANCE_KEY_PURPOSE
                    )
                    if signature.suite != "ed25519" or not public_key:
                        raise VerificationError("the province published no maintenance key")
                else:
                    code = entry.organisation_code
                    if code not in organisations:
                        organisations[code] = self.client.organisation(code)
                    if province_code(organisations[code].province) != entry.province:
                        raise VerificationError(
                            f"organisation {code} is not filed by province {entry.province}"
                        )
                    if (code, signature.key_id) not in keys:
                        keys[code, signature.key_id] = (
                            self.client.organisation_key(code, signature.key_id)
                            if signature.key_id < organisations[code].key_count
                            else None
                        )
                    key = keys[code, signature.key_id]
                    if key is None or SUITE_IDS.get(signature.suite) != key.suite:
                        raise VerificationError(
                            f"organisation {code} has no {signature.suite} key {signature.key_id}"
                        )
                    start, end = day_bounds(attributes.issue_date)
                    if not (
                        key.valid_from < end and (key.valid_until == 0 or key.valid_until > start)
                    ):
                        raise VerificationError(
                            f"key {signature.key_id} of {code} was not valid on the issue date"
                        )
                    public_key = key.public_key
                message = signing_message(
                    self.network.chain_id, self.network.contract, entry.commitment
                )
                get_suite(signature.suite).verify(public_key, message, signature.value)
            except (VerificationError, InvalidInput) as exc:
                raise _Refused(
                    "witness.signature",
                    f"entry {leaf} (certificate {entry.certificate_number}): {exc}",
                ) from exc

    def _record(
        self,
        statement: CheckpointStatement,
        refused: _Refused | None,
        tree: WitnessedTree | None = None,
    ) -> bool:
        """Sign, publish and record one statement; False when it was recorded before."""
        with self.db.transaction() as session:
            held = WitnessStatements(session).of(
                statement.province, index=statement.index, witness=self.province
            )
        if any(h.root == statement.root for h in held):
            return False
        refusal = None if refused is None else Refusal(statement, refused.rule, refused.detail)
        message = statement.message() if refusal is None else refusal.message()
        signature = get_suite(self.suite).sign(self._private, message)
        document = StatementDocument(self.province, statement, signature, refusal)
        self.store.put(document.to_bytes())
        item = stored(document, self.clock(), None if tree is None else tree.edge_bytes())
        added = self.db.write(partial(_add, item))
        if refusal is not None and added:
            log.warning(
                "refused checkpoint %d of province %s: %s (%s)",
                statement.index,
                statement.province,
                refusal.rule,
                refusal.detail,
            )
        return added

    # -- collecting the peers' statements -------------------------------------------------

    def _collect(self, members: list[int]) -> WitnessPass:
        keys = checkpoint_keys(self.client, members)
        collected = 0
        for peer, url in sorted(self.peers.items()):
            if keys.get(peer) is None:
                continue
            for province in members:
                try:
                    collected += self._collect_from(peer, url, province_code(province), keys)
                except (OSError, InvalidInput, urllib.error.URLError, ValueError) as exc:
                    log.warning("cannot collect statements of %s from %s: %s", peer, url, exc)
                    break
        return WitnessPass(collected=collected)

    def _collect_from(
        self, peer: str, url: str, province: str, keys: Mapping[str, WitnessKey | None]
    ) -> int:
        with self.db.transaction() as session:
            after = WitnessStatements(session).latest_index(peer, province)
        added = 0
        while True:
            query = urllib.parse.urlencode(
                {"province": province, "witness": peer, "after": str(after)}
            )
            answer = self._fetch(f"{url}/v1/cosignatures?{query}")
            items = answer.get("statements") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise InvalidInput("statements", "witness.document", "no list of statements")
            for value in items:
                if isinstance(value, dict):  # the API adds the CID, recomputed here
                    value = {k: v for k, v in value.items() if k != "cid"}
                document = StatementDocument.from_json(value)
                statement = document.statement
                after = max(after, statement.index)
                if (
                    document.witness != peer
                    or statement.province != province
                    or statement.network != self.network
                    or not document.verify(keys)
                ):
                    continue
                if document.refusal is None and not self._on_chain(statement):
                    continue
                item = stored(document, self.clock(), None)
                if self.db.write(partial(_add, item)):
                    added += 1
            if len(items) < PAGE:
                return added

    def _on_chain(self, statement: CheckpointStatement) -> bool:
        """Whether the chain holds exactly this checkpoint, in a final block."""
        try:
            checkpoint = self.client.checkpoint(int(statement.province), statement.index)
        except CheckpointNotFound:
            return False
        return (
            checkpoint.block_number <= self.client.final_block()
            and checkpoint.size == statement.tree_size
            and checkpoint.root == statement.root
            and checkpoint.block_number == statement.block_number
            and checkpoint.timestamp == statement.timestamp
            and bytes.fromhex(checkpoint.transaction_hash.removeprefix("0x"))
            == statement.transaction_hash
        )


# ---------------------------------------------------------------------------------------------
# Cosigned bundles


class CosignedBundles:
    """Attaches to a bundle the cosignatures this node holds of its anchor checkpoint, once a
    threshold of the contract's members cosigned it (docs/FORMATS.md "Cosignatures"): exactly a
    threshold of them, the first provinces in order (the fewest that count: two fit QR 40-M)."""

    def __init__(self, db: Database, client: RegistryClient) -> None:
        self.db = db
        members = sorted(client.members())
        self.threshold = threshold_for(len(members))
        self.keys = checkpoint_keys(client, members)

    def attach(self, bundle: Bundle) -> Bundle:
        """``bundle`` with its checkpoint's cosignatures, or unchanged when fewer than a
        threshold of valid ones are held."""
        anchor = bundle.anchor
        with self.db.transaction() as session:
            held = WitnessStatements(session).of(
                anchor.province, index=anchor.checkpoint_index, kind="cosignature"
            )
        valid: dict[str, StatementDocument] = {}
        for item in held:
            document = document_of(item)
            statement = document.statement
            if (
                statement.network == bundle.network
                and (statement.tree_size, statement.root) == (anchor.tree_size, anchor.root)
                and statement.block_number == anchor.block_number
                and statement.transaction_hash == anchor.transaction_hash
                and document.verify(self.keys)
            ):
                valid.setdefault(document.witness, document)
        if len(valid) < self.threshold:
            return bundle
        chosen = [valid[p] for p in sorted(valid)[: self.threshold]]
        first = chosen[0].statement
        if any(d.statement != first for d in chosen):  # pragma: no cover - one chain, one view
            return bundle
        witness = Witness(
            timestamp=first.timestamp,
            previous_size=first.previous_size,
            cosignatures=tuple(d.as_signature() for d in chosen),
        )
        return dataclasses.replace(bundle, witness=witness)


# ---------------------------------------------------------------------------------------------
# What the API serves


def cosignatures_view(
    statements: list[StoredStatement], members: list[int], network: Network
) -> dict[str, Any]:
    """The public answer about checkpoints: per checkpoint (index, size, root) the provinces
    that cosigned and refused it and whether a threshold of the members cosigned it
    (``witnessed``), and the statement documents with their CIDs."""
    threshold = threshold_for(len(members))
    member_codes = {province_code(p) for p in members}
    groups: dict[tuple[str, int, bytes], dict[str, Any]] = {}
    for item in statements:
        key = (item.province, item.index, item.root)
        group = groups.setdefault(
            key,
            {
                "province": item.province,
                "index": item.index,
                "tree_size": item.tree_size,
                "root": item.root.hex(),
                "cosigned_by": [],
                "refused_by": [],
            },
        )
        group["cosigned_by" if item.kind == "cosignature" else "refused_by"].append(item.witness)
    checkpoints = []
    for group in groups.values():
        cosigners = sorted(set(group["cosigned_by"]) & member_codes)
        group["cosigned_by"] = sorted(set(group["cosigned_by"]))
        group["refused_by"] = sorted(set(group["refused_by"]))
        group["witnessed"] = len(cosigners) >= threshold
        checkpoints.append(group)
    return {
        "network": network.to_json(),
        "members": sorted(member_codes),
        "threshold": threshold,
        "checkpoints": checkpoints,
        "statements": [{**document_of(item).to_json(), "cid": item.cid} for item in statements],
    }


__all__ = [
    "CheckpointWitness",
    "CosignedBundles",
    "WitnessPass",
    "checkpoint_keys",
    "cosignatures_view",
    "document_of",
    "fetch_json",
    "statement_of",
    "stored",
]
