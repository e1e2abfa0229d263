"""Audit statements on chain: published by members' auditors, carried by snapshots.

An auditor's statement about one checkpoint (``node.core.formats.trust.AuditStatement``: clean,
or the findings naming leaves) is stored as its JCS bytes in the content-addressed store (IPFS)
and referenced on chain by ``publishAuditStatement(province, checkpointIndex, contentHash, cid)``
(event ``AuditStatementPublished``; docs/CONTRACT.md). :func:`publish_statement` does both;
:func:`audit_records` reads the references back up to a block and fetches each statement, which
signed snapshots then carry (``SnapshotExtras.audits``), so a verifier whose bundle is named in a
finding answers ``DISPUTED``.

A reference is carried only when its statement can be fetched, hashes to the content hash on
chain, is canonical, and is about the network, province and checkpoint (size and root) the
event names; any other reference is left out and logged (a member that cannot see a statement
does not vouch for it, and a statement that does not match its checkpoint says nothing).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from anchor.codec import ChainEvent
from anchor.manifest import ManifestStore
from anchor.registry import RegistryClient
from anchor.transport import TxResult
from node.core.errors import ChainError, InvalidInput, ManifestStoreError
from node.core.formats.network import Network
from node.core.formats.snapshot import AuditRecord
from node.core.formats.trust import AuditStatement, parse_audit_statement

log = logging.getLogger(__name__)

EVENT = "AuditStatementPublished"


def publish_statement(
    client: RegistryClient, store: ManifestStore, statement: AuditStatement
) -> tuple[str, TxResult]:
    """Store ``statement``'s bytes and reference them on chain; return the CID and the
    transaction (the sender operates for a member).

    Raises:
        ManifestStoreError: the store failed.
        ContractRevert, ChainError: as :meth:`RegistryClient.publish_audit_statement`.
    """
    cid = store.put(statement.content())
    result = client.publish_audit_statement(
        int(statement.province), statement.checkpoint_index, statement.content_hash(), cid
    )
    return cid, result


def audit_records(
    client: RegistryClient,
    fetch: Callable[[str], bytes],
    *,
    to_block: int,
    from_block: int | None = None,
) -> tuple[AuditRecord, ...]:
    """The audit statements referenced on chain in blocks ``from_block`` (default: the
    deployment) to ``to_block``, in chain order, with their content (``fetch``: CID → bytes).

    Raises:
        ChainError: the chain could not be read.
    """
    start = client.options.from_block if from_block is None else from_block
    network = Network(client.chain_id(), bytes.fromhex(client.address[2:]))
    records = []
    for event in client.iter_events(start, to_block, names=[EVENT]):
        record = _record(client, network, event, fetch)
        if record is not None:
            records.append(record)
    return tuple(records)


def _record(
    client: RegistryClient, network: Network, event: ChainEvent, fetch: Callable[[str], bytes]
) -> AuditRecord | None:
    args = event.args
    cid = str(args["cid"])
    content_hash = bytes(args["contentHash"])
    province, index = int(args["province"]), int(args["checkpointIndex"])
    try:
        data = fetch(cid)
        if hashlib.sha256(data).digest() != content_hash:
            raise InvalidInput("cid", "snapshot.audit_hash", "does not hash to the content hash")
        statement = parse_audit_statement(data)
        checkpoint = client.checkpoint(province, index)
        if (
            statement.network != network
            or statement.province != f"{province:02d}"
            or statement.checkpoint_index != index
            or statement.tree_size != checkpoint.size
            or statement.root != checkpoint.root
        ):
            raise InvalidInput(
                "statement", "snapshot.audit_hash", "is not about the checkpoint it names"
            )
    except (ManifestStoreError, InvalidInput, ChainError) as exc:
        log.warning(
            "audit statement %s (block %d) left out of snapshots: %s", cid, event.block_number, exc
        )
        return None
    return AuditRecord(
        auditor=bytes.fromhex(str(args["auditor"])[2:]),
        content_hash=content_hash,
        cid=cid,
        block_number=event.block_number,
        transaction_hash=bytes.fromhex(event.transaction_hash.removeprefix("0x")),
        statement=statement,
    )


def store_fetch(store: ManifestStore) -> Callable[[str], bytes]:
    """``fetch`` for :func:`audit_records` from a content-addressed store."""
    return lambda cid: store.get(cid)


__all__ = ["EVENT", "audit_records", "publish_statement", "store_fetch"]
