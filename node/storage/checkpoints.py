"""Checkpoints of a province log and their anchoring progress: ``pending`` -> ``submitted`` ->
``confirmed``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Final

from sqlalchemy import insert, select, update

from node.core.errors import InvalidInput
from node.storage.common import Executor, Row, aware, storage_errors
from node.storage.schema import CertificateRow, CheckpointRow, table_of

_CERTS: Final = table_of(CertificateRow)
_CHECKPOINTS: Final = table_of(CheckpointRow)


@dataclasses.dataclass(frozen=True, slots=True)
class CheckpointRecord:
    """A checkpoint and its anchoring progress."""

    province: str
    index: int
    tree_size: int
    root: bytes
    state: str
    manifest_cid: str | None
    transaction_hash: str | None
    block_number: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


def _checkpoint(row: Any) -> CheckpointRecord:
    return CheckpointRecord(
        province=row.province,
        index=row.checkpoint_index,
        tree_size=row.tree_size,
        root=bytes(row.root),
        state=row.state,
        manifest_cid=row.manifest_cid,
        transaction_hash=row.transaction_hash,
        block_number=row.block_number,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class CheckpointRepository:
    """Checkpoints of one province log: ``pending`` -> ``submitted`` -> ``confirmed``."""

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self._province = province

    def add(
        self, tree_size: int, root: bytes, *, now: dt.datetime, manifest_cid: str | None = None
    ) -> CheckpointRecord:
        """Add the next checkpoint (index 0, 1, ...) in state ``pending``.

        Raises:
            InvalidInput: the size does not grow past the latest checkpoint, or the root is
                not 32 bytes.
        """
        if len(root) != 32:
            raise InvalidInput("root", "checkpoint.root", "must be 32 bytes")
        latest = self.latest()
        if latest is not None and tree_size <= latest.tree_size:
            raise InvalidInput("tree_size", "checkpoint.size", "must grow past the latest")
        if tree_size < 1:
            raise InvalidInput("tree_size", "checkpoint.size", "must be at least 1")
        index = 0 if latest is None else latest.index + 1
        values = {
            "province": self._province,
            "checkpoint_index": index,
            "tree_size": tree_size,
            "root": root,
            "manifest_cid": manifest_cid,
            "state": "pending",
            "transaction_hash": None,
            "block_number": None,
            "created_at": aware(now),
            "updated_at": now,
        }
        with storage_errors("cannot add the checkpoint"):
            self._db.execute(insert(_CHECKPOINTS).values(**values))
        return _checkpoint(Row(**values))

    def _set(self, index: int, expected: tuple[str, ...], now: dt.datetime, **values: Any) -> None:
        with storage_errors("cannot update the checkpoint"):
            result = self._db.execute(
                update(_CHECKPOINTS)
                .where(
                    _CHECKPOINTS.c.province == self._province,
                    _CHECKPOINTS.c.checkpoint_index == index,
                    _CHECKPOINTS.c.state.in_(expected),
                )
                .values(updated_at=aware(now), **values)
            )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidInput("state", "checkpoint.state", f"checkpoint is not {expected}")

    def mark_submitted(
        self,
        index: int,
        *,
        transaction_hash: str,
        manifest_cid: str,
        now: dt.datetime,
        block_number: int | None = None,
    ) -> None:
        """Record the anchoring transaction (a pending or resubmitted checkpoint) and, once
        mined, its block (not yet final: ``mark_confirmed`` follows when it is).

        Raises:
            InvalidInput: the checkpoint is unknown or already confirmed.
        """
        self._set(
            index,
            ("pending", "submitted"),
            now,
            state="submitted",
            transaction_hash=transaction_hash,
            manifest_cid=manifest_cid,
            block_number=block_number,
        )

    def mark_confirmed(self, index: int, *, block_number: int, now: dt.datetime) -> None:
        """Record the block that included the anchoring transaction, and record the checkpoint
        on the certificates whose entries it adds (from then on their bundles can be made).

        Raises:
            InvalidInput: the checkpoint is not submitted.
        """
        self._set(index, ("submitted",), now, state="confirmed", block_number=block_number)
        record = self.get(index)
        assert record is not None
        previous = self.get(index - 1) if index else None
        start = 0 if previous is None else previous.tree_size
        with storage_errors("cannot update certificates"):
            self._db.execute(
                update(_CERTS)
                .where(
                    _CERTS.c.province == self._province,
                    _CERTS.c.log_index >= start,
                    _CERTS.c.log_index < record.tree_size,
                    _CERTS.c.checkpoint_index.is_(None),
                )
                .values(checkpoint_index=index)
            )

    def get(self, index: int) -> CheckpointRecord | None:
        """Return checkpoint ``index``, or ``None``."""
        with storage_errors("cannot read the checkpoint"):
            row = self._db.execute(
                select(_CHECKPOINTS).where(
                    _CHECKPOINTS.c.province == self._province,
                    _CHECKPOINTS.c.checkpoint_index == index,
                )
            ).first()
        return None if row is None else _checkpoint(row)

    def latest(self, state: str | None = None) -> CheckpointRecord | None:
        """Return the newest checkpoint (in ``state``, if given), or ``None``."""
        statement = select(_CHECKPOINTS).where(_CHECKPOINTS.c.province == self._province)
        if state is not None:
            statement = statement.where(_CHECKPOINTS.c.state == state)
        with storage_errors("cannot read checkpoints"):
            row = self._db.execute(
                statement.order_by(_CHECKPOINTS.c.checkpoint_index.desc()).limit(1)
            ).first()
        return None if row is None else _checkpoint(row)

    def in_state(self, state: str) -> list[CheckpointRecord]:
        """Return the checkpoints in ``state``, oldest first (the anchoring worker's queue)."""
        with storage_errors("cannot read checkpoints"):
            rows = self._db.execute(
                select(_CHECKPOINTS)
                .where(_CHECKPOINTS.c.province == self._province, _CHECKPOINTS.c.state == state)
                .order_by(_CHECKPOINTS.c.checkpoint_index)
            )
            return [_checkpoint(row) for row in rows]


__all__ = [
    "CheckpointRecord",
    "CheckpointRepository",
]
