"""Screening review (node/services/review.py, node/storage/reviews.py): flags, suspension of the
query service, and the operator's decision, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from node.core.errors import InvalidInput
from node.core.rules.reasons import Reason
from node.core.rules.screening import Flag, flag_inactivity
from node.core.rules.workdays import WorkdayCalendar
from node.services.intake import IntakeService
from node.services.lifecycle import LifecycleService
from node.services.review import ReviewService
from node.storage import AuditTrail, Database, OrganisationRepository, ReviewRepository
from node.storage.schema import ReviewFlag, table_of
from tests.conftest import VOCABULARY
from tests.node.services.test_intake import NETWORK, NOW, ORG, cert, counts, db
from tests.node.services.test_lifecycle import (
    LATER,
    OPERATOR,
    Issued,
    assert_clean,
    entry_json,
    issue,
    issued,
    lifecycle,
    status_of,
)
from tests.node.storage.conftest import blind_index, cipher

__all__ = ["db", "issued", "lifecycle", "service"]

SCREENER = "screening:nightly"
RECEIVED = dt.datetime(2025, 6, 20, 2, 0, tzinfo=dt.UTC)
OTHER_OPERATOR = "province:44:operator-2"


@pytest.fixture
def service(db: Database) -> IntakeService:
    """Intake whose clock is the day of receipt (2025-06-20), so ``submitted_at`` is after the
    issue date as in real data (the issue-date rule compares the two)."""
    return IntakeService(
        db,
        "44",
        NETWORK,
        cipher(),
        blind_index(),
        calendar=WorkdayCalendar.default(),
        vocabulary=VOCABULARY,
        clock=lambda: RECEIVED,
    )


@pytest.fixture
def review(db: Database, lifecycle: LifecycleService) -> ReviewService:
    return ReviewService(db, "44", lifecycle, clock=lambda: LATER)


def flag_count(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.execute(select(func.count()).select_from(table_of(ReviewFlag))).scalar_one()
        )


def refused(db: Database, call: Callable[[], object], field: str, rule: str) -> InvalidInput:
    """Expect ``InvalidInput(field, rule)`` and nothing written (rows, log, audit, flags)."""
    before = (counts(db), flag_count(db))
    with pytest.raises(InvalidInput) as info:
        call()
    assert (info.value.field, info.value.rule) == (field, rule), str(info.value)
    assert (counts(db), flag_count(db)) == before
    return info.value


def burst(service: IntakeService, n: int = 4) -> list[Issued]:
    """``n`` certificates under one ID number, all issued on 2025-06-18."""
    same_id = cert(1).id_number
    return [issue(service, serial, id_number=same_id) for serial in range(1, n + 1)]


# ------------------------------------------------------------------------------------------
# Certificate flags and suspension


def test_id_burst_suspends_and_clear_reinstates(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    certs = burst(service)
    target = certs[-1]
    size_before = counts(db)[1]
    outcome = review.screen_certificate(target.commitment, actor=SCREENER, suspend_query=True)
    [flag] = outcome.flags
    assert (flag.code, flag.severity, flag.state, flag.query_suspended) == (
        "id.burst",
        "review",
        "open",
        True,
    )
    assert (flag.target_type, flag.target_id) == ("certificate", target.commitment.hex())
    assert "4 certificates for one ID" in flag.message
    assert outcome.suspension is not None
    assert (outcome.suspension.kind, outcome.suspension.reason) == ("suspend", 203)
    assert outcome.suspension.log_index == size_before
    assert status_of(db, target.commitment) == "suspended"
    entry = entry_json(db, outcome.suspension.log_index)
    assert (entry["kind"], entry["reason"], entry["commitment"]) == (
        "suspend",
        203,
        target.commitment.hex(),
    )

    decided = review.decide(flag.id, "clear", operator=OPERATOR, note="same person, retakes")
    assert (decided.flag.state, decided.flag.decided_by, decided.flag.decided_at) == (
        "cleared",
        OPERATOR,
        LATER,
    )
    assert decided.change is not None
    assert (decided.change.kind, decided.change.reason) == ("reinstate", 301)
    assert status_of(db, target.commitment) == "active"
    assert entry_json(db, decided.change.log_index)["kind"] == "reinstate"
    with db.transaction() as session:
        trail = AuditTrail(session)
        [event] = trail.for_target("review_flag", str(flag.id))
        actions = [e.action for e in trail.for_target("certificate", target.commitment.hex())]
    assert (event.actor, event.action, event.reason, event.note) == (
        OPERATOR,
        "review.clear",
        301,
        "same person, retakes",
    )
    assert event.details == {
        "target_type": "certificate",
        "target_id": target.commitment.hex(),
        "code": "id.burst",
        "change": "reinstate",
        "log_index": decided.change.log_index,
    }
    assert actions == ["issue", "suspend", "screen", "reinstate"]


def test_no_flag_below_the_burst_limit(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    certs = burst(service, 3)
    outcome = review.screen_certificate(certs[-1].commitment, actor=SCREENER, suspend_query=True)
    assert outcome.flags == () and outcome.suspension is None
    assert status_of(db, certs[-1].commitment) == "active"
    assert flag_count(db) == 0


def test_reinstated_only_when_no_suspending_flag_remains(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    target = burst(service)[-1]
    outcome = review.screen_certificate(
        target.commitment,
        actor=SCREENER,
        suspend_query=True,
        received_on=dt.date(2026, 1, 5),  # more than 6 months after 2025-06-18
    )
    assert [f.code for f in outcome.flags] == ["id.burst", "issue_date.stale"]
    assert all(f.query_suspended for f in outcome.flags)
    assert outcome.suspension is not None and outcome.suspension.reason == 203
    first, second = outcome.flags
    size = counts(db)[1]
    kept = review.decide(first.id, "clear", operator=OPERATOR)
    assert kept.change is None
    assert counts(db)[1] == size
    assert status_of(db, target.commitment) == "suspended"
    freed = review.decide(second.id, "clear", operator=OPERATOR, reason=302)
    assert freed.change is not None and freed.change.reason == 302
    assert status_of(db, target.commitment) == "active"


def test_uphold_revokes_with_the_operators_reason(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    target = burst(service)[-1]
    [flag] = review.screen_certificate(target.commitment, actor=SCREENER, suspend_query=True).flags
    refused(
        db,
        lambda: review.decide(flag.id, "uphold", operator=OPERATOR),
        "reason",
        "review.reason_required",
    )
    refused(
        db,
        lambda: review.decide(flag.id, "uphold", operator=OPERATOR, reason=203),
        "reason",
        "reason.not_for_action",
    )
    refused(
        db,
        lambda: review.decide(flag.id, "clear", operator=OPERATOR, reason=101),
        "reason",
        "reason.not_for_action",
    )
    decided = review.decide(
        flag.id, "uphold", operator=OPERATOR, reason=Reason.CANDIDATE_FALSE_ELIGIBILITY
    )
    assert decided.flag.state == "upheld"
    assert decided.change is not None
    assert (decided.change.kind, decided.change.reason, decided.change.status) == (
        "revoke",
        102,
        "revoked",
    )
    assert status_of(db, target.commitment) == "revoked"
    assert entry_json(db, decided.change.log_index)["reason"] == 102


def test_scope_flag_without_suspension(db: Database, issued: Issued, review: ReviewService) -> None:
    # The organisation's scope shrank after the certificate was accepted.
    with db.transaction() as session:
        OrganisationRepository(session).set_scope(
            ORG, [{"occupation_code": "6-18-01-01", "levels": [5]}], b"\x00" * 32, now=NOW
        )
    size = counts(db)[1]
    outcome = review.screen_certificate(issued.commitment, actor=SCREENER)
    [flag] = outcome.flags
    assert (flag.code, flag.severity, flag.query_suspended) == ("scope.outside", "error", False)
    assert outcome.suspension is None
    assert counts(db)[1] == size
    assert status_of(db, issued.commitment) == "active"
    # Screening again records nothing new while the flag is open.
    assert review.screen_certificate(issued.commitment, actor=SCREENER).flags == ()
    decided = review.decide(flag.id, "clear", operator=OPERATOR)
    assert decided.change is None
    assert status_of(db, issued.commitment) == "active"


def test_future_issue_date_flag(db: Database, issued: Issued, review: ReviewService) -> None:
    outcome = review.screen_certificate(
        issued.commitment, actor=SCREENER, received_on=dt.date(2025, 6, 17), suspend_query=True
    )
    [flag] = outcome.flags
    assert (flag.code, flag.severity, flag.query_suspended) == ("issue_date.future", "error", True)
    assert outcome.suspension is not None and outcome.suspension.reason == 204


def test_earlier_suspension_for_a_complaint_is_not_lifted(
    db: Database, service: IntakeService, lifecycle: LifecycleService, review: ReviewService
) -> None:
    target = burst(service)[-1]
    lifecycle.suspend(target.commitment, reason=206, actor=OPERATOR)
    outcome = review.screen_certificate(target.commitment, actor=SCREENER, suspend_query=True)
    [flag] = outcome.flags
    assert outcome.suspension is None and flag.query_suspended is False
    assert review.decide(flag.id, "clear", operator=OPERATOR).change is None
    assert status_of(db, target.commitment) == "suspended"


def test_screening_refusals(db: Database, issued: Issued, review: ReviewService) -> None:
    refused(
        db,
        lambda: review.screen_certificate(b"\x05" * 32, actor=SCREENER),
        "commitment",
        "certificate.unknown",
    )
    refused(
        db,
        lambda: review.screen_certificate(issued.commitment, actor=""),
        "actor",
        "actor.missing",
    )
    refused(
        db,
        lambda: review.screen_certificate(issued.commitment, actor=SCREENER, id_burst_limit=-1),
        "limit",
        "screening.count",
    )
    refused(
        db,
        lambda: review.screen_certificate(
            issued.commitment, actor=SCREENER, id_burst_window_days=0
        ),
        "window_days",
        "screening.count",
    )


# ------------------------------------------------------------------------------------------
# Organisation flags


def test_pass_rate_and_serial_gap_flags(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    issue(service, 1)
    issue(service, 3)
    gap_only = review.screen_organisation(ORG, assessed=100, passed=90, actor=SCREENER)
    assert [f.code for f in gap_only.flags] == ["serial.gap"]
    outcome = review.screen_organisation(ORG, assessed=100, passed=91, actor=SCREENER)
    [flag] = outcome.flags  # the serial gap is open already: not recorded twice
    assert (flag.code, flag.severity, flag.target_type, flag.target_id) == (
        "pass_rate.high",
        "review",
        "organisation",
        ORG,
    )
    assert flag.query_suspended is False and outcome.suspension is None
    gaps = [f for f in review.open_flags("organisation", ORG) if f.code == "serial.gap"]
    assert [g.message for g in gaps] == ["2025 level 3: serial(s) 000002 missing (1)"]
    decided = review.decide(flag.id, "uphold", operator=OPERATOR)
    assert (decided.flag.state, decided.change) == ("upheld", None)


def test_inactive_organisation_is_flagged(
    db: Database, service: IntakeService, lifecycle: LifecycleService
) -> None:
    # 人社职司便函〔2021〕57号 art. 14(七): 一年（含）以上不开展评价工作. The organisation (filed on
    # 2025-06-01) issued its last certificate on 2025-06-18: a year later to the day in China
    # time it is flagged, the evening before not.
    issue(service, 1)

    def screened(day: dt.datetime) -> list[str]:
        review = ReviewService(db, "44", lifecycle, clock=lambda: day)
        outcome = review.screen_organisation(ORG, assessed=0, passed=0, actor=SCREENER)
        return [f.code for f in outcome.flags]

    assert screened(dt.datetime(2026, 6, 17, 12, tzinfo=dt.UTC)) == []
    assert screened(dt.datetime(2026, 6, 17, 16, tzinfo=dt.UTC)) == ["organisation.inactive"]
    [flag] = ReviewService(db, "44", lifecycle, clock=lambda: LATER).open_flags("organisation", ORG)
    assert "2025-06-18" in flag.message


def test_inactivity_boundaries() -> None:
    filed = dt.date(2024, 3, 1)
    assert flag_inactivity(None, filed, dt.date(2025, 2, 28)) == []
    assert [f.code for f in flag_inactivity(None, filed, dt.date(2025, 3, 1))] == [
        "organisation.inactive"
    ]
    assert flag_inactivity(dt.date(2025, 1, 1), filed, dt.date(2025, 12, 31)) == []


@pytest.mark.parametrize(
    ("assessed", "passed", "field", "rule"),
    [
        (-1, 0, "assessed", "screening.count"),
        (10, -1, "passed", "screening.count"),
        (10, 11, "passed", "screening.passed_over_assessed"),
    ],
)
def test_pass_rate_counts_refused(
    db: Database,
    issued: Issued,
    review: ReviewService,
    assessed: int,
    passed: int,
    field: str,
    rule: str,
) -> None:
    refused(
        db,
        lambda: review.screen_organisation(ORG, assessed=assessed, passed=passed, actor=SCREENER),
        field,
        rule,
    )


def test_unknown_organisation_refused(db: Database, review: ReviewService) -> None:
    refused(
        db,
        lambda: review.screen_organisation("S000144011009", assessed=10, passed=10, actor=SCREENER),
        "organisation_code",
        "organisation.unknown",
    )


# ------------------------------------------------------------------------------------------
# Decisions refused, queue, personal data


def test_decision_refusals(
    db: Database,
    service: IntakeService,
    lifecycle: LifecycleService,
    review: ReviewService,
) -> None:
    target = burst(service)[-1]
    [flag] = review.screen_certificate(target.commitment, actor=SCREENER, suspend_query=True).flags
    refused(db, lambda: review.decide(999, "clear", operator=OPERATOR), "flag_id", "review.unknown")
    refused(
        db,
        lambda: review.decide(flag.id, "dismiss", operator=OPERATOR),  # type: ignore[arg-type]
        "decision",
        "review.decision",
    )
    refused(db, lambda: review.decide(flag.id, "clear", operator=" "), "operator", "actor.missing")
    holder = target.certificate.holder_name
    error = refused(
        db,
        lambda: review.decide(flag.id, "clear", operator=OPERATOR, note=f"called {holder}"),
        "note",
        "note.personal_data",
    )
    assert_clean(str(error), target.certificate)
    beijing_lifecycle = LifecycleService(
        db, "11", NETWORK, cipher(), blind_index(), clock=lambda: LATER
    )
    beijing = ReviewService(db, "11", beijing_lifecycle, clock=lambda: LATER)
    refused(
        db,
        lambda: beijing.decide(flag.id, "clear", operator=OPERATOR),
        "flag_id",
        "review.province",
    )
    review.decide(flag.id, "clear", operator=OPERATOR)
    refused(
        db,
        lambda: review.decide(flag.id, "uphold", operator=OTHER_OPERATOR, reason=101),
        "flag_id",
        "review.decided",
    )


def test_queue_pages_by_state(db: Database, service: IntakeService, review: ReviewService) -> None:
    certs = burst(service, 6)
    flags = [review.screen_certificate(c.commitment, actor=SCREENER).flags[0] for c in certs[3:]]
    first = review.queue(limit=2)
    second = review.queue(after_id=first[-1].id, limit=2)
    assert [f.id for f in first + second] == [f.id for f in flags]
    review.decide(flags[0].id, "clear", operator=OPERATOR)
    assert [f.id for f in review.queue("cleared")] == [flags[0].id]
    assert [f.id for f in review.queue()] == [f.id for f in flags[1:]]
    refused(db, lambda: review.queue("closed"), "state", "review.state")
    refused(db, lambda: review.queue(limit=0), "limit", "review.limit")
    with db.transaction() as session, pytest.raises(InvalidInput) as info:
        ReviewRepository(session).add(
            province="44",
            target_type="organisation",
            target_id=ORG,
            flag=Flag("pass_rate.high", "review", "pass rate 10/10"),
            query_suspended=True,
            now=LATER,
        )
    assert (info.value.field, info.value.rule) == ("query_suspended", "review.suspend_target")


def test_no_personal_data_in_flags_or_audit(
    db: Database, service: IntakeService, review: ReviewService
) -> None:
    certs = burst(service)
    target = certs[-1]
    outcome = review.screen_certificate(
        target.commitment, actor=SCREENER, suspend_query=True, received_on=dt.date(2026, 1, 5)
    )
    for flag in outcome.flags:
        review.decide(flag.id, "clear", operator=OPERATOR)
    with db.transaction() as session:
        rows = session.execute(select(table_of(ReviewFlag))).all()
        trail = AuditTrail(session)
        events = [
            e for f in outcome.flags for e in trail.for_target("review_flag", str(f.id))
        ] + trail.for_target("certificate", target.commitment.hex())
    text = json.dumps(
        [[str(v) for v in row] for row in rows]
        + [[e.actor, e.action, e.note, e.details] for e in events],
        ensure_ascii=False,
    )
    assert_clean(text, *(c.certificate for c in certs))
