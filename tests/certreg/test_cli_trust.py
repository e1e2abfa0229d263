"""``certreg verify --trust-root … --max-age …`` over the shared trust vectors
(tests/vectors/trust.json): a signed fresh snapshot is VALID, a forged (unsigned) one
UNTRUSTED_SNAPSHOT, an old one STALE, a backdated certificate DISPUTED, and a bundle carrying its
checkpoint's cosignatures verifies with the trust root alone, in a process without a network
(``unshare -n``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from certreg.cli import main, parse_duration
from node.core.errors import InvalidInput
from node.core.formats.trust import TrustRootFile
from tests.anchor.test_snapshot import _refuse_sockets
from tests.contract.conftest import Registry, artifact, chain, deployed, reg

__all__ = ["artifact", "chain", "deployed", "reg"]

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "trust.json").read_text("utf-8"))


def _case(comment: str) -> dict[str, Any]:
    return next(c for c in VECTORS["tests"] if c["comment"] == comment)


def _files(tmp_path: Path, comment: str) -> list[str]:
    """The bundle (and snapshot) of a vector as files, with --trust-root and --at."""
    given = _case(comment)["input"]
    root = tmp_path / "trust-root.json"
    root.write_text(json.dumps(VECTORS["trust_roots"]["chain"]), encoding="utf-8")
    bundle = tmp_path / "bundle.txt"
    bundle.write_text(
        given["compact"] if "compact" in given else json.dumps(given["bundle"]), encoding="utf-8"
    )
    args = [str(bundle), "--trust-root", str(root), "--at", str(given["at"])]
    if given["snapshot"] is not None:
        snapshot = tmp_path / "snapshot.json"
        snapshot.write_text(json.dumps(VECTORS["snapshots"][given["snapshot"]]), "utf-8")
        args += ["--snapshot", str(snapshot)]
    return args


@pytest.mark.parametrize(
    ("comment", "code", "exit_code"),
    [
        ("signed by two of three, fresh", "VALID", 0),
        ("unsigned snapshot", "UNTRUSTED_SNAPSHOT", 1),
        ("snapshot of another network", "WRONG_NETWORK", 1),
        ("eight days old", "STALE", 1),
        ("anchored 23 months after the issue date", "DISPUTED", 1),
        ("cosigned, compact form, no snapshot", "VALID", 0),
        ("cosigned by 11 and 44's replaced key", "UNTRUSTED_SNAPSHOT", 1),
    ],
)
def test_verify_with_a_trust_root_offline(
    comment: str, code: str, exit_code: int, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    args = _files(tmp_path, comment)
    attempts = _refuse_sockets(monkeypatch)
    assert main(["verify", *args, "--json"]) == exit_code
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == code
    assert report["explanation"]["en"]
    assert attempts == []


def test_max_age_and_the_default(tmp_path: Path, capsys: Any) -> None:
    args = _files(tmp_path, "eight days old")  # 8 days old: stale by default, not with 9d
    assert main(["verify", *args]) == 1
    assert ": STALE (as of block" in capsys.readouterr().out
    assert main(["verify", *args, "--max-age", "9d"]) == 0
    assert main(["verify", *args, "--max-age", "12h"]) == 1
    assert main(["verify", *args, "--max-age", "7x"]) == 2
    assert "[cli.duration]" in capsys.readouterr().err
    assert parse_duration("30s") == 30 and parse_duration("12h") == 43_200
    with pytest.raises(InvalidInput):
        parse_duration("-1d")


def test_a_broken_trust_root_is_refused(tmp_path: Path, capsys: Any) -> None:
    args = _files(tmp_path, "signed by two of three, fresh")
    Path(args[2]).write_text(json.dumps(VECTORS["trust_roots"]["root-2-one-signature"]), "utf-8")
    assert main(["verify", *args]) == 2
    assert "[trust_root.signatures]" in capsys.readouterr().err


def test_a_cosigned_qr_text_verifies_without_a_network(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode:
        pytest.skip("unshare -n is not available here")
    args = _files(tmp_path, "cosigned, compact form, no snapshot")
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "certreg", "verify", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "VALID" in run.stdout and "from the checkpoint's cosignatures" in run.stdout
    assert "later revocations are not known" in run.stdout


def test_trust_root_command_collects_the_members_signatures(
    reg: Registry, tmp_path: Path, capsys: Any
) -> None:
    from anchor.trust_roots import publish_checkpoint_key
    from node.core.crypto.signatures import get_suite

    if reg.chain.name == "memory":
        pytest.skip("the CLI reaches a chain by URL; the in-process EVM has none")
    url = str(reg.chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    ed = get_suite("ed25519")
    keys = {}
    for province, account in (("41", 1), ("43", 2)):
        private = ed.generate_private_key(f"cli witness {province}".encode().ljust(32, b"."))
        publish_checkpoint_key(reg.as_(account), "ed25519", ed.public_key(private))
        keys[province] = tmp_path / f"{province}.key"
        keys[province].write_text(private.hex(), encoding="ascii")
    block = reg.as_(0).block_number()
    out, folder = tmp_path / "trust-root.json", tmp_path / "signatures"
    base = ["trust-root", "--rpc", url, "--contract", reg.address, "-o", str(out)]
    pinned = [*base, "--block", str(block), "--signatures", str(folder)]
    assert main(base) == 1  # written, not yet signed
    assert "not yet signed enough" in capsys.readouterr().err
    assert main([*pinned, "--sign-key", str(keys["41"]), "--province", "41"]) == 1
    assert main([*pinned, "--sign-key", str(keys["43"]), "--province", "43"]) == 0
    assert "root 1 at block" in capsys.readouterr().out
    document = TrustRootFile.from_text(out.read_bytes())
    assert document.verify().block.number == block
    assert sorted(s.province for s in document.roots[0].signatures) == ["41", "43"]


def test_signed_snapshot_from_the_chain_verifies_with_the_trust_root(
    reg: Registry, tmp_path: Path, capsys: Any
) -> None:
    """``certreg snapshot --sign-key`` by one member, ``--cosign`` by others (each checking the
    file against its own reading of the chain): UNTRUSTED_SNAPSHOT below the threshold, trusted
    at it; a snapshot altered after signing is refused when cosigning."""
    from anchor.trust_roots import publish_checkpoint_key
    from node.core.crypto.signatures import get_suite
    from tests.anchor.test_snapshot import build_history

    if reg.chain.name == "memory":
        pytest.skip("the CLI reaches a chain by URL; the in-process EVM has none")
    url = str(reg.chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    history = build_history(reg)
    ed = get_suite("ed25519")
    keys = {}
    # build_history admits 45 (account 8): four members, a threshold of three.
    for province, account in (("41", 1), ("43", 2), ("45", 8)):
        private = ed.generate_private_key(f"snap witness {province}".encode().ljust(32, b"."))
        publish_checkpoint_key(reg.as_(account), "ed25519", ed.public_key(private))
        keys[province] = tmp_path / f"{province}.key"
        keys[province].write_text(private.hex(), encoding="ascii")
    chain = ["--rpc", url, "--contract", reg.address]
    root, folder = tmp_path / "trust-root.json", tmp_path / "signatures"
    block = str(reg.as_(0).block_number())
    for province in keys:
        main(["trust-root", *chain, "-o", str(root), "--block", block, "--signatures",
              str(folder), "--sign-key", str(keys[province]), "--province", province])  # fmt: skip
    assert TrustRootFile.from_text(root.read_bytes()).verify().threshold == 3
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    sign = ["--sign-key", str(keys["41"]), "--province", "41"]
    assert main(["snapshot", *chain, "-o", str(one), "--quiet", *sign]) == 0
    cosign = ["--sign-key", str(keys["43"]), "--province", "43", "--cosign", str(one)]
    assert main(["snapshot", *chain, "-o", str(two), "--quiet", *cosign]) == 0
    assert "version 2 signed by 41, 43" in capsys.readouterr().out
    three = tmp_path / "three.json"
    cosign45 = ["--sign-key", str(keys["45"]), "--province", "45", "--cosign", str(two)]
    assert main(["snapshot", *chain, "-o", str(three), "--quiet", *cosign45]) == 0

    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(history.bundle(5).to_json()), encoding="utf-8")
    verify = ["verify", str(bundle), "--trust-root", str(root), "--json"]
    capsys.readouterr()
    assert main([*verify, "--snapshot", str(two)]) == 1
    assert json.loads(capsys.readouterr().out)["result"] == "UNTRUSTED_SNAPSHOT"
    code = main([*verify, "--snapshot", str(three)])
    report = json.loads(capsys.readouterr().out)
    # Trusted now; and the history's certificates, issued 2025-06-18, were anchored today on
    # this chain: more than six months later, which the verifier re-runs and disputes.
    trust = next(c for c in report["checks"] if c["name"] == "trust")
    assert trust["passed"] is True and "41, 43, 45" in trust["detail"]
    assert (code, report["result"]) == (1, "DISPUTED")
    assert [d["kind"] for d in report["disputes"]] == ["deadline.over_six_months"]

    altered = json.loads(one.read_text("utf-8"))
    altered["statuses"] = altered["statuses"][:-1]
    bad = tmp_path / "altered.json"
    bad.write_text(json.dumps(altered), encoding="utf-8")
    cosign[-1] = str(bad)
    assert main(["snapshot", *chain, "-o", str(tmp_path / "x.json"), "--quiet", *cosign]) == 1
    assert "not signed: digest: differs from this member's snapshot" in capsys.readouterr().err
    # A file dated more than a day ago is not cosigned either (the member vouches for its time).
    old = json.loads(one.read_text("utf-8"))
    old["time"] -= 2 * 24 * 3600
    stale = tmp_path / "old.json"
    stale.write_text(json.dumps(old), encoding="utf-8")
    cosign[-1] = str(stale)
    assert main(["snapshot", *chain, "-o", str(tmp_path / "y.json"), "--quiet", *cosign]) == 1
    assert "not signed: time:" in capsys.readouterr().err
