"""Backup and restore of a province node, done the way docs/OPERATIONS.md ("Backups and
restore") says: SQLite, the in-process EVM and a local manifest store; and the PostgreSQL
``pg_dump`` / ``pg_restore`` round trip of the same document.

The documented outcome, checked here:

- an online backup (SQLite's backup API, ``node.json``, the manifests folder) restores to a
  node that opens and whose organisations are settled with the chain by ``reconcile``;
- what was anchored after the backup is on the chain and in the manifests but not in the
  restored database, so the restored node **refuses to anchor** (its log is behind the chain)
  until the lost entries are replayed, in manifest order, from the organisations' own signed
  submissions and the same lifecycle commands; then ``reconcile`` adopts the chain's
  checkpoints, nothing is anchored or set on chain twice, the bundles are byte-identical to the
  ones made before the loss and verify, and the auditor finds nothing;
- what was taken in but never anchored (on no chain, in no manifest) must be re-submitted;
- replaying anything else is refused as a fork; without ``node.json``'s keys the encrypted
  records cannot be read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from anchor.chain import RegistryClient
from anchor.snapshot import take_snapshot
from audit.auditor import AuditOptions, audit
from node.core.crypto.privacy import DecryptionError
from node.core.errors import InconsistencyError, InvalidInput
from node.core.formats.snapshot import SnapshotTrustSource
from node.core.rules.reasons import Reason
from node.core.verify import ResultCode, verify_bundle
from node.storage import OrganisationRepository
from province.config import new_config, write_config
from province.replay import ReplayResult, Submitted, lost_entries, replay
from tests.node.storage.pgserver import find_bindir
from tests.ops.nodes import (
    PROVINCE,
    Consortium,
    bundles,
    open_node,
    set_up_node,
    submission,
    submit,
)
from tests.province.helpers import ACTOR, KEY, ORG, SUITE, salted, sign
from tests.servers import PostgresAdmin

#: A second signing key of the organisation, registered after the backup.
KEY_2 = SUITE.generate_private_key(bytes(range(1, 33)))


def online_backup(node_dir: Path, backup_dir: Path) -> None:
    """The documented online backup of a SQLite node: the database through SQLite's backup API
    (a consistent copy while the node runs: what ``sqlite3 node.db ".backup FILE"`` does), then
    ``node.json`` and the manifests folder."""
    backup_dir.mkdir(parents=True)
    with (
        contextlib.closing(sqlite3.connect(node_dir / "node.db")) as source,
        contextlib.closing(sqlite3.connect(backup_dir / "node.db")) as target,
    ):
        source.backup(target)
    shutil.copy2(node_dir / "node.json", backup_dir / "node.json")
    shutil.copytree(node_dir / "manifests", backup_dir / "manifests")


def sync_manifests(source: Path, replica: Path) -> None:
    """Copy the manifests ``replica`` lacks (the folder is content-addressed and append-only:
    ``rsync --ignore-existing``, never ``--delete``)."""
    replica.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if not (replica / path.name).exists():
            shutil.copy2(path, replica / path.name)


def restore(backup_dir: Path, node_dir: Path, manifest_replica: Path) -> None:
    """The documented restore: the backup into an empty folder, then the manifests the backup
    lacks from the surviving replica (or the IPFS network)."""
    shutil.copytree(backup_dir, node_dir)
    sync_manifests(manifest_replica, node_dir / "manifests")


def anchored_sizes(client: RegistryClient) -> list[int]:
    return [
        int(e.args["size"])
        for e in client.iter_events(0, names=["CheckpointAnchored"])
        if int(e.args["province"]) == int(PROVINCE)
    ]


def status_changes(client: RegistryClient) -> int:
    return sum(1 for _ in client.iter_events(0, names=["CertificateStatusChanged"]))


# -- the documented procedure ---------------------------------------------------------------


def test_restore_replays_the_lost_entries_and_anchors_nothing_twice(
    consortium: Consortium, tmp_path: Path
) -> None:
    client, today = consortium.client, consortium.today
    live, backup, replica = tmp_path / "live", tmp_path / "backup", tmp_path / "replica"
    node = set_up_node(live, consortium)
    accepted = {serial: submit(node, serial, today) for serial in range(1, 6)}
    node.anchor_all()  # checkpoint 0: size 5

    online_backup(live, backup)  # while the node is open

    # The node keeps working: a key rotation, three certificates, a revocation and a
    # correction, all anchored; then one more certificate taken in but not yet anchored.
    node.organisations.rotate_key(
        ORG, suite="ed25519", public_key=SUITE.public_key(KEY_2),
        effective_at=int(consortium.now.timestamp()), close_previous=False, actor=ACTOR,
    )  # fmt: skip
    accepted |= {serial: submit(node, serial, today) for serial in range(6, 9)}
    node.anchor_all()  # checkpoint 1: size 8
    node.lifecycle.revoke(accepted[2].commitment, reason=Reason.CANDIDATE_CHEATING, actor=ACTOR)
    renamed = dataclasses.replace(submission(node, 3, today)[0].certificate(), holder_name="李四")
    corrected = salted(renamed)  # the organisation's signed, corrected row
    node.lifecycle.correct(
        accepted[3].commitment, corrected, sign(node, corrected),
        reason=Reason.HOLDER_NAME_ERROR, requested_by="org-clerk", confirmed_by=ACTOR,
    )  # fmt: skip
    node.anchor_all()  # checkpoint 2: size 10, the revocation and the correction on chain
    submit(node, 9, today)  # log size 11, never anchored
    before = bundles(node)
    assert len(before) == 9
    sync_manifests(live / "manifests", replica)  # the continuous replica has caught up
    node.close()
    assert anchored_sizes(client) == [5, 8, 10] and status_changes(client) == 2

    # The database is lost; restore the backup into a new folder.
    restored = tmp_path / "restored"
    restore(backup, restored, replica)
    node = open_node(restored, consortium)
    status = node.status()
    assert (status.log_size, status.anchored_size, status.checkpoints) == (5, 5, 1)

    # Reconcile adopts the organisation's new key, then stops: the chain is past the log.
    with pytest.raises(InconsistencyError, match="past our log"):
        node.reconcile()
    with node.db.transaction() as session:
        keys = OrganisationRepository(session).keys(ORG)
    assert [k.public_key for k in keys] == [SUITE.public_key(KEY), SUITE.public_key(KEY_2)]
    with pytest.raises(InconsistencyError):
        node.anchor_once(force=True)
    assert anchored_sizes(client) == [5, 8, 10]  # nothing sent

    # Replay the lost entries in manifest order (`certreg node replay`): the organisation's
    # own signed rows for issues and the correction, the same action and reason for the
    # revocation.
    lost = lost_entries(node)
    assert [(x.leaf_index, x.entry.kind) for x in lost] == [
        (5, "issue"), (6, "issue"), (7, "issue"), (8, "revoke"), (9, "correct"),
    ]  # fmt: skip
    assert lost[3].entry.commitment == accepted[2].commitment
    assert lost[4].entry.links == (accepted[3].commitment,)
    # The organisation kept what it sent (serials 6-8 and the corrected row after the backup;
    # more does no harm).
    rows = {s.commitment(): Submitted(s, signature, None) for s, signature in (
        *(submission(node, serial, today) for serial in range(1, 10)),
        (corrected, sign(node, corrected)),
    )}  # fmt: skip
    missing = {k: v for k, v in rows.items() if k != lost[1].entry.commitment}
    with pytest.raises(InvalidInput) as caught:
        replay(node, missing, actor=ACTOR)
    assert caught.value.rule == "replay.missing_submission"
    assert "log entry 6" in caught.value.message and lost[1].entry.certificate_number in (
        caught.value.message
    )
    assert node.status().log_size == 6  # entry 5 stays replayed; the run goes on from here
    result = replay(node, rows, actor=ACTOR)  # adopts checkpoints 1 and 2: the chain's roots
    assert result == ReplayResult({"issue": 2, "revoke": 1, "correct": 1}, 10, 10, 3)
    # The certificate taken in but never anchored is in no manifest: it is re-submitted.
    assert submit(node, 9, today).log_index == 10
    node.anchor_all()

    assert anchored_sizes(client) == [5, 8, 10, 11]  # each checkpoint once
    assert status_changes(client) == 2  # the revocation and correction were not sent again
    after = bundles(node)
    assert len(after) == 10
    assert {name: after[name] for name in before} == before  # the same bytes as before
    snapshot = take_snapshot(client)
    trust, at = SnapshotTrustSource(snapshot), snapshot.block.timestamp
    codes = {name: verify_bundle(b, trust, at=at).code for name, b in after.items()}
    revoked = f"{accepted[2].certificate_number}-{accepted[2].commitment.hex()[:12]}"
    assert codes.pop(revoked) == ResultCode.REVOKED
    superseded = f"{accepted[3].certificate_number}-{accepted[3].commitment.hex()[:12]}"
    assert codes.pop(superseded) == ResultCode.SUPERSEDED
    assert set(codes.values()) == {ResultCode.VALID}
    report = audit(client, node.store, AuditOptions(calendar=node.calendar))
    assert report.clean, report.to_json()
    node.close()


def test_a_stopped_node_copied_as_files_restores_as_it_was(
    consortium: Consortium, tmp_path: Path
) -> None:
    """Nothing anchored after the backup: restore, re-submit what was taken in since, go on."""
    live = tmp_path / "live"
    node = set_up_node(live, consortium)
    for serial in range(1, 4):
        submit(node, serial, consortium.today)
    node.anchor_all()
    before = bundles(node)
    node.close()
    copy = tmp_path / "copy"
    shutil.copytree(live, copy)  # the node is stopped: a file copy is consistent
    node = open_node(live, consortium)
    submit(node, 4, consortium.today)  # taken in after the copy, then lost with the database
    node.close()

    restored = tmp_path / "restored"
    shutil.copytree(copy, restored)
    node = open_node(restored, consortium)
    node.reconcile()  # nothing to settle
    assert bundles(node) == before
    assert submit(node, 4, consortium.today).log_index == 3
    node.anchor_all()
    assert anchored_sizes(consortium.client) == [3, 4]
    assert audit(consortium.client, node.store, AuditOptions(calendar=node.calendar)).clean
    node.close()


# -- refusals -------------------------------------------------------------------------------


def test_replaying_out_of_order_is_refused_as_a_fork(
    consortium: Consortium, tmp_path: Path
) -> None:
    live, backup = tmp_path / "live", tmp_path / "backup"
    node = set_up_node(live, consortium)
    submit(node, 1, consortium.today)
    node.anchor_all()
    online_backup(live, backup)
    for serial in (2, 3):
        submit(node, serial, consortium.today)
    node.anchor_all()
    node.close()

    restored = tmp_path / "restored"
    restore(backup, restored, live / "manifests")
    node = open_node(restored, consortium)
    for serial in (3, 2):  # the manifest says 2, then 3
        submit(node, serial, consortium.today)
    with pytest.raises(InconsistencyError, match="different roots at size 3"):
        node.reconcile()
    with pytest.raises(InconsistencyError):
        node.anchor_once(force=True)
    assert anchored_sizes(consortium.client) == [1, 3]  # the chain keeps the true log
    node.close()


def test_without_the_backed_up_keys_the_records_cannot_be_read(
    consortium: Consortium, tmp_path: Path
) -> None:
    """The database alone is not a backup: node.json holds the personal-data keys."""
    live = tmp_path / "live"
    node = set_up_node(live, consortium)
    submit(node, 1, consortium.today)
    node.anchor_all()
    node.close()

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy2(live / "node.db", restored / "node.db")
    shutil.copytree(live / "manifests", restored / "manifests")
    # A fresh node.json (new keys under the same key id), as `certreg node init` would write.
    fresh = new_config(
        restored, province=PROVINCE, rpc="memory", contract=consortium.client.address,
        operator_key=None,
    )  # fmt: skip
    write_config(fresh, restored)
    node = open_node(restored, consortium)
    assert node.status().anchored_size == 1  # the public part is all there
    with pytest.raises(DecryptionError) as caught:
        bundles(node)
    assert "k1" in str(caught.value)  # names the key id, nothing personal
    node.close()


# -- PostgreSQL -----------------------------------------------------------------------------


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as the libpq URI pg_dump and pg_restore take."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_tools(postgres: PostgresAdmin) -> Iterator[Path]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL client tools not found")
    yield bindir


def test_postgres_dump_restores_with_its_triggers(
    consortium: Consortium, tmp_path: Path, postgres: PostgresAdmin, pg_tools: Path
) -> None:
    """``pg_dump -Fc`` of a live node, ``pg_restore`` into an empty database: the same log and
    records, the no-DELETE triggers in force, and the node goes on anchoring."""
    source = postgres.create(migrated=False)
    live = tmp_path / "live"
    node = set_up_node(live, consortium, database=source)
    for serial in range(1, 4):
        submit(node, serial, consortium.today)
    node.anchor_all()
    before = bundles(node)
    dump = tmp_path / "node.dump"
    subprocess.run(
        [str(pg_tools / "pg_dump"), "--format=custom", f"--file={dump}", _libpq(source)],
        check=True,
    )
    node.close()

    target = postgres.create(migrated=False)
    subprocess.run(
        [str(pg_tools / "pg_restore"), "--no-owner", "--exit-on-error",
         f"--dbname={_libpq(target)}", str(dump)],
        check=True,
    )  # fmt: skip
    config = json.loads((live / "node.json").read_text(encoding="utf-8"))
    config["database"] = target
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "node.json").write_text(json.dumps(config), encoding="utf-8")
    shutil.copytree(live / "manifests", restored / "manifests")
    node = open_node(restored, consortium)
    assert bundles(node) == before
    with psycopg.connect(_libpq(target), autocommit=True) as conn:
        for table in ("certificates", "log_entries", "audit_events"):
            with pytest.raises(psycopg.errors.RaiseException):
                conn.execute(f"DELETE FROM {table}")
    node.reconcile()
    submit(node, 4, consortium.today)
    node.anchor_all()
    assert anchored_sizes(consortium.client) == [3, 4]
    node.close()
