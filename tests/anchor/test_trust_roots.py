"""Trust roots from the chain (anchor/trust_roots.py): members' checkpoint-signing keys
published with ``setMemberKey(2, key)``, the root body every member derives at one block, the
signatures assembled into a chain a verifier follows from a pinned root. In-process EVM and
anvil."""

from __future__ import annotations

import pytest

from anchor.trust_roots import assemble, publish_checkpoint_key, root_body_from_chain, sign_root
from node.core.crypto.signatures import get_suite
from node.core.errors import InvalidInput
from tests.contract.conftest import Registry, artifact, chain, deployed, reg

__all__ = ["artifact", "chain", "deployed", "reg"]

ED = get_suite("ed25519")
#: Founders (tests/contract/conftest.py): 44 (accounts 0 and 3), 41 (1), 43 (2).
ACCOUNTS = {"41": 1, "43": 2, "44": 0}


def _key(province: str, generation: int = 1) -> bytes:
    return ED.generate_private_key(f"witness {province} {generation}".encode().ljust(32, b"."))


def test_a_chain_of_roots_from_the_chain(reg: Registry) -> None:
    for province in ("41", "43"):
        publish_checkpoint_key(
            reg.as_(ACCOUNTS[province]), "ed25519", ED.public_key(_key(province))
        )
    with pytest.raises(InvalidInput):
        publish_checkpoint_key(reg.as_(0), "ed25519", b"\x01" * 31)

    client = reg.as_(0)
    body = root_body_from_chain(client)
    assert [m.province for m in body.members] == ["41", "43", "44"]
    assert body.keys["44"] is None and body.threshold == 2 and body.serial == 1
    # Every member derives the same body at the same block.
    assert root_body_from_chain(reg.as_(1), block=body.block.number) == body

    one = assemble(body, [sign_root(body, "41", "ed25519", _key("41"))])
    with pytest.raises(InvalidInput) as caught:
        one.verify()
    assert caught.value.rule == "trust_root.signatures"
    forged = sign_root(body, "43", "ed25519", _key("43", 9))
    two = assemble(
        body, [*one.roots[0].signatures, forged, sign_root(body, "43", "ed25519", _key("43"))]
    )
    assert two.verify() == body and len(two.roots[0].signatures) == 2  # the forged one dropped

    # 44 publishes a key, 43 replaces its own: root 2, signed by a threshold of root 1's keys
    # (41, 43's old key) and of its own (41, 43's new key, 44).
    publish_checkpoint_key(reg.as_(0), "ed25519", ED.public_key(_key("44")))
    publish_checkpoint_key(reg.as_(2), "ed25519", ED.public_key(_key("43", 2)))
    body2 = root_body_from_chain(client, two)
    assert body2.serial == 2 and body2.previous == body.digest()
    signed = assemble(
        body2,
        [
            sign_root(body2, "41", "ed25519", _key("41")),
            sign_root(body2, "43", "ed25519", _key("43")),
            sign_root(body2, "43", "ed25519", _key("43", 2)),
            sign_root(body2, "44", "ed25519", _key("44")),
        ],
        two,
    )
    assert signed.verify() == body2
    assert signed.verify(pinned=body) == body2
    only_new = assemble(body2, [sign_root(body2, "44", "ed25519", _key("44"))], two)
    with pytest.raises(InvalidInput):
        only_new.verify(pinned=body)
