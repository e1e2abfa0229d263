"""Reason codes: why a certificate was revoked, suspended, reinstated, corrected, deleted or
uploaded late.

A reason code is a ``uint16``: the ``reason`` of a log entry (docs/FORMATS.md "Log entries")
and of a status change on the contract. Each code belongs to exactly one action, the log entry
kind it may appear in; the hundreds digit names the action so that a code read from the chain
is self-describing:

======  =============  ===========================================================
codes   action         source
======  =============  ===========================================================
0       (none)         never valid: the contract's default value, "no reason"
1xx     ``revoke``     技能人才评价违纪违规行为处理工作指引 (misconduct guidelines,
                       seed 002) arts. 8, 12, 14, 15
2xx     ``suspend``    中就培发〔2022〕1号 (data guide, seed 002) art. 17: screening
                       suspends the query service until the province reviews;
                       misconduct guidelines art. 13
3xx     ``reinstate``  data guide art. 17 (review found nothing), misconduct
                       guidelines art. 19 (decision reversed on review)
4xx     ``correct``    data guide arts. 11, 14
5xx     ``delete``     data guide art. 15: logical deletion at the province's request
6xx     ``issue``      data guide art. 12: written reason for a late upload
======  =============  ===========================================================

The sources require a reason but, except for misconduct, do not list the reasons; the
sub-categories of ``suspend``, ``correct``, ``delete`` and ``issue`` are this project's, each
tied to the article that asks for a reason. Codes are never renumbered or reused: a retired
code stays in the table.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import Final

from node.core.errors import InvalidInput

#: Actions: the log entry kinds that carry a reason (docs/FORMATS.md). ``issue`` carries one
#: only when the upload is late.
ACTION_REVOKE: Final = "revoke"
ACTION_SUSPEND: Final = "suspend"
ACTION_REINSTATE: Final = "reinstate"
ACTION_CORRECT: Final = "correct"
ACTION_DELETE: Final = "delete"
ACTION_ISSUE: Final = "issue"
ACTIONS: Final[tuple[str, ...]] = (
    ACTION_REVOKE,
    ACTION_SUSPEND,
    ACTION_REINSTATE,
    ACTION_CORRECT,
    ACTION_DELETE,
    ACTION_ISSUE,
)

#: Largest reason code (uint16 on chain).
MAX_REASON: Final = 65535


class Reason(enum.IntEnum):
    """Every reason code. Labels and sources are in :data:`REASONS`."""

    # Revocation (misconduct guidelines).
    CANDIDATE_CHEATING = 101
    CANDIDATE_FALSE_ELIGIBILITY = 102
    CANDIDATE_IMPERSONATION = 103
    ORGANISATION_DATA_FABRICATION = 104
    UPLOAD_OUTSIDE_FILED_SCOPE = 105
    ERRONEOUS_UPLOAD = 106
    RESULTS_DECLARED_VOID = 107
    ORGANISED_CHEATING = 108
    FORGED_APPLICATION_MATERIALS = 109
    STAFF_RECORD_FALSIFICATION = 110
    # Suspension (screening, data guide art. 17).
    SCREENING_PASS_RATE = 201
    SCREENING_OUTSIDE_SCOPE = 202
    SCREENING_ID_BURST = 203
    SCREENING_ISSUE_DATE = 204
    SCREENING_SERIAL = 205
    COMPLAINT_UNDER_INVESTIGATION = 206
    ORGANISATION_UNDER_INVESTIGATION = 207
    # Reinstatement.
    REVIEW_CLEARED = 301
    DECISION_REVERSED_ON_REVIEW = 302
    # Correction (data guide arts. 11, 14).
    HOLDER_NAME_ERROR = 401
    ID_NUMBER_ERROR = 402
    OTHER_FIELD_ERROR = 403
    # Logical deletion (data guide art. 15).
    PROVINCE_REQUEST = 501
    DUPLICATE_RECORD = 502
    # Late upload (data guide art. 12).
    LATE_SYSTEM_FAILURE = 601
    LATE_ORGANISATION_DELAY = 602
    LATE_FORCE_MAJEURE = 603
    LATE_RESULTS_UNDER_REVIEW = 604
    LATE_OTHER = 605


@dataclasses.dataclass(frozen=True, slots=True)
class ReasonInfo:
    """What one reason code means."""

    code: Reason
    action: str
    zh: str
    en: str
    source: str


def _info(code: Reason, action: str, zh: str, en: str, source: str) -> ReasonInfo:
    return ReasonInfo(code=code, action=action, zh=zh, en=en, source=source)


_MISCONDUCT = "技能人才评价违纪违规行为处理工作指引"
_GUIDE = "中就培发〔2022〕1号"

#: The reason table, keyed by code.
REASONS: Final[Mapping[Reason, ReasonInfo]] = MappingProxyType(
    {
        info.code: info
        for info in (
            # --- revoke: misconduct found after issuance voids the result (指引 art. 8) ---
            _info(
                Reason.CANDIDATE_CHEATING,
                ACTION_REVOKE,
                "参评人员作弊等违纪违规，评价成绩无效",
                "candidate cheated or broke the rules; results declared void",
                f"{_MISCONDUCT} arts. 6, 7, 8",
            ),
            _info(
                Reason.CANDIDATE_FALSE_ELIGIBILITY,
                ACTION_REVOKE,
                "参评人员以虚假承诺、虚假材料等非正当手段取得评价资格",
                "candidate obtained eligibility by false statements or materials",
                f"{_MISCONDUCT} arts. 7(一), 8",
            ),
            _info(
                Reason.CANDIDATE_IMPERSONATION,
                ACTION_REVOKE,
                "由他人冒名顶替参加评价",
                "someone else sat the assessment for the candidate",
                f"{_MISCONDUCT} arts. 7(四), 8",
            ),
            _info(
                Reason.ORGANISATION_DATA_FABRICATION,
                ACTION_REVOKE,
                "评价机构证书数据造假",
                "the organisation fabricated certificate data",
                f"{_MISCONDUCT} art. 14(五)",
            ),
            _info(
                Reason.UPLOAD_OUTSIDE_FILED_SCOPE,
                ACTION_REVOKE,
                "评价机构超范围上传证书数据",
                "uploaded outside the organisation's filed scope",
                f"{_MISCONDUCT} art. 15; {_GUIDE} art. 9",
            ),
            _info(
                Reason.ERRONEOUS_UPLOAD,
                ACTION_REVOKE,
                "评价机构上传证书数据有错误",
                "the organisation uploaded erroneous certificate data",
                f"{_MISCONDUCT} art. 15",
            ),
            _info(
                Reason.RESULTS_DECLARED_VOID,
                ACTION_REVOKE,
                "监管部门宣布当次评价颁发证书无效",
                "the supervising department declared the session's certificates void",
                f"{_MISCONDUCT} art. 12",
            ),
            _info(
                Reason.ORGANISED_CHEATING,
                ACTION_REVOKE,
                "考场秩序混乱，有组织舞弊",
                "organised cheating at the assessment",
                f"{_MISCONDUCT} arts. 7(五), 14(四)",
            ),
            _info(
                Reason.FORGED_APPLICATION_MATERIALS,
                ACTION_REVOKE,
                "评价机构为参评人员伪造申报资料或证件",
                "the organisation forged application materials or documents for the candidate",
                f"{_MISCONDUCT} art. 14(三)",
            ),
            _info(
                Reason.STAFF_RECORD_FALSIFICATION,
                ACTION_REVOKE,
                "工作人员篡改评价成绩或在证书管理中弄虚作假",
                "staff altered results or falsified certificate records",
                f"{_MISCONDUCT} arts. 9(四), 10(二)",
            ),
            # --- suspend: screening suspends queries pending review (工作指南 art. 17) ---
            _info(
                Reason.SCREENING_PASS_RATE,
                ACTION_SUSPEND,
                "筛查预警：评价机构获证率异常",
                "screening: the organisation's pass rate is anomalous",
                f"{_GUIDE} art. 17; 湘人社鉴函〔2022〕1号 §四(十七): pass rate over 90 %",
            ),
            _info(
                Reason.SCREENING_OUTSIDE_SCOPE,
                ACTION_SUSPEND,
                "筛查预警：职业（工种）或等级超出备案范围",
                "screening: occupation or level outside the filed scope",
                f"{_GUIDE} arts. 9, 17",
            ),
            _info(
                Reason.SCREENING_ID_BURST,
                ACTION_SUSPEND,
                "筛查预警：同一证件短期内取得多本证书",
                "screening: many certificates for one ID in a short time",
                f"{_GUIDE} art. 17",
            ),
            _info(
                Reason.SCREENING_ISSUE_DATE,
                ACTION_SUSPEND,
                "筛查预警：发证日期异常",
                "screening: implausible issue date",
                f"{_GUIDE} arts. 12, 17",
            ),
            _info(
                Reason.SCREENING_SERIAL,
                ACTION_SUSPEND,
                "筛查预警：证书编号顺序号重复或异常",
                "screening: duplicated or irregular certificate serial",
                f"{_GUIDE} art. 17; 人社鉴发〔2019〕2号 §二",
            ),
            _info(
                Reason.COMPLAINT_UNDER_INVESTIGATION,
                ACTION_SUSPEND,
                "被投诉举报，正在核实",
                "complaint received, under investigation",
                f"{_MISCONDUCT} art. 13(七); {_GUIDE} art. 17",
            ),
            _info(
                Reason.ORGANISATION_UNDER_INVESTIGATION,
                ACTION_SUSPEND,
                "评价机构涉嫌违纪违规，正在调查核实",
                "the organisation is under investigation for misconduct",
                f"{_MISCONDUCT} art. 13(六); {_GUIDE} art. 17",
            ),
            # --- reinstate ---
            _info(
                Reason.REVIEW_CLEARED,
                ACTION_REINSTATE,
                "省级复核无异常，恢复查询",
                "the province's review found nothing; query service restored",
                f"{_GUIDE} art. 17",
            ),
            _info(
                Reason.DECISION_REVERSED_ON_REVIEW,
                ACTION_REINSTATE,
                "经陈述申辩复核，撤销原处理决定",
                "decision reversed after the holder's or organisation's appeal",
                f"{_MISCONDUCT} art. 19",
            ),
            # --- correct: the organisation explains in writing, the province confirms ---
            _info(
                Reason.HOLDER_NAME_ERROR,
                ACTION_CORRECT,
                "持证人姓名有误",
                "holder name was wrong",
                f"{_GUIDE} arts. 11, 14",
            ),
            _info(
                Reason.ID_NUMBER_ERROR,
                ACTION_CORRECT,
                "证件类型或证件号码有误",
                "ID type or ID number was wrong",
                f"{_GUIDE} arts. 11, 14",
            ),
            _info(
                Reason.OTHER_FIELD_ERROR,
                ACTION_CORRECT,
                "其他字段有误",
                "another field was wrong",
                f"{_GUIDE} arts. 11, 14",
            ),
            # --- delete: logical only, requested by the province with a reason ---
            _info(
                Reason.PROVINCE_REQUEST,
                ACTION_DELETE,
                "省级人社部门申请删除",
                "deletion requested by the province",
                f"{_GUIDE} art. 15",
            ),
            _info(
                Reason.DUPLICATE_RECORD,
                ACTION_DELETE,
                "重复上传的证书数据",
                "duplicate upload of the same certificate",
                f"{_GUIDE} art. 15",
            ),
            # --- issue: written reason for a late upload ---
            _info(
                Reason.LATE_SYSTEM_FAILURE,
                ACTION_ISSUE,
                "逾期上传：系统故障",
                "late upload: system failure",
                f"{_GUIDE} art. 12",
            ),
            _info(
                Reason.LATE_ORGANISATION_DELAY,
                ACTION_ISSUE,
                "逾期上传：评价机构工作延误",
                "late upload: delay at the organisation",
                f"{_GUIDE} art. 12",
            ),
            _info(
                Reason.LATE_FORCE_MAJEURE,
                ACTION_ISSUE,
                "逾期上传：不可抗力",
                "late upload: force majeure",
                f"{_GUIDE} art. 12",
            ),
            _info(
                Reason.LATE_RESULTS_UNDER_REVIEW,
                ACTION_ISSUE,
                "逾期上传：成绩复核或申诉处理中",
                "late upload: results were under review or appeal",
                f"{_GUIDE} art. 12; {_MISCONDUCT} art. 19",
            ),
            _info(
                Reason.LATE_OTHER,
                ACTION_ISSUE,
                "逾期上传：其他原因（见书面说明）",
                "late upload: other reason (see the written statement)",
                f"{_GUIDE} art. 12",
            ),
        )
    }
)

_CODES: Final[frozenset[int]] = frozenset(int(code) for code in Reason)

#: The codes allowed for each action.
REASONS_BY_ACTION: Final[Mapping[str, frozenset[Reason]]] = MappingProxyType(
    {
        action: frozenset(code for code, info in REASONS.items() if info.action == action)
        for action in ACTIONS
    }
)


def check_reason(action: str, code: int, *, field: str = "reason") -> Reason:
    """Check that ``code`` is a reason code for ``action`` (one of :data:`ACTIONS`).

    Returns:
        The code as a :class:`Reason`.

    Raises:
        InvalidInput: field ``action``, rule ``reason.unknown_action`` for an unknown action;
            field ``field`` (``reason`` unless told), rule ``reason.unknown`` for a code that
            is not an integer in the table, ``reason.not_for_action`` for a known code of
            another action.
    """
    if action not in REASONS_BY_ACTION:
        raise InvalidInput(
            "action", "reason.unknown_action", f"unknown action; expected one of {ACTIONS}"
        )
    if isinstance(code, bool) or not isinstance(code, int) or code not in _CODES:
        raise InvalidInput(field, "reason.unknown", "not a known reason code")
    reason = Reason(code)
    if reason not in REASONS_BY_ACTION[action]:
        raise InvalidInput(
            field,
            "reason.not_for_action",
            f"reason {int(reason)} is a {REASONS[reason].action} reason, not a {action} reason",
        )
    return reason


#: Fields whose change is named by a correction reason: the personal fields by their own
#: codes, every other field by ``OTHER_FIELD_ERROR``.
_NAME_FIELDS: Final = frozenset({"holder_name"})
_ID_FIELDS: Final = frozenset({"id_type", "id_number"})


def check_correction(changed_fields: AbstractSet[str], code: int) -> Reason:
    """Check a correction (data guide art. 14) against its reason code.

    ``changed_fields`` are the field paths whose values differ between the old and the new
    certificate. Of holder name and ID number only one may change in one correction
    (姓名和证件号码，原则上只能更改其中的一项); the ID type counts with the ID number. The code
    must name what changed: ``HOLDER_NAME_ERROR`` needs ``holder_name`` changed,
    ``ID_NUMBER_ERROR`` needs ``id_type`` or ``id_number`` changed, ``OTHER_FIELD_ERROR`` needs
    another field changed and neither personal field.

    Returns:
        The code as a :class:`Reason`.

    Raises:
        InvalidInput: field ``reason``, rules of :func:`check_reason` (action ``correct``);
            field ``reason``, rule ``correct.nothing_changed``; field ``id_number``, rule
            ``correct.name_and_id_number``; field ``reason``, rule ``correct.reason_mismatch``.
    """
    reason = check_reason(ACTION_CORRECT, code)
    changed = frozenset(changed_fields)
    if not changed:
        raise InvalidInput("reason", "correct.nothing_changed", "a correction must change a field")
    if changed & _NAME_FIELDS and changed & _ID_FIELDS:
        raise InvalidInput(
            "id_number",
            "correct.name_and_id_number",
            "holder name and ID number may not both change in one correction (data guide art. 14)",
        )
    others = changed - _NAME_FIELDS - _ID_FIELDS
    matches = {
        Reason.HOLDER_NAME_ERROR: bool(changed & _NAME_FIELDS),
        Reason.ID_NUMBER_ERROR: bool(changed & _ID_FIELDS),
        Reason.OTHER_FIELD_ERROR: bool(others) and not changed & (_NAME_FIELDS | _ID_FIELDS),
    }
    if not matches[reason]:
        raise InvalidInput(
            "reason", "correct.reason_mismatch", "the reason code does not name the changed field"
        )
    return reason


def check_lineage(changed_from_original: AbstractSet[str]) -> None:
    """Check a correction against the ORIGINAL version of its certificate (data guide art. 14:
    姓名和证件号码，原则上只能更改其中的一项).

    ``changed_from_original`` are the field paths whose values differ between the first
    version ever stored under the certificate number and the new version. A chain of
    corrections that first replaces the holder name and then the ID number (or the other way
    round) would replace the whole identity one step at a time; the limit therefore holds over
    the lineage, not only over one correction.

    Raises:
        InvalidInput: field ``id_number``, rule ``correct.lineage_name_and_id_number``.
    """
    changed = frozenset(changed_from_original)
    if changed & _NAME_FIELDS and changed & _ID_FIELDS:
        raise InvalidInput(
            "id_number",
            "correct.lineage_name_and_id_number",
            "holder name and ID number may not both differ from the original certificate "
            "across its corrections (data guide art. 14)",
        )


def lineage_changes_name_and_id(reasons: AbstractSet[int]) -> bool:
    """Whether the correction reasons of one lineage name both a holder-name change and an
    ID change (the auditor's view of :func:`check_lineage`: it sees the reasons, not the
    personal fields)."""
    return Reason.HOLDER_NAME_ERROR in reasons and Reason.ID_NUMBER_ERROR in reasons
