"""Sharing agreements (``sharing_agreements``) and the partner keys bound to them.

Rows are never deleted: ending an agreement sets its state, end and the deletion instruction,
and revokes every ``partner`` API key whose scope is the agreement (``api_keys.revoked_at``) in
the same transaction. The rules are :mod:`node.core.sharing`; the service is
:mod:`node.services.sharing`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, insert, select, update

from node.core.errors import InvalidInput
from node.core.sharing import Agreement, AgreementTerms
from node.storage.guard import Executor, storage_errors
from node.storage.schema import ApiKey, SharingAgreement, table_of

_AGREEMENTS = table_of(SharingAgreement)
_KEYS = table_of(ApiKey)


def _agreement(row: Any) -> Agreement:
    return Agreement(
        id=row.id,
        province=row.province,
        terms=AgreementTerms(
            partner_name=row.partner_name,
            credit_code=row.credit_code,
            partner_kind=row.partner_kind,
            application_sha256=bytes(row.application_sha256),
            purpose=row.purpose,
            scenario=row.scenario,
            operations=tuple(row.operations),
            fields=tuple(row.fields),
            provinces=tuple(row.provinces),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            daily_quota=row.daily_quota,
            no_commercial_use=bool(row.no_commercial_use),
            approved_by=row.approved_by,
        ),
        state=row.state,
        created_at=row.created_at,
        created_by=row.created_by,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=row.end_reason,
        deletion_instruction=row.deletion_instruction,
    )


class AgreementRepository:
    """A province's agreements, in the caller's transaction."""

    def __init__(self, db: Executor, province: str) -> None:
        self._db = db
        self.province = province

    def add(self, terms: AgreementTerms, *, actor: str, now: dt.datetime) -> Agreement:
        """Record an agreement under the next id of this province (``41-000001`` …)."""
        prefix = f"{self.province}-"
        with storage_errors("cannot record the agreement"):
            last = self._db.execute(
                select(func.max(_AGREEMENTS.c.id)).where(_AGREEMENTS.c.id.like(prefix + "%"))
            ).scalar_one_or_none()
            number = 1 if last is None else int(str(last)[3:]) + 1
            values = {
                "id": f"{prefix}{number:06d}",
                "province": self.province,
                "partner_name": terms.partner_name,
                "credit_code": terms.credit_code,
                "partner_kind": terms.partner_kind,
                "application_sha256": terms.application_sha256,
                "purpose": terms.purpose,
                "scenario": terms.scenario,
                "operations": list(terms.operations),
                "fields": list(terms.fields),
                "provinces": list(terms.provinces),
                "starts_at": terms.starts_at,
                "ends_at": terms.ends_at,
                "daily_quota": terms.daily_quota,
                "no_commercial_use": terms.no_commercial_use,
                "approved_by": terms.approved_by,
                "state": "active",
                "created_at": now,
                "created_by": actor[:128],
            }
            self._db.execute(insert(_AGREEMENTS).values(**values))
        found = self.get(str(values["id"]))
        assert found is not None
        return found

    def get(self, agreement_id: str) -> Agreement | None:
        """The agreement with this id, or None."""
        with storage_errors("cannot read the agreement"):
            row = self._db.execute(
                select(_AGREEMENTS).where(_AGREEMENTS.c.id == agreement_id)
            ).first()
        return None if row is None else _agreement(row)

    def all(self) -> list[Agreement]:
        """This province's agreements, oldest first."""
        with storage_errors("cannot list agreements"):
            rows = self._db.execute(
                select(_AGREEMENTS)
                .where(_AGREEMENTS.c.province == self.province)
                .order_by(_AGREEMENTS.c.id)
            )
            return [_agreement(row) for row in rows]

    def end(
        self,
        agreement_id: str,
        *,
        actor: str,
        reason: str,
        deletion_instruction: str,
        now: dt.datetime,
    ) -> tuple[Agreement, int]:
        """End an active agreement and revoke its partner keys; return it and how many keys
        were revoked.

        Raises:
            InvalidInput: ``agreement`` / ``sharing.unknown`` (no such agreement here),
                ``sharing.ended`` (it ended before).
        """
        found = self.get(agreement_id)
        if found is None or found.province != self.province:
            raise InvalidInput("agreement", "sharing.unknown", "no such agreement")
        if found.state != "active":
            raise InvalidInput("agreement", "sharing.ended", "the agreement has ended already")
        with storage_errors("cannot end the agreement"):
            self._db.execute(
                update(_AGREEMENTS)
                .where(_AGREEMENTS.c.id == agreement_id)
                .values(
                    state="ended",
                    ended_at=now,
                    ended_by=actor[:128],
                    end_reason=reason,
                    deletion_instruction=deletion_instruction,
                )
            )
            revoked = self._db.execute(
                update(_KEYS)
                .where(
                    _KEYS.c.role == "partner",
                    _KEYS.c.scope == agreement_id,
                    _KEYS.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        ended = self.get(agreement_id)
        assert ended is not None
        return ended, int(revoked.rowcount)  # type: ignore[attr-defined]

    def key_ids(self, agreement_id: str) -> list[int]:
        """The ids of every partner key ever bound to the agreement (revoked ones too)."""
        with storage_errors("cannot read the agreement's keys"):
            rows = self._db.execute(
                select(_KEYS.c.id)
                .where(_KEYS.c.role == "partner", _KEYS.c.scope == agreement_id)
                .order_by(_KEYS.c.id)
            )
            return [int(r.id) for r in rows]
