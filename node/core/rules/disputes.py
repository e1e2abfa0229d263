"""The rules a verifier re-runs on a bundle's public fields (docs/FORMATS.md "Verification
result codes", result ``DISPUTED``): what the auditor checks of every entry, as far as a bundle
and its trust source show it.

- **number** (``entry.number_mismatch``): positions 14-15 of the certificate number are the last
  two digits of the issue year and position 16 is the level (人社鉴发〔2019〕2号 §二(五), (六));
- **deadline** (``deadline.issue_after_anchor``, ``deadline.over_six_months``, ``deadline.late``,
  ``deadline.late_reason``), for ``issue`` entries whose anchoring checkpoint is known: the
  issue date is not after the day of anchoring (China Standard Time), anchoring is at most six
  months after the issue date, and after the 30th working day it needs a late-upload reason
  (a known ``6xx`` code of node/core/rules/reasons.py) (data guide 中就培发〔2022〕1号
  arts. 10, 12). The working days come from the calendar the snapshot carries; without one,
  or for days it does not cover, the 30-day part is not judged (the other two need no
  calendar);
- **organisation** (``organisation.unknown``, ``organisation.not_active``, ``scope.outside``):
  when the certificate was anchored the organisation was filed by the certificate's province,
  active, and the certificate within the scope then in force (data guide arts. 5, 9).

The browser's ``api/static/js/disputes.js`` is the same rules, line for line; the shared vectors
(``tests/vectors/trust.json``) hold them to the same answers. Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from node.core.certificate import NO_WORK_TYPE
from node.core.errors import InvalidInput
from node.core.rules.reasons import ACTION_ISSUE, check_reason
from node.core.time import china_date_of_unix


@dataclasses.dataclass(frozen=True, slots=True)
class Dispute:
    """Why a verifier disputes a certificate: a rule it re-ran (``source`` ``rules``) or an
    auditor's finding (``source`` ``audit``, with the auditor and the checkpoint)."""

    kind: str
    source: str
    detail: str
    auditor: str | None = None
    checkpoint_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "detail": self.detail,
            "auditor": self.auditor,
            "checkpoint_index": self.checkpoint_index,
        }


class Calendar(Protocol):
    """The working days (a snapshot's calendar)."""

    def covers(self, day: datetime.date) -> bool: ...

    def is_working_day(self, day: datetime.date) -> bool: ...


def number_dispute(number: str, issue_date: str, level: int) -> Dispute | None:
    """Positions 14-16 of the certificate number against the issue year and the level."""
    year, digit = number[13:15], number[15:16]
    if year != issue_date[2:4] or digit != str(level):
        return Dispute(
            "entry.number_mismatch",
            "rules",
            f"certificate number positions 14-16 ({number[13:16]}) do not carry the issue year "
            f"{issue_date[:4]} and level {level}",
        )
    return None


def deadline_dispute(
    issue_date: str, anchored_at: int, reason: int | None, calendar: Calendar | None
) -> tuple[Dispute | None, str]:
    """The deadline rules for a certificate issued on ``issue_date`` and anchored at unix time
    ``anchored_at``; returns the dispute (or None) and what was judged."""
    issued = datetime.date.fromisoformat(issue_date)
    day = china_date_of_unix(anchored_at)
    if issued > day:
        return Dispute(
            "deadline.issue_after_anchor",
            "rules",
            f"issued {issue_date}, after the day it was anchored ({day.isoformat()})",
        ), ""
    # Imported here: the module builds its default calendar's day table when first imported,
    # and a verifier judging no deadline (a version 1 snapshot) should not pay for it.
    from node.core.rules.workdays import UPLOAD_WORKING_DAYS, six_months_after

    limit = six_months_after(issued)
    if day > limit:
        return Dispute(
            "deadline.over_six_months",
            "rules",
            f"issued {issue_date}, anchored {day.isoformat()}: more than six months later "
            f"(last day {limit.isoformat()})",
        ), ""
    if calendar is None or not (calendar.covers(issued) and calendar.covers(day)):
        return None, f"anchored {day.isoformat()}, within six months (working days not judged)"
    elapsed = 0
    current = issued
    while current < day:
        current += datetime.timedelta(days=1)
        elapsed += calendar.is_working_day(current)
    on_time = elapsed < UPLOAD_WORKING_DAYS or (
        elapsed == UPLOAD_WORKING_DAYS and calendar.is_working_day(day)
    )
    if on_time:
        return None, f"anchored {day.isoformat()}, {elapsed} working days after issue"
    if reason is None:
        return Dispute(
            "deadline.late",
            "rules",
            f"anchored {day.isoformat()}, {elapsed} working days after issue "
            f"(limit {UPLOAD_WORKING_DAYS}), without a late-upload reason",
        ), ""
    try:
        check_reason(ACTION_ISSUE, reason)
    except InvalidInput:
        return Dispute(
            "deadline.late_reason", "rules", f"reason {reason} is not a late-upload reason (6xx)"
        ), ""
    return None, f"anchored {day.isoformat()}, late with reason {reason}"


def scope_dispute(
    occupation_code: str, work_type_code: str, level: int, filed: Mapping[str, frozenset[int]]
) -> Dispute | None:
    """The certificate against the filed scope (code -> levels), as screening's
    ``flag_scope``: inside when its work type or its occupation is filed with its level."""
    if level in filed.get(occupation_code, ()):
        return None
    if work_type_code != NO_WORK_TYPE and level in filed.get(work_type_code, ()):
        return None
    subject = occupation_code if work_type_code == NO_WORK_TYPE else work_type_code
    return Dispute(
        "scope.outside",
        "rules",
        f"occupation {subject} at level {level} was not in the organisation's filed scope",
    )


__all__ = ["Calendar", "Dispute", "deadline_dispute", "number_dispute", "scope_dispute"]
