"""Manifests and the local content-addressed store: CIDs equal to those of ``ipfs add``."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from anchor.manifest import (
    CHUNK_SIZE,
    ForeignDeclaration,
    IpfsManifestStore,
    LocalManifestStore,
    Manifest,
    base58btc,
    build_manifest,
    cid_v0,
    manifest_bytes,
)
from audit.log import read_manifest
from node.core.errors import InvalidInput, ManifestStoreError
from node.core.formats.access import LogHead
from node.core.merkle import MerkleLog
from tests.anchor.entries import make_entries

# Published CIDv0 values of ``ipfs add`` with default settings:
# - "hello world\n": the IPFS docs' example.
# - the empty file: Kubo issue #4688 (its log shows "added QmbFMke1…").
# - 1 MiB and 100 MiB of zero bytes: the CIDs an Erlang IPFS client's test suite and an IPFS
#   benchmark script expect for those files (found with the code search tool). 1 MiB is four
#   chunks under one root; 100 MiB is 400 chunks, more than 174 links, so a two-level tree.
HELLO_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
EMPTY_CID = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
ZEROS_1MIB_CID = "QmVkbauSDEaMP4Tkq6Epm9uW75mWm136n81YH8fGtfwdHU"
ZEROS_100MIB_CID = "Qmca3PNFKuZnYkiVv1FpcV1AfDUm4qCSHoYjPTBqDAsyk8"


def _independent_small_cid(payload: bytes) -> str:
    """CIDv0 of a one-chunk file, written out byte by byte from the UnixFS and dag-pb specs.

    UnixFS Data: 08 02 (Type = File), 12 len payload (Data), 18 len (filesize).
    dag-pb PBNode: 0a len <UnixFS Data> (field 1, Data; no links).
    Multihash: 12 20 sha256(block). CIDv0: base58btc of the multihash.
    """
    assert len(payload) <= 100  # one-byte lengths keep this hand encoding simple
    unixfs = bytes([0x08, 0x02, 0x12, len(payload)]) + payload + bytes([0x18, len(payload)])
    block = bytes([0x0A, len(unixfs)]) + unixfs
    digest = b"\x12\x20" + hashlib.sha256(block).digest()
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, out = int.from_bytes(digest, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return out


def test_hello_world_cid_matches_ipfs_and_the_spec() -> None:
    assert _independent_small_cid(b"hello world\n") == HELLO_CID
    assert cid_v0(b"hello world\n") == HELLO_CID


def test_small_payloads_match_the_independent_encoding() -> None:
    rng = random.Random(7)
    for size in (1, 5, 60, 100):
        payload = rng.randbytes(size)
        assert cid_v0(payload) == _independent_small_cid(payload)


def test_empty_file_cid() -> None:
    assert cid_v0(b"") == EMPTY_CID


def test_multi_chunk_cids_match_ipfs() -> None:
    assert cid_v0(bytes(1 << 20)) == ZEROS_1MIB_CID
    assert cid_v0(bytes(100 << 20)) == ZEROS_100MIB_CID


def test_chunk_boundary() -> None:
    one = cid_v0(bytes(CHUNK_SIZE))
    two = cid_v0(bytes(CHUNK_SIZE + 1))
    assert one != two
    assert one.startswith("Qm") and len(one) == 46


def test_base58_leading_zeros() -> None:
    assert base58btc(b"\x00\x00\x01") == "112"
    assert base58btc(b"") == ""


def _manifest(count: int = 5, previous: int = 0) -> tuple[Manifest, MerkleLog]:
    entries = make_entries(previous + count)
    log = MerkleLog()
    for entry in entries:
        log.append(entry.leaf_hash())
    manifest = build_manifest("44", 1, previous, previous + count, log.root(), entries[previous:])
    return manifest, log


def test_manifest_round_trip_and_shape() -> None:
    manifest, log = _manifest(4, previous=3)
    data = manifest.to_bytes()
    parsed = Manifest.from_bytes(data)
    assert parsed == manifest
    value = manifest.to_json()
    assert value["type"] == "certreg.manifest" and value["version"] == 1
    assert (value["previous_size"], value["tree_size"], value["checkpoint_index"]) == (3, 7, 1)
    assert value["root"] == log.root().hex()
    assert parsed.leaf_hashes() == manifest.leaf_hashes()


def test_manifest_holds_no_personal_data() -> None:
    manifest, _ = _manifest(3)
    text = manifest.to_bytes().decode()
    for key in ("holder_name", "id_number", "salt"):
        assert key not in text


def test_manifest_parse_is_strict() -> None:
    manifest, _ = _manifest(2)
    data = manifest.to_bytes()
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(data.replace(b'"version":1', b'"version":2'))
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(b" " + data)  # not canonical
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(data[:-1] + b',"extra":1}')
    with pytest.raises(InvalidInput):
        build_manifest("44", 0, 0, 3, bytes(32), manifest.entries)  # wrong count


@pytest.mark.parametrize("access", [None, LogHead(0, bytes(32)), LogHead(7, b"\x5a" * 32)])
@pytest.mark.parametrize(("count", "previous", "index"), [(1, 0, 0), (4, 3, 1), (40, 9, 12)])
def test_manifest_bytes_equal_the_canonical_document(
    count: int, previous: int, index: int, access: LogHead | None
) -> None:
    entries = make_entries(previous + count)[previous:]
    root = hashlib.sha256(f"{count}/{previous}".encode()).digest()
    expected = build_manifest(
        "44", index, previous, previous + count, root, entries, access
    ).to_bytes()
    data = manifest_bytes(
        "44", index, previous, previous + count, root, [e.canonical_bytes() for e in entries],
        access,
    )  # fmt: skip
    assert data == expected
    parsed = Manifest.from_bytes(data)
    assert parsed.entries == tuple(entries) and parsed.access_log == access
    assert parsed.version == (1 if access is None else 2)
    # The auditor's streaming reader sees the same header.
    header, rows = read_manifest(data)
    assert header.access_log == access and len(list(rows)) == count


def test_version_2_manifest_is_strict_about_its_access_log_head() -> None:
    manifest, _ = _manifest(2)
    v2 = build_manifest(
        "44", 1, 0, 2, manifest.root, manifest.entries, LogHead(3, b"\x01" * 32)
    ).to_bytes()
    assert v2.startswith(b'{"access_log":{"count":3,"head":"0101')
    bad = [
        v2.replace(b'"version":2', b'"version":1'),  # v1 with an access_log key
        manifest.to_bytes().replace(b'"version":1', b'"version":2'),  # v2 without one
        v2.replace(b'"count":3', b'"count":-3'),
        v2.replace(b'"count":3', b'"count":0'),  # an empty log has the zero head
        v2.replace(b'"head":"01', b'"head":"1'),
    ]
    for data in bad:
        with pytest.raises(InvalidInput):
            Manifest.from_bytes(data)
        with pytest.raises(InvalidInput):
            _, rows = read_manifest(data)
            list(rows)


def test_version_3_manifest_declares_foreign_leaves() -> None:
    """Version 3: the foreign leaves before the checkpoint (``certreg node adopt-foreign``),
    between the entries and ``previous_size``; the framed bytes, the document and the
    auditor's streaming reader agree, and a wrong declaration is refused by all three."""
    entries = make_entries(6)[4:]
    root, access = b"\x07" * 32, LogHead(2, b"\x5a" * 32)
    foreign = (ForeignDeclaration(1, 2, 3), ForeignDeclaration(2, 3, 4))
    expected = build_manifest("44", 3, 4, 6, root, entries, access, foreign)
    data = manifest_bytes(
        "44", 3, 4, 6, root, [e.canonical_bytes() for e in entries], access, foreign
    )
    assert data == expected.to_bytes() and expected.version == 3
    assert b'],"foreign":[{"checkpoint_index":1,"end":3,"start":2},' in data
    parsed = Manifest.from_bytes(data)
    assert parsed.foreign == foreign and parsed.entries == tuple(entries)
    header, rows = read_manifest(data)
    assert header.foreign == foreign and header.access_log == access
    assert [entry.commitment for _, entry in rows] == [e.commitment for e in entries]
    # Without a declaration the worker still writes version 2.
    assert b'"version":2' in manifest_bytes(
        "44", 3, 4, 6, root, [e.canonical_bytes() for e in entries], access
    )
    bad = [
        data.replace(b'"version":3', b'"version":2'),
        data.replace(b'"end":3', b'"end":5'),  # past previous_size
        data.replace(b'"start":3', b'"start":2'),  # overlapping
        data.replace(b'"foreign":[{', b'"foreign":[{"x":1,'),
        # no access_log: a version 1 manifest cannot declare foreign leaves
        (b"{" + data[data.index(b'"checkpoint_index":3') :]).replace(
            b'"version":3', b'"version":1'
        ),
    ]
    for wrong in bad:
        with pytest.raises(InvalidInput):
            Manifest.from_bytes(wrong)
        with pytest.raises(InvalidInput):
            _, rows = read_manifest(wrong)
            list(rows)
    for declared in ((ForeignDeclaration(0, 3, 3),), (ForeignDeclaration(0, 0, 5),)):
        with pytest.raises(InvalidInput) as caught:
            manifest_bytes(
                "44", 3, 4, 6, root, [e.canonical_bytes() for e in entries], access, declared
            )
        assert caught.value.rule == "manifest.foreign"


def test_manifest_bytes_refuses_what_manifest_refuses() -> None:
    entries = [e.canonical_bytes() for e in make_entries(2)]
    cases = [
        ((-1, 0, 2, bytes(32), entries), "manifest.range"),
        ((0, 2, 2, bytes(32), []), "manifest.range"),
        ((0, 0, 3, bytes(32), entries), "manifest.count"),
        ((0, 0, 2, bytes(31), entries), "manifest.root"),
    ]
    for (index, previous, size, root, items), rule in cases:
        with pytest.raises(InvalidInput) as caught:
            manifest_bytes("44", index, previous, size, root, items)
        assert caught.value.rule == rule
    with pytest.raises(InvalidInput) as caught:
        manifest_bytes('4"', 0, 0, 2, bytes(32), entries)
    assert (caught.value.field, caught.value.rule) == ("manifest.province", "manifest.province")


def test_local_store_put_get(tmp_path: Path) -> None:
    store = LocalManifestStore(tmp_path / "manifests")
    manifest, _ = _manifest(3)
    data = manifest.to_bytes()
    cid = store.put(data)
    assert cid == cid_v0(data)
    assert store.put(data) == cid  # idempotent
    assert store.get(cid) == data
    assert sorted(p.name for p in (tmp_path / "manifests").iterdir()) == [cid]  # no temp left
    assert store.put(b"hello world\n") == HELLO_CID


def test_local_store_large_manifest(tmp_path: Path) -> None:
    store = LocalManifestStore(tmp_path)
    manifest, _ = _manifest(600)  # ~310 KiB: two chunks
    data = manifest.to_bytes()
    assert len(data) > CHUNK_SIZE
    cid = store.put(data)
    assert Manifest.from_bytes(store.get(cid)) == manifest


def test_local_store_fails_closed(tmp_path: Path) -> None:
    store = LocalManifestStore(tmp_path)
    cid = store.put(b"hello world\n")
    (tmp_path / cid).write_bytes(b"hello world!\n")
    with pytest.raises(ManifestStoreError):
        store.get(cid)
    with pytest.raises(ManifestStoreError):
        store.get(EMPTY_CID)  # unknown
    with pytest.raises(ManifestStoreError):
        store.get("../../etc/passwd")


def test_local_store_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ManifestStoreError):
        LocalManifestStore(blocker / "sub").put(b"x")


def test_ipfs_store_unreachable_fails_closed() -> None:
    from certreg.dev.servers import free_port

    store = IpfsManifestStore(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    with pytest.raises(ManifestStoreError):
        store.put(b"hello world\n")
    with pytest.raises(ManifestStoreError):
        store.get(HELLO_CID, timeout=2.0)
