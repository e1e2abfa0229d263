"""Certificate status: only the own province writes, allowed transitions, batches, history."""

from __future__ import annotations

import pytest

from anchor.chain import StatusChange
from tests.contract.conftest import ZERO, Registry
from tests.contract.helpers import reverts

ACTIVE, REVOKED, SUSPENDED, SUPERSEDED = 0, 1, 2, 3
C1, C2, C3 = b"\xc1" * 32, b"\xc2" * 32, b"\xc3" * 32


def test_revoke(reg: Registry) -> None:
    c = reg.as_(0)
    assert c.certificate_status(44, C1).status == ACTIVE
    result = c.set_status(44, C1, REVOKED, 12)
    assert result.events[0].name == "CertificateStatusChanged"
    assert result.events[0].args == {
        "province": 44,
        "commitment": C1,
        "status": REVOKED,
        "reason": 12,
        "successor": ZERO,
    }
    record = c.certificate_status(44, C1)
    assert (record.status, record.reason, record.changes) == (REVOKED, 12, 1)
    assert record.block_number == result.block_number
    # Keyed by province: the same commitment under another province is untouched.
    assert c.certificate_status(41, C1).status == ACTIVE


def test_only_the_own_province_sets_status(reg: Registry) -> None:
    accounts = reg.chain.accounts
    reverts(
        "MembershipUnauthorizedProvince",
        lambda: reg.as_(1).set_status(44, C1, REVOKED),
        account=accounts[1],
        province=44,
    )
    reverts(
        "MembershipUnauthorizedProvince",
        lambda: reg.as_(1).set_status_batch(44, [StatusChange(C1, REVOKED)]),
    )
    reverts("MembershipNotOperator", lambda: reg.as_(7).set_status(44, C1, REVOKED))
    reverts("MembershipUnauthorizedProvince", lambda: reg.as_(0).set_status(45, C1, REVOKED))
    reg.as_(3).set_status(44, C1, REVOKED)  # Any operator of 44.


def test_suspend_and_reinstate(reg: Registry) -> None:
    c = reg.as_(0)
    c.set_status(44, C1, SUSPENDED, 3)
    reverts(
        "CertificateStatusInvalidTransition",
        lambda: c.set_status(44, C1, SUSPENDED),
        **{"from": SUSPENDED, "to": SUSPENDED},
    )
    c.set_status(44, C1, ACTIVE, 4)
    record = c.certificate_status(44, C1)
    assert (record.status, record.reason, record.changes) == (ACTIVE, 4, 2)
    c.set_status(44, C1, SUSPENDED, 5)
    c.set_status(44, C1, REVOKED, 6)
    assert c.certificate_status(44, C1).changes == 4


def test_reinstatement_only_from_suspended(reg: Registry) -> None:
    c = reg.as_(0)
    reverts(
        "CertificateStatusInvalidTransition",
        lambda: c.set_status(44, C1, ACTIVE),
        **{"from": ACTIVE, "to": ACTIVE},
    )
    c.set_status(44, C1, REVOKED)
    reverts("CertificateStatusFinal", lambda: c.set_status(44, C1, ACTIVE), status=REVOKED)
    c.set_status(44, C2, SUPERSEDED, 0, C3)
    reverts("CertificateStatusFinal", lambda: c.set_status(44, C2, ACTIVE), status=SUPERSEDED)


@pytest.mark.parametrize("then", [ACTIVE, REVOKED, SUSPENDED, SUPERSEDED])
def test_revoked_and_superseded_are_final(reg: Registry, then: int) -> None:
    c = reg.as_(0)
    c.set_status(44, C1, REVOKED)
    c.set_status(44, C2, SUPERSEDED, 0, C3)
    successor = C3 if then == SUPERSEDED else ZERO
    reverts("CertificateStatusFinal", lambda: c.set_status(44, C1, then, 0, successor))
    reverts("CertificateStatusFinal", lambda: c.set_status(44, C2, then, 0, successor))


def test_superseded_needs_a_successor(reg: Registry) -> None:
    c = reg.as_(0)
    reverts("CertificateStatusInvalidSuccessor", lambda: c.set_status(44, C1, SUPERSEDED))
    reverts("CertificateStatusInvalidSuccessor", lambda: c.set_status(44, C1, SUPERSEDED, 0, C1))
    reverts("CertificateStatusInvalidSuccessor", lambda: c.set_status(44, C1, REVOKED, 0, C2))
    reverts("CertificateStatusUnknownStatus", lambda: c.set_status(44, C1, 4), status=4)
    c.set_status(44, C1, SUSPENDED)
    result = c.set_status(44, C1, SUPERSEDED, 8, C2)
    assert result.events[0].args["successor"] == C2
    assert c.certificate_status(44, C1).status == SUPERSEDED


def test_batch(reg: Registry) -> None:
    c = reg.as_(0)
    changes = [
        StatusChange(C1, SUSPENDED, 1),
        StatusChange(C2, REVOKED, 2),
        StatusChange(C1, ACTIVE, 3),  # Applied in order: reinstates the suspension above.
        StatusChange(C3, SUPERSEDED, 4, C2),
    ]
    result = c.set_status_batch(44, changes)
    assert [e.args["commitment"] for e in result.events] == [C1, C2, C1, C3]
    assert [c.certificate_status(44, x).status for x in (C1, C2, C3)] == [
        ACTIVE,
        REVOKED,
        SUPERSEDED,
    ]


def test_batch_is_all_or_nothing(reg: Registry) -> None:
    c = reg.as_(0)
    c.set_status(44, C2, REVOKED)
    bad = [StatusChange(C1, REVOKED), StatusChange(C2, SUSPENDED)]
    reverts("CertificateStatusFinal", lambda: c.set_status_batch(44, bad), commitment=C2)
    assert c.certificate_status(44, C1).status == ACTIVE
    reverts("CertificateStatusEmptyBatch", lambda: c.set_status_batch(44, []))


def test_history_from_events(reg: Registry) -> None:
    c = reg.as_(0)
    start = c.block_number() + 1
    c.set_status(44, C1, SUSPENDED, 1)
    c.set_status(44, C2, REVOKED, 2)
    c.set_status(44, C1, SUPERSEDED, 3, C3)
    history = [
        (e.args["status"], e.args["reason"], e.args["successor"])
        for e in c.iter_events(start, names=["CertificateStatusChanged"])
        if e.args["commitment"] == C1
    ]
    assert history == [(SUSPENDED, 1, ZERO), (SUPERSEDED, 3, C3)]
    assert c.certificate_status(44, C1).changes == len(history)
