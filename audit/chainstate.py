"""The consortium state the auditor folds from the contract's events: members, organisations with
their status, scope hash and keys, and the filed scopes behind the scope hashes.

The replay shares the decoding of event arguments (province, organisation code, keys, status
names) with the snapshot's replay (``anchor/snapshot.py``); the folding differs on purpose: the
snapshot refuses events that do not fit its state, the auditor tolerates them (an entry that
names an unknown organisation is a finding of ``audit/entries.py``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final

from anchor.chain import ChainEvent
from anchor.manifest import ManifestStore
from anchor.snapshot import key_of_event, organisation_code_of, province_of, shorten_key
from audit.findings import FindingSink
from node.core.errors import InvalidInput, ManifestStoreError
from node.core.formats.entry import MAINTENANCE_KEY_PURPOSE
from node.core.formats.snapshot import OrganisationKey
from node.core.formats.trust import CHECKPOINT_KEY_PURPOSE
from node.core.rules.scope import cid_of_scope_hash, filed_scope, parse_scope_document

#: The contract's status code of an active organisation.
ORGANISATION_ACTIVE: Final = 1
#: The contract's status code of a terminated organisation.
ORGANISATION_TERMINATED: Final = 3

#: Event argument decoding shared with the snapshot's replay (anchor/snapshot.py).
_code, _province = organisation_code_of, province_of


@dataclasses.dataclass(slots=True)
class Organisation:
    """An organisation as filed on chain, as of the event being replayed."""

    province: str
    status: int
    scope_hash: bytes
    keys: list[OrganisationKey]


class ChainState:
    """Members and organisations, folded from the membership and organisation events in chain
    order (:meth:`apply`)."""

    def __init__(self, counts: Counter[str]) -> None:
        self.members: dict[str, tuple[str, ...]] = {}
        #: Each member's current maintenance key (``setMemberKey`` purpose 3, Ed25519).
        self.maintenance_keys: dict[str, bytes] = {}
        #: Each member's current checkpoint-signing key (purpose 2), as published.
        self.checkpoint_keys: dict[str, bytes] = {}
        self.organisations: dict[str, Organisation] = {}
        self._counts = counts
        self._handlers: dict[str, Callable[[ChainEvent], None]] = {
            "MemberAdmitted": self._set_members,
            "OperatorsReplaced": self._set_members,
            "MemberRemoved": self._remove_member,
            "MemberKeySet": self._member_key,
            "ProposalCreated": self._proposal,
            "OrganisationFiled": self._filed,
            "OrganisationScopeUpdated": self._scope_updated,
            "OrganisationStatusChanged": self._status_changed,
            "KeyAdded": self._key_added,
            "KeyClosed": self._shorten_key,
            "KeyRevoked": self._shorten_key,
        }

    def apply(self, event: ChainEvent) -> bool:
        """Fold ``event`` in; return whether it was one of this state's events."""
        handler = self._handlers.get(event.name)
        if handler is None:
            return False
        handler(event)
        return True

    def _set_members(self, event: ChainEvent) -> None:
        province = _province(event.args["province"])
        if event.name == "OperatorsReplaced":
            self.maintenance_keys.pop(province, None)  # the contract withdraws member keys
            self.checkpoint_keys.pop(province, None)
        self.members[province] = tuple(event.args["operators"])

    def _remove_member(self, event: ChainEvent) -> None:
        self.members.pop(_province(event.args["province"]), None)
        self.maintenance_keys.pop(_province(event.args["province"]), None)
        self.checkpoint_keys.pop(_province(event.args["province"]), None)

    def _member_key(self, event: ChainEvent) -> None:
        purpose = int(event.args["purpose"])
        keys = {
            MAINTENANCE_KEY_PURPOSE: self.maintenance_keys,
            CHECKPOINT_KEY_PURPOSE: self.checkpoint_keys,
        }.get(purpose)
        if keys is None:
            return
        province, key = _province(event.args["province"]), bytes(event.args["key"])
        if key:
            keys[province] = key
        else:
            keys.pop(province, None)

    def _proposal(self, event: ChainEvent) -> None:
        self._counts["proposals"] += 1

    def _filed(self, event: ChainEvent) -> None:
        self.organisations[_code(event.args["code"])] = Organisation(
            province=_province(event.args["province"]),
            status=ORGANISATION_ACTIVE,
            scope_hash=bytes(event.args["scopeHash"]),
            keys=[],
        )

    def _scope_updated(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            org.scope_hash = bytes(event.args["scopeHash"])

    def _status_changed(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            org.status = int(event.args["status"])

    def _key_added(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        key = key_of_event(event.args)
        if org is not None and key.key_id == len(org.keys):
            org.keys.append(key)

    def _shorten_key(self, event: ChainEvent) -> None:
        org = self.organisations.get(_code(event.args["code"]))
        if org is not None:
            shorten_key(org.keys, event.args)


class FiledScopes:
    """The filed scopes behind organisations' scope hashes, fetched from the manifest store and
    parsed once per hash (scope documents, docs/FORMATS.md)."""

    def __init__(self, store: ManifestStore, findings: FindingSink, timeout: float) -> None:
        self._store = store
        self._findings = findings
        self._timeout = timeout
        self._scopes: dict[bytes, Mapping[str, frozenset[int]] | None] = {}

    def of(self, code: str, org: Organisation) -> Mapping[str, frozenset[int]] | None:
        """The filed scope behind ``org``'s scope hash; None (and one ``scope.missing``
        finding) when it cannot be read."""
        if org.scope_hash in self._scopes:
            return self._scopes[org.scope_hash]
        scope: Mapping[str, frozenset[int]] | None = None
        problem = ""
        try:
            document = parse_scope_document(
                self._store.get(cid_of_scope_hash(org.scope_hash), self._timeout)
            )
            if document.organisation_code != code or document.province != org.province:
                problem = "the scope document describes another organisation"
            else:
                scope = filed_scope(document.stored_scope())
        except (ManifestStoreError, InvalidInput) as exc:
            problem = str(exc)
        if scope is None:
            self._findings(
                "scope.missing",
                org.province,
                f"scope document of {code} unreadable: {problem}",
                organisation_code=code,
                hashes={"scope_hash": org.scope_hash.hex()},
                cid=cid_of_scope_hash(org.scope_hash),
            )
        self._scopes[org.scope_hash] = scope
        return scope


__all__ = [
    "ORGANISATION_ACTIVE",
    "ORGANISATION_TERMINATED",
    "ChainState",
    "FiledScopes",
    "Organisation",
]
