"""Sharing agreements as a service (data guide 中就培发〔2022〕1号 arts. 21-22; docs/SHARING.md):
record, list and end agreements, authorise a partner's use (period, operation, province,
purpose, daily quota) and report each partner's traffic with its harvesting flags.

The rules are :mod:`node.core.sharing`; quotas are counted in the database
(:mod:`node.storage.counters`), so every API process on one database shares them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from node.core.errors import InvalidInput
from node.core.sharing import (
    Agreement,
    AgreementTerms,
    QuotaExhausted,
    TrafficDay,
    TrafficThresholds,
    assess_traffic,
    check_agreement_id,
    check_use,
    china_day,
    seconds_to_next_china_day,
)
from node.core.time import CHINA_STANDARD_TIME
from node.storage import AuditTrail, Database
from node.storage.access_log import AccessLog
from node.storage.agreements import AgreementRepository
from node.storage.counters import DailyCounters

#: What ending an agreement tells the partner when the operator gives no instruction of its
#: own (Personal Information Protection Law art. 47: delete once the agreed period is over).
DEFAULT_DELETION = (
    "Delete every certificate record read under this agreement, and every copy of it, within "
    "15 days, and confirm the deletion to the department in writing."
)


def quota_counter(agreement_id: str) -> str:
    """The name of an agreement's quota in ``daily_counters``."""
    return f"quota:{agreement_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class PartnerReport:
    """One agreement's traffic over the report's days."""

    agreement: Agreement
    days: tuple[TrafficDay, ...]

    @property
    def flagged(self) -> bool:
        return any(day.flags for day in self.days)

    def to_json(self) -> dict[str, Any]:
        return {
            "agreement": self.agreement.id,
            "partner_name": self.agreement.terms.partner_name,
            "credit_code": self.agreement.terms.credit_code,
            "state": self.agreement.state,
            "daily_quota": self.agreement.terms.daily_quota,
            "flagged": self.flagged,
            "days": [day.to_json() for day in self.days],
        }


class SharingService:
    """One province's agreements over a database."""

    def __init__(
        self,
        db: Database,
        province: str,
        *,
        clock: Callable[[], dt.datetime],
        thresholds: TrafficThresholds | None = None,
    ) -> None:
        self.db = db
        self.province = province
        self.clock = clock
        self.thresholds = thresholds or TrafficThresholds()

    def add(self, terms: AgreementTerms, *, actor: str) -> Agreement:
        """Record an agreement (and an audit event ``sharing.add``); return it with its id."""
        now = self.clock()
        with self.db.transaction() as session:
            agreement = AgreementRepository(session, self.province).add(terms, actor=actor, now=now)
            AuditTrail(session).record(
                actor=actor,
                action="sharing.add",
                target_type="agreement",
                target_id=agreement.id,
                now=now,
                details={"credit_code": terms.credit_code, "purpose": terms.purpose},
            )
        return agreement

    def get(self, agreement_id: str) -> Agreement:
        """The agreement with this id.

        Raises:
            InvalidInput: ``agreement`` / ``sharing.agreement_id`` (malformed),
                ``sharing.unknown`` (no such agreement in this province).
        """
        wanted = check_agreement_id(agreement_id)
        with self.db.transaction() as session:
            found = AgreementRepository(session, self.province).get(wanted)
        if found is None or found.province != self.province:
            raise InvalidInput("agreement", "sharing.unknown", "no such agreement")
        return found

    def all(self) -> list[Agreement]:
        """Every agreement of this province, oldest first."""
        with self.db.transaction() as session:
            return AgreementRepository(session, self.province).all()

    def end(
        self,
        agreement_id: str,
        *,
        actor: str,
        reason: str,
        deletion_instruction: str | None = None,
    ) -> tuple[Agreement, int]:
        """End an agreement: its partner keys stop working at once, and the instruction to
        delete what was read is recorded (audit event ``sharing.end``). Returns the agreement
        and how many keys were revoked.

        Raises:
            InvalidInput: ``sharing.agreement_id``, ``sharing.unknown``, ``sharing.ended``;
                ``reason`` / ``sharing.text`` (blank).
        """
        wanted = check_agreement_id(agreement_id)
        if not reason.strip():
            raise InvalidInput("reason", "sharing.text", "give the reason for ending it")
        instruction = (deletion_instruction or "").strip() or DEFAULT_DELETION
        now = self.clock()
        with self.db.transaction() as session:
            ended, revoked = AgreementRepository(session, self.province).end(
                wanted,
                actor=actor,
                reason=reason.strip(),
                deletion_instruction=instruction,
                now=now,
            )
            AuditTrail(session).record(
                actor=actor,
                action="sharing.end",
                target_type="agreement",
                target_id=wanted,
                now=now,
                note=reason.strip()[:500],
                details={"keys_revoked": revoked},
            )
        return ended, revoked

    def authorise(
        self,
        agreement_id: str,
        *,
        operation: str,
        province: str | None,
        purpose: str | None = None,
    ) -> Agreement:
        """Check a partner's use under its agreement and count it against the day's quota;
        return the agreement (``province`` None: the caller keeps to the covered provinces,
        :func:`node.core.sharing.covered`).

        Raises:
            AccessDenied: :func:`node.core.sharing.check_use` (403).
            QuotaExhausted: ``agreement`` / ``sharing.quota`` (429) once the day's uses are
                spent, with the seconds until the next China day.
            InvalidInput: ``sharing.unknown``.
        """
        now = self.clock()
        agreement = self.get(agreement_id)
        check_use(agreement, now=now, operation=operation, province=province, purpose=purpose)
        with self.db.transaction() as session:
            used = DailyCounters(session).add(quota_counter(agreement.id), china_day(now))
        if used > agreement.terms.daily_quota:
            raise QuotaExhausted(
                "agreement",
                "sharing.quota",
                f"agreement {agreement.id} allows {agreement.terms.daily_quota} uses a day",
                seconds_to_next_china_day(now),
            )
        return agreement

    def report(self, *, days: int = 7, agreement_id: str | None = None) -> list[PartnerReport]:
        """Each agreement's reads per China day over the last ``days`` days (today included),
        with the flags of :func:`node.core.sharing.assess_traffic`."""
        now = self.clock()
        today = now.astimezone(CHINA_STANDARD_TIME).date()
        first = today - dt.timedelta(days=max(1, days) - 1)
        since = dt.datetime.combine(first, dt.time(), CHINA_STANDARD_TIME)
        agreements = [self.get(agreement_id)] if agreement_id is not None else self.all()
        reports: list[PartnerReport] = []
        with self.db.transaction() as session:
            log = AccessLog(session, self.province)
            for agreement in agreements:
                counts: dict[dt.date, dict[str, Any]] = defaultdict(
                    lambda: {"queries": 0, "found": 0, "misses": 0, "refused": 0, "names": set()}
                )
                for row in log.traffic(
                    since, now + dt.timedelta(seconds=1), agreement=agreement.id
                ):
                    day = row.occurred_at.astimezone(CHINA_STANDARD_TIME).date()
                    bucket = counts[day]
                    bucket["queries"] += 1
                    if row.result == "found":
                        bucket["found"] += 1
                    elif row.result == "not_found":
                        bucket["misses"] += 1
                    else:
                        bucket["refused"] += 1
                    if row.name_tag is not None:
                        bucket["names"].add(bytes(row.name_tag))
                traffic = tuple(
                    assess_traffic(
                        TrafficDay(
                            day=day,
                            queries=c["queries"],
                            found=c["found"],
                            misses=c["misses"],
                            refused=c["refused"],
                            distinct_names=len(c["names"]),
                        ),
                        self.thresholds,
                    )
                    for day, c in sorted(counts.items())
                )
                reports.append(PartnerReport(agreement, traffic))
        return reports
