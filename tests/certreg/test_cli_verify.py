"""``certreg snapshot`` and ``certreg verify`` (a file or a folder, offline or online) through
``certreg.cli.main``, over a history built on the in-process EVM and a real anvil node. The
offline runs refuse every socket; ``snapshot`` and online ``verify`` need a JSON-RPC URL, so
they run on anvil only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from anchor.snapshot import snapshot_text, take_snapshot, write_snapshot
from certreg.cli import main
from node.core.formats.compact import encode_compact
from node.core.rules.ids import explain_result
from tests.anchor.test_snapshot import History, _refuse_sockets, build_history
from tests.contract.conftest import Registry, artifact, chain, deployed, reg

__all__ = ["artifact", "chain", "deployed", "reg"]


def _write_bundle(path: Path, history: History, i: int) -> Path:
    bundle = history.bundle(i)
    if path.name.endswith(".qr.txt"):
        path.write_text(encode_compact(bundle) + "\n", encoding="ascii")
    else:
        path.write_text(json.dumps(bundle.to_json(), ensure_ascii=False, indent=2), "utf-8")
    return path


def _offline(reg: Registry, tmp_path: Path) -> tuple[History, Path, str]:
    """The history, its snapshot file and a verification time after it."""
    history = build_history(reg)
    snapshot = take_snapshot(reg.as_(0))
    path = tmp_path / "snapshot.json"
    write_snapshot(snapshot, path)
    return history, path, str(snapshot.block.timestamp + 1)


def _url(reg: Registry) -> str:
    if reg.chain.name == "memory":
        pytest.skip("the CLI reaches a chain by URL; the in-process EVM has none")
    return str(reg.chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]


def test_verify_one_file_offline_with_sockets_refused(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    history, snapshot, at = _offline(reg, tmp_path)
    valid = _write_bundle(tmp_path / "valid.json", history, 5)
    revoked = _write_bundle(tmp_path / "revoked.qr.txt", history, 3)
    capsys.readouterr()
    attempts = _refuse_sockets(monkeypatch)

    assert main(["verify", str(valid), "--snapshot", str(snapshot), "--at", at]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{valid}: VALID (as of block ")
    assert "[ok  ] status" in out

    assert main(["verify", str(revoked), "--snapshot", str(snapshot), "--at", at, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "REVOKED" and report["valid"] is False
    failed = [c["name"] for c in report["checks"] if c["passed"] is False]
    assert failed == ["status"]
    assert attempts == []


def test_verify_folder_offline_mix_of_results(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    history, snapshot, at = _offline(reg, tmp_path)
    folder = tmp_path / "bundles"
    folder.mkdir()
    _write_bundle(folder / "a-reinstated.json", history, 0)
    _write_bundle(folder / "b-superseded.json", history, 1)
    _write_bundle(folder / "c-revoked.qr.txt", history, 3)
    _write_bundle(folder / "d-valid.qr.txt", history, 5)
    (folder / "e-garbage.txt").write_text("not a bundle\n", encoding="utf-8")
    (folder / "f-binary.json").write_bytes(b"\xff\xfe\x00")
    (folder / "notes.md").write_text("ignored", encoding="utf-8")
    (folder / "sub").mkdir()
    _write_bundle(folder / "sub" / "ignored.json", history, 5)
    capsys.readouterr()
    attempts = _refuse_sockets(monkeypatch)

    args = ["verify", str(folder), "--snapshot", str(snapshot), "--at", at, "--quiet"]
    assert main(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a-reinstated.json: VALID"
    assert lines[1].startswith("b-superseded.json: SUPERSEDED (status: superseded (reason 4)")
    assert lines[2].startswith("c-revoked.qr.txt: REVOKED (status: revoked (reason 1)")
    assert lines[3] == "d-valid.qr.txt: VALID"
    assert lines[4].startswith("e-garbage.txt: MALFORMED (format: ")
    assert lines[5] == "f-binary.json: MALFORMED (format: cannot read the file: UnicodeDecodeError)"
    # Then what each result code seen means, once, from the rule-id catalogue.
    legend = []
    for code in ("VALID", "REVOKED", "SUPERSEDED", "MALFORMED"):
        entry = explain_result(code)
        source = f" [{entry.source}]" if entry.source else ""
        legend += [f"{code}:", f"  {entry.zh}", f"  {entry.en}{source}"]
    assert lines[6:-1] == legend
    # And the summary, last.
    assert lines[-1].startswith("6 bundles as of block ")
    assert lines[-1].endswith(": VALID 2, REVOKED 1, SUPERSEDED 1, MALFORMED 2")

    assert main([*args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in report["results"]] == [
        "a-reinstated.json",
        "b-superseded.json",
        "c-revoked.qr.txt",
        "d-valid.qr.txt",
        "e-garbage.txt",
        "f-binary.json",
    ]
    assert [r["result"] for r in report["results"]] == [
        "VALID",
        "SUPERSEDED",
        "REVOKED",
        "VALID",
        "MALFORMED",
        "MALFORMED",
    ]
    assert report["summary"] == {
        "total": 6,
        "valid": 2,
        "counts": {"VALID": 2, "REVOKED": 1, "SUPERSEDED": 1, "MALFORMED": 2},
    }
    assert report["as_of_block"] == json.loads(snapshot.read_text())["block"]["number"]
    for result in report["results"]:
        assert result["explanation"] == explain_result(result["result"]).to_json()
    # The history's statuses carry reason codes 1 and 4, which are not in the reason table.
    assert [r["reason"] and r["reason"]["code"] for r in report["results"]] == [
        None,
        4,
        1,
        None,
        None,
        None,
    ]

    for name in ("b-superseded.json", "c-revoked.qr.txt", "e-garbage.txt", "f-binary.json"):
        (folder / name).unlink()
    assert main(args) == 0  # every remaining bundle is VALID
    assert capsys.readouterr().out.splitlines()[-1].endswith(": VALID 2")
    assert attempts == []


def test_verify_refusals(reg: Registry, tmp_path: Path, capsys: Any) -> None:
    history, snapshot, _ = _offline(reg, tmp_path)
    bundle = _write_bundle(tmp_path / "b.json", history, 5)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["verify", str(empty), "--snapshot", str(snapshot)]) == 2
    assert "no bundle files" in capsys.readouterr().err

    bad = tmp_path / "bad-snapshot.json"
    doc = json.loads(snapshot.read_text(encoding="ascii"))
    bad.write_text(json.dumps({**doc, "version": 3}), encoding="utf-8")
    assert main(["verify", str(bundle), "--snapshot", str(bad)]) == 2
    assert "snapshot.version: unsupported version [snapshot.version]" in capsys.readouterr().err

    assert main(["verify", str(bundle), "--rpc", "http://127.0.0.1:9"]) == 2
    assert "--contract: --rpc needs --contract ADDRESS [cli.required]" in capsys.readouterr().err
    assert main(["verify", str(bundle), "--rpc", "http://127.0.0.1:9", "--contract", "0x12"]) == 2
    assert "[cli.address]" in capsys.readouterr().err

    with pytest.raises(SystemExit) as info:  # exactly one trust source
        main(["verify", str(bundle), "--snapshot", str(snapshot), "--rpc", "memory"])
    assert info.value.code == 2
    assert main(["verify", str(bundle)]) == 2  # no trust source, no trust root
    assert "give --snapshot FILE, --rpc URL or --trust-root FILE [cli.required]" in (
        capsys.readouterr().err
    )


def test_snapshot_command_full_past_incremental_and_online_verify(
    reg: Registry, tmp_path: Path, capsys: Any
) -> None:
    url = _url(reg)
    history = build_history(reg)
    client = reg.as_(0)
    flags = ["--rpc", url, "--contract", client.address, "--quiet"]
    head = client.block_number()

    full = tmp_path / "full.json"
    assert main(["snapshot", *flags, "-o", str(full)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {full}: block {head} (0x")
    assert full.read_text(encoding="ascii") == snapshot_text(take_snapshot(client, block=head))

    past = tmp_path / "past.json"
    assert main(["snapshot", *flags, "--block", str(history.past_block), "-o", str(past)]) == 0
    out = capsys.readouterr().out
    assert f"block {history.past_block} " in out and "1 checkpoints, 0 status records" in out

    incremental = tmp_path / "incremental.json"
    args = ["snapshot", *flags, "--since", str(past), "-o", str(incremental)]
    assert main(args) == 0
    assert incremental.read_bytes() == full.read_bytes()

    bundle = _write_bundle(tmp_path / "bundle.json", history, 5)
    capsys.readouterr()
    online = ["verify", str(bundle), "--rpc", url, "--contract", client.address.lower()]
    assert main([*online, "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["result"], report["as_of_block"]) == ("VALID", head)

    revoked = _write_bundle(tmp_path / "revoked.json", history, 3)
    assert main(["verify", str(revoked), *online[2:], "--quiet"]) == 1
    assert ": REVOKED (as of block" in capsys.readouterr().out


def test_snapshot_command_refusals(reg: Registry, tmp_path: Path, capsys: Any) -> None:
    url = _url(reg)
    client = reg.as_(0)
    out = str(tmp_path / "s.json")
    head = client.block_number()
    assert main(["snapshot", "--rpc", url, "--contract", "0xabc", "-o", out]) == 2
    assert "[cli.address]" in capsys.readouterr().err
    args = ["snapshot", "--rpc", url, "--contract", client.address, "-o", out, "--quiet"]
    assert main([*args, "--block", str(head + 100)]) == 2
    assert "block: must be 0–" in capsys.readouterr().err
    assert main(["snapshot", "--rpc", url, "--contract", "0x" + "42" * 20, "-o", out]) == 2
    assert "no contract at" in capsys.readouterr().err
    assert main([*args, "--since", str(tmp_path / "missing.json")]) == 2
    assert "cannot read snapshot" in capsys.readouterr().err
    assert not Path(out).exists()
