"""Bundles from a province node's store: a certificate, its log entry, the inclusion proof into
the first checkpoint that holds it, and that checkpoint's anchoring (docs/FORMATS.md "Bundle").

Bundles carry personal data (holder name and ID number with their salts), so the node never
stores them: they are made on demand from the encrypted record, the log and the confirmed
checkpoint, and are the same bytes every time (the proof always targets the certificate's first
confirmed checkpoint, recorded as ``certificates.checkpoint_index`` when it is confirmed).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from node.core.crypto.privacy import BlindIndex, PersonalDataCipher
from node.core.errors import InvalidInput, StorageError
from node.core.formats.bundle import AnchorRef, Bundle, InclusionProof
from node.core.formats.snapshot import Network
from node.storage import (
    CertificateRecord,
    CertificateRepository,
    CheckpointRecord,
    CheckpointRepository,
    Database,
    ProvinceLog,
)

#: Certificates read per transaction when iterating over every bundle.
PAGE_SIZE = 500


class BundleFactory:
    """Makes the bundles of one province's anchored certificates."""

    def __init__(
        self,
        db: Database,
        province: str,
        network: Network,
        cipher: PersonalDataCipher,
        blind_index: BlindIndex,
    ) -> None:
        self._db = db
        self._province = province
        self._network = network
        self._cipher = cipher
        self._index = blind_index

    def __repr__(self) -> str:
        return f"BundleFactory(province={self._province!r})"

    def bundle(self, commitment: bytes) -> Bundle:
        """Return the bundle of the certificate version ``commitment``.

        Raises:
            InvalidInput: ``commitment``: ``certificate.unknown`` (not stored here) or
                ``bundle.not_anchored`` (no confirmed checkpoint holds its entry yet).
            StorageError, DecryptionError: the store is damaged or a key is missing.
        """
        with self._db.read() as session:
            certificates = CertificateRepository(session, self._cipher, self._index)
            record = certificates.get(commitment)
            if record is None or record.province != self._province:
                raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
            return self._make(session, certificates, record, {})

    def bundle_of(self, record: CertificateRecord) -> Bundle:
        """:meth:`bundle` of a certificate version the caller has just read (the API reads it
        to decide who may have it): one query fewer per bundle.

        Raises:
            InvalidInput: as :meth:`bundle` (``certificate.unknown`` for another province's).
            StorageError, DecryptionError: as :meth:`bundle`.
        """
        if record.province != self._province:
            raise InvalidInput("commitment", "certificate.unknown", "certificate is unknown")
        with self._db.read() as session:
            certificates = CertificateRepository(session, self._cipher, self._index)
            return self._make(session, certificates, record, {})

    def iter_bundles(self, *, after_id: int = 0) -> Iterator[tuple[CertificateRecord, Bundle]]:
        """Yield every anchored certificate version with its bundle, in storage order, one page
        per transaction (memory stays flat). Superseded, revoked, suspended and deleted versions
        are included: their bundles verify to that status."""
        while True:
            with self._db.transaction() as session:
                certificates = CertificateRepository(session, self._cipher, self._index)
                page = certificates.anchored(self._province, after_id=after_id, limit=PAGE_SIZE)
                checkpoints: dict[int, CheckpointRecord] = {}  # a page shares a few checkpoints
                made = [
                    (record, self._make(session, certificates, record, checkpoints))
                    for record in page
                ]
            if not made:
                return
            yield from made
            after_id = made[-1][0].id

    def _make(
        self,
        session: Session,
        certificates: CertificateRepository,
        record: CertificateRecord,
        checkpoints: dict[int, CheckpointRecord],
    ) -> Bundle:
        if record.checkpoint_index is None or record.log_index is None:
            raise InvalidInput(
                "commitment", "bundle.not_anchored", "no confirmed checkpoint holds it yet"
            )
        checkpoint = checkpoints.get(record.checkpoint_index)
        if checkpoint is None:
            checkpoint = CheckpointRepository(session, self._province).get(record.checkpoint_index)
            if checkpoint is not None:
                checkpoints[record.checkpoint_index] = checkpoint
        if (
            checkpoint is None
            or checkpoint.state != "confirmed"
            or checkpoint.block_number is None
            or checkpoint.transaction_hash is None
        ):
            raise StorageError(
                f"checkpoint {record.checkpoint_index} of log {self._province} is not confirmed"
            )
        log = ProvinceLog(session, self._province)
        stored = log.entry(record.log_index)
        if stored.entry.commitment != record.commitment:
            raise StorageError(f"log entry {record.log_index} is not the certificate's entry")
        return Bundle(
            network=self._network,
            certificate=certificates.salted(record),
            entry=stored.entry,
            proof=InclusionProof(
                leaf_index=record.log_index,
                tree_size=checkpoint.tree_size,
                hashes=tuple(log.merkle.inclusion_proof(record.log_index, checkpoint.tree_size)),
            ),
            anchor=AnchorRef(
                province=self._province,
                checkpoint_index=checkpoint.index,
                tree_size=checkpoint.tree_size,
                root=checkpoint.root,
                block_number=checkpoint.block_number,
                transaction_hash=bytes.fromhex(checkpoint.transaction_hash.removeprefix("0x")),
            ),
        )
