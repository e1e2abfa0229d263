"""Screening review in the provincial node (data guide 中就培发〔2022〕1号 art. 17, seed 002):
run the :mod:`node.core.rules.screening` rules over held data, record what they flag, optionally
suspend a flagged certificate's query service, and let a province operator decide each flag.

- :meth:`ReviewService.screen_certificate`: filed scope (``scope.outside``), certificates under
  one ID number in a short window (``id.burst``), issue date after or more than 6 months before
  receipt (``issue_date.future`` / ``issue_date.stale``). With ``suspend_query=True`` a flag
  of severity ``review`` or ``error`` suspends the certificate through
  :meth:`node.services.lifecycle.LifecycleService.suspend` with the flag's screening reason (2xx,
  :data:`node.core.rules.screening.SUSPENSION_REASONS`) and is recorded with ``query_suspended``.
- :meth:`ReviewService.screen_organisation`: pass rate over the last year above 90 %
  (``pass_rate.high``, Hunan 湘人社鉴函〔2022〕1号 §四(十七)) and serial anomalies per year and
  level (``serial.*``, 人社鉴发〔2019〕2号 §二). Organisation flags never suspend anything.
- :meth:`ReviewService.decide`: ``clear`` reinstates the certificate (3xx) once no other open
  suspending flag remains on it; ``uphold`` revokes it with the misconduct reason (1xx) the
  operator gives, or, for an organisation flag, just closes the flag.

Each call is ONE transaction (flags, suspension or reinstatement or revocation, audit events);
a refusal writes nothing. A flag already open on a target with the same code (and, for an
organisation, the same detail) is not recorded twice, so screening can be re-run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Final, Literal

from sqlalchemy.orm import Session

from node.core.errors import InvalidInput
from node.core.rules.reasons import ACTION_REINSTATE, ACTION_REVOKE, Reason, check_reason
from node.core.rules.scope import filed_scope
from node.core.rules.screening import (
    SUSPENSION_REASONS,
    Flag,
    flag_id_burst,
    flag_inactivity,
    flag_issue_date,
    flag_pass_rate,
    flag_scope,
    flag_serials,
)
from node.core.time import CHINA_STANDARD_TIME
from node.services.lifecycle import LifecycleOutcome, LifecycleService, check_actor
from node.storage import (
    AuditTrail,
    CertificateRecord,
    Database,
    OrganisationRepository,
    ReviewRecord,
    ReviewRepository,
    ScreeningData,
)

#: ``id.burst`` defaults: more than 3 certificates under one ID number issued within 30 days.
#: The sources (data guide art. 17) name the anomaly, not the numbers; these are this
#: project's and every caller may pass its own.
DEFAULT_ID_BURST_WINDOW_DAYS: Final = 30
DEFAULT_ID_BURST_LIMIT: Final = 3
#: Severities that put a certificate's query service on hold (node.core.rules.screening: ``warning``
#: never suspends).
SUSPENDING_SEVERITIES: Final = frozenset({"review", "error"})
#: The certificate statuses a review can still act on.
_OPEN_STATUSES: Final = frozenset({"active", "suspended"})

Decision = Literal["clear", "uphold"]


@dataclasses.dataclass(frozen=True, slots=True)
class ScreeningOutcome:
    """The flags one screening recorded (none: nothing new) and the suspension, if any."""

    flags: tuple[ReviewRecord, ...]
    suspension: LifecycleOutcome | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A decided flag and the lifecycle change it caused (reinstate, revoke, or none)."""

    flag: ReviewRecord
    change: LifecycleOutcome | None = None


def suspends(flag: Flag) -> bool:
    """Whether ``flag`` may suspend a certificate's query service (data guide art. 17)."""
    return flag.severity in SUSPENDING_SEVERITIES and flag.code in SUSPENSION_REASONS


class ReviewService:
    """Screening flags and their review for one province."""

    def __init__(
        self,
        db: Database,
        province: str,
        lifecycle: LifecycleService,
        *,
        clock: Callable[[], dt.datetime],
    ) -> None:
        if lifecycle.province != province:
            raise ValueError("the lifecycle service must be for the same province")
        self._db = db
        self._province = province
        self._lifecycle = lifecycle
        self._clock = clock

    def __repr__(self) -> str:
        return f"ReviewService(province={self._province!r})"

    # ----------------------------------------------------------------------------------------
    # Screening

    def screen_certificate(
        self,
        commitment: bytes,
        *,
        actor: str,
        suspend_query: bool = False,
        received_on: dt.date | None = None,
        id_burst_window_days: int = DEFAULT_ID_BURST_WINDOW_DAYS,
        id_burst_limit: int = DEFAULT_ID_BURST_LIMIT,
    ) -> ScreeningOutcome:
        """Run the certificate rules over a held certificate and record what they flag.

        ``received_on`` is the day of receipt the issue-date rule compares with (default: the
        day the certificate was submitted, China Standard Time).

        Raises:
            InvalidInput: ``actor`` / ``actor.missing``; ``commitment`` /
                ``certificate.unknown`` or ``certificate.province``; ``window_days`` or
                ``limit`` / ``screening.count``; ``scope`` / ``scope.malformed``. Nothing is
                written.
        """
        check_actor("actor", actor)
        with self._db.transaction() as session:
            record = self._lifecycle.certificate(commitment, session=session)
            organisation = OrganisationRepository(session).get(record.organisation_code)
            scope = filed_scope(organisation.scope) if organisation is not None else {}
            received = received_on or record.submitted_at.astimezone(CHINA_STANDARD_TIME).date()
            dates = ScreeningData(session).issue_dates_under_same_id(commitment)
            found = [
                *flag_scope(record, scope),
                *flag_id_burst(dates, id_burst_window_days, id_burst_limit),
                *flag_issue_date(record.issue_date, received),
            ]
            return self._record_certificate_flags(session, record, found, actor, suspend_query)

    def _record_certificate_flags(
        self,
        session: Session,
        record: CertificateRecord,
        found: Sequence[Flag],
        actor: str,
        suspend_query: bool,
    ) -> ScreeningOutcome:
        reviews = ReviewRepository(session)
        target = record.commitment.hex()
        already = reviews.open_for("certificate", target)
        known = {flag.code for flag in already}
        new = [flag for flag in found if flag.code not in known]
        if not new:
            return ScreeningOutcome(())
        suspending = [flag for flag in new if suspends(flag)]
        suspension: LifecycleOutcome | None = None
        held = False
        if suspend_query and suspending:
            if record.status == "active":
                suspension = self._lifecycle.suspend(
                    record.commitment,
                    reason=SUSPENSION_REASONS[suspending[0].code],
                    actor=actor,
                    note="screening: " + ", ".join(flag.code for flag in suspending),
                    session=session,
                )
                held = True
            else:
                # Already suspended by an earlier flag: the new flags hold it too. A suspension
                # for another cause (a complaint) is not the screening's to lift.
                held = record.status == "suspended" and any(f.query_suspended for f in already)
        now = self._clock()
        recorded = tuple(
            reviews.add(
                province=self._province,
                target_type="certificate",
                target_id=target,
                flag=flag,
                query_suspended=held and suspends(flag),
                now=now,
            )
            for flag in new
        )
        self._audit_flags(session, "certificate", target, recorded, actor, now, suspension)
        return ScreeningOutcome(recorded, suspension)

    def screen_organisation(
        self,
        organisation_code: str,
        *,
        assessed: int,
        passed: int,
        actor: str,
        since_year: int | None = None,
    ) -> ScreeningOutcome:
        """Run the organisation rules and record what they flag.

        ``assessed`` and ``passed`` are the candidates assessed and certified over the last
        year (:func:`node.core.rules.screening.flag_pass_rate`; the node does not hold the assessed
        count). An organisation that issued no certificate for a year or more is flagged
        (:func:`node.core.rules.screening.flag_inactivity`, ``organisation.inactive``). Serials
        are checked per issue year from ``since_year`` (default: last year in China Standard
        Time) and per level.

        Raises:
            InvalidInput: ``actor`` / ``actor.missing``; ``organisation_code`` /
                ``organisation.unknown``; ``assessed`` or ``passed`` / ``screening.count``,
                ``passed`` / ``screening.passed_over_assessed``. Nothing is written.
        """
        check_actor("actor", actor)
        found = flag_pass_rate(assessed, passed)
        now = self._clock()
        first_year = since_year or now.astimezone(CHINA_STANDARD_TIME).year - 1
        with self._db.transaction() as session:
            organisation = OrganisationRepository(session).get(organisation_code)
            if organisation is None or organisation.province != self._province:
                raise InvalidInput(
                    "organisation_code",
                    "organisation.unknown",
                    "the organisation is not filed in this province",
                )
            data = ScreeningData(session)
            # 一年（含）以上不开展评价工作 (misconduct guideline art. 14(七)).
            found.extend(
                flag_inactivity(
                    data.last_issue_date(organisation_code),
                    organisation.created_at.astimezone(CHINA_STANDARD_TIME).date(),
                    now.astimezone(CHINA_STANDARD_TIME).date(),
                )
            )
            for year in data.issue_years(organisation_code, first_year):
                for level in range(1, 6):
                    serials = data.serials(organisation_code, year, level)
                    found.extend(
                        dataclasses.replace(flag, detail=f"{year} level {level}: {flag.detail}")
                        for flag in flag_serials(serials)
                    )
            reviews = ReviewRepository(session)
            known = {
                (f.code, f.message) for f in reviews.open_for("organisation", organisation_code)
            }
            recorded = tuple(
                reviews.add(
                    province=self._province,
                    target_type="organisation",
                    target_id=organisation_code,
                    flag=flag,
                    query_suspended=False,
                    now=now,
                )
                for flag in found
                if (flag.code, flag.detail) not in known
            )
            if recorded:
                self._audit_flags(session, "organisation", organisation_code, recorded, actor, now)
            return ScreeningOutcome(recorded)

    @staticmethod
    def _audit_flags(
        session: Session,
        target_type: str,
        target_id: str,
        recorded: Sequence[ReviewRecord],
        actor: str,
        now: dt.datetime,
        suspension: LifecycleOutcome | None = None,
    ) -> None:
        AuditTrail(session).record(
            actor=actor,
            action="screen",
            target_type=target_type,
            target_id=target_id,
            now=now,
            reason=None if suspension is None else int(suspension.reason),
            details={
                "flags": [{"id": r.id, "code": r.code, "severity": r.severity} for r in recorded],
                "suspended_at_log_index": None if suspension is None else suspension.log_index,
            },
        )

    # ----------------------------------------------------------------------------------------
    # Decisions

    def decide(
        self,
        flag_id: int,
        decision: Decision,
        *,
        operator: str,
        reason: int | None = None,
        note: str | None = None,
    ) -> ReviewDecision:
        """Decide an open flag as a province operator (data guide art. 17).

        ``clear``: nothing wrong. When this flag suspended the certificate's query service and
        no other open suspending flag remains on it, the certificate is reinstated with
        ``reason`` (a 3xx code, default :attr:`Reason.REVIEW_CLEARED`). ``uphold``: for a
        certificate flag the certificate is revoked with ``reason``, a misconduct code (1xx)
        the operator must give; for an organisation flag the flag is just closed (a ``reason``,
        if given, must still be a 1xx code). A certificate already revoked, superseded or
        deleted is left as it is. The decision is written to the audit trail.

        Raises:
            InvalidInput: ``decision`` / ``review.decision``; ``operator`` /
                ``actor.missing``; ``flag_id`` / ``review.unknown``, ``review.province``,
                ``review.decided``; ``reason`` / ``review.reason_required``,
                ``reason.unknown``, ``reason.not_for_action``; ``note`` /
                ``note.personal_data``. Nothing is written.
        """
        if decision not in ("clear", "uphold"):
            raise InvalidInput("decision", "review.decision", "clear or uphold")
        check_actor("operator", operator)
        with self._db.transaction() as session:
            reviews = ReviewRepository(session)
            flag = reviews.get(flag_id)
            if flag is None:
                raise InvalidInput("flag_id", "review.unknown", "no review flag with this id")
            if flag.province != self._province:
                raise InvalidInput(
                    "flag_id", "review.province", "the flag belongs to another province"
                )
            if not flag.is_open:
                raise InvalidInput("flag_id", "review.decided", "the flag was decided already")
            code = self._decision_reason(flag, decision, reason)
            change = None
            if flag.target_type == "certificate":
                change = self._act_on_certificate(session, flag, decision, code, operator, note)
            now = self._clock()
            decided = reviews.decide(
                flag_id, "cleared" if decision == "clear" else "upheld", operator=operator, now=now
            )
            AuditTrail(session).record(
                actor=operator,
                action=f"review.{decision}",
                target_type="review_flag",
                target_id=str(flag_id),
                now=now,
                reason=None if code is None else int(code),
                note=note,
                details={
                    "target_type": flag.target_type,
                    "target_id": flag.target_id,
                    "code": flag.code,
                    "change": None if change is None else change.kind,
                    "log_index": None if change is None else change.log_index,
                },
            )
            return ReviewDecision(decided, change)

    @staticmethod
    def _decision_reason(
        flag: ReviewRecord, decision: Decision, reason: int | None
    ) -> Reason | None:
        """Return the reason code of a decision, checked against its action.

        Raises:
            InvalidInput: ``reason`` / ``review.reason_required`` (upholding a certificate
                flag without a misconduct reason) or the rules of
                :func:`node.core.rules.reasons.check_reason`.
        """
        if decision == "clear":
            return check_reason(
                ACTION_REINSTATE, Reason.REVIEW_CLEARED if reason is None else reason
            )
        if reason is None:
            if flag.target_type == "certificate":
                raise InvalidInput(
                    "reason",
                    "review.reason_required",
                    "upholding a flag revokes the certificate: give the misconduct reason",
                )
            return None
        return check_reason(ACTION_REVOKE, reason)

    def _act_on_certificate(
        self,
        session: Session,
        flag: ReviewRecord,
        decision: Decision,
        code: Reason | None,
        operator: str,
        note: str | None,
    ) -> LifecycleOutcome | None:
        commitment = bytes.fromhex(flag.target_id)
        record = self._lifecycle.certificate(commitment, session=session)
        self._lifecycle.check_note(commitment, note, session=session)
        if record.status not in _OPEN_STATUSES or code is None:
            return None
        if decision == "uphold":
            return self._lifecycle.revoke(
                commitment, reason=code, actor=operator, note=note, session=session
            )
        others = [
            other
            for other in ReviewRepository(session).open_for("certificate", flag.target_id)
            if other.id != flag.id and other.query_suspended
        ]
        if flag.query_suspended and not others and record.status == "suspended":
            return self._lifecycle.reinstate(
                commitment, reason=code, actor=operator, note=note, session=session
            )
        return None

    # ----------------------------------------------------------------------------------------
    # Reading the queue

    def queue(
        self, state: str = "open", *, after_id: int = 0, limit: int = 100
    ) -> list[ReviewRecord]:
        """Return this province's flags in ``state``, a page at a time (by id after
        ``after_id``).

        Raises:
            InvalidInput: ``state`` / ``review.state``, ``limit`` / ``review.limit``.
        """
        with self._db.transaction() as session:
            return ReviewRepository(session).in_state(
                self._province, state, after_id=after_id, limit=limit
            )

    def open_flags(self, target_type: str, target_id: str) -> list[ReviewRecord]:
        """Return the open flags on one certificate (commitment hex) or organisation."""
        with self._db.transaction() as session:
            return ReviewRepository(session).open_for(target_type, target_id)


__all__ = [
    "DEFAULT_ID_BURST_LIMIT",
    "DEFAULT_ID_BURST_WINDOW_DAYS",
    "Decision",
    "ReviewDecision",
    "ReviewService",
    "ScreeningOutcome",
    "suspends",
]
