"""Gas budgets, measured from receipts by bench_contract() and checked on anvil too."""

from __future__ import annotations

import pytest

from certreg.bench.contract import (
    BENCH_CID,
    BENCH_SIZE1,
    BENCH_SIZE2,
    bench_contract,
    uniform_consistency_proof,
    uniform_root,
)
from tests.contract.conftest import Chain
from tests.contract.merkle_ref import consistency_proof, mth


@pytest.fixture(scope="module")
def figures() -> dict[str, int]:
    return bench_contract()


def test_bench_reports_the_required_keys(figures: dict[str, int]) -> None:
    required = {"anchor_20_hash_proof", "set_status", "set_status_batch_100"}
    assert required | {"file_organisation", "deploy"} <= set(figures)
    assert all(isinstance(v, int) and v > 21_000 for v in figures.values())


def test_bench_proof_fixture_is_rfc9162() -> None:
    # The bench's uniform-leaf shortcut gives the same proof as the direct transcription.
    leaves = [uniform_root(1)] * 37
    for m in (1, 5, 8, 20, 36):
        assert uniform_consistency_proof(m, 37) == consistency_proof(m, leaves)
    assert uniform_root(37) == mth(leaves)
    assert len(uniform_consistency_proof(BENCH_SIZE1, BENCH_SIZE2)) == 20


def test_set_status_within_60k(figures: dict[str, int]) -> None:
    for key in ("set_status", "set_status_suspend", "set_status_supersede"):
        assert figures[key] <= 60_000, (key, figures[key])


def test_file_organisation_within_150k(figures: dict[str, int]) -> None:
    assert figures["file_organisation"] <= 150_000
    assert figures["file_organisation_sm2"] <= 150_000


def test_batch_is_cheaper_per_change(figures: dict[str, int]) -> None:
    assert figures["set_status_batch_100"] / 100 < figures["set_status"] * 0.6


def test_anchor_with_20_hash_proof_within_100k(figures: dict[str, int]) -> None:
    # The bench's worst-case 20-hash proof (34 node hashes); the cost does not depend on the
    # batch size. One new storage slot per checkpoint (the root keyed by size).
    assert figures["anchor_20_hash_proof"] <= 100_000


def test_anchor_gas_does_not_regress(figures: dict[str, int]) -> None:
    # Guards the measured figures (85,778 and 77,395; docs/CONTRACT.md "Gas"; the growth bound
    # costs one cold storage read).
    assert figures["anchor_20_hash_proof"] <= 88_000
    assert figures["anchor_first"] <= 79_000


def test_gas_is_the_same_on_both_backends(chain: Chain, figures: dict[str, int]) -> None:
    snap = chain.snapshot()
    try:
        client = chain.client(chain.deploy().address, 0)
        client.anchor(BENCH_SIZE1, uniform_root(BENCH_SIZE1), [], BENCH_CID)
        result = client.anchor(
            BENCH_SIZE2,
            uniform_root(BENCH_SIZE2),
            uniform_consistency_proof(BENCH_SIZE1, BENCH_SIZE2),
            BENCH_CID,
        )
        assert result.tx is not None
        assert result.tx.gas_used == figures["anchor_20_hash_proof"]
        assert client.set_status(44, b"\x55" * 32, 1, 7).gas_used == figures["set_status"]
    finally:
        chain.revert(snap)
