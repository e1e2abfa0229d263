"""``POST /v1/certificates/{commitment}/return`` and ``…/resubmit`` (issue #17, item 7; data
guide 中就培发〔2022〕1号 第十一条)."""

from __future__ import annotations

from node.core.issuer import submission_row
from node.core.rules.reasons import Reason
from tests.api.conftest import Api
from tests.province.helpers import certificate, salted, sign


def test_return_then_resubmit_within_the_deadline(api: Api) -> None:
    c = api.client
    target = api.issued[0].commitment.hex()
    path = f"/v1/certificates/{target}"
    # Only the province's operator returns data.
    denied = c.post(f"{path}/return", json={"reason": "职业名称有误"}, headers=api.auth("issuer"))
    assert (denied.status_code, denied.json()["rule"]) == (403, "auth.role")
    returned = c.post(
        f"{path}/return", json={"reason": "职业名称有误"}, headers=api.auth("operator")
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["state"] == "returned"
    assert returned.json()["deadline"] == "2025-07-18"  # 20 working days after 2025-06-20
    again = c.post(f"{path}/return", json={"reason": "x"}, headers=api.auth("operator"))
    assert (again.status_code, again.json()["rule"]) == (422, "returned.already")

    name = certificate(1).occupation_name + "（更正）"
    fixed = salted(certificate(1, occupation_name=name))
    body = {
        "row": submission_row(fixed, sign(api.node, fixed)),
        "reason": int(Reason.OTHER_FIELD_ERROR),
        "requested_by": "org:clerk",
    }
    done = c.post(f"{path}/resubmit", json=body, headers=api.auth("operator"))
    assert done.status_code == 201, done.text
    new = done.json()["commitment"]
    assert [f.code for f in api.node.review.queue("open") if f.target_id == new] == [
        "returned.resubmitted"
    ]
    twice = c.post(f"{path}/resubmit", json=body, headers=api.auth("operator"))
    assert (twice.status_code, twice.json()["rule"]) == (422, "returned.not_returned")
    other = api.issued[1].commitment.hex()
    never = c.post(f"/v1/certificates/{other}/resubmit", json=body, headers=api.auth("operator"))
    assert (never.status_code, never.json()["rule"]) == (422, "returned.not_returned")
