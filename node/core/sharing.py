"""Sharing agreements and what a requester may see (data guide 中就培发〔2022〕1号 arts. 18-22).

Pure: the terms of an agreement, their checks (period, operation, province, purpose), the views
of a certificate each kind of requester gets, and the traffic assessment that flags harvesting.
Time is passed in. Storage is :mod:`node.storage.agreements`; the service that applies these
rules with a database and a clock is :mod:`node.services.sharing`. docs/SHARING.md explains the
choices.

- Art. 18: the holder's name and ID number are personal information; no body publishes them.
- Art. 19: the holder, the holder's employer (所在单位), the issuing organisation and government
  bodies may query; others may not query *others'* data. An employer and a government body are
  each represented by an **agreement** with ``partner_kind`` ``employer`` or ``government``,
  recorded by the province's department like any other (art. 22).
- Art. 20: every query gives two of certificate number, name and ID number.
- Art. 21: certificate data is public data, shared for public services, never commercially:
  an agreement records the partner's no-commercial-use undertaking and is refused without it.
- Art. 22: a written application (its document's SHA-256 is recorded), a decision by purpose
  (用途), scenario (使用场景) and period (使用期限), permission control (operations, fields,
  provinces, a daily quota) and traffic monitoring (:func:`assess_traffic`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final

from node.core.certificate import Certificate
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader
from node.core.rules.codes import PROVINCES
from node.core.rules.uscc import check_uscc
from node.core.time import CHINA_STANDARD_TIME

#: What a partner does: ``status`` (a certificate's status and public fields: no personal
#: data) and ``query`` (the two-of-three query with the certificate's fields, the personal ones
#: as :data:`PERSONAL_FIELDS` and the agreement's ``fields`` say).
OPERATIONS: Final = ("status", "query")
#: The personal fields (art. 18). An agreement lists those it gives in full; the others are
#: masked (:func:`mask_field`). Every other field is public or names no person.
PERSONAL_FIELDS: Final = ("holder_name", "id_number")
PARTNER_KINDS: Final = ("employer", "government", "other")
AGREEMENT_STATES: Final = ("active", "ended")
AGREEMENT_ID: Final = re.compile(r"[1-8][0-9]-[0-9]{6}")
MAX_TEXT: Final = 500
MAX_QUOTA: Final = 10_000_000
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


class AccessDenied(InvalidInput):
    """A requester may not do this (the API answers 403 with the rule)."""


class QuotaExhausted(InvalidInput):
    """A daily quota is used up; ``retry_after`` seconds until the next China day (429)."""

    def __init__(self, field: str, rule: str, message: str, retry_after: int) -> None:
        super().__init__(field, rule, message)
        self.retry_after = retry_after


def china_day(moment: dt.datetime) -> int:
    """The day number (days since 1970-01-01) of ``moment`` in China Standard Time."""
    return (moment.astimezone(CHINA_STANDARD_TIME).date() - dt.date(1970, 1, 1)).days


def seconds_to_next_china_day(moment: dt.datetime) -> int:
    """Whole seconds from ``moment`` to the next midnight in China Standard Time (at least 1)."""
    local = moment.astimezone(CHINA_STANDARD_TIME)
    midnight = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(), CHINA_STANDARD_TIME
    )
    return max(1, int((midnight - local).total_seconds() + 0.999))


# -- the terms -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What the department decided on a written application (art. 22)."""

    partner_name: str
    credit_code: str
    partner_kind: str
    application_sha256: bytes
    purpose: str
    scenario: str
    operations: tuple[str, ...]
    fields: tuple[str, ...]
    provinces: tuple[str, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    daily_quota: int
    no_commercial_use: bool
    approved_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "partner_name": self.partner_name,
            "credit_code": self.credit_code,
            "partner_kind": self.partner_kind,
            "application_sha256": self.application_sha256.hex(),
            "purpose": self.purpose,
            "scenario": self.scenario,
            "operations": list(self.operations),
            "fields": list(self.fields),
            "provinces": list(self.provinces),
            "starts_at": _time_text(self.starts_at),
            "ends_at": _time_text(self.ends_at),
            "daily_quota": self.daily_quota,
            "no_commercial_use": self.no_commercial_use,
            "approved_by": self.approved_by,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Agreement:
    """A recorded agreement: its terms, who recorded it, and its end when it ended."""

    id: str
    province: str
    terms: AgreementTerms
    state: str
    created_at: dt.datetime
    created_by: str
    ended_at: dt.datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    #: What the partner was told to do with the data it read (delete it, and by when).
    deletion_instruction: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "province": self.province,
            **self.terms.to_json(),
            "state": self.state,
            "created_at": _time_text(self.created_at),
            "created_by": self.created_by,
            "ended_at": None if self.ended_at is None else _time_text(self.ended_at),
            "ended_by": self.ended_by,
            "end_reason": self.end_reason,
            "deletion_instruction": self.deletion_instruction,
        }


def _time_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 time with its offset (``2026-01-01T00:00:00+08:00``, ``…Z``).

    Raises:
        InvalidInput: ``field`` / ``sharing.time`` (not such a time).
    """
    if not isinstance(value, str):
        raise InvalidInput(field, "sharing.time", "an ISO 8601 time with its offset")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "sharing.time", "an ISO 8601 time with its offset") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, "sharing.time", "give the offset, e.g. +08:00")
    return moment.astimezone(dt.UTC)


def _text(r: Reader, key: str, *, required: bool = True) -> str:
    value = r.raw(key)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
        raise InvalidInput(r.at(key), "sharing.text", f"a text of 1-{MAX_TEXT} characters")
    return value.strip()


def _choices(
    r: Reader, key: str, allowed: Sequence[str], *, empty: bool = False
) -> tuple[str, ...]:
    value = r.raw(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(r.at(key), "sharing.list", "a list of strings")
    chosen = tuple(dict.fromkeys(value))
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise InvalidInput(
            r.at(key), f"sharing.{key}", f"unknown {unknown[0]!r}; one of {', '.join(allowed)}"
        )
    if not chosen and not empty:
        raise InvalidInput(r.at(key), f"sharing.{key}", "give at least one")
    return chosen


TERMS_KEYS: Final = frozenset(
    {
        "partner_name",
        "credit_code",
        "partner_kind",
        "application_sha256",
        "purpose",
        "scenario",
        "operations",
        "fields",
        "provinces",
        "starts_at",
        "ends_at",
        "daily_quota",
        "no_commercial_use",
        "approved_by",
    }
)


def parse_terms(value: Any, path: str = "agreement") -> AgreementTerms:
    """Parse and check the terms of an agreement (the JSON of ``certreg node sharing add`` and
    ``POST /v1/sharing/agreements``).

    Raises:
        InvalidInput: the first wrong value, naming it: ``schema.*`` (keys), ``sharing.text``,
            ``uscc.format`` / ``uscc.check`` (``credit_code``), ``sharing.partner_kind``,
            ``sharing.application`` (not 64 hex digits), ``sharing.operations``,
            ``sharing.fields``, ``sharing.provinces``, ``sharing.time``, ``sharing.period``
            (``ends_at`` not after ``starts_at``), ``sharing.quota``,
            ``sharing.commercial_use`` (the undertaking is not given: art. 21).
    """
    r = Reader(value, path)
    r.keys(set(TERMS_KEYS))
    partner_kind = r.raw("partner_kind")
    if partner_kind not in PARTNER_KINDS:
        raise InvalidInput(
            r.at("partner_kind"), "sharing.partner_kind", f"one of {', '.join(PARTNER_KINDS)}"
        )
    application = r.raw("application_sha256")
    if not isinstance(application, str) or not _HEX64.fullmatch(application):
        raise InvalidInput(
            r.at("application_sha256"),
            "sharing.application",
            "the SHA-256 of the written application, 64 lowercase hex digits",
        )
    starts_at = parse_time(r.raw("starts_at"), r.at("starts_at"))
    ends_at = parse_time(r.raw("ends_at"), r.at("ends_at"))
    if ends_at <= starts_at:
        raise InvalidInput(r.at("ends_at"), "sharing.period", "must be after starts_at")
    quota = r.raw("daily_quota")
    if type(quota) is not int or not 1 <= quota <= MAX_QUOTA:
        raise InvalidInput(r.at("daily_quota"), "sharing.quota", f"an integer 1-{MAX_QUOTA}")
    if r.raw("no_commercial_use") is not True:
        raise InvalidInput(
            r.at("no_commercial_use"),
            "sharing.commercial_use",
            "the partner must undertake not to use the data commercially (data guide art. 21)",
        )
    return AgreementTerms(
        partner_name=_text(r, "partner_name"),
        credit_code=check_uscc(str(r.raw("credit_code")), r.at("credit_code")),
        partner_kind=str(partner_kind),
        application_sha256=bytes.fromhex(application),
        purpose=_text(r, "purpose"),
        scenario=_text(r, "scenario"),
        operations=_choices(r, "operations", OPERATIONS),
        fields=_choices(r, "fields", PERSONAL_FIELDS, empty=True),
        provinces=_choices(r, "provinces", tuple(PROVINCES)),
        starts_at=starts_at,
        ends_at=ends_at,
        daily_quota=quota,
        no_commercial_use=True,
        approved_by=_text(r, "approved_by"),
    )


def check_agreement_id(text: str, field: str = "agreement") -> str:
    """An agreement id: the recording province and six digits (``41-000001``).

    Raises:
        InvalidInput: ``field`` / ``sharing.agreement_id``.
    """
    value = text.strip()
    if not AGREEMENT_ID.fullmatch(value):
        raise InvalidInput(field, "sharing.agreement_id", "an agreement id such as 41-000001")
    return value


# -- using an agreement ----------------------------------------------------------------------


def check_use(
    agreement: Agreement,
    *,
    now: dt.datetime,
    operation: str,
    province: str | None,
    purpose: str | None = None,
) -> None:
    """Refuse a use the agreement does not allow (the quota is counted by the caller);
    ``province`` None: the provinces are filtered by the caller (:func:`covered`).

    Raises:
        AccessDenied: ``agreement`` / ``sharing.ended`` (ended), ``sharing.period`` (before
            ``starts_at`` or from ``ends_at`` on), ``operation`` / ``sharing.operation`` (not
            an allowed operation), ``province`` / ``sharing.province`` (the certificate's
            province is not covered), ``UseFor`` / ``sharing.purpose`` (a purpose other than
            the agreement's).
    """
    terms = agreement.terms
    if agreement.state != "active":
        raise AccessDenied("agreement", "sharing.ended", f"agreement {agreement.id} has ended")
    if now < terms.starts_at:
        raise AccessDenied(
            "agreement", "sharing.period", f"agreement {agreement.id} starts {terms.starts_at}"
        )
    if now >= terms.ends_at:
        raise AccessDenied(
            "agreement", "sharing.period", f"agreement {agreement.id} ended {terms.ends_at}"
        )
    if operation not in terms.operations:
        raise AccessDenied(
            "operation",
            "sharing.operation",
            f"agreement {agreement.id} allows {', '.join(terms.operations)}, not {operation}",
        )
    if province is not None and province not in terms.provinces:
        raise AccessDenied(
            "province",
            "sharing.province",
            f"agreement {agreement.id} does not cover province {province}",
        )
    if purpose is not None and purpose.strip() and purpose.strip() != terms.purpose:
        raise AccessDenied(
            "UseFor", "sharing.purpose", f"agreement {agreement.id} was granted for another purpose"
        )


def covered(agreement: Agreement, provinces: Sequence[str]) -> tuple[list[str], list[str]]:
    """``provinces`` split into those the agreement covers and those it does not."""
    allowed = set(agreement.terms.provinces)
    return [p for p in provinces if p in allowed], [p for p in provinces if p not in allowed]


def agreement_from_json(value: Any) -> Agreement:
    """An agreement as :meth:`Agreement.to_json` wrote it (forwarded by another province with
    its partner's query): the terms checked as :func:`parse_terms` does.

    Raises:
        InvalidInput: ``agreement…`` naming the first wrong value.
    """
    r = Reader(value, "agreement")
    extra = {
        "id",
        "province",
        "state",
        "created_at",
        "created_by",
        "ended_at",
        "ended_by",
        "end_reason",
        "deletion_instruction",
    }
    r.keys(set(TERMS_KEYS) | extra)
    state = r.raw("state")
    if state not in AGREEMENT_STATES:
        raise InvalidInput("agreement.state", "sharing.state", "active or ended")
    province = r.string("province")
    agreement_id = check_agreement_id(r.string("id"), "agreement.id")
    if agreement_id[:2] != province:
        raise InvalidInput("agreement.id", "sharing.agreement_id", "not of its province")
    return Agreement(
        id=agreement_id,
        province=province,
        terms=parse_terms({k: value[k] for k in TERMS_KEYS}),
        state=str(state),
        created_at=parse_time(r.raw("created_at"), "agreement.created_at"),
        created_by=r.string("created_by"),
    )


# -- views -----------------------------------------------------------------------------------


def mask_id_number(id_number: str) -> str:
    """Keep the first four characters (the province and city of a resident ID) and the last
    four, mask the rest: ``440106199001011234`` → ``4401**********1234``. Numbers of eight
    characters or fewer keep only their last two."""
    if len(id_number) > 8:
        return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]
    return "*" * max(0, len(id_number) - 2) + id_number[-2:]


def mask_name(name: str) -> str:
    """Keep the first character (the surname, mostly): ``张三丰`` → ``张**``."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_field(name: str, value: str) -> str:
    """The masked form of personal field ``name``."""
    return mask_id_number(value) if name == "id_number" else mask_name(value)


def certificate_view(certificate: Certificate, full: Sequence[str]) -> dict[str, Any]:
    """The certificate's fields with the personal fields not in ``full`` masked.

    The public two-of-three search gives ``full = ("holder_name",)``: the searcher knew two of
    the three already, and the ID number is masked (the national query practice).
    """
    fields: dict[str, Any] = dict(certificate.fields())
    for name in PERSONAL_FIELDS:
        if name not in full:
            fields[name] = mask_field(name, str(fields[name]))
    return fields


# -- traffic monitoring ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class TrafficThresholds:
    """When a partner's day looks like harvesting (art. 22 流量监控).

    A day is flagged when it has at least ``min_queries`` queries and either its share of misses
    (queries that matched nothing) reaches ``miss_share``, or the share of distinct names among
    its queries reaches ``distinct_name_share`` (a service checking its own applicants repeats
    and mostly finds; a harvester tries ever new names and mostly misses).
    """

    min_queries: int = 20
    miss_share: float = 0.5
    distinct_name_share: float = 0.9


@dataclasses.dataclass(frozen=True, slots=True)
class TrafficDay:
    """One requester's reads of personal data on one China day."""

    day: dt.date
    queries: int
    found: int
    misses: int
    refused: int
    distinct_names: int
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "day": self.day.isoformat(), "flags": list(self.flags)}


def assess_traffic(day: TrafficDay, thresholds: TrafficThresholds) -> TrafficDay:
    """``day`` with its flags: ``harvest.misses`` and/or ``harvest.distinct_names``."""
    flags: list[str] = []
    if day.queries >= thresholds.min_queries:
        if day.misses / day.queries >= thresholds.miss_share:
            flags.append("harvest.misses")
        if day.distinct_names / day.queries >= thresholds.distinct_name_share:
            flags.append("harvest.distinct_names")
    return dataclasses.replace(day, flags=tuple(flags))
