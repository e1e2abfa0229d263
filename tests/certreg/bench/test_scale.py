"""``certreg bench scale`` at a tiny N on the run's anvil: the figures are real (counts match,
every bundle verifies VALID, the audit is clean, gas and sizes are measured), the peer is
measured or says why not, the table shows every stage, and bad sizes are refused."""

from __future__ import annotations

from typing import Any

import pytest

from certreg.bench.scale import STAGES, ScaleOptions, bench_scale, format_table
from certreg.dev.anvil import AnvilNode
from node.core.errors import InvalidInput

N = 30


@pytest.fixture(scope="module")
def figures(anvil_node: AnvilNode) -> dict[str, Any]:
    options = ScaleOptions(
        batch_size=10,
        chunk_size=4,
        bundle_workers=0,
        verify_workers=1,
        audit_workers=1,
        peer_documents=None,
        rpc=anvil_node.url,
    )
    return bench_scale(N, options=options)


def test_every_certificate_goes_through_every_stage(figures: dict[str, Any]) -> None:
    assert figures["certificates"] == N
    assert sum(figures["rows_per_province"].values()) == N
    assert set(figures["rows_per_province"]) == {"44", "41", "43"}
    assert all(rows > 0 for rows in figures["rows_per_province"].values())
    assert figures["accepted"] == N
    assert figures["refused"] == {}
    assert figures["anchored"] == N
    assert figures["checkpoints"] >= 3  # at least one per province
    assert figures["bundles"] == N
    assert figures["verification"] == {"VALID": N}
    assert figures["audit"] == {
        "clean": True,
        "entries": N,
        "checkpoints": figures["checkpoints"],
        "findings": {},
    }


def test_stage_figures_are_measured(figures: dict[str, Any]) -> None:
    for name in STAGES:
        stage = figures["stages"][name]
        assert stage["seconds"] > 0, name
        assert len(stage["load_average"]) == 3
    for name in ("intake", "anchoring", "bundles", "verification", "audit"):
        assert figures["stages"][name]["certificates_per_s"] > 0, name
    e2e = figures["end_to_end"]
    assert e2e["seconds"] == pytest.approx(
        sum(figures["stages"][s]["seconds"] for s in e2e["stages"]), abs=0.01
    )


def test_gas_sizes_storage_and_memory(figures: dict[str, Any]) -> None:
    gas = figures["gas"]
    assert gas["anchoring"] > 0 and gas["filing"] > 0
    # 9 organisations filed, one fileOrganisation each; checkpoints anchored one tx each.
    assert gas["by_function"]["fileOrganisation"] == gas["filing"]
    assert gas["per_certificate"] == pytest.approx((gas["anchoring"] + gas["filing"]) / N, 0.01)
    sizes = figures["sizes"]
    for name in ("bundle_json_bytes", "bundle_compact_chars"):
        assert 500 < sizes[name]["mean"] <= sizes[name]["max"] < 10_000, name
    assert sizes["bundle_compact_chars"]["max"] < sizes["bundle_json_bytes"]["max"]
    assert 1 <= sizes["proof_length"]["max"] <= 5  # logs of at most 30 entries
    assert figures["db_bytes_per_certificate"] > 1_000
    assert figures["peak_rss_mb"] > 0


def test_peer_measured_or_explained(figures: dict[str, Any]) -> None:
    peer = figures["peer"]
    assert peer["name"] == "@govtechsg/open-attestation"
    if "unavailable" in peer:
        assert peer["unavailable"]
        return
    assert peer["documents"] == N and peer["verified"] == N
    assert peer["documents_per_s"] > 0 and peer["ratio"] > 0
    assert peer["ours_comparable"]["documents"] == N
    assert peer["comparable_ratio"] > 0


def test_table_prints_every_stage(figures: dict[str, Any]) -> None:
    table = format_table(figures)
    for name in (*STAGES, "end to end"):
        assert f"\n{name} " in table, name
    assert "gas per certificate" in table and "peer @govtechsg/open-attestation" in table


@pytest.mark.parametrize(
    ("certificates", "options", "field", "rule"),
    [
        (0, ScaleOptions(), "certificates", "bench.certificates"),
        (10_000_001, ScaleOptions(), "certificates", "bench.certificates"),
        (10, ScaleOptions(organisations_per_province=0), "organisations_per_province",
         "bench.organisations"),
        (10, ScaleOptions(batch_size=0), "batch_size", "bench.batch_size"),
    ],
)  # fmt: skip
def test_bad_sizes_are_refused(
    certificates: int, options: ScaleOptions, field: str, rule: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        bench_scale(certificates, options=options)
    assert (refused.value.field, refused.value.rule) == (field, rule)
