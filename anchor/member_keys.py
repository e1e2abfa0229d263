"""Member keys on the consortium contract (``Membership.setMemberKey`` / ``memberKey``).

Each member publishes keys for its own purposes; purpose :data:`NODE_API` (1) is the Ed25519
public key its node signs province-to-province requests with (docs/SHARING.md "Province to
province"). Removing a member or replacing its operators withdraws all its keys on chain.

Kept beside :class:`anchor.registry.RegistryClient` (it uses only the client's public ``write``
and ``contract``), so the chain adapter itself need not grow for every new contract feature.
"""

from __future__ import annotations

from typing import Final

from web3.exceptions import Web3Exception

from anchor.registry import RegistryClient
from anchor.transport import TxResult
from node.core.errors import ChainError, InvalidInput

#: ``Membership.KEY_PURPOSE_NODE_API``: the node API's request-signing key (Ed25519, 32 bytes).
NODE_API: Final = 1
MAX_KEY_BYTES: Final = 128


def set_member_key(client: RegistryClient, purpose: int, key: bytes) -> TxResult:
    """Publish the client's member key for ``purpose`` (an empty ``key`` withdraws it).

    Raises:
        InvalidInput: ``purpose`` / ``member_key.purpose`` (not 1-255), ``key`` /
            ``member_key.length`` (longer than 128 bytes, or not 32 bytes for purpose 1).
        ContractRevert, ChainError: the contract refused (the client is not an operator of a
            member) or the chain failed.
    """
    if not 1 <= purpose <= 255:
        raise InvalidInput("purpose", "member_key.purpose", "a purpose is 1-255")
    if len(key) > MAX_KEY_BYTES or (purpose == NODE_API and key and len(key) != 32):
        raise InvalidInput("key", "member_key.length", "an Ed25519 public key is 32 bytes")
    return client.write("setMemberKey", purpose, key)


def member_key(client: RegistryClient, province: int, purpose: int) -> bytes:
    """The key member ``province`` published for ``purpose``; empty when none (or not a member).

    Raises:
        ChainError: the chain could not be read.
    """
    try:
        value = client.contract.functions.memberKey(province, purpose).call()
    except (Web3Exception, OSError, ValueError) as exc:
        raise ChainError(f"cannot read the member key of {province}: {exc}") from exc
    return bytes(value)
