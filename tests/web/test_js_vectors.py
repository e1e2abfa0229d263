"""The JavaScript verifier (api/static/js/) passes the same vectors as the Python core.

tests/vectors/ (commitments, signatures, bundles) and tests/vectors/tlog/ (inclusion and
consistency), run by tests/web/vectors.mjs in Node and in headless Chromium; Ed25519 both
through WebCrypto and through @noble/curves. A deliberately wrong expectation must be reported,
so the runner can fail.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

RUNNER = ROOT / "tests" / "web" / "run_vectors_node.mjs"


def _run_node(node_bin: str, payload: dict[str, Any], tmp_path: Path, engine: str) -> Any:
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    done = subprocess.run(
        [node_bin, str(RUNNER), str(path), engine],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def _counts(payload: dict[str, Any]) -> dict[str, int]:
    counts = {
        "commitments": len(payload["commitments"]["tests"]),
        "signatures": len(payload["signatures"]["tests"]),
        "bundles": len(payload["bundles"]["tests"]),
        "bundles_v2": len(payload["bundles_v2"]["tests"]),
        "bundles_maintenance": len(payload["bundles_maintenance"]["tests"]),
        "hostile": len(payload["hostile"]["tests"]),
        "trust": len(payload["trust"]["tests"]),
        "trust_roots": len(payload["trust"]["root_tests"]),
        "tlog": len(payload["tlog"]),
        "boundaries": len(payload["boundaries"]["tests"]),
        "sm": len(payload["sm"]["sm3"]) + 5,
        "time": sum(len(payload["time"][k]) for k in ("day_bounds", "expiry", "describe_time")),
        "arguments": 23,  # written in vectors.mjs: the refused arguments of merkle.js
    }
    if "merkle" in payload:
        counts["merkle"] = sum(
            len(payload["merkle"][key])
            for key in ("inclusion", "consistency", "inclusion_mutations", "consistency_mutations")
        )
    return counts


def _assert_all_pass(summary: Any, payload: dict[str, Any]) -> None:
    for group, count in _counts(payload).items():
        assert summary[group]["failures"] == [], group
        assert summary[group]["passed"] == count, group


def test_vector_payload_is_complete(payload: dict[str, Any]) -> None:
    counts = _counts(payload)
    assert counts["signatures"] == 76
    assert counts["bundles"] == 26
    assert counts["bundles_v2"] >= 15
    assert counts["bundles_maintenance"] >= 10
    assert {"VALID", "EXPIRED", "TAMPERED", "MALFORMED"} <= {
        t["result"] for t in payload["bundles_v2"]["tests"]
    }
    assert counts["tlog"] > 150  # every file of inclusion/ and consistency/
    assert counts["merkle"] > 70_000  # tests/vectors/merkle.json
    suites = {t["suite"] for t in payload["signatures"]["tests"]}
    assert suites == {"ed25519", "ecdsa-secp256k1", "sm2-sm3"}
    codes = {t["result"] for t in payload["bundles"]["tests"]}
    assert {"VALID", "TAMPERED", "REVOKED", "MALFORMED", "NOT_ANCHORED"} <= codes


def _without_merkle(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload less merkle.json (~12 s in Node): it does not depend on the Ed25519 engine,
    so one run of each runtime covers it."""
    return {key: value for key, value in payload.items() if key != "merkle"}


@pytest.mark.parametrize("engine", ["webcrypto", "noble"])
def test_node_passes_every_vector(
    node_bin: str, payload: dict[str, Any], tmp_path: Path, engine: str
) -> None:
    if engine == "noble":
        payload = _without_merkle(payload)
    _assert_all_pass(_run_node(node_bin, payload, tmp_path, engine), payload)


def test_node_runner_reports_a_wrong_expectation(
    node_bin: str, payload: dict[str, Any], tmp_path: Path
) -> None:
    broken = copy.deepcopy(payload)
    for key in ("inclusion_mutations", "consistency_mutations"):
        broken["merkle"][key] = broken["merkle"][key][:20]
    broken["bundles"]["tests"][0]["result"] = "REVOKED"  # the first is a VALID bundle
    broken["signatures"]["tests"][0]["result"] = "invalid"
    broken["tlog"][0]["case"]["wantErr"] = not broken["tlog"][0]["case"]["wantErr"]
    broken["merkle"]["inclusion_mutations"][0][4] ^= 1
    broken["boundaries"]["tests"][0]["hashes"]["leaf_hash"] = "00" * 32
    broken["sm"]["sm3"][0]["digest"] = "00" * 32
    summary = _run_node(node_bin, broken, tmp_path, "auto")
    assert summary["bundles"]["failed"] == 1
    assert summary["bundles"]["failures"][0]["reason"].startswith("got VALID")
    assert summary["signatures"]["failed"] == 1
    assert summary["tlog"]["failed"] == 1
    assert summary["merkle"]["failed"] == 1
    assert summary["boundaries"]["failed"] == 1
    assert summary["boundaries"]["failures"][0]["reason"].startswith("hashes")
    assert summary["sm"]["failed"] == 1


def test_chromium_passes_every_vector(
    browser: Any, static_server: str, payload: dict[str, Any]
) -> None:
    browser.get(f"{static_server}/tests/web/runner.html")
    script = """
        const [payload, done] = arguments;
        import('/tests/web/vectors.mjs')
          .then(async (m) => {
            const sig = await import('/api/static/js/signatures.js');
            const out = {webcrypto: await sig.hasWebCryptoEd25519()};
            for (const engine of ['auto', 'noble']) {
              sig.options.ed25519 = engine;
              out[engine] = await m.runVectors(payload);
              delete payload.merkle;  // once is enough: it does not use Ed25519
            }
            done(out);
          })
          .catch((e) => done({error: String(e && e.stack || e)}));
    """
    result = browser.execute_async_script(script, payload)
    assert "error" not in result, result.get("error")
    assert result["webcrypto"] is True  # Chromium's own Ed25519 is what "auto" exercised
    _assert_all_pass(result["auto"], payload)
    _assert_all_pass(result["noble"], _without_merkle(payload))
