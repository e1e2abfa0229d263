"""An occupation that left the catalogue (人社厅发〔2020〕80号 四: 退出目录前已发放的职业资格证书
继续有效): a catalogue entry with a ``removed`` date; a certificate issued before it is accepted,
one issued on or after it refused (``occupation.removed``)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from certreg.dev.sample import sample_certificate
from node.core.errors import InvalidInput
from node.core.rules.occupations import parse_catalogue
from node.core.rules.vocabulary import Vocabulary


def _vocabulary(removed: str) -> tuple[Vocabulary, object]:
    certificate = sample_certificate(
        random.Random(6), 5, certificate_type="vocational_qualification"
    )
    catalogue = parse_catalogue(
        {
            "version": 1,
            "entries": [
                {
                    "code": certificate.occupation_code,
                    "name": certificate.occupation_name,
                    "level": "occupation",
                    "removed": removed,
                }
            ],
        }
    )
    return Vocabulary(occupations=catalogue), certificate


@pytest.mark.parametrize(
    ("issued", "refused"),
    [("2021-06-30", False), ("2021-07-01", True), ("2025-06-18", True)],
)
def test_certificates_issued_before_the_removal_stay_valid(issued: str, refused: bool) -> None:
    vocabulary, certificate = _vocabulary("2021-07-01")
    dated = dataclasses.replace(certificate, issue_date=issued)  # type: ignore[type-var]
    if not refused:
        assert vocabulary.check(dated) == ()
        return
    with pytest.raises(InvalidInput) as caught:
        vocabulary.check(dated)
    assert (caught.value.field, caught.value.rule) == ("issue_date", "occupation.removed")


@pytest.mark.parametrize("removed", ["2021-7-1", "2021-02-30", 20210701])
def test_a_removal_date_is_a_calendar_date(removed: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_catalogue(
            {
                "version": 1,
                "entries": [
                    {
                        "code": "6-18-01-01",
                        "name": "车工",
                        "level": "occupation",
                        "removed": removed,
                    }
                ],
            }
        )
    assert caught.value.rule == "occupation.catalogue_document"
    assert caught.value.field == "entries[0].removed"
