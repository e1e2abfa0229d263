"""Consortium governance over the contract's membership proposals (``Membership.sol``):
propose, approve, execute and list, and the per-member keys (``setMemberKey``).

Every proposal kind the CLI (``certreg consortium``) and the API (``/v1/consortium``) offer is a
row of :data:`PROPOSAL_KINDS`: its number on the contract, the name commands use, the
contract's constant naming it, and which arguments it takes. A kind added to the contract is
one row here (``tests/contract/test_governance.py`` fails while a ``PROPOSAL_*`` constant of the
artifact has no row). Key purposes likewise are rows of :data:`KEY_PURPOSES`.

A proposal executes once more than half of the current members approved it, within
``PROPOSAL_LIFETIME`` seconds of block time (docs/THREAT-MODEL.md "A colluding majority").
The contract's refusals become :class:`~node.core.errors.InvalidInput` with rule
``consortium.refused`` naming the contract's error (for example
``MembershipInsufficientApprovals``), so callers tell a refusal from an outage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from eth_utils.address import is_address, to_checksum_address

from anchor.errors import ContractRevert
from anchor.member_keys import member_key, set_member_key
from anchor.registry import Proposal, RegistryClient
from node.core.errors import InvalidInput
from node.core.formats.trust import CHECKPOINT_KEY_PURPOSE, WitnessKey

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class ProposalKind:
    """One kind of membership proposal."""

    #: The kind's number on the contract.
    number: int
    #: The name commands and the API use.
    name: str
    #: The contract's constant holding ``number``.
    constant: str
    #: Whether the proposal names operator accounts (else the list must be empty).
    operators: bool
    #: Whether ``province`` must be a current member (else it must not be one).
    member: bool
    summary: str


#: Every proposal kind (see the module docstring).
PROPOSAL_KINDS: tuple[ProposalKind, ...] = (
    ProposalKind(
        1, "admit", "PROPOSAL_ADMIT_MEMBER", True, False, "admit a province with its operators"
    ),
    ProposalKind(2, "remove", "PROPOSAL_REMOVE_MEMBER", False, True, "remove a member"),
    ProposalKind(
        3,
        "replace-operators",
        "PROPOSAL_REPLACE_OPERATORS",
        True,
        True,
        "replace all operator accounts of a member (e.g. after a key theft)",
    ),
    ProposalKind(
        4,
        "max-checkpoint-growth",
        "PROPOSAL_SET_MAX_CHECKPOINT_GROWTH",
        False,
        True,
        "set the most entries one checkpoint may add to a log (--growth; the proposer's province)",
    ),
)
#: The kind proposed through ``proposeMaxCheckpointGrowth`` with a value, not ``propose``.
GROWTH_KIND = 4
KINDS_BY_NAME = {k.name: k for k in PROPOSAL_KINDS}
KINDS_BY_NUMBER = {k.number: k for k in PROPOSAL_KINDS}


@dataclasses.dataclass(frozen=True, slots=True)
class KeyPurpose:
    """One purpose of a member key (``setMemberKey(purpose, key)``)."""

    number: int
    name: str
    constant: str
    summary: str


#: Every member key purpose (see the module docstring).
KEY_PURPOSES: tuple[KeyPurpose, ...] = (
    KeyPurpose(
        1,
        "node-api",
        "KEY_PURPOSE_NODE_API",
        "the Ed25519 public key that signs the node's requests to other provinces' nodes",
    ),
    KeyPurpose(
        2,
        "checkpoint",
        "",  # no contract constant: setMemberKey takes any purpose 1-255
        "the checkpoint-signing public key (Ed25519, 32 bytes, or SM2, 65 bytes 04||x||y) that "
        "signs trust roots, snapshots and the node's witness statements",
    ),
    KeyPurpose(
        3,
        "maintenance",
        "",  # no contract constant: setMemberKey takes any purpose 1-255
        "the Ed25519 public key that signs the province's corrections of a terminated "
        "organisation's certificates (seed 002 第十六条)",
    ),
)
PURPOSES_BY_NAME = {p.name: p for p in KEY_PURPOSES}


def proposal_kind(value: str | int) -> ProposalKind:
    """The kind named ``value`` (its name or number).

    Raises:
        InvalidInput: ``kind`` / ``consortium.kind``.
    """
    found = (
        KINDS_BY_NUMBER.get(value)
        if isinstance(value, int)
        else KINDS_BY_NAME.get(value)
        or (KINDS_BY_NUMBER.get(int(value)) if value.isdigit() else None)
    )
    if found is None:
        names = ", ".join(k.name for k in PROPOSAL_KINDS)
        raise InvalidInput("kind", "consortium.kind", f"one of {names}")
    return found


def key_purpose(value: str | int) -> KeyPurpose:
    """The key purpose named ``value`` (its name or number).

    Raises:
        InvalidInput: ``purpose`` / ``consortium.purpose``.
    """
    for purpose in KEY_PURPOSES:
        if value in (purpose.name, purpose.number, str(purpose.number)):
            return purpose
    names = ", ".join(f"{p.name} ({p.number})" for p in KEY_PURPOSES)
    raise InvalidInput("purpose", "consortium.purpose", f"one of {names}")


def _province(value: str | int) -> int:
    text = str(value)
    if not (len(text) == 2 and text.isdigit() and text[0] in "12345678"):
        raise InvalidInput("province", "consortium.province", "a two-digit province code")
    return int(text)


def _operators(kind: ProposalKind, operators: Sequence[str]) -> list[str]:
    if not kind.operators:
        if operators:
            raise InvalidInput(
                "operators", "consortium.operators", f"a {kind.name} proposal names no operators"
            )
        return []
    if not operators:
        raise InvalidInput(
            "operators", "consortium.operators", f"a {kind.name} proposal names its operators"
        )
    checked: list[str] = []
    for index, account in enumerate(operators):
        if not isinstance(account, str) or not is_address(account):
            raise InvalidInput(
                f"operators[{index}]", "consortium.operators", "an account address 0x…"
            )
        checked.append(to_checksum_address(account))
    if len(set(checked)) != len(checked):
        raise InvalidInput("operators", "consortium.operators", "each account once")
    return checked


@dataclasses.dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal with its approvals, as commands and the API show it."""

    proposal: Proposal
    approvals: tuple[int, ...]
    members: int
    #: Block time of the chain's latest block, to judge expiry.
    now: int

    @property
    def kind(self) -> ProposalKind | None:
        return KINDS_BY_NUMBER.get(self.proposal.kind)

    @property
    def needed(self) -> int:
        """Approvals a majority needs (more than half of the current members)."""
        return self.members // 2 + 1

    @property
    def state(self) -> str:
        """``executed``, ``expired``, ``ready`` (a majority approved) or ``open``."""
        if self.proposal.executed:
            return "executed"
        if self.now >= self.proposal.expires_at:
            return "expired"
        return "ready" if len(self.approvals) >= self.needed else "open"

    def to_json(self) -> dict[str, Any]:
        p = self.proposal
        return {
            "id": p.id,
            "kind": self.kind.name if self.kind is not None else str(p.kind),
            "kind_number": p.kind,
            "province": f"{p.province:02d}",
            "operators": list(p.operators),
            "proposer_province": f"{p.proposer_province:02d}",
            "expires_at": p.expires_at,
            "executed": p.executed,
            "approvals": [f"{a:02d}" for a in self.approvals],
            "members": self.members,
            "needed": self.needed,
            "state": self.state,
        }


class Governance:
    """Proposals and member keys through ``client`` (its account acts for its province)."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def _refused(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except ContractRevert as exc:
            raise InvalidInput(
                "proposal", "consortium.refused", f"the contract refused: {exc}"
            ) from exc

    # -- reads ------------------------------------------------------------------------------

    def proposal(self, proposal_id: int) -> ProposalView:
        """Proposal ``proposal_id`` with its approvals.

        Raises:
            InvalidInput: ``id`` / ``consortium.proposal`` when there is no such proposal.
        """
        if not 0 <= proposal_id < self.client.proposal_count():
            raise InvalidInput("id", "consortium.proposal", f"no proposal {proposal_id}")
        return self._view(proposal_id, self.client.members(), self._now())

    def proposals(self, *, open_only: bool = False) -> list[ProposalView]:
        """Every proposal, newest first (``open_only``: those still open or ready)."""
        members, now = self.client.members(), self._now()
        views = [self._view(i, members, now) for i in reversed(range(self.client.proposal_count()))]
        return [v for v in views if v.state in ("open", "ready")] if open_only else views

    def members(self) -> list[dict[str, Any]]:
        """Each member: province, operators, and its published keys by purpose name."""
        found = []
        for province in self.client.members():
            keys = {}
            for purpose in KEY_PURPOSES:
                key = member_key(self.client, province, purpose.number)
                if key:
                    keys[purpose.name] = key.hex()
            found.append(
                {
                    "province": f"{province:02d}",
                    "operators": self.client.operators_of(province),
                    "keys": keys,
                }
            )
        return found

    def _now(self) -> int:
        block = self.client.transport.retry(
            lambda: self.client.w3.eth.get_block("latest"), "read the latest block"
        )
        return int(block["timestamp"])

    def _view(self, proposal_id: int, members: Sequence[int], now: int) -> ProposalView:
        proposal = self.client.proposal(proposal_id)
        approvals = tuple(m for m in members if self.client.has_approved(proposal_id, m))
        return ProposalView(proposal, approvals, len(members), now)

    # -- writes -----------------------------------------------------------------------------

    def propose(
        self,
        kind: str | int,
        province: str | int | None,
        operators: Sequence[str] = (),
        *,
        growth: int | None = None,
    ) -> ProposalView:
        """Propose a change (approved by the proposer's province at once); return it.

        Raises:
            InvalidInput: ``consortium.kind``, ``consortium.province``,
                ``consortium.operators``, ``consortium.growth`` (a ``max-checkpoint-growth``
                proposal needs ``growth`` above 0; it concerns the proposer's province) (checked
                here), ``consortium.refused`` (the contract refused: not an operator, already a
                member, an operator taken …).
            ChainError: the chain failed.
        """
        chosen = proposal_kind(kind)
        if chosen.number == GROWTH_KIND:
            if growth is None or growth < 1:
                raise InvalidInput(
                    "growth", "consortium.growth", "a max-checkpoint-growth proposal names --growth"
                )
            _operators(chosen, operators)
            new_id = self._refused(lambda: self.client.propose_max_checkpoint_growth(growth))
            return self.proposal(new_id)
        if province is None:
            raise InvalidInput("province", "consortium.province", "a two-digit province code")
        code = _province(province)
        accounts = _operators(chosen, operators)
        proposal_id = self._refused(lambda: self.client.propose(chosen.number, code, accounts))
        return self.proposal(proposal_id)

    def approve(self, proposal_id: int) -> ProposalView:
        """Approve ``proposal_id`` for the sender's province; return it.

        Raises:
            InvalidInput: ``consortium.proposal`` (unknown), ``consortium.refused``.
            ChainError: the chain failed.
        """
        self.proposal(proposal_id)
        self._refused(lambda: self.client.approve(proposal_id))
        return self.proposal(proposal_id)

    def execute(self, proposal_id: int) -> ProposalView:
        """Execute ``proposal_id`` (a majority approved it); return it.

        Raises:
            InvalidInput: ``consortium.proposal`` (unknown), ``consortium.refused`` (for
                example ``MembershipInsufficientApprovals``).
            ChainError: the chain failed.
        """
        self.proposal(proposal_id)
        self._refused(lambda: self.client.execute(proposal_id))
        return self.proposal(proposal_id)

    def set_key(self, purpose: str | int, key: bytes) -> None:
        """Publish (empty ``key``: withdraw) the sender's member key for ``purpose``
        (:func:`anchor.member_keys.set_member_key`).

        Raises:
            InvalidInput: ``consortium.purpose``, ``member_key.length``, ``consortium.refused``.
            ChainError: the chain failed.
        """
        chosen = key_purpose(purpose)
        if chosen.number == CHECKPOINT_KEY_PURPOSE and key and WitnessKey.from_chain(key) is None:
            raise InvalidInput(
                "key",
                "trust_root.key",
                "a checkpoint-signing key is Ed25519 (32 bytes) or SM2 (65 bytes, 04||x||y)",
            )
        self._refused(lambda: set_member_key(self.client, chosen.number, key))


__all__ = [
    "KEY_PURPOSES",
    "KINDS_BY_NAME",
    "KINDS_BY_NUMBER",
    "PROPOSAL_KINDS",
    "Governance",
    "KeyPurpose",
    "ProposalKind",
    "ProposalView",
    "key_purpose",
    "proposal_kind",
]
