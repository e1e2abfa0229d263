"""The certreg command line, run as a user runs it (a subprocess of the installed entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

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
