"""The auditor's checks of one replayed log entry against the chain state at its anchoring.

- the organisation was filed (in this province), active, and the certificate is within the
  filed scope (data guide 中就培发〔2022〕1号 art. 9; scope documents, docs/FORMATS.md); its
  occupation code is an occupation, not a category (``occupation.category_only``);
- the signature by the key it names, of its suite, valid on the issue date
  (docs/FORMATS.md "Signatures", ``node.core.verify.key_valid_on``);
- the certificate number's issue year and level (positions 14-16, read and compared by
  ``node.core.rules.certnum``);
- the deadlines: issue date against the anchoring block's day in China Standard Time, in
  Chinese working days (data guide arts. 10, 12;
  ``node.core.rules.workdays.WorkdayCalendar.check_upload``, in the audit's calendar);
- no certificate number or commitment twice; serials are recorded for the end-of-history gap
  check (``audit/history.py``);
- status entries name a logged certificate, with a reason of their action
  (``node.core.rules.reasons``) and an allowed transition (docs/CONTRACT.md "Certificate status");
  corrections keep the number of a certificate that is not final (data guide art. 14); each
  queues the status change it asks the chain for (``anchor/status.py``).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from typing import Any, Final, NamedTuple

from anchor.snapshot import ORGANISATION_STATUS_NAMES
from anchor.status import status_change
from audit.chainstate import (
    ORGANISATION_ACTIVE,
    ORGANISATION_TERMINATED,
    ChainState,
    FiledScopes,
)
from audit.findings import FindingSink
from audit.log import (
    ACTIVE,
    DELETED,
    FINAL_STATES,
    REVOKED,
    STATE_NAMES,
    SUPERSEDED,
    SUSPENDED,
    ExpectedStatus,
    ProvinceLog,
)
from audit.node_api import CertificateSample
from audit.parse import AuditEntry, to_log_entry
from audit.signatures import SignatureChecker
from node.core.certificate import SPECIAL_ABILITY, VOCATIONAL_QUALIFICATION
from node.core.errors import InvalidInput
from node.core.formats.entry import CERTIFICATE_KINDS
from node.core.rules.certnum import certificate_number_parts, parse_special_ability_number
from node.core.rules.occupations import is_category_code
from node.core.rules.reasons import check_reason, lineage_changes_name_and_id
from node.core.rules.scope import FiledScope, check_scope
from node.core.rules.screening import flag_scope
from node.core.rules.workdays import WorkdayCalendar
from node.core.time import day_bounds

#: Log state a status entry may start from, and the state it leaves (docs/CONTRACT.md
#: "Certificate status": revoked and superseded are final; deletion is a revocation on chain).
TRANSITIONS: Final[dict[str, tuple[frozenset[int], int]]] = {
    "revoke": (frozenset({ACTIVE, SUSPENDED}), REVOKED),
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), ACTIVE),
    "delete": (frozenset({ACTIVE, SUSPENDED}), DELETED),
}

#: ``check_upload`` rule → finding kind.
DEADLINE_KINDS: Final = {
    "issue_date.after_receipt": "deadline.issue_after_anchor",
    "issue_date.over_six_months": "deadline.over_six_months",
    "late_reason.required": "deadline.late",
    "reason.unknown": "deadline.late_reason",
    "reason.not_for_action": "deadline.late_reason",
    "workdays.calendar_range": "deadline.calendar",
}


class _NoNumberRules(Exception):
    """A number whose format the auditor cannot re-check (the province configures it)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Anchor:
    """The checkpoint whose manifest is being replayed: the evidence of its entries."""

    province: str
    index: int
    block: int
    transaction: str
    timestamp: int
    day: datetime.date

    def evidence(self, leaf_index: int, **hashes: bytes) -> dict[str, Any]:
        return {
            "block": self.block,
            "transaction": self.transaction,
            "checkpoint_index": self.index,
            "leaf_index": leaf_index,
            "hashes": {name: value.hex() for name, value in hashes.items()},
        }


class At(NamedTuple):
    """Where an entry is (its checkpoint, leaf index, leaf hash, commitment and number): its
    finding evidence is built from this only when there is a finding."""

    anchor: Anchor
    leaf_index: int
    leaf: bytes
    commitment: bytes
    number: str

    def evidence(self, **hashes: bytes) -> dict[str, Any]:
        evidence = self.anchor.evidence(
            self.leaf_index, leaf=self.leaf, commitment=self.commitment, **hashes
        )
        evidence["certificate_number"] = self.number
        return evidence


@functools.lru_cache(maxsize=65_536)
def _day_bounds(issue_date: str) -> tuple[int, int]:
    """``node.core.time.day_bounds``, cached (one computation per issue date, not per entry)."""
    return day_bounds(issue_date)


@functools.lru_cache(maxsize=65_536)
def _issue_year(issue_date: str) -> int:
    """The last two digits of an entry's issue year (``YYYY-MM-DD`` by the entry format; a day
    that does not exist, a ``deadline.calendar`` finding of issue entries, still has its year),
    as positions 14-15 of the certificate number carry it (人社鉴发〔2019〕2号 §二(五))."""
    try:
        return datetime.date.fromisoformat(issue_date).year % 100
    except ValueError:
        return int(issue_date[:4]) % 100


@functools.lru_cache(maxsize=65_536)
def deadline(
    calendar: WorkdayCalendar, issue_date: str, day: datetime.date, reason: int | None
) -> tuple[str, str] | None:
    """(finding kind, message) when anchoring on ``day`` breaks a deadline of data guide
    arts. 10 and 12 for a certificate issued on ``issue_date``, in the working days of
    ``calendar``; None when in time."""
    try:
        issued = datetime.date.fromisoformat(issue_date)
    except ValueError:
        return "deadline.calendar", f"issue date {issue_date} is not a calendar date"
    try:
        calendar.check_upload(issued, day, reason)
    except InvalidInput as exc:
        kind = DEADLINE_KINDS.get(exc.rule, "deadline.late")
        return kind, f"issued {issue_date}, anchored {day.isoformat()}: {exc.message}"
    return None


class EntryChecker:
    """Every check of one replayed entry (:meth:`check`), reporting to ``findings``;
    signatures are queued on ``signatures`` and checked in batches."""

    def __init__(
        self,
        state: ChainState,
        scopes: FiledScopes,
        findings: FindingSink,
        signatures: SignatureChecker,
        calendar: WorkdayCalendar,
        sample: CertificateSample | None,
    ) -> None:
        self._state = state
        self._scopes = scopes
        self._findings = findings
        self._signatures = signatures
        self._calendar = calendar
        self._sample = sample

    def check(
        self, log: ProvinceLog, anchor: Anchor, entry: AuditEntry, leaf_index: int, leaf: bytes
    ) -> None:
        """Every check of one replayed entry against the chain state at its anchoring."""
        at = At(anchor, leaf_index, leaf, entry.commitment, entry.certificate_number)
        if entry.kind in CERTIFICATE_KINDS:
            self._check_certificate(log, entry, at)
        else:
            self._check_status_entry(log, entry, at)

    def signature_failed(self, context: Any) -> None:
        """The failure report of the signature checker: context is (province, At), or
        (province, At, True) for a province's maintenance signature."""
        province, at, *by_province = context
        if by_province:
            self._findings(
                "maintenance.signature",
                province,
                "the province's signature does not verify with its maintenance key",
                **at.evidence(),
            )
            return
        self._findings(
            "entry.signature",
            province,
            "the issuer's signature does not verify over the commitment",
            **at.evidence(),
        )

    def _check_certificate(self, log: ProvinceLog, entry: AuditEntry, at: At) -> None:
        province, number = log.province, entry.certificate_number
        attributes = entry.attributes
        assert attributes is not None  # LogEntry's rule, kept by the lean reader
        self._check_issuer(province, entry, at)
        group: tuple[str, int, int] | None = None
        serial = 0
        try:
            # The node's reading of the number (node/core/rules/certnum.py, its rules and errors).
            # A special_ability number carries year, examining body and serial (no level; the
            # entry format already ties its body to the registry code); a vocational
            # qualification number has the province's own format, checked at intake.
            if attributes.certificate_type == SPECIAL_ABILITY:
                special = parse_special_ability_number(number)
                code, year, level, serial = (
                    entry.organisation_code,
                    special.year,
                    attributes.level,
                    special.serial,
                )
            elif attributes.certificate_type == VOCATIONAL_QUALIFICATION:
                raise _NoNumberRules
            else:
                code, year, level, serial = certificate_number_parts(number)
        except _NoNumberRules:
            pass
        except InvalidInput as exc:
            self._findings(
                "entry.number_mismatch",
                province,
                f"certificate number {number}: {exc.message}",
                **at.evidence(),
                rule=exc.rule,
            )
        else:
            group = (code, year, level)
            # Positions 14-16: the issue year and the level (certnum check_year, check_level).
            if year != _issue_year(attributes.issue_date) or level != attributes.level:
                self._findings(
                    "entry.number_mismatch",
                    province,
                    f"certificate number {number} does not carry issue year "
                    f"{attributes.issue_date[:4]} and level {attributes.level}",
                    **at.evidence(),
                )
        if entry.kind == "issue":
            late = deadline(self._calendar, attributes.issue_date, at.anchor.day, entry.reason)
            if late is not None:
                self._findings(late[0], province, late[1], **at.evidence())
        if entry.commitment in log.certificates:
            self._findings(
                "commitment.duplicate",
                province,
                f"commitment {entry.commitment.hex()} was logged before",
                **at.evidence(),
            )
            return
        if entry.kind == "issue":
            if group is not None and not log.mark_serial(group, serial):
                self._findings(
                    "certificate.duplicate_number",
                    province,
                    f"certificate number {number} was issued before",
                    **at.evidence(),
                )
        else:
            self._check_correction(log, entry, at)
        log.set_state(entry.commitment, number, ACTIVE)
        if self._sample is not None:
            self._sample.offer(province, entry.commitment, at.leaf_index, at.leaf)

    def _check_issuer(self, province: str, entry: AuditEntry, at: At) -> None:
        """Organisation filed here and active, scope, key and signature."""
        code = entry.organisation_code
        org = self._state.organisations.get(code)
        if org is None or org.province != province:
            self._findings(
                "organisation.unknown",
                province,
                f"organisation {code} was not filed by province {province}",
                **at.evidence(),
            )
            return
        by_province = entry.signature is not None and entry.signature.signer is not None
        if by_province and org.status != ORGANISATION_TERMINATED:
            # Seed 002 第十六条: the province maintains a vanished organisation's certificates.
            self._findings(
                "maintenance.organisation_active",
                province,
                f"the province signed a correction of organisation {code}, which was "
                f"{ORGANISATION_STATUS_NAMES.get(org.status, org.status)}",
                **at.evidence(),
            )
        if org.status != ORGANISATION_ACTIVE and not by_province:
            self._findings(
                "organisation.not_active",
                province,
                f"organisation {code} was {ORGANISATION_STATUS_NAMES.get(org.status, org.status)}",
                **at.evidence(),
            )
        attributes, signature = entry.attributes, entry.signature
        assert attributes is not None and signature is not None
        if is_category_code(attributes.occupation_code):
            # 不得直接用大类、中类或小类名称作为职业 (Henan filing notes): visible in the entry.
            self._findings(
                "occupation.category_only",
                province,
                f"occupation code {attributes.occupation_code} names a category, not an occupation",
                **at.evidence(),
            )
        scope = self._scopes.of(code, org)
        if scope is not None:
            flags = flag_scope(attributes, scope)
            for flag in flags:
                self._findings("scope.outside", province, flag.detail, **at.evidence())
            if not flags and isinstance(scope, FiledScope) and scope.dated:
                # 豫人社办函〔2021〕155号: an incremental filing takes effect before issuing.
                try:
                    check_scope(attributes, scope)
                except InvalidInput as exc:
                    self._findings(
                        "scope.not_in_force",
                        province,
                        f"occupation {attributes.occupation_code} at level {attributes.level} was "
                        f"not in the scope in force on the issue date {attributes.issue_date}",
                        **at.evidence(),
                        rule=exc.rule,
                    )
        if by_province:
            key_bytes = self._state.maintenance_keys.get(province)
            if key_bytes is None or signature.suite != "ed25519":
                self._findings(
                    "maintenance.signature",
                    province,
                    f"province {province} had no Ed25519 maintenance key published when the "
                    "correction was anchored",
                    **at.evidence(),
                )
                return
            self._signatures.add(
                ("ed25519", key_bytes, entry.commitment, signature.value), (province, at, True)
            )
            return
        if signature.key_id >= len(org.keys):
            self._findings(
                "entry.key_unknown",
                province,
                f"organisation {code} has no key {signature.key_id}",
                **at.evidence(),
            )
            return
        key = org.keys[signature.key_id]
        if key.suite != signature.suite:
            self._findings(
                "entry.key_suite",
                province,
                f"key {key.key_id} of {code} is {key.suite}, the signature {signature.suite}",
                **at.evidence(),
            )
            return
        start, end = _day_bounds(attributes.issue_date)
        if not (key.valid_from < end and (key.valid_until == 0 or key.valid_until > start)):
            self._findings(
                "entry.key_not_valid",
                province,
                f"key {key.key_id} of {code} ([{key.valid_from}, {key.valid_until or 'open'}))"
                f" was not valid on the issue date {attributes.issue_date}",
                **at.evidence(),
            )
        self._signatures.add(
            (signature.suite, key.public_key, entry.commitment, signature.value),
            (province, at),
        )

    def _check_correction(self, log: ProvinceLog, entry: AuditEntry, at: At) -> None:
        """Data guide art. 14 as far as public data shows it: a correction supersedes a
        logged certificate of this province that is not final, keeps its number, and gives a
        correction reason (node/core/rules/reasons.py 4xx); the corrections of one lineage do
        not carry both a holder-name and an ID-change reason (姓名和证件号码，原则上只能更改
        其中的一项), flagged once, at the correction that completes the pair."""
        target = entry.links[0]
        known = log.state_of(target)
        problems = []
        try:
            check_reason("correct", entry.reason if entry.reason is not None else -1)
        except InvalidInput as exc:
            problems.append(("correction.reason", exc.message))
        if known is None:
            problems.append(("correction.target_unknown", "corrects a certificate not logged"))
        else:
            number, state = known
            if number != entry.certificate_number:
                problems.append(("correction.number", f"changes the number {number}"))
            if state in FINAL_STATES:
                problems.append(("correction.target_final", f"target is {STATE_NAMES[state]}"))
        if entry.reason is not None:
            reasons = log.correction_reasons.setdefault(entry.certificate_number, set())
            named_both = lineage_changes_name_and_id(reasons)
            reasons.add(entry.reason)
            if not named_both and lineage_changes_name_and_id(reasons):
                problems.append(
                    (
                        "correction.lineage_name_and_id_number",
                        "the lineage's corrections change both the holder name and the ID number",
                    )
                )
        for rule, message in problems:
            self._findings(
                "correction.rule",
                log.province,
                f"correction {rule}: {message}",
                **at.evidence(target=target),
                rule=rule,
            )
        if known is not None and known[1] not in FINAL_STATES:
            log.set_state(target, known[0], SUPERSEDED)
        self._expect(log, entry, at)

    def _check_status_entry(self, log: ProvinceLog, entry: AuditEntry, at: At) -> None:
        province = log.province
        try:
            check_reason(entry.kind, entry.reason if entry.reason is not None else -1)
        except InvalidInput as exc:
            self._findings("entry.reason", province, exc.message, **at.evidence(), rule=exc.rule)
        known = log.state_of(entry.commitment)
        if known is None or known[0] != entry.certificate_number:
            self._findings(
                "entry.unknown_target",
                province,
                f"{entry.kind} of a certificate not logged under {entry.certificate_number}",
                **at.evidence(),
            )
        else:
            allowed, new_state = TRANSITIONS[entry.kind]
            if known[1] not in allowed:
                self._findings(
                    "entry.transition",
                    province,
                    f"{entry.kind} of a certificate that is {STATE_NAMES[known[1]]}",
                    **at.evidence(),
                )
            else:
                log.set_state(entry.commitment, known[0], new_state)
        self._expect(log, entry, at)

    def _expect(self, log: ProvinceLog, entry: AuditEntry, at: At) -> None:
        """Queue the status change the entry asks the chain for (``anchor/status.py``'s own
        mapping, on the entry as a ``LogEntry``: status and correction entries are few)."""
        change = status_change(to_log_entry(entry))
        if change is None:
            return
        log.expect(
            change.commitment,
            ExpectedStatus(
                change.status,
                change.reason,
                change.successor,
                at.leaf_index,
                at.anchor.index,
                at.anchor.block,
            ),
        )


__all__ = ["DEADLINE_KINDS", "TRANSITIONS", "Anchor", "At", "EntryChecker", "deadline"]
