"""Returned data (data guide 中就培发〔2022〕1号 第十一条, seed 002): the province sends an
accepted certificate's data back to its organisation for correction; the organisation corrects
it and re-uploads it **within 20 working days** (应在 20 个工作日内进行更正，并重新上报).

:meth:`ReturnService.return_certificate` records the certificate as ``returned`` with the
province's reason and the deadline (:meth:`node.core.rules.workdays.WorkdayCalendar.
correction_deadline` of the day it was returned, in China). :meth:`ReturnService.resubmit` takes
the corrected, re-signed version: on or before the deadline it goes through the correction rules
of :meth:`node.services.lifecycle.LifecycleService.correct` (superseding the returned version)
and into the review queue (a ``returned.resubmitted`` flag on the new version, for the
province's audit of the resubmitted data); after the deadline it is refused
(``returned.deadline``) and nothing is written.

Rule ids (field in brackets): ``returned.reason`` (``reason``), ``returned.not_active``,
``returned.already``, ``returned.not_returned`` (``commitment``), ``returned.deadline``
(``received_on``), plus those of the lifecycle service (``certificate.unknown``, the note and
correction rules). Reasons and messages never hold personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Final

from node.core.errors import InvalidInput
from node.core.formats.commitment import SaltedCertificate
from node.core.formats.entry import Signature
from node.core.rules.flags import Flag
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import china_date
from node.services.lifecycle import LifecycleOutcome, LifecycleService, check_actor
from node.storage import AuditTrail, Database, ReviewRepository
from node.storage.returns import ReturnRecord, ReturnRepository

log = logging.getLogger(__name__)

#: Audit-trail actions of this module.
ACTION_RETURN: Final = "return"
ACTION_RESUBMIT: Final = "resubmit"
#: The review flag a resubmission opens on the new version.
RESUBMITTED: Final = "returned.resubmitted"
#: Longest reason text, in characters.
MAX_REASON: Final = 1000


class ReturnService:
    """Returns certificates for correction and takes their resubmissions, in one province."""

    def __init__(
        self,
        db: Database,
        province: str,
        lifecycle: LifecycleService,
        *,
        calendar: WorkdayCalendar,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._db = db
        self._province = province
        self._lifecycle = lifecycle
        self._calendar = calendar
        self._clock = clock

    def __repr__(self) -> str:
        return f"ReturnService(province={self._province!r})"

    def return_certificate(self, commitment: bytes, *, reason: str, actor: str) -> ReturnRecord:
        """Send certificate ``commitment`` back for correction with ``reason`` (what is wrong;
        no personal data), by the province operator ``actor``.

        Raises:
            InvalidInput: ``actor`` / ``actor.*``; ``reason`` / ``returned.reason`` (empty or
                longer than :data:`MAX_REASON`), ``note.personal_data`` (it holds the holder's
                name or ID number); ``commitment`` / ``certificate.unknown``,
                ``certificate.province``, ``returned.not_active`` (not the current, active
                version), ``returned.already`` (returned and not resubmitted yet);
                ``returned_on`` / ``workdays.calendar_range``. Nothing is written.
        """
        check_actor("actor", actor)
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidInput(
                "reason", "returned.reason", f"say what to correct (1-{MAX_REASON} characters)"
            )
        with self._db.transaction() as session:
            record = self._lifecycle.certificate(commitment, session=session)
            if record.status != "active" or record.superseded_by is not None:
                raise InvalidInput(
                    "commitment",
                    "returned.not_active",
                    f"only a current, active certificate is returned (this one is {record.status})",
                )
            self._lifecycle.check_note(commitment, reason, session=session)
            returns = ReturnRepository(session)
            if returns.open_for(commitment) is not None:
                raise InvalidInput(
                    "commitment", "returned.already", "already returned, awaiting resubmission"
                )
            now = self._clock()
            returned_on = china_date(now)
            deadline = self._calendar.correction_deadline(returned_on)
            returned = returns.add(
                province=self._province,
                commitment=commitment,
                certificate_number=record.certificate_number,
                reason=reason,
                returned_by=actor,
                returned_on=returned_on,
                deadline=deadline,
                now=now,
            )
            AuditTrail(session).record(
                actor=actor,
                action=ACTION_RETURN,
                target_type="certificate",
                target_id=commitment.hex(),
                now=now,
                note=reason,
                details={"returned_on": returned_on.isoformat(), "deadline": deadline.isoformat()},
            )
        log.info("returned certificate %s, deadline %s", record.certificate_number, deadline)
        return returned

    def resubmit(
        self,
        commitment: bytes,
        salted: SaltedCertificate,
        signature: Signature,
        *,
        reason: int,
        requested_by: str,
        confirmed_by: str,
        note: str | None = None,
    ) -> LifecycleOutcome:
        """Take the corrected version of returned certificate ``commitment``, received today
        (in China): within the deadline, the correction (every rule of
        :meth:`~node.services.lifecycle.LifecycleService.correct`, with its ``reason`` code and
        the organisation's ``requested_by`` and the province's ``confirmed_by``) and a
        ``returned.resubmitted`` review flag on the new version, in one transaction.

        Raises:
            InvalidInput: ``commitment`` / ``returned.not_returned`` (no open return);
                ``received_on`` / ``returned.deadline`` (after the 20th working day); a rule of
                the correction. Nothing is written.
        """
        with self._db.transaction() as session:
            returns = ReturnRepository(session)
            returned = returns.open_for(commitment)
            if returned is None:
                raise InvalidInput(
                    "commitment",
                    "returned.not_returned",
                    "this certificate was not returned for correction (or was resubmitted)",
                )
            now = self._clock()
            received_on = china_date(now)
            if received_on > returned.deadline:
                raise InvalidInput(
                    "received_on",
                    "returned.deadline",
                    f"received {received_on.isoformat()}, after the deadline "
                    f"{returned.deadline.isoformat()} (20 working days after "
                    f"{returned.returned_on.isoformat()}; 中就培发〔2022〕1号 第十一条)",
                )
            outcome = self._lifecycle.correct(
                commitment,
                salted,
                signature,
                reason=reason,
                requested_by=requested_by,
                confirmed_by=confirmed_by,
                note=note,
                session=session,
            )
            returns.resubmitted(returned.id, outcome.commitment, now=now)
            ReviewRepository(session).add(
                province=self._province,
                target_type="certificate",
                target_id=outcome.commitment.hex(),
                flag=Flag(
                    RESUBMITTED,
                    "review",
                    f"returned on {returned.returned_on.isoformat()}, resubmitted on "
                    f"{received_on.isoformat()} (deadline {returned.deadline.isoformat()})",
                ),
                query_suspended=False,
                now=now,
            )
            AuditTrail(session).record(
                actor=requested_by,
                action=ACTION_RESUBMIT,
                target_type="certificate",
                target_id=outcome.commitment.hex(),
                now=now,
                details={"returned": commitment.hex(), "received_on": received_on.isoformat()},
            )
        return outcome
