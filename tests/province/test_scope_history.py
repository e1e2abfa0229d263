"""The filed scope in force on the issue date (豫人社办函〔2021〕155号 二(二)2: an incremental
filing, 增量备案, takes effect before certificates of the occupation are issued): scope items
carry ``effective_from`` / ``effective_until``; intake, corrections and the bulk path refuse a
certificate issued outside the item's dates (``scope.not_in_force``) and accept one inside."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from certreg.dev.sample import KEY_VALID_FROM
from certreg.dev.sample import SAMPLE_ORGANISATION_NAME as ORG_NAME
from node.core.errors import InvalidInput
from node.core.formats.submissions import parse_submission
from node.core.rules.scope import FiledScope, check_scope, filed_scope, normalise_scope
from node.storage import Database, OrganisationRepository
from province.node import ProvinceNode
from tests.contract.conftest import Registry
from tests.province.helpers import (
    ACTOR,
    KEY,
    NOW,
    ON_TIME,
    ORG,
    SCOPE,
    SUITE,
    certificate,
    make_node,
    salted,
    sign,
)
from tests.province.submissions import write_submission


def _file(db: Database, reg: Registry, scope: list[dict[str, object]]) -> None:
    public_key = SUITE.public_key(KEY)
    with db.transaction() as session:
        orgs = OrganisationRepository(session)
        orgs.add(code=ORG, province="44", name=ORG_NAME, scope=scope, now=NOW)
        orgs.add_key(
            ORG, suite="ed25519", public_key=public_key, valid_from=KEY_VALID_FROM, now=NOW
        )
    reg.as_(0).file_organisation(ORG, b"\x01" * 32, 1, public_key, KEY_VALID_FROM, 0)


def _dated(occupation: str, **dates: str) -> list[dict[str, object]]:
    """The sample scope with ``occupation``'s item dated."""
    return [
        {**item, **dates} if item["occupation_code"] == occupation else dict(item) for item in SCOPE
    ]


def _submit(node: ProvinceNode, serial: int) -> object:
    s = salted(certificate(serial))
    return node.intake.submit(s, sign(node, s), received_on=ON_TIME, late_reason=None, actor=ACTOR)


@pytest.mark.parametrize(
    ("dates", "refused"),
    [
        ({"effective_from": "2025-06-19"}, True),  # added the day after the issue date
        ({"effective_from": "2025-06-18"}, False),  # added on the issue date
        ({"effective_from": "2025-01-01"}, False),
        ({"effective_until": "2025-06-18"}, True),  # removed on the issue date
        ({"effective_from": "2024-01-01", "effective_until": "2025-06-19"}, False),
    ],
)
def test_intake_checks_the_scope_in_force_on_the_issue_date(
    database: Database, reg: Registry, tmp_path: Path, dates: dict[str, str], refused: bool
) -> None:
    cert = certificate(1)
    assert cert.issue_date == "2025-06-18"
    _file(database, reg, _dated(cert.occupation_code, **dates))
    node = make_node(database, reg.as_(0), tmp_path)
    if not refused:
        _submit(node, 1)
        return
    with pytest.raises(InvalidInput) as caught:
        _submit(node, 1)
    assert (caught.value.field, caught.value.rule) == ("issue_date", "scope.not_in_force")


def test_bulk_intake_checks_the_scope_in_force(
    database: Database, reg: Registry, tmp_path: Path
) -> None:
    cert = certificate(1)
    _file(database, reg, _dated(cert.occupation_code, effective_from="2025-06-19"))
    node = make_node(database, reg.as_(0), tmp_path)
    path = write_submission(tmp_path / "b.jsonl", node.network, range(1, 2))
    with path.open("rb") as stream:
        result = node.intake.submit_bulk(
            parse_submission(stream, "jsonl"), mode="per_row", received_on=ON_TIME, actor=ACTOR
        )
    [outcome] = result.outcomes
    assert outcome.error is not None
    assert (outcome.error.field, outcome.error.rule) == ("issue_date", "scope.not_in_force")


def test_scope_items_dates_are_checked_and_written_only_when_set() -> None:
    undated = normalise_scope([{"occupation_code": "6-18-01-01", "levels": [3]}])
    assert undated[0].to_json() == {"occupation_code": "6-18-01-01", "levels": [3]}
    dated = normalise_scope(
        [{"occupation_code": "6-18-01-01", "levels": [3], "effective_from": "2025-03-01"}]
    )
    assert dated[0].to_json()["effective_from"] == "2025-03-01"
    for item, rule in (
        ({"effective_from": "2025-3-1"}, "scope.effective_date"),
        ({"effective_from": "2025-02-30"}, "scope.effective_date"),
        (
            {"effective_from": "2025-03-01", "effective_until": "2025-03-01"},
            "scope.effective_order",
        ),
    ):
        with pytest.raises(InvalidInput) as caught:
            normalise_scope([{"occupation_code": "6-18-01-01", "levels": [3], **item}])
        assert caught.value.rule == rule
    scope = filed_scope(
        [
            {"occupation_code": "6-18-01-01", "levels": [3], "effective_from": "2025-03-01"},
            {"occupation_code": "6-18-01-01", "work_type_code": "6-18-01-01-02", "levels": [4]},
        ]
    )
    assert isinstance(scope, FiledScope) and scope.on("2025-02-28") == {
        "6-18-01-01-02": frozenset({4})
    }
    cert = dataclasses.replace(certificate(1), occupation_code="6-18-01-01", level=3)
    check_scope(dataclasses.replace(cert, issue_date="2025-03-01"), scope)
    with pytest.raises(InvalidInput) as caught:
        check_scope(dataclasses.replace(cert, issue_date="2025-02-28"), scope)
    assert caught.value.rule == "scope.not_in_force"
