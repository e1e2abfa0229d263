"""Manifests on a real IPFS daemon (js-ipfs, ``tests/servers.py``'s ``ipfs_daemon``): the same
CIDs as :class:`LocalManifestStore` and :func:`cid_v0`, fail-closed reads, a daemon that is
down, and the anchoring worker publishing to it end to end (docs/IPFS.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient  # type: ignore[import-untyped]
import pytest
import requests

from anchor.manifest import (
    CHUNK_SIZE,
    MAX_LINKS,
    IpfsManifestStore,
    LocalManifestStore,
    Manifest,
    build_manifest,
    cid_v0,
)
from certreg.dev.ipfs import IpfsDaemon
from node.core.errors import ManifestStoreError
from node.core.merkle import MerkleLog
from node.storage import Database, open_database
from tests.anchor.entries import make_entries
from tests.anchor.test_manifest import EMPTY_CID, HELLO_CID, ZEROS_1MIB_CID
from tests.anchor.test_worker import append, checkpoints, log_state, worker
from tests.contract.conftest import Registry

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(ipfs_daemon: IpfsDaemon) -> IpfsManifestStore:
    return IpfsManifestStore(ipfs_daemon.api_url, timeout=30.0)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        yield database
    finally:
        database.dispose()


@dataclasses.dataclass(frozen=True)
class Stopped:
    """What remains of a daemon after :meth:`IpfsDaemon.stop`."""

    url: str
    pid: int
    repo: Path
    cid: str  # what it stored while it ran


@pytest.fixture(scope="module")
def stopped_daemon(ipfs_daemon: IpfsDaemon) -> Stopped:
    """A second daemon of this module's own (the run's one keeps running): started, used once,
    stopped. Asks for ``ipfs_daemon`` so that a missing js-ipfs skips (or fails under CI)."""
    with IpfsDaemon() as daemon:
        assert daemon.pid is not None
        url, pid, repo = daemon.api_url, daemon.pid, daemon.repo
        cid = IpfsManifestStore(url).put(b"hello world\n")
    return Stopped(url, pid, repo, cid)


def manifest_of(count: int, start: int = 0, index: int = 0) -> Manifest:
    entries = make_entries(count, start=start)
    log = MerkleLog()
    log.append_many([bytes(32)] * start)  # stand-in for earlier checkpoints' leaves
    log.append_many([entry.leaf_hash() for entry in entries])
    return build_manifest("44", index, start, start + count, log.root(), entries)


# ---------------------------------------------------------------------------------------------
# CIDs: the daemon, the local store and cid_v0 agree


def test_small_manifest_same_cid_as_local_store(store: IpfsManifestStore, tmp_path: Path) -> None:
    data = manifest_of(3).to_bytes()
    assert len(data) < CHUNK_SIZE
    cid = store.put(data)
    assert cid == cid_v0(data) == LocalManifestStore(tmp_path).put(data)
    assert store.get(cid) == data
    assert store.put(data) == cid  # the same bytes again: the same CID, nothing new


def test_large_manifest_same_cid_as_local_store(store: IpfsManifestStore, tmp_path: Path) -> None:
    manifest = manifest_of(600)  # ~310 KiB: two chunks under one root
    data = manifest.to_bytes()
    assert len(data) > CHUNK_SIZE
    cid = store.put(data)
    assert cid == cid_v0(data) == LocalManifestStore(tmp_path).put(data)
    assert Manifest.from_bytes(store.get(cid)) == manifest


def test_daemon_gives_the_published_cids(store: IpfsManifestStore) -> None:
    """Kubo's published CIDs (tests/anchor/test_manifest.py) from js-ipfs too."""
    assert store.put(b"hello world\n") == HELLO_CID
    assert store.put(b"") == EMPTY_CID
    assert store.put(bytes(1 << 20)) == ZEROS_1MIB_CID
    assert store.get(EMPTY_CID) == b""


def test_two_level_tree_past_174_chunks(store: IpfsManifestStore) -> None:
    """More chunks than one node may link: the balanced layout's second level."""
    data = random.Random(7).randbytes(CHUNK_SIZE * MAX_LINKS + 1000)
    cid = store.put(data)  # put itself fails unless the daemon's CID is cid_v0(data)
    assert cid == cid_v0(data)
    assert store.get(cid, timeout=30.0) == data


def test_manifests_survive_garbage_collection(
    store: IpfsManifestStore, ipfs_daemon: IpfsDaemon
) -> None:
    """``add`` pins: a repository GC keeps every published manifest."""
    data = manifest_of(2, start=40).to_bytes()
    cid = store.put(data)
    client = ipfshttpclient.Client(ipfs_daemon.api_multiaddr, timeout=30)
    try:
        client.repo.gc()
        pins = client.pin.ls(type="recursive")["Keys"]
    finally:
        client.close()
    assert cid in pins
    assert store.get(cid) == data


# ---------------------------------------------------------------------------------------------
# Reads fail closed


def test_get_refuses_blocks_altered_in_the_repository(
    store: IpfsManifestStore, ipfs_daemon: IpfsDaemon
) -> None:
    """The daemon serves whatever its block files hold (it does not re-hash on read); the
    store re-hashes and refuses."""
    data = b"certreg altered-block probe " + os.urandom(8).hex().encode()
    cid = store.put(data)
    [block] = [p for p in (ipfs_daemon.repo / "blocks").rglob("*.data") if data in p.read_bytes()]
    block.write_bytes(block.read_bytes().replace(b"altered", b"ALTERED"))
    served = requests.get(f"{ipfs_daemon.gateway_url}/ipfs/{cid}", timeout=10)
    assert served.content == data.replace(b"altered", b"ALTERED")  # the daemon serves it
    with pytest.raises(ManifestStoreError, match="do not match the CID"):
        store.get(cid)


def test_get_refuses_content_added_with_other_settings(
    store: IpfsManifestStore, ipfs_daemon: IpfsDaemon
) -> None:
    """Same bytes, another chunker: another CID, which is not the manifest's (fail closed)."""
    data = manifest_of(4, start=50).to_bytes()
    client = ipfshttpclient.Client(ipfs_daemon.api_multiaddr, timeout=30)
    try:
        other = client.add_bytes(data, opts={"cid-version": "0", "chunker": "size-1024"})
    finally:
        client.close()
    assert other != cid_v0(data)
    with pytest.raises(ManifestStoreError, match="do not match the CID"):
        store.get(other)


def test_get_refuses_what_is_not_a_cidv0(store: IpfsManifestStore) -> None:
    for bad in ("", "../../etc/passwd", HELLO_CID[:-1], HELLO_CID.replace("Qm", "Zm", 1)):
        with pytest.raises(ManifestStoreError, match="not a CIDv0"):
            store.get(bad)


def test_get_of_an_unknown_cid_times_out(store: IpfsManifestStore) -> None:
    unknown = cid_v0(b"never published " + os.urandom(8))
    started = time.monotonic()
    with pytest.raises(ManifestStoreError, match="cannot read manifest"):
        store.get(unknown, timeout=1.0)
    assert time.monotonic() - started < 5.0  # the timeout holds; offline, nothing to wait for


# ---------------------------------------------------------------------------------------------
# The daemon down


def test_stop_ends_the_daemon_and_removes_its_repository(stopped_daemon: Stopped) -> None:
    assert stopped_daemon.cid == HELLO_CID
    with pytest.raises(ProcessLookupError):
        os.kill(stopped_daemon.pid, 0)  # reaped: no such process (nor process group)
    assert not stopped_daemon.repo.exists()


def test_daemon_down_is_a_manifest_store_error(stopped_daemon: Stopped) -> None:
    store = IpfsManifestStore(stopped_daemon.url, timeout=2.0)
    with pytest.raises(ManifestStoreError, match="cannot add manifest"):
        store.put(b"hello world\n")
    with pytest.raises(ManifestStoreError, match="cannot read manifest"):
        store.get(HELLO_CID, timeout=2.0)


def test_worker_keeps_the_checkpoint_pending_while_ipfs_is_down(
    reg: Registry, db: Database, store: IpfsManifestStore, stopped_daemon: Stopped
) -> None:
    client = reg.as_(0)
    append(db, make_entries(3))
    w = worker(db, client, IpfsManifestStore(stopped_daemon.url, timeout=2.0))
    for _ in range(2):
        with pytest.raises(ManifestStoreError):
            w.run_once(T0)
        assert [c.state for c in checkpoints(db)] == ["pending"]
        assert client.checkpoint_count(44) == 0  # nothing anchored without its manifest
    w.store = store  # IPFS is back
    outcome = w.run_once(T0)
    assert outcome is not None and outcome.sent and outcome.index == 0
    assert [c.state for c in checkpoints(db)] == ["confirmed"]
    assert store.get(outcome.manifest_cid)


# ---------------------------------------------------------------------------------------------
# End to end


def test_worker_publishes_to_ipfs_and_anchors_the_cid(
    reg: Registry,
    db: Database,
    store: IpfsManifestStore,
    ipfs_daemon: IpfsDaemon,
    tmp_path: Path,
) -> None:
    client = reg.as_(0)
    first = make_entries(5, start=100)
    append(db, first)
    outcome = worker(db, client, store).run_once(T0)
    assert outcome is not None and outcome.sent
    size, root, _ = log_state(db)
    on_chain = client.latest_checkpoint(44)
    assert on_chain is not None
    assert (on_chain.index, on_chain.size, on_chain.root) == (0, size, root)
    assert on_chain.manifest_cid == outcome.manifest_cid

    # Anyone holding only the chain's CID gets the manifest, through the API or the gateway.
    data = IpfsManifestStore(ipfs_daemon.api_url).get(on_chain.manifest_cid)
    served = requests.get(f"{ipfs_daemon.gateway_url}/ipfs/{on_chain.manifest_cid}", timeout=10)
    assert served.status_code == 200 and served.content == data
    manifest = Manifest.from_bytes(data)
    assert list(manifest.entries) == first
    assert (manifest.previous_size, manifest.tree_size, manifest.root) == (0, 5, root)
    rebuilt = MerkleLog()
    rebuilt.append_many(manifest.leaf_hashes())
    assert rebuilt.root() == root
    assert LocalManifestStore(tmp_path).put(data) == on_chain.manifest_cid
