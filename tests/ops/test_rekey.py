"""``certreg node rekey``: rotating the personal-data key the way docs/OPERATIONS.md says, on a
node with anchored certificates (SQLite, the in-process EVM, a local manifest store)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from certreg.cli import main
from node.core.certificate import Certificate
from node.core.crypto.privacy import BlindIndex, DecryptionError
from node.core.errors import InvalidInput
from node.storage import CertificateRepository, open_database
from province.config import load_config
from province.rekey import retire_unused_keys, start_reindex
from tests.ops.nodes import Consortium, bundles, open_node, set_up_node, submission, submit


def rekey(capsys: pytest.CaptureFixture[str], home: Path, *flags: str) -> dict[str, Any]:
    status = main(["node", "rekey", "--dir", str(home), "--json", "--quiet", *flags])
    out, err = capsys.readouterr()
    assert status == 0, err
    return dict(json.loads(out))


def copy_database(source: Path, target: Path) -> None:
    """SQLite's backup API (the documented way; the file alone may miss its WAL)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def records(home: Path) -> dict[str, tuple[str, bytes]]:
    """Each certificate's key id and ciphertext, read from the file itself."""
    with contextlib.closing(sqlite3.connect(home / "node.db")) as db:
        rows = db.execute("SELECT certificate_number, record_key_id, record FROM certificates")
        return {number: (key_id, bytes(blob)) for number, key_id, blob in rows}


def test_rotation_reencrypts_every_record_and_retires_the_old_key(
    consortium: Consortium, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    node = set_up_node(home, consortium)
    for serial in (1, 2, 3):
        submit(node, serial, consortium.today)
    node.anchor_all()
    before, old_records = bundles(node), records(home)
    node.close()
    assert {key_id for key_id, _ in old_records.values()} == {"k1"}
    backup = tmp_path / "backup.db"
    copy_database(home / "node.db", backup)

    result = rekey(capsys, home)
    assert result == {
        "added_key": "k2", "current_key": "k2", "reencrypted": 3, "retired": [],
        "keys": ["k1", "k2"], "records_per_key": {"k2": 3},
    }  # fmt: skip
    new_records = records(home)
    assert {key_id for key_id, _ in new_records.values()} == {"k2"}
    assert all(new_records[n][1] != old_records[n][1] for n in old_records)
    assert (home / "node.json").stat().st_mode & 0o077 == 0
    node = open_node(home, consortium)
    assert bundles(node) == before  # the same certificates, byte for byte
    node.close()

    result = rekey(capsys, home, "--resume", "--retire")
    assert (result["reencrypted"], result["retired"], result["keys"]) == (0, ["k1"], ["k2"])
    assert list(load_config(home).keys) == ["k2"]
    node = open_node(home, consortium)
    assert bundles(node) == before  # k1 is gone and nothing needs it
    node.close()

    # A backup taken before the rotation still needs k1 (docs/OPERATIONS.md: keep it as long
    # as such backups).
    copy_database(backup, home / "node.db")
    assert {key_id for key_id, _ in records(home).values()} == {"k1"}
    node = open_node(home, consortium)
    with pytest.raises(DecryptionError, match="k1"):
        bundles(node)
    node.close()


def test_a_record_written_with_the_old_key_keeps_it_until_resume(
    consortium: Consortium, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    node = set_up_node(home, consortium)
    submit(node, 1, consortium.today)
    stale = node  # e.g. the API server, not restarted after the rotation
    assert rekey(capsys, home)["reencrypted"] == 1
    submit(stale, 2, consortium.today)
    stale.anchor_all()
    stale.close()
    assert sorted(key_id for key_id, _ in records(home).values()) == ["k1", "k2"]

    db = open_database(load_config(home).database)
    try:
        config, retired, still = retire_unused_keys(home, db)
    finally:
        db.dispose()
    assert (retired, still, sorted(config.keys)) == ([], {"k1": 1}, ["k1", "k2"])

    result = rekey(capsys, home, "--resume", "--retire")
    assert result["added_key"] is None
    assert (result["reencrypted"], result["retired"]) == (1, ["k1"])
    assert result["records_per_key"] == {"k2": 2}
    node = open_node(home, consortium)
    assert len(bundles(node)) == 2
    node.close()


def test_a_key_from_the_environment_stays_out_of_the_file(
    consortium: Consortium,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "node44"
    node = set_up_node(home, consortium)
    submit(node, 1, consortium.today)
    node.anchor_all()
    node.close()
    config_file = home / "node.json"
    original = config_file.read_bytes()

    def refused(*flags: str) -> str:
        status = main(["node", "rekey", "--dir", str(home), "--quiet", *flags])
        err = capsys.readouterr().err
        assert status == 1, err
        assert config_file.read_bytes() == original  # nothing changed
        assert {key_id for key_id, _ in records(home).values()} == {"k1"}
        return err

    monkeypatch.delenv("CERTREG_TEST_NEW_KEY", raising=False)
    assert "config.env" in refused("--new-key-env", "CERTREG_TEST_NEW_KEY")
    monkeypatch.setenv("CERTREG_TEST_NEW_KEY", "ab" * 16)  # 16 bytes: AES-256 needs 32
    assert "privacy.key_size" in refused("--new-key-env", "CERTREG_TEST_NEW_KEY")
    assert "rekey.batch" in refused("--batch", "0")

    secret = "cd" * 32
    monkeypatch.setenv("CERTREG_TEST_NEW_KEY", secret)
    result = rekey(capsys, home, "--new-key-env", "CERTREG_TEST_NEW_KEY")
    assert (result["added_key"], result["reencrypted"]) == ("k2", 1)
    written = json.loads(config_file.read_text())["privacy"]
    assert written["keys"]["k2"] == "env:CERTREG_TEST_NEW_KEY"
    assert secret not in config_file.read_text()
    node = open_node(home, consortium)
    assert len(bundles(node)) == 1
    node.close()
    monkeypatch.delenv("CERTREG_TEST_NEW_KEY")
    with pytest.raises(InvalidInput) as caught:
        open_node(home, consortium)  # the node needs the variable from now on
    assert caught.value.rule == "config.env" and secret not in str(caught.value)


def indexes(home: Path) -> dict[str, tuple[bytes, bytes]]:
    """Each certificate's two blind-index values, read from the file itself."""
    with contextlib.closing(sqlite3.connect(home / "node.db")) as db:
        rows = db.execute(
            "SELECT certificate_number, holder_name_index, id_number_index FROM certificates"
        )
        return {number: (bytes(name), bytes(id_)) for number, name, id_ in rows}


def found(home: Path, index: BlindIndex, holder: Certificate) -> list[str]:
    """The two-of-three query by name and ID number (art. 19), through ``index``."""
    config = load_config(home)
    db = open_database(config.database)
    try:
        with db.transaction() as session:
            matches = CertificateRepository(session, config.cipher(), index).find_by_two_of_three(
                name=holder.holder_name, id_number=holder.id_number
            )
    finally:
        db.dispose()
    return [m.certificate_number for m in matches]


def test_the_blind_index_key_is_replaced_for_every_record_at_once(
    consortium: Consortium, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    node = set_up_node(home, consortium)
    holders = [submission(node, serial, consortium.today)[0].certificate() for serial in (1, 2, 3)]
    for serial in (1, 2, 3):
        submit(node, serial, consortium.today)
    node.anchor_all()
    before = bundles(node)
    node.close()
    old_index, old_columns = load_config(home).blind_index(), indexes(home)
    assert [found(home, old_index, h) for h in holders] == [[h.certificate_number] for h in holders]

    result = rekey(capsys, home, "--blind-index")
    assert result == {"blind_index": "replaced", "reindexed": 3}
    config = load_config(home)
    assert config.next_blind_index_key is None
    new_columns = indexes(home)
    assert all(set(new_columns[n]).isdisjoint(old_columns[n]) for n in old_columns)
    assert [found(home, config.blind_index(), h) for h in holders] == [
        [h.certificate_number] for h in holders
    ]
    assert [found(home, old_index, h) for h in holders] == [[], [], []]
    node = open_node(home, consortium)
    assert bundles(node) == before
    node.close()


def test_an_unfinished_reindex_blocks_the_node_until_it_is_finished(
    consortium: Consortium, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "node44"
    node = set_up_node(home, consortium)
    holder = submission(node, 1, consortium.today)[0].certificate()
    submit(node, 1, consortium.today)
    submit(node, 2, consortium.today)
    node.close()
    columns = indexes(home)

    # Killed after the new key was written, before the records were re-indexed.
    start_reindex(home)
    with pytest.raises(InvalidInput) as caught:
        open_node(home, consortium)
    assert caught.value.rule == "privacy.reindex_unfinished"
    for flags, rule in [
        ((), "privacy.reindex_unfinished"),
        (("--blind-index",), "rekey.reindex_pending"),
    ]:
        status = main(["node", "rekey", "--dir", str(home), "--quiet", *flags])
        assert status == 1 and rule in capsys.readouterr().err

    # The last record cannot be decrypted: the re-index stops with nothing changed, the
    # first record included although its batch (of one) was done.
    last = "SELECT id, record FROM certificates ORDER BY id DESC LIMIT 1"
    with contextlib.closing(sqlite3.connect(home / "node.db")) as db, db:
        row_id, blob = db.execute(last).fetchone()
        broken = bytes(blob)[:-1] + bytes([blob[-1] ^ 1])
        db.execute("UPDATE certificates SET record = ? WHERE id = ?", (broken, row_id))
    status = main(
        [
            "node",
            "rekey",
            "--dir",
            str(home),
            "--quiet",
            "--blind-index",
            "--resume",
            "--batch",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and "failed authentication" in err, err
    assert holder.holder_name not in err and holder.id_number not in err
    assert indexes(home) == columns and load_config(home).next_blind_index_key is not None
    with contextlib.closing(sqlite3.connect(home / "node.db")) as db, db:
        db.execute("UPDATE certificates SET record = ? WHERE id = ?", (bytes(blob), row_id))

    result = rekey(capsys, home, "--blind-index", "--resume")
    assert result == {"blind_index": "replaced", "reindexed": 2}
    config = load_config(home)
    assert found(home, config.blind_index(), holder) == [holder.certificate_number]
    open_node(home, consortium).close()
