"""The certreg command line, run as a user runs it (a subprocess of the installed entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.core.rules.ids import explain, explain_check, explain_reason, explain_result
from tests.conftest import OUR_VECTORS, ROOT

CERTREG = [sys.executable, "-m", "certreg"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CERTREG, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    done = run("sample", "--out", str(out), "--seed", "9")
    assert done.returncode == 0, done.stderr
    return out


def test_sample_writes_the_three_files(sample_dir: Path) -> None:
    for name in ("bundle.json", "bundle-redacted.json", "snapshot.json", "bundle.qr.txt"):
        assert (sample_dir / name).is_file()
    redacted = json.loads((sample_dir / "bundle-redacted.json").read_text())
    assert set(redacted["fields"]["id_number"]) == {"hash"}


def test_sample_is_deterministic(tmp_path: Path, sample_dir: Path) -> None:
    assert run("sample", "--out", str(tmp_path), "--seed", "9").returncode == 0
    for name in ("bundle.json", "bundle-redacted.json", "snapshot.json"):
        assert (tmp_path / name).read_bytes() == (sample_dir / name).read_bytes()


@pytest.mark.parametrize("name", ["bundle.json", "bundle-redacted.json", "bundle.qr.txt"])
def test_verify_valid_exits_zero(sample_dir: Path, name: str) -> None:
    done = run("verify", str(sample_dir / name), "--snapshot", str(sample_dir / "snapshot.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout


def test_verify_json_has_result_key(sample_dir: Path) -> None:
    done = run(
        "verify",
        str(sample_dir / "bundle.json"),
        "--snapshot",
        str(sample_dir / "snapshot.json"),
        "--json",
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["result"] == "VALID"


def test_verify_tampered_exits_non_zero(sample_dir: Path, tmp_path: Path) -> None:
    bundle = json.loads((sample_dir / "bundle.json").read_text())
    bundle["fields"]["occupation_name"]["value"] = "焊工"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle, ensure_ascii=False))
    done = run("verify", str(tampered), "--snapshot", str(sample_dir / "snapshot.json"), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["result"] == "TAMPERED"
    # No personal data in what the verifier prints.
    holder = bundle["fields"]["holder_name"]["value"]
    assert holder not in done.stdout + done.stderr


def test_verify_garbage_is_malformed(sample_dir: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a bundle")
    done = run("verify", str(garbage), "--snapshot", str(sample_dir / "snapshot.json"), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["result"] == "MALFORMED"


def test_verify_with_unreadable_snapshot_is_an_error(sample_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "snapshot.json"
    bad.write_text("{}")
    done = run("verify", str(sample_dir / "bundle.json"), "--snapshot", str(bad))
    assert done.returncode == 2
    assert "snapshot" in done.stderr


def test_verify_at_a_time_before_anchoring_is_not_anchored(sample_dir: Path) -> None:
    done = run(
        "verify",
        str(sample_dir / "bundle.json"),
        "--snapshot",
        str(sample_dir / "snapshot.json"),
        "--at",
        "2025-12-31T00:00:00+08:00",
        "--json",
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["result"] == "NOT_ANCHORED"


def meaning(rule_id: str, indent: str = "  ") -> list[str]:
    """The two lines the CLI prints for a rule id: Chinese, then English and [source]."""
    entry = explain(rule_id)
    source = f" [{entry.source}]" if entry.source else ""
    return [f"{indent}{entry.zh}", f"{indent}{entry.en}{source}"]


def test_verify_prints_what_the_result_and_the_failed_check_mean(
    sample_dir: Path, tmp_path: Path
) -> None:
    bundle = json.loads((sample_dir / "bundle.json").read_text())
    bundle["fields"]["occupation_name"]["value"] = "焊工"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle, ensure_ascii=False))
    snapshot = str(sample_dir / "snapshot.json")
    done = run("verify", str(tampered), "--snapshot", snapshot)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{tampered}: TAMPERED (as of block ")
    assert lines[1:3] == meaning("result.TAMPERED")
    failed = lines.index(next(line for line in lines if line.startswith("  [FAIL] commitment")))
    assert lines[failed + 1 : failed + 3] == meaning("check.commitment", " " * 9)
    assert not any(line.startswith("  原因") for line in lines)  # no status, no reason

    done = run("verify", str(tampered), "--snapshot", snapshot, "--json")
    report = json.loads(done.stdout)
    assert report["result"] == "TAMPERED"  # the keys it always had, unchanged
    assert {"valid", "as_of_block", "checks", "hashes"} <= set(report)
    assert report["explanation"] == explain_result("TAMPERED").to_json()
    for check in report["checks"]:
        assert check["explanation"] == explain_check(check["name"]).to_json()
    assert report["reason"] is None


def _revoked_vector(tmp_path: Path, reason: int) -> tuple[Path, Path, str]:
    """The revoked bundle of tests/vectors/bundles.json with the revocation's reason code set
    to ``reason`` in its snapshot; the bundle, the snapshot and the vectors' time."""
    vectors = json.loads((OUR_VECTORS / "bundles.json").read_text(encoding="utf-8"))
    test = next(t for t in vectors["tests"] if t["result"] == "REVOKED")
    snapshot = vectors["snapshots"][test["input"]["snapshot"]]
    [status] = snapshot["statuses"]
    status["reason"] = reason
    (tmp_path / "bundle.json").write_text(json.dumps(test["input"]["bundle"]), "utf-8")
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot), "utf-8")
    return tmp_path / "bundle.json", tmp_path / "snapshot.json", str(test["input"]["at"])


def test_verify_revoked_prints_what_its_reason_code_means(tmp_path: Path) -> None:
    bundle, snapshot, at = _revoked_vector(tmp_path, 106)
    done = run("verify", str(bundle), "--snapshot", str(snapshot), "--at", at)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    reason = explain_reason(106)
    assert lines[1:3] == meaning("result.REVOKED")
    assert lines[3:5] == [
        f"  原因 reason 106（撤销 revocation）：{reason.zh}",
        f"    {reason.en}",
    ]
    assert "  [FAIL] status     revoked (reason 106) at block " in done.stdout

    done = run("verify", str(bundle), "--snapshot", str(snapshot), "--at", at, "--json")
    report = json.loads(done.stdout)
    assert report["reason"] == {"code": 106, "explanation": reason.to_json()}

    # A code the reason table lacks is said to be one, not given a meaning.
    bundle, snapshot, at = _revoked_vector(tmp_path, 3)
    done = run("verify", str(bundle), "--snapshot", str(snapshot), "--at", at, "--json")
    unknown = explain("reason.unknown").to_json()
    assert json.loads(done.stdout)["reason"] == {"code": 3, "explanation": unknown}


def test_errors_explain_their_rule(sample_dir: Path, tmp_path: Path) -> None:
    # certreg verify (certreg.cli.main): a time without a zone.
    snapshot = str(sample_dir / "snapshot.json")
    bundle = str(sample_dir / "bundle.json")
    done = run("verify", bundle, "--snapshot", snapshot, "--at", "2026-01-01T00:00:00")
    assert done.returncode == 2  # the exit status it always had
    assert done.stderr.splitlines() == [
        "error: --at: give a timezone, e.g. 2026-01-01T00:00:00+08:00 [cli.time]",
        *meaning("cli.time"),
    ]
    # certreg node (certreg/cli/node.py _run): no node in the folder.
    done = run("node", "status", "--dir", str(tmp_path / "nowhere"))
    assert done.returncode == 1
    first, *rest = done.stderr.splitlines()
    assert first.startswith("error: dir: ") and first.endswith("[config.missing]")
    assert rest == meaning("config.missing")


def test_bench_core_prints_the_figures() -> None:
    done = run("bench", "core", "--json", "--entries", "2000")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for key in (
        "appends_per_s",
        "inclusion_verifications_per_s",
        "consistency_verifications_per_s",
        "bundle_verifications_per_s",
        "commitments_per_s",
    ):
        assert figures[key] > 0


@pytest.mark.parametrize("certificate_type", ["special_ability", "vocational_qualification"])
def test_sample_of_each_type_verifies(tmp_path: Path, certificate_type: str) -> None:
    """``certreg sample --type T`` writes a format 2 sample with its snapshot; a special_ability
    certificate (issued 2025-06-18) is EXPIRED from 00:00 CST on 2030-06-18, one second after
    its last valid moment, while a vocational_qualification certificate has no term."""
    done = run("sample", "--type", certificate_type, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    bundle = json.loads((tmp_path / "bundle.json").read_text())
    assert bundle["version"] == 2
    assert bundle["fields"]["certificate_type"]["value"] == certificate_type
    snapshot = str(tmp_path / "snapshot.json")
    results = {}
    for at in ("2030-06-17T23:59:59+08:00", "2030-06-18T00:00:00+08:00"):
        done = run("verify", str(tmp_path / "bundle.qr.txt"), "--snapshot", snapshot, "--at", at)
        results[at] = (done.returncode, done.stdout)
    valid_code, valid_out = results["2030-06-17T23:59:59+08:00"]
    assert valid_code == 0 and "VALID" in valid_out
    late_code, late_out = results["2030-06-18T00:00:00+08:00"]
    if certificate_type == "special_ability":
        assert late_code == 1 and "EXPIRED" in late_out
    else:
        assert late_code == 0 and "VALID" in late_out


def test_sample_type_is_checked() -> None:
    done = run("sample", "--type", "diploma", "--out", "/nonexistent")
    assert done.returncode == 2
    assert "special_ability" in done.stderr
