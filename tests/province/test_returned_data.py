"""Returned data (issue #17, item 7; data guide 中就培发〔2022〕1号 第十一条): the province
returns a certificate's data for correction; the corrected version resubmitted within 20
working days goes through the correction rules into the review queue, one resubmitted later is
refused (``returned.deadline``) and nothing is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from node.core.errors import InvalidInput
from node.core.rules.reasons import Reason
from node.core.time import CHINA_STANDARD_TIME
from node.storage import Database
from node.storage.returns import ReturnRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.province.helpers import (
    ACTOR,
    NOW,
    certificate,
    file_sample_organisation,
    issue,
    make_node,
    salted,
    sign,
)

ORG_USER = "org:clerk"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def on(self, day: dt.date) -> None:
        """10:00 in China on ``day``."""
        self.now = dt.datetime(day.year, day.month, day.day, 10, tzinfo=CHINA_STANDARD_TIME)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def node(database: Database, reg: Registry, tmp_path: Path, clock: Clock) -> ProvinceNode:
    file_sample_organisation(database, reg.as_(0))
    return make_node(database, reg.as_(0), tmp_path, clock=clock)


def refusal(call: object, *args: object, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.field, caught.value.rule


def resubmit(node: ProvinceNode, commitment: bytes, serial: int) -> object:
    name = certificate(serial).occupation_name + "（更正）"
    fixed = salted(certificate(serial, occupation_name=name))
    return node.returns.resubmit(
        commitment,
        fixed,
        sign(node, fixed),
        reason=Reason.OTHER_FIELD_ERROR,
        requested_by=ORG_USER,
        confirmed_by=ACTOR,
    )


def test_return_records_the_deadline_and_refuses_what_is_wrong(
    node: ProvinceNode, clock: Clock
) -> None:
    first = issue(node, 1)
    returned = node.returns.return_certificate(first.commitment, reason="工种名称有误", actor=ACTOR)
    returned_on = NOW.astimezone(CHINA_STANDARD_TIME).date()
    assert returned.state == "returned" and returned.returned_on == returned_on
    # 20 working days (data guide 第十一条), counted in the node's calendar.
    assert returned.deadline == node.calendar.correction_deadline(returned_on)
    assert returned.deadline == dt.date(2025, 7, 18)
    ret = node.returns.return_certificate
    assert refusal(ret, first.commitment, reason="again", actor=ACTOR) == (
        "commitment",
        "returned.already",
    )
    second = issue(node, 2)
    assert refusal(ret, second.commitment, reason=" ", actor=ACTOR) == (
        "reason",
        "returned.reason",
    )
    holder = certificate(2).holder_name
    assert refusal(ret, second.commitment, reason=f"{holder} 的姓名有误", actor=ACTOR) == (
        "note",
        "note.personal_data",
    )
    assert refusal(ret, bytes(32), reason="x", actor=ACTOR)[1] == "certificate.unknown"
    assert refusal(resubmit, node, second.commitment, 2) == (
        "commitment",
        "returned.not_returned",
    )


def test_resubmitted_on_the_deadline_goes_into_review(
    node: ProvinceNode, clock: Clock, database: Database
) -> None:
    accepted = issue(node, 1)
    returned = node.returns.return_certificate(
        accepted.commitment, reason="工种名称有误", actor=ACTOR
    )
    clock.on(returned.deadline)
    outcome = resubmit(node, accepted.commitment, 1)
    assert outcome.kind == "correct" and outcome.supersedes == accepted.commitment  # type: ignore[attr-defined]
    new = outcome.commitment  # type: ignore[attr-defined]
    [flag] = [f for f in node.review.queue("open") if f.target_id == new.hex()]
    assert flag.code == "returned.resubmitted"
    with database.transaction() as session:
        [row] = ReturnRepository(session).in_state("44", "resubmitted")
    assert row.resubmitted_commitment == new and row.commitment == accepted.commitment
    # Once resubmitted it is no longer open.
    assert refusal(resubmit, node, accepted.commitment, 1)[1] == "returned.not_returned"


def test_resubmitted_after_the_deadline_is_refused_and_nothing_is_written(
    node: ProvinceNode, clock: Clock
) -> None:
    accepted = issue(node, 3)
    returned = node.returns.return_certificate(
        accepted.commitment, reason="工种名称有误", actor=ACTOR
    )
    size = node.status().log_size
    clock.on(returned.deadline + dt.timedelta(days=1))
    assert refusal(resubmit, node, accepted.commitment, 3) == ("received_on", "returned.deadline")
    assert node.status().log_size == size
    assert node.lifecycle.certificate(accepted.commitment).status == "active"
    assert not [f for f in node.review.queue("open") if f.code == "returned.resubmitted"]
