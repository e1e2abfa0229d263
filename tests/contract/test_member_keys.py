"""Member keys (``setMemberKey`` / ``memberKey``): each member publishes its own, for any
non-zero purpose; removal and replacement of operators withdraw them (docs/CONTRACT.md)."""

from __future__ import annotations

import pytest

from anchor.member_keys import NODE_API, member_key, set_member_key
from node.core.errors import InvalidInput
from tests.contract.conftest import Registry
from tests.contract.helpers import reverts

KEY = bytes(range(32))
OTHER = bytes(range(32, 64))


def test_a_member_publishes_replaces_and_withdraws_its_key(reg: Registry) -> None:
    p44, p41 = reg.as_(0), reg.as_(1)
    assert member_key(p41, 44, NODE_API) == b""
    result = set_member_key(p44, NODE_API, KEY)
    [event] = result.events
    assert event.name == "MemberKeySet"
    assert event.args == {"province": 44, "purpose": NODE_API, "key": KEY}
    # Anyone reads it; other purposes and other members are untouched.
    assert member_key(p41, 44, NODE_API) == KEY
    assert member_key(p41, 44, 2) == b"" and member_key(p41, 41, NODE_API) == b""
    # A second operator of the same member replaces it; an empty key withdraws it.
    set_member_key(reg.as_(3), NODE_API, OTHER)
    assert member_key(p41, 44, NODE_API) == OTHER
    set_member_key(p44, NODE_API, b"")
    assert member_key(p41, 44, NODE_API) == b""
    # Another purpose holds any bytes up to 128.
    set_member_key(p41, 2, b"\x05" * 128)
    assert member_key(p44, 41, 2) == b"\x05" * 128


def test_only_members_publish_and_within_limits(reg: Registry) -> None:
    reverts("MembershipNotOperator", lambda: reg.as_(7).write("setMemberKey", 1, KEY))
    reverts("MembershipInvalidKeyPurpose", lambda: reg.as_(0).write("setMemberKey", 0, KEY))
    reverts(
        "MembershipInvalidKey",
        lambda: reg.as_(0).write("setMemberKey", 2, b"\x01" * 129),
        length=129,
    )
    # The client refuses the same before sending, and a node API key of the wrong size.
    for purpose, key, rule in (
        (0, KEY, "member_key.purpose"),
        (1, b"\x01" * 31, "member_key.length"),
    ):
        with pytest.raises(InvalidInput) as info:
            set_member_key(reg.as_(0), purpose, key)
        assert info.value.rule == rule


def test_removal_and_replacement_withdraw_every_key(reg: Registry) -> None:
    accounts = reg.chain.accounts
    p44 = reg.as_(0)
    set_member_key(reg.as_(1), NODE_API, KEY)
    set_member_key(reg.as_(2), NODE_API, OTHER)
    # Replacing 41's operators (a takeover by the majority) withdraws its key...
    pid = p44.propose(3, 41, [accounts[7]])
    reg.as_(2).approve(pid)
    p44.execute(pid)
    assert member_key(p44, 41, NODE_API) == b""
    set_member_key(reg.as_(7), NODE_API, KEY)
    assert member_key(p44, 41, NODE_API) == KEY
    # ...and removing 43 withdraws its key, which does not come back on re-admission.
    pid = p44.propose(2, 43, [])
    reg.as_(7).approve(pid)
    p44.execute(pid)
    assert member_key(p44, 43, NODE_API) == b""
    pid = p44.propose(1, 43, [accounts[8]])
    reg.as_(7).approve(pid)
    p44.execute(pid)
    assert member_key(p44, 43, NODE_API) == b""
