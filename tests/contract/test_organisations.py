"""Organisation registry: filing by the own province, code checks, keys, status, retirement,
mergers and absorptions."""

from __future__ import annotations

import pytest

from tests.contract.conftest import ED_KEY, ORG_41, ORG_44, ORG_44B, Registry
from tests.contract.helpers import reverts

SCOPE = b"\xab" * 32
T0 = 1_700_000_000
SECP = b"\x02" + b"\x21" * 32
SM2 = b"\x04" + b"\x31" * 64


def _file(reg: Registry, code: str = ORG_44, account: int = 0) -> None:
    reg.as_(account).file_organisation(code, SCOPE, 1, ED_KEY, T0)


def test_file_organisation(reg: Registry) -> None:
    c = reg.as_(0)
    result = c.file_organisation(ORG_44, SCOPE, 1, ED_KEY, T0, T0 + 100)
    assert [e.name for e in result.events] == ["OrganisationFiled", "KeyAdded"]
    assert result.events[0].args == {"code": ORG_44.encode(), "province": 44, "scopeHash": SCOPE}
    assert result.events[1].args["keyId"] == 0 and result.events[1].args["publicKey"] == ED_KEY
    org = c.organisation(ORG_44)
    assert (org.province, org.status, org.scope_hash, org.key_count, org.successor) == (
        44,
        1,
        SCOPE,
        1,
        None,
    )
    key = c.organisation_key(ORG_44, 0)
    assert (key.suite, key.public_key, key.valid_from, key.valid_until) == (1, ED_KEY, T0, T0 + 100)
    # A second operator of 44 files too.
    reg.as_(3).file_organisation(ORG_44B, SCOPE, 1, ED_KEY, T0)
    assert c.organisation(ORG_44B).status == 1
    assert c.organisation("S999944999999").status == 0


@pytest.mark.parametrize(("suite", "key"), [(2, SECP), (2, b"\x03" + b"\x01" * 32), (3, SM2)])
def test_key_suites_round_trip(reg: Registry, suite: int, key: bytes) -> None:
    c = reg.as_(0)
    c.file_organisation(ORG_44, SCOPE, suite, key, T0)
    got = c.organisation_key(ORG_44, 0)
    assert (got.suite, got.public_key) == (suite, key)


@pytest.mark.parametrize(
    ("suite", "key"),
    [
        (1, b"\x11" * 31),
        (1, b"\x11" * 33),
        (2, b"\x04" + b"\x21" * 32),
        (2, b"\x02" + b"\x21" * 31),
        (3, b"\x02" + b"\x31" * 64),
        (3, b"\x04" + b"\x31" * 63),
        (0, b"\x11" * 32),
        (4, b"\x11" * 32),
    ],
)
def test_invalid_keys(reg: Registry, suite: int, key: bytes) -> None:
    reverts(
        "OrganisationInvalidKey",
        lambda: reg.as_(0).file_organisation(ORG_44, SCOPE, suite, key, T0),
        suite=suite,
        length=len(key),
    )


def test_invalid_validity(reg: Registry) -> None:
    reverts(
        "OrganisationInvalidValidity",
        lambda: reg.as_(0).file_organisation(ORG_44, SCOPE, 1, ED_KEY, T0, T0),
    )


@pytest.mark.parametrize(
    "code", ["X000144002009", "s000144002009", "S00A144002009", "S000144 02009", "S0001440020.9"]
)
def test_invalid_codes(reg: Registry, code: str) -> None:
    reverts("OrganisationInvalidCode", lambda: _file(reg, code), code=code.encode())


def test_only_own_province_files(reg: Registry) -> None:
    accounts = reg.chain.accounts
    reverts(
        "MembershipUnauthorizedProvince",
        lambda: _file(reg, ORG_41, account=0),
        account=accounts[0],
        province=41,
    )
    reverts("MembershipNotOperator", lambda: _file(reg, ORG_44, account=7), account=accounts[7])
    # A code of a province that is not a member is nobody's to file.
    reverts("MembershipUnauthorizedProvince", lambda: _file(reg, "S000145000001"), province=45)
    _file(reg, ORG_41, account=1)


def test_already_filed_and_retired_codes(reg: Registry) -> None:
    c = reg.as_(0)
    _file(reg)
    reverts("OrganisationAlreadyFiled", lambda: _file(reg), code=ORG_44.encode())
    c.set_organisation_status(ORG_44, 3)
    reverts("OrganisationRetired", lambda: _file(reg), code=ORG_44.encode())
    for call in (
        lambda: c.set_organisation_status(ORG_44, 1),
        lambda: c.update_scope(ORG_44, SCOPE),
        lambda: c.rotate_key(ORG_44, 1, ED_KEY, T0 + 10),
    ):
        reverts("OrganisationRetired", call, code=ORG_44.encode())
    # Revoking a retired organisation's key still works: it only removes trust.
    c.revoke_key(ORG_44, 0, T0 + 5)
    assert c.organisation_key(ORG_44, 0).valid_until == T0 + 5


def test_status_changes(reg: Registry) -> None:
    c = reg.as_(0)
    _file(reg)
    events = c.set_organisation_status(ORG_44, 2).events
    assert events[0].name == "OrganisationStatusChanged" and events[0].args["status"] == 2
    reverts("OrganisationStatusUnchanged", lambda: c.set_organisation_status(ORG_44, 2))
    reverts("OrganisationInvalidStatus", lambda: c.set_organisation_status(ORG_44, 0), status=0)
    reverts("OrganisationInvalidStatus", lambda: c.set_organisation_status(ORG_44, 4), status=4)
    c.set_organisation_status(ORG_44, 1)
    assert c.organisation(ORG_44).status == 1
    reverts("OrganisationNotFiled", lambda: c.set_organisation_status(ORG_44B, 2))
    reverts("MembershipUnauthorizedProvince", lambda: reg.as_(1).set_organisation_status(ORG_44, 2))


def test_update_scope(reg: Registry) -> None:
    c = reg.as_(0)
    _file(reg)
    events = c.update_scope(ORG_44, b"\xcd" * 32).events
    assert events[0].name == "OrganisationScopeUpdated"
    assert c.organisation(ORG_44).scope_hash == b"\xcd" * 32
    reverts("MembershipUnauthorizedProvince", lambda: reg.as_(1).update_scope(ORG_44, SCOPE))


def test_key_rotation(reg: Registry) -> None:
    c = reg.as_(0)
    _file(reg)
    result = c.rotate_key(ORG_44, 3, SM2, T0 + 1000, 0, True)
    assert [e.name for e in result.events] == ["KeyClosed", "KeyAdded"]
    assert result.events[1].args["keyId"] == 1
    assert c.organisation_key(ORG_44, 0).valid_until == T0 + 1000
    new = c.organisation_key(ORG_44, 1)
    assert (new.suite, new.public_key, new.valid_from, new.valid_until) == (3, SM2, T0 + 1000, 0)
    # Without closing, the previous key stays open.
    result = c.rotate_key(ORG_44, 1, ED_KEY, T0 + 2000, 0, False)
    assert [e.name for e in result.events] == ["KeyAdded"]
    assert c.organisation_key(ORG_44, 1).valid_until == 0
    assert c.organisation(ORG_44).key_count == 3
    reverts("OrganisationUnknownKey", lambda: c.organisation_key(ORG_44, 3), keyId=3)
    reverts("MembershipUnauthorizedProvince", lambda: reg.as_(1).rotate_key(ORG_44, 1, ED_KEY, 1))
    reverts("OrganisationNotFiled", lambda: c.rotate_key(ORG_44B, 1, ED_KEY, T0))


def test_key_revocation(reg: Registry) -> None:
    c = reg.as_(0)
    reg.as_(0).file_organisation(ORG_44, SCOPE, 1, ED_KEY, T0, T0 + 1000)
    events = c.revoke_key(ORG_44, 0, T0 + 500).events
    assert events[0].name == "KeyRevoked" and events[0].args["validUntil"] == T0 + 500
    # Only shortening is allowed; 0 would reopen the key.
    reverts("OrganisationKeyNotShortened", lambda: c.revoke_key(ORG_44, 0, T0 + 500))
    reverts("OrganisationKeyNotShortened", lambda: c.revoke_key(ORG_44, 0, T0 + 600))
    reverts("OrganisationKeyNotShortened", lambda: c.revoke_key(ORG_44, 0, 0))
    c.revoke_key(ORG_44, 0, T0 - 10)  # Backdated: the key was compromised before it started.
    assert c.organisation_key(ORG_44, 0).valid_until == T0 - 10
    reverts("OrganisationUnknownKey", lambda: c.revoke_key(ORG_44, 1, T0))
    reverts("MembershipUnauthorizedProvince", lambda: reg.as_(1).revoke_key(ORG_44, 0, T0))


def test_merger(reg: Registry) -> None:
    c = reg.as_(0)
    a, b, new = "S000144000001", "S000244000001", "S000344000001"
    for code in (a, b, new):
        _file(reg, code)
    result = c.record_merger([a, b], new)
    assert [e.name for e in result.events] == [
        "OrganisationStatusChanged",
        "OrganisationStatusChanged",
        "OrganisationsMerged",
    ]
    assert result.events[2].args == {
        "newCode": new.encode(),
        "mergedCodes": [a.encode(), b.encode()],
    }
    for code in (a, b):
        org = c.organisation(code)
        assert (org.status, org.successor) == (3, new)
        reverts("OrganisationRetired", lambda code=code: _file(reg, code))
    assert c.organisation(new).status == 1


def test_merger_rules(reg: Registry) -> None:
    c = reg.as_(0)
    a, new = "S000144000001", "S000344000001"
    _file(reg, a)
    reverts("OrganisationNotActive", lambda: c.record_merger([a], new))
    _file(reg, new)
    reverts("OrganisationInvalidMerger", lambda: c.record_merger([], new))
    reverts("OrganisationInvalidMerger", lambda: c.record_merger([new], new))
    reverts("OrganisationRetired", lambda: c.record_merger([a, a], new))
    _file(reg, ORG_41, account=1)
    reverts("MembershipUnauthorizedProvince", lambda: c.record_merger([ORG_41], new))
    c.set_organisation_status(new, 2)
    reverts("OrganisationNotActive", lambda: c.record_merger([a], new))


def test_absorption(reg: Registry) -> None:
    c = reg.as_(0)
    _file(reg, ORG_44)
    _file(reg, ORG_41, account=1)
    # The absorber may be of another province; the absorbed code must be the caller's.
    result = c.record_absorption(ORG_44, ORG_41)
    assert [e.name for e in result.events] == ["OrganisationStatusChanged", "OrganisationAbsorbed"]
    assert result.events[1].args == {"absorbed": ORG_44.encode(), "absorber": ORG_41.encode()}
    org = c.organisation(ORG_44)
    assert (org.status, org.successor) == (3, ORG_41)
    reverts("OrganisationRetired", lambda: c.record_absorption(ORG_44, ORG_41))
    _file(reg, ORG_44B)
    reverts("MembershipUnauthorizedProvince", lambda: c.record_absorption(ORG_41, ORG_44B))
    reverts("OrganisationInvalidMerger", lambda: reg.as_(1).record_absorption(ORG_41, ORG_41))
    reverts("OrganisationNotActive", lambda: reg.as_(1).record_absorption(ORG_41, ORG_44))
