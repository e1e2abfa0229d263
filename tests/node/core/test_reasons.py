"""Reason codes: one action per code, uint16, sources cited, check_reason and check_correction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import InvalidInput
from node.core.formats.entry import STATUS_KINDS
from node.core.rules.reasons import (
    ACTIONS,
    MAX_REASON,
    REASONS,
    REASONS_BY_ACTION,
    Reason,
    check_correction,
    check_lineage,
    check_reason,
    lineage_changes_name_and_id,
)

# The hundreds digit of a code names its action (module docstring).
BLOCKS = {1: "revoke", 2: "suspend", 3: "reinstate", 4: "correct", 5: "delete", 6: "issue"}


def test_every_code_has_one_entry_in_its_block() -> None:
    assert set(REASONS) == set(Reason)
    for code, info in REASONS.items():
        assert info.code is code
        assert 0 < code <= MAX_REASON
        assert BLOCKS[code // 100] == info.action
        assert info.zh and info.en and info.source
        assert "〕" in info.source or "指引" in info.source  # cites a seed document


def test_actions_are_the_entry_kinds_with_reasons() -> None:
    assert set(STATUS_KINDS) | {"correct", "issue"} == set(ACTIONS)
    assert all(REASONS_BY_ACTION[action] for action in ACTIONS)
    assert sum(len(codes) for codes in REASONS_BY_ACTION.values()) == len(Reason)


def test_the_misconduct_revocation_reasons_are_there() -> None:
    revoke = REASONS_BY_ACTION["revoke"]
    for reason in (
        Reason.CANDIDATE_CHEATING,
        Reason.ORGANISATION_DATA_FABRICATION,
        Reason.UPLOAD_OUTSIDE_FILED_SCOPE,
        Reason.ERRONEOUS_UPLOAD,
    ):
        assert reason in revoke
    assert "art. 15" in REASONS[Reason.UPLOAD_OUTSIDE_FILED_SCOPE].source
    assert "art. 15" in REASONS[Reason.ERRONEOUS_UPLOAD].source
    assert "14(五)" in REASONS[Reason.ORGANISATION_DATA_FABRICATION].source


@pytest.mark.parametrize("reason", list(Reason))
def test_each_code_is_accepted_for_its_action_only(reason: Reason) -> None:
    action = REASONS[reason].action
    assert check_reason(action, int(reason)) is reason
    for other in ACTIONS:
        if other != action:
            with pytest.raises(InvalidInput) as caught:
                check_reason(other, int(reason))
            assert (caught.value.field, caught.value.rule) == ("reason", "reason.not_for_action")


@given(st.integers(min_value=-(2**20), max_value=2**20).filter(lambda n: n not in set(Reason)))
def test_unknown_codes_are_refused(code: int) -> None:
    for action in ACTIONS:
        with pytest.raises(InvalidInput) as caught:
            check_reason(action, code)
        assert (caught.value.field, caught.value.rule) == ("reason", "reason.unknown")


@pytest.mark.parametrize("code", [0, True, "101", 101.0, None])
def test_zero_and_non_integers_are_refused(code: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_reason("revoke", code)  # type: ignore[arg-type]
    assert caught.value.rule == "reason.unknown"


def test_unknown_action_and_custom_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_reason("publish", 101)
    assert (caught.value.field, caught.value.rule) == ("action", "reason.unknown_action")
    with pytest.raises(InvalidInput) as caught:
        check_reason("issue", 101, field="late_reason")
    assert (caught.value.field, caught.value.rule) == ("late_reason", "reason.not_for_action")


@pytest.mark.parametrize(
    ("changed", "code"),
    [
        ({"holder_name"}, Reason.HOLDER_NAME_ERROR),
        ({"holder_name", "issue_date"}, Reason.HOLDER_NAME_ERROR),
        ({"id_number"}, Reason.ID_NUMBER_ERROR),
        ({"id_type", "id_number"}, Reason.ID_NUMBER_ERROR),
        ({"occupation_name", "occupation_code"}, Reason.OTHER_FIELD_ERROR),
        ({"issue_date"}, Reason.OTHER_FIELD_ERROR),
    ],
)
def test_corrections_that_match_their_reason(changed: set[str], code: Reason) -> None:
    assert check_correction(changed, code) is code


@pytest.mark.parametrize(
    ("changed", "code", "field", "rule"),
    [
        # Data guide art. 14: only one of holder name and ID number in one correction.
        ({"holder_name", "id_number"}, Reason.HOLDER_NAME_ERROR, "id_number",
         "correct.name_and_id_number"),
        ({"holder_name", "id_type"}, Reason.ID_NUMBER_ERROR, "id_number",
         "correct.name_and_id_number"),
        (set(), Reason.OTHER_FIELD_ERROR, "reason", "correct.nothing_changed"),
        ({"issue_date"}, Reason.HOLDER_NAME_ERROR, "reason", "correct.reason_mismatch"),
        ({"holder_name"}, Reason.ID_NUMBER_ERROR, "reason", "correct.reason_mismatch"),
        ({"holder_name", "level"}, Reason.OTHER_FIELD_ERROR, "reason", "correct.reason_mismatch"),
        ({"level"}, Reason.CANDIDATE_CHEATING, "reason", "reason.not_for_action"),
    ],
)  # fmt: skip
def test_corrections_refused(changed: set[str], code: Reason, field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_correction(changed, code)
    assert (caught.value.field, caught.value.rule) == (field, rule)


@pytest.mark.parametrize(
    ("changed", "refused"),
    [
        ({"holder_name"}, False),
        ({"id_number", "occupation_name"}, False),
        ({"holder_name", "id_number"}, True),
        ({"holder_name", "id_type"}, True),
    ],
)
def test_check_lineage(changed: set[str], refused: bool) -> None:
    if not refused:
        check_lineage(changed)
        return
    with pytest.raises(InvalidInput) as info:
        check_lineage(changed)
    assert (info.value.field, info.value.rule) == (
        "id_number",
        "correct.lineage_name_and_id_number",
    )


def test_lineage_reasons() -> None:
    assert lineage_changes_name_and_id({401, 403, 402})
    assert not lineage_changes_name_and_id({401, 403})
