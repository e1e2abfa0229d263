"""Checkpoint manifests and the content-addressed stores that publish them.

A manifest lists the log entries a checkpoint adds (``previous_size`` to ``tree_size``), as
RFC 8785 canonical JSON. It holds no personal data: log entries carry only codes, dates,
commitments and signatures (``docs/FORMATS.md`` "Log entries"). Version 2 also carries the
province's access-log head (``access_log``: count and hash of the hash chain of access records,
node/core/formats/access.py) as it stood when the manifest was made, so the chain anchors it
with the checkpoint; version 1 (without it) is still read. Version 3 adds ``foreign``: the
leaves before this checkpoint that someone else anchored with the province's operator key and
the province adopted as foreign (``certreg node adopt-foreign``), declared once, in the first
checkpoint the province anchors after them, so auditors report them (``log.foreign_entries``).

Stores address a manifest by the CID an IPFS node (Kubo) gives for ``ipfs add`` of the same
bytes with default settings: CIDv0 (``Qm…``), the base58btc multihash (sha2-256) of the root
dag-pb node of a UnixFS file. Bytes up to 256 KiB are one chunk, a single dag-pb node;
larger files follow the default chunker (fixed 262,144-byte chunks) and the balanced layout
(at most 174 links per node, all leaves at the same depth, leaves are UnixFS ``File`` nodes,
not raw blocks). So manifests need no size cap: :class:`LocalManifestStore` and an IPFS node
agree on the CID of any manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from node.core import safejson
from node.core.canonical import canonical_json
from node.core.errors import InvalidInput, ManifestStoreError
from node.core.formats.access import LogHead
from node.core.formats.entry import PROVINCE_RE, LogEntry

MANIFEST_TYPE = "certreg.manifest"
#: What the worker writes (3 when it declares foreign leaves); version 1 manifests (no
#: ``access_log``) are still read.
MANIFEST_VERSION = 2
MANIFEST_VERSIONS = (1, 2, 3)
#: At most this many foreign ranges in one manifest.
MAX_FOREIGN_RANGES = 10_000

#: Kubo's default chunker (``size-262144``) and balanced-layout fan-out.
CHUNK_SIZE = 262_144
MAX_LINKS = 174
#: A manifest larger than this is refused (``json.size``) before it is parsed. An entry's
#: canonical text is under 1 KiB, so this holds a checkpoint of the contract's default maximum
#: growth (docs/CONTRACT.md "maxCheckpointGrowth", 1,000,000 entries).
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_MANIFEST_KEYS = {
    "type",
    "version",
    "province",
    "checkpoint_index",
    "previous_size",
    "tree_size",
    "root",
    "entries",
}


# --------------------------------------------------------------------------------------------
# The manifest document


@dataclasses.dataclass(frozen=True, slots=True)
class ForeignDeclaration:
    """Leaves ``[start, end)`` of the province's log, anchored in checkpoint
    ``checkpoint_index`` by someone else with the province's operator key, that the province
    adopted as foreign (version 3 manifests)."""

    checkpoint_index: int
    start: int
    end: int

    def to_json(self) -> dict[str, int]:
        return {"checkpoint_index": self.checkpoint_index, "end": self.end, "start": self.start}

    def canonical_text(self) -> str:
        return (
            f'{{"checkpoint_index":{self.checkpoint_index},"end":{self.end},"start":{self.start}}}'
        )


def check_foreign(foreign: Sequence[ForeignDeclaration], previous_size: int) -> None:
    """Foreign ranges are ascending, disjoint, non-empty and before ``previous_size``.

    Raises:
        InvalidInput: ``manifest.foreign``.
    """
    if len(foreign) > MAX_FOREIGN_RANGES:
        raise InvalidInput("manifest.foreign", "manifest.foreign", "too many ranges")
    last = 0
    for item in foreign:
        if not (item.checkpoint_index >= 0 and last <= item.start < item.end <= previous_size):
            raise InvalidInput(
                "manifest.foreign",
                "manifest.foreign",
                "ascending disjoint ranges of leaves before the checkpoint's previous size",
            )
        last = item.end


def parse_foreign(value: Any, previous_size: int) -> tuple[ForeignDeclaration, ...]:
    """The ``foreign`` array of a version 3 manifest.

    Raises:
        InvalidInput: ``manifest.foreign``.
    """
    if not isinstance(value, list) or not value:
        raise InvalidInput("manifest.foreign", "manifest.foreign", "a non-empty array")
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"checkpoint_index", "start", "end"}
            or any(type(v) is not int for v in item.values())
        ):
            raise InvalidInput(
                "manifest.foreign", "manifest.foreign", "objects of checkpoint_index, start, end"
            )
        out.append(ForeignDeclaration(item["checkpoint_index"], item["start"], item["end"]))
    check_foreign(out, previous_size)
    return tuple(out)


@dataclasses.dataclass(frozen=True, slots=True)
class Manifest:
    """The entries ``[previous_size, tree_size)`` of one checkpoint of a province log."""

    province: str
    checkpoint_index: int
    previous_size: int
    tree_size: int
    root: bytes
    entries: tuple[LogEntry, ...]
    #: The access-log head (version 2 and 3); None in a version 1 manifest.
    access_log: LogHead | None = None
    #: Foreign leaves declared (version 3 only).
    foreign: tuple[ForeignDeclaration, ...] = ()

    @property
    def version(self) -> int:
        return 1 if self.access_log is None else 3 if self.foreign else 2

    def __post_init__(self) -> None:
        if self.checkpoint_index < 0 or self.previous_size < 0:
            raise InvalidInput("manifest", "manifest.range", "negative index or size")
        if self.tree_size <= self.previous_size:
            raise InvalidInput("manifest", "manifest.range", "tree_size must grow")
        if len(self.entries) != self.tree_size - self.previous_size:
            raise InvalidInput("manifest.entries", "manifest.count", "wrong number of entries")
        if len(self.root) != 32:
            raise InvalidInput("manifest.root", "manifest.root", "must be 32 bytes")
        for entry in self.entries:
            if entry.province != self.province:
                raise InvalidInput("manifest.entries", "manifest.province", "other province")
        if self.access_log is not None:
            _check_access_log(self.access_log)
        if self.foreign:
            if self.access_log is None:
                raise InvalidInput("manifest.foreign", "manifest.foreign", "needs access_log")
            check_foreign(self.foreign, self.previous_size)

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.access_log is not None:
            extra["access_log"] = self.access_log.to_json()
        if self.foreign:
            extra["foreign"] = [item.to_json() for item in self.foreign]
        return {
            **extra,
            "type": MANIFEST_TYPE,
            "version": self.version,
            "province": self.province,
            "checkpoint_index": self.checkpoint_index,
            "previous_size": self.previous_size,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "entries": [entry.to_json() for entry in self.entries],
        }

    def to_bytes(self) -> bytes:
        """The published bytes: ``JCS(manifest)``."""
        return canonical_json(self.to_json())

    def leaf_hashes(self) -> list[bytes]:
        """The RFC 9162 leaf hashes of the entries, in log order."""
        return [entry.leaf_hash() for entry in self.entries]

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse manifest bytes strictly; they must be exactly their canonical form.

        Raises:
            InvalidInput: not a version 1, 2 or 3 manifest (unknown keys, types, non-canonical
                bytes, a malformed ``access_log`` or ``foreign``).
        """
        value = safejson.loads(data, "manifest", max_bytes=MAX_MANIFEST_BYTES, rule="manifest.json")
        if not isinstance(value, dict) or value.get("version") not in MANIFEST_VERSIONS:
            raise InvalidInput("manifest", "manifest.version", "not a version 1, 2 or 3 manifest")
        version = value["version"]
        wanted = _MANIFEST_KEYS if version == 1 else _MANIFEST_KEYS | {"access_log"}
        if version == 3:
            wanted = wanted | {"foreign"}
        if set(value) != wanted:
            raise InvalidInput("manifest", "manifest.keys", "wrong keys")
        if value["type"] != MANIFEST_TYPE or type(version) is not int:
            raise InvalidInput("manifest", "manifest.version", "not a certreg manifest")
        access_log = None if version == 1 else parse_access_log(value["access_log"])
        for key in ("checkpoint_index", "previous_size", "tree_size"):
            if type(value[key]) is not int:
                raise InvalidInput(f"manifest.{key}", "manifest.type", "must be an integer")
        if not isinstance(value["province"], str) or not isinstance(value["entries"], list):
            raise InvalidInput("manifest", "manifest.type", "wrong types")
        try:
            root = bytes.fromhex(value["root"])
        except (TypeError, ValueError) as exc:
            raise InvalidInput("manifest.root", "manifest.root", "not hex") from exc
        if value["root"] != root.hex():
            raise InvalidInput("manifest.root", "manifest.root", "not lowercase hex")
        entries = tuple(
            LogEntry.from_json(item, f"manifest.entries[{i}]")
            for i, item in enumerate(value["entries"])
        )
        foreign: tuple[ForeignDeclaration, ...] = ()
        if version == 3:
            foreign = parse_foreign(value["foreign"], value["previous_size"])
        manifest = cls(
            province=value["province"],
            checkpoint_index=value["checkpoint_index"],
            previous_size=value["previous_size"],
            tree_size=value["tree_size"],
            root=root,
            entries=entries,
            access_log=access_log,
            foreign=foreign,
        )
        if manifest.to_bytes() != data:
            raise InvalidInput("manifest", "manifest.canonical", "not in canonical form")
        return manifest


class ManifestHeader(Protocol):
    """What a manifest says of its checkpoint (a :class:`Manifest`, or the auditor's streamed
    header)."""

    @property
    def province(self) -> str: ...
    @property
    def checkpoint_index(self) -> int: ...
    @property
    def previous_size(self) -> int: ...
    @property
    def tree_size(self) -> int: ...
    @property
    def root(self) -> bytes: ...


HEADER_FIELDS = ("province", "checkpoint_index", "previous_size", "tree_size", "root")


def header_mismatch(
    header: ManifestHeader, province: str, index: int, previous_size: int, size: int, root: bytes
) -> list[str]:
    """The header fields that differ from the chain's checkpoint (empty: it is the
    checkpoint's manifest)."""
    expected = (province, index, previous_size, size, root)
    return [
        name
        for name, wanted in zip(HEADER_FIELDS, expected, strict=True)
        if getattr(header, name) != wanted
    ]


def _check_access_log(head: LogHead) -> None:
    if head.count < 0 or len(head.head) != 32:
        raise InvalidInput("manifest.access_log", "manifest.access_log", "count and 32-byte head")
    if head.count == 0 and head.head != b"\x00" * 32:
        raise InvalidInput("manifest.access_log", "manifest.access_log", "an empty log's head")


def parse_access_log(value: Any) -> LogHead:
    """The ``access_log`` object of a version 2 manifest: ``{"count", "head"}``.

    Raises:
        InvalidInput: ``manifest.access_log`` / ``manifest.access_log``.
    """
    if (
        not isinstance(value, dict)
        or set(value) != {"count", "head"}
        or type(value["count"]) is not int
        or not isinstance(value["head"], str)
        or not re.fullmatch(r"[0-9a-f]{64}", value["head"])
    ):
        raise InvalidInput(
            "manifest.access_log", "manifest.access_log", "an object of count and 64-hex head"
        )
    head = LogHead(value["count"], bytes.fromhex(value["head"]))
    _check_access_log(head)
    return head


def build_manifest(
    province: str,
    checkpoint_index: int,
    previous_size: int,
    tree_size: int,
    root: bytes,
    entries: Iterable[LogEntry],
    access_log: LogHead | None = None,
    foreign: Sequence[ForeignDeclaration] = (),
) -> Manifest:
    """Return the manifest of checkpoint ``checkpoint_index`` (entries in log order; version 2
    with ``access_log``, version 1 without, version 3 with ``foreign`` too)."""
    return Manifest(
        province,
        checkpoint_index,
        previous_size,
        tree_size,
        root,
        tuple(entries),
        access_log,
        tuple(foreign),
    )


def manifest_bytes(
    province: str,
    checkpoint_index: int,
    previous_size: int,
    tree_size: int,
    root: bytes,
    entries: Sequence[bytes],
    access_log: LogHead | None = None,
    foreign: Sequence[ForeignDeclaration] = (),
) -> bytes:
    """Return ``Manifest(...).to_bytes()`` from entries already in canonical form (version 2
    with ``access_log``, version 1 without, version 3 with ``foreign`` too).

    ``entries`` are the ``JCS(entry)`` bytes the log stored and hashed (``log_entries.entry``),
    in log order. RFC 8785 of the manifest object is its keys in sorted order with each value
    canonical, and a canonical entry is already its own JCS, so the document is the fixed
    frame around the entry bytes joined by commas: no entry is parsed or re-encoded (the
    anchoring worker's main cost before, ``docs/NODE-BENCH.md``). ``tests/anchor/
    test_manifest.py`` holds this equal to :meth:`Manifest.to_bytes`.

    Raises:
        InvalidInput: the same range and shape rules as :class:`Manifest`.
    """
    if checkpoint_index < 0 or previous_size < 0:
        raise InvalidInput("manifest", "manifest.range", "negative index or size")
    if tree_size <= previous_size:
        raise InvalidInput("manifest", "manifest.range", "tree_size must grow")
    if len(entries) != tree_size - previous_size:
        raise InvalidInput("manifest.entries", "manifest.count", "wrong number of entries")
    if len(root) != 32:
        raise InvalidInput("manifest.root", "manifest.root", "must be 32 bytes")
    if not PROVINCE_RE.fullmatch(province):
        raise InvalidInput("manifest.province", "manifest.province", "two-digit province code")
    opening, version = "{", 1
    if access_log is not None:
        _check_access_log(access_log)
        # "access_log" sorts before "checkpoint_index" (RFC 8785: keys in code-unit order).
        opening = f'{{"access_log":{{"count":{access_log.count},"head":"{access_log.head.hex()}"}},'
        version = 2
    declared = ""
    if foreign:
        if access_log is None:
            raise InvalidInput("manifest.foreign", "manifest.foreign", "needs access_log")
        check_foreign(foreign, previous_size)
        # "foreign" sorts between "entries" and "previous_size".
        declared = ',"foreign":[' + ",".join(f.canonical_text() for f in foreign) + "]"
        version = 3
    head = f'{opening}"checkpoint_index":{checkpoint_index},"entries":['.encode()
    tail = (
        f']{declared},"previous_size":{previous_size},"province":"{province}","root":"{root.hex()}",'
        f'"tree_size":{tree_size},"type":"{MANIFEST_TYPE}","version":{version}}}'
    ).encode()
    return head + b",".join(entries) + tail


# --------------------------------------------------------------------------------------------
# CIDv0 of a UnixFS file, as ``ipfs add`` (Kubo defaults) computes it


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _unixfs_file(data: bytes | None, filesize: int, blocksizes: Sequence[int] = ()) -> bytes:
    """UnixFS ``Data`` message: Type=File(2), Data, filesize, blocksizes (fields 1–4)."""
    out = _field_varint(1, 2)
    if data:  # Kubo omits an empty Data field (the empty file is 08 02 18 00)
        out += _field_bytes(2, data)
    out += _field_varint(3, filesize)
    for size in blocksizes:
        out += _field_varint(4, size)
    return out


def _multihash(block: bytes) -> bytes:
    return b"\x12\x20" + hashlib.sha256(block).digest()


def base58btc(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) of ``data``, leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58_ALPHABET[rest] + out
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + out


@dataclasses.dataclass(frozen=True, slots=True)
class _Node:
    multihash: bytes
    block_size: int
    cumulative: int  # the block plus every block below it (the parent link's Tsize)
    file_size: int


def _leaf(chunk: bytes) -> _Node:
    block = _field_bytes(1, _unixfs_file(chunk, len(chunk)))  # PBNode.Data = 1
    return _Node(_multihash(block), len(block), len(block), len(chunk))


def _internal(children: Sequence[_Node]) -> _Node:
    links = b"".join(
        # PBNode.Links = 2; PBLink Hash = 1, Name = 2 (always written, empty), Tsize = 3
        _field_bytes(
            2,
            _field_bytes(1, child.multihash)
            + _field_bytes(2, b"")
            + _field_varint(3, child.cumulative),
        )
        for child in children
    )
    file_size = sum(child.file_size for child in children)
    data = _unixfs_file(None, file_size, [child.file_size for child in children])
    block = links + _field_bytes(1, data)  # go-merkledag writes Links before Data
    return _Node(
        _multihash(block),
        len(block),
        len(block) + sum(child.cumulative for child in children),
        file_size,
    )


def _balanced(chunks: Sequence[bytes], depth: int) -> _Node:
    if depth == 0:
        return _leaf(chunks[0])
    group = MAX_LINKS ** (depth - 1)
    return _internal(
        [_balanced(chunks[i : i + group], depth - 1) for i in range(0, len(chunks), group)]
    )


def cid_v0(data: bytes) -> str:
    """The CIDv0 that ``ipfs add`` (default chunker, balanced layout, CIDv0) gives ``data``."""
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    depth = 0
    while MAX_LINKS**depth < len(chunks):
        depth += 1
    return base58btc(_balanced(chunks, depth).multihash)


# --------------------------------------------------------------------------------------------
# Stores


class ManifestStore(Protocol):
    """A content-addressed store of manifests (IPFS, or a local directory with the same CIDs)."""

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its CID; storing the same bytes again is harmless.

        Raises:
            ManifestStoreError: the store failed.
        """
        ...

    def get(self, cid: str, timeout: float = 10.0) -> bytes:
        """Return the bytes of ``cid``, checked against the CID.

        Raises:
            ManifestStoreError: unknown CID, store failure, timeout, or bytes that do not hash
                to the CID.
        """
        ...


def _check_cid(cid: str) -> None:
    if len(cid) != 46 or not cid.startswith("Qm") or any(c not in _B58_ALPHABET for c in cid):
        raise ManifestStoreError("not a CIDv0")


class LocalManifestStore:
    """Manifests as files named by their CIDv0 in ``directory`` (created when missing)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"LocalManifestStore({str(self.directory)!r})"

    def put(self, data: bytes) -> str:
        cid = cid_v0(data)
        path = self.directory / cid
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if path.is_file() and path.read_bytes() == data:
                return cid
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ManifestStoreError(f"cannot store manifest {cid}: {exc}") from exc
        return cid

    def get(self, cid: str, timeout: float = 10.0) -> bytes:
        _check_cid(cid)
        try:
            data = (self.directory / cid).read_bytes()
        except OSError as exc:
            raise ManifestStoreError(f"cannot read manifest {cid}: {exc}") from exc
        if cid_v0(data) != cid:
            raise ManifestStoreError(f"manifest {cid}: stored bytes do not match the CID")
        return data


def _multiaddr(url: str) -> str:
    """``http://host:port`` → ``/ip4|dns/host/tcp/port/http``; a multiaddr stays as it is."""
    if url.startswith("/"):
        return url
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ManifestStoreError("IPFS API URL must be http(s)://host:port or a multiaddr")
    hostport = rest.split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ManifestStoreError("IPFS API URL needs host and port")
    parts = host.split(".")
    kind = "ip4" if len(parts) == 4 and all(p.isdigit() for p in parts) else "dns"
    return f"/{kind}/{host}/tcp/{port}/{scheme}"


class IpfsManifestStore:
    """Manifests on an IPFS node through its HTTP RPC API (``ipfshttpclient``).

    ``put`` adds with CIDv0 and the default chunker and requires the node's CID to equal
    :func:`cid_v0` of the bytes (fail closed); ``get`` checks the bytes against the CID.
    """

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        import ipfshttpclient  # type: ignore[import-untyped]

        # ipfshttpclient 0.7.0 passes urllib3 a parameter urllib3 2 merely warns about; the
        # warning says nothing to an operator, so this one (and only it) is silenced.
        warnings.filterwarnings(
            "ignore",
            message="The 'strict' parameter is no longer needed",
            category=FutureWarning,
        )
        self.url = url
        self.timeout = timeout
        self._errors: tuple[type[BaseException], ...] = (
            ipfshttpclient.exceptions.Error,
            OSError,
        )
        try:
            # Not ipfshttpclient.connect(): it refuses daemon versions it does not know.
            self._client: Any = ipfshttpclient.Client(_multiaddr(url), timeout=timeout)
        except self._errors as exc:
            raise ManifestStoreError(f"cannot reach IPFS at {url}: {exc}") from exc

    def __repr__(self) -> str:
        return f"IpfsManifestStore({self.url!r})"

    def put(self, data: bytes) -> str:
        expected = cid_v0(data)
        try:
            cid = self._client.add_bytes(data, opts={"cid-version": "0"}, timeout=self.timeout)
        except self._errors as exc:
            raise ManifestStoreError(f"cannot add manifest to IPFS: {exc}") from exc
        if cid != expected:
            raise ManifestStoreError(f"IPFS gave CID {cid}, expected {expected}")
        return expected

    def get(self, cid: str, timeout: float = 10.0) -> bytes:
        _check_cid(cid)
        try:
            data = self._client.cat(cid, timeout=timeout)
        except self._errors as exc:
            raise ManifestStoreError(f"cannot read manifest {cid} from IPFS: {exc}") from exc
        if not isinstance(data, bytes) or cid_v0(data) != cid:
            raise ManifestStoreError(f"manifest {cid}: IPFS bytes do not match the CID")
        return data
