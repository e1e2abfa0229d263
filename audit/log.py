"""The auditor's rebuilt province logs: a Merkle frontier per province, compact indexes, and a
streaming reader of manifests.

Bounded memory (docs/ARCHITECTURE.md "Scale": replay must stream): a province log is rebuilt from
its manifests one entry at a time and only its right frontier is kept (one hash per set bit of the
size, RFC 9162 §2.1.1: the root of any size is the fold of the complete subtrees left of it),
which is enough to compute the root at each checkpoint. Per certificate the auditor keeps one
dict slot (commitment → certificate number and state packed into one integer); per
organisation, year and level one bitmap of the serials seen (duplicates and gaps,
人社鉴发〔2019〕2号 §二). At 10^6 entries that is about 150 MB (docs/AUDIT.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import deque
from collections.abc import Iterator
from typing import Final

from anchor.manifest import ForeignDeclaration, parse_foreign
from audit.parse import AuditEntry, canonical_text, read_entries
from node.core import safejson
from node.core.errors import InvalidInput
from node.core.formats.access import LogHead
from node.core.merkle import EMPTY_ROOT, node_hash
from node.core.rules.serials import missing_serials

#: Certificate states in the rebuilt log. The first four are the contract's status codes
#: (docs/FORMATS.md "On-chain encodings"); a deleted certificate is ``revoked`` on chain.
ACTIVE, REVOKED, SUSPENDED, SUPERSEDED, DELETED = 0, 1, 2, 3, 4
FINAL_STATES: Final = frozenset({REVOKED, SUPERSEDED, DELETED})
STATE_NAMES: Final = ("active", "revoked", "suspended", "superseded", "deleted")

_PREFIX = re.compile(
    r'\{(?:"access_log":\{"count":(0|[1-9][0-9]*),"head":"([0-9a-f]{64})"\},)?'
    r'"checkpoint_index":(0|[1-9][0-9]*),"entries":\['
)
_TAIL_MARK = '],"previous_size":'
#: Where a version 3 manifest's ``foreign`` array starts (it sorts right after the entries; an
#: entry cannot hold this text: its strings escape quotes and it has no ``foreign`` key).
_FOREIGN_MARK = '],"foreign":['
_HEADER_KEYS: Final = frozenset(
    {"checkpoint_index", "previous_size", "province", "root", "tree_size", "type", "version"}
)


class Frontier:
    """The right frontier of an RFC 9162 Merkle tree: appends in O(1) amortised, the root of
    the current size in O(log n), memory O(log n)."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash; return its index."""
        value, n = leaf, self.size
        # Each set low bit of the old size is a complete subtree the new leaf completes.
        while n & 1:
            value = node_hash(self._stack.pop(), value)
            n >>= 1
        self._stack.append(value)
        self.size += 1
        return self.size - 1

    def root(self) -> bytes:
        """The Merkle Tree Hash of every leaf so far (RFC 9162 §2.1.1)."""
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            acc = node_hash(left, acc)
        return acc


def leaf_of_text(text: str) -> bytes:
    """The RFC 9162 leaf hash of an entry given as its canonical (ASCII) text."""
    return hashlib.sha256(b"\x00" + text.encode("ascii")).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class ManifestHeader:
    """Everything of a manifest but its entries."""

    province: str
    checkpoint_index: int
    previous_size: int
    tree_size: int
    root: bytes
    #: The access-log head a version 2 or 3 manifest carries (None in version 1).
    access_log: LogHead | None = None
    #: The foreign leaves a version 3 manifest declares.
    foreign: tuple[ForeignDeclaration, ...] = ()


def read_manifest(data: bytes) -> tuple[ManifestHeader, Iterator[tuple[str, AuditEntry]]]:
    """Parse the header of manifest ``data`` and return it with an iterator over its entries,
    each as (canonical text, checked entry), read one at a time by the lean reader
    (``audit/parse.py``) so a large manifest never exists as a list of objects.

    The bytes must be exactly the canonical form (docs/FORMATS.md "Manifests"), which for the
    canonical key order means: ``{"checkpoint_index":…,"entries":[…],"previous_size":…,
    "province":…,"root":…,"tree_size":…,"type":"certreg.manifest","version":1}``, or for
    version 2 the same opened by ``"access_log":{"count":…,"head":"…"},``, and for version 3
    that with ``"foreign":[…],`` between the entries and ``"previous_size"``.

    Raises:
        InvalidInput: ``manifest`` / ``manifest.json``, ``manifest.keys``,
            ``manifest.version``, ``manifest.type``, ``manifest.root``,
            ``manifest.canonical`` (the header at once); while iterating, those and every
            rule of ``LogEntry.from_json`` at ``manifest.entries[i]…``.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidInput("manifest", "manifest.canonical", "not ASCII canonical JSON") from exc
    # The entries' strict path uses the standard (recursive) parser: bound the nesting of the
    # whole manifest first, so one dishonest province cannot crash everyone's audit.
    safejson.check_depth(text, "manifest")
    prefix = _PREFIX.match(text)
    tail_at = text.rfind(_TAIL_MARK)
    if prefix is None or tail_at < prefix.end() - 1:
        raise InvalidInput("manifest", "manifest.keys", "not a canonical manifest")
    foreign_at = text.rfind(_FOREIGN_MARK, prefix.end() - 1, tail_at)
    entries_end = tail_at if foreign_at < 0 else foreign_at
    tail = "{" + text[entries_end + 2 :]
    header = safejson.loads(tail, "manifest", rule="manifest.json")
    if not isinstance(header, dict) or canonical_text(header) != tail:
        raise InvalidInput("manifest", "manifest.canonical", "not in canonical form")
    header["checkpoint_index"] = int(prefix.group(3))
    declared = header.pop("foreign", None)
    if set(header) != _HEADER_KEYS or (declared is not None and prefix.group(1) is None):
        raise InvalidInput("manifest", "manifest.keys", "wrong keys")
    version = 1 if prefix.group(1) is None else 2 if declared is None else 3
    if header["type"] != "certreg.manifest" or header["version"] != version:
        raise InvalidInput("manifest", "manifest.version", "not a version 1, 2 or 3 manifest")
    access_log = None
    if version >= 2:
        count, head = int(prefix.group(1)), bytes.fromhex(prefix.group(2))
        if count == 0 and head != b"\x00" * 32:
            raise InvalidInput("manifest.access_log", "manifest.access_log", "an empty log's head")
        access_log = LogHead(count, head)
    for key in ("previous_size", "tree_size"):
        if type(header[key]) is not int or header[key] < 0:
            raise InvalidInput(f"manifest.{key}", "manifest.type", "must be an integer")
    root = header["root"]
    if not isinstance(root, str) or not re.fullmatch(r"[0-9a-f]{64}", root):
        raise InvalidInput("manifest.root", "manifest.root", "must be 64 lowercase hex")
    if not isinstance(header["province"], str):
        raise InvalidInput("manifest.province", "manifest.type", "must be a string")
    foreign = () if declared is None else parse_foreign(declared, header["previous_size"])
    parsed = ManifestHeader(
        province=header["province"],
        checkpoint_index=header["checkpoint_index"],
        previous_size=header["previous_size"],
        tree_size=header["tree_size"],
        root=bytes.fromhex(root),
        access_log=access_log,
        foreign=foreign,
    )
    return parsed, read_entries(text, prefix.end(), entries_end)


SerialGroup = tuple[str, int, int]
"""Organisation code, issue year (two digits) and level: the scope of a serial (人社鉴发〔2019〕2号
§二(七))."""


def _present(bitmap: bytearray) -> Iterator[int]:
    """The serials set in ``bitmap``, ascending."""
    for byte_index, byte in enumerate(bitmap):
        if not byte:
            continue
        base = byte_index * 8
        for bit in range(8):
            if byte >> bit & 1:
                yield base + bit


#: Packed numbers from here on are those of the other certificate types (their ASCII bytes).
_OTHER_NUMBERS = 2 * 10**21


def pack_number(certificate_number: str) -> int:
    """The certificate number as an integer (lossless): a skill-level number as its class bit
    and 21 digits; any other type's number (15-digit special_ability, the province's
    vocational_qualification format) as its ASCII bytes after a 0x01 marker, above every
    skill-level value."""
    n = certificate_number
    if len(n) == 22 and n[0] in "SY" and n[1:].isdigit():
        return (n[0] == "Y") * 10**21 + int(n[1:])
    return _OTHER_NUMBERS + int.from_bytes(b"\x01" + n.encode("ascii"), "big")


def unpack_number(packed: int) -> str:
    """Inverse of :func:`pack_number`."""
    if packed >= _OTHER_NUMBERS:
        other = packed - _OTHER_NUMBERS
        return other.to_bytes((other.bit_length() + 7) // 8, "big")[1:].decode("ascii")
    cls, digits = divmod(packed, 10**21)
    return ("Y" if cls else "S") + f"{digits:021d}"


@dataclasses.dataclass(slots=True)
class ExpectedStatus:
    """A status change a log entry asks the chain for (``anchor/status.py``)."""

    status: int
    reason: int
    successor: bytes
    leaf_index: int
    checkpoint_index: int
    block: int


class ProvinceLog:
    """One province's log as the auditor rebuilds it."""

    def __init__(self, province: str) -> None:
        self.province = province
        self.frontier = Frontier()
        #: Checkpoints seen on chain: the next index expected, the last size and root.
        self.next_index = 0
        self.last_size = 0
        self.last_root: bytes | None = None
        #: Sizes anchored so far and their roots (one per checkpoint: small).
        self.roots: dict[int, bytes] = {}
        #: False once a manifest is missing or wrong: later roots cannot be rebuilt.
        self.rebuildable = True
        #: commitment -> packed certificate number * 8 + state.
        self.certificates: dict[bytes, int] = {}
        #: (organisation code, issue year, level) -> bitmap of serials (bit n: serial n).
        self.serials: dict[SerialGroup, bytearray] = {}
        #: (commitment) -> status changes expected on chain, in log order.
        self.expected: dict[bytes, deque[ExpectedStatus]] = {}
        #: certificate number -> the correction reasons of its lineage (corrections are few).
        self.correction_reasons: dict[str, set[int]] = {}

    def state_of(self, commitment: bytes) -> tuple[str, int] | None:
        """(certificate number, state) of a logged certificate, or None."""
        packed = self.certificates.get(commitment)
        if packed is None:
            return None
        return unpack_number(packed >> 3), packed & 7

    def set_state(self, commitment: bytes, number: str, state: int) -> None:
        self.certificates[commitment] = pack_number(number) << 3 | state

    def mark_serial(self, group: SerialGroup, serial: int) -> bool:
        """Record ``serial`` of ``group`` (organisation code, two-digit issue year, level: a
        parsed certificate number's, node.core.rules.certnum); return False when it was already
        recorded."""
        bitmap = self.serials.get(group)
        if bitmap is None:
            bitmap = self.serials[group] = bytearray()
        byte, bit = divmod(serial, 8)
        if byte >= len(bitmap):
            bitmap.extend(bytes(byte + 1 - len(bitmap)))
        if bitmap[byte] >> bit & 1:
            return False
        bitmap[byte] |= 1 << bit
        return True

    def serial_gaps(self) -> Iterator[tuple[SerialGroup, int, int]]:
        """(group, first, last) of every run of serials missing from 000001 up to the highest
        serial of each group (node.core.rules.serials.missing_serials, as the intake and the
        screening count them)."""
        for group in sorted(self.serials):
            for first, last in missing_serials(_present(self.serials[group])):
                yield group, first, last

    def expect(self, commitment: bytes, change: ExpectedStatus) -> None:
        self.expected.setdefault(commitment, deque()).append(change)

    def match(self, commitment: bytes, status: int, reason: int, successor: bytes) -> bool:
        """Consume the first expected change of ``commitment`` when it equals the one seen on
        chain; return whether it did."""
        queue = self.expected.get(commitment)
        if not queue:
            return False
        head = queue[0]
        if (head.status, head.reason, head.successor) != (status, reason, successor):
            return False
        queue.popleft()
        if not queue:
            del self.expected[commitment]
        return True

    def forget_foreign(self, commitment: bytes, leaf_index: int) -> None:
        """A leaf the province declared foreign asks the chain for nothing: drop what its
        status entry expected (``log.foreign_entries`` reports it instead)."""
        queue = self.expected.get(commitment)
        if queue is None:
            return
        kept = deque(change for change in queue if change.leaf_index != leaf_index)
        if kept:
            self.expected[commitment] = kept
        else:
            del self.expected[commitment]


__all__ = [
    "ACTIVE",
    "DELETED",
    "FINAL_STATES",
    "REVOKED",
    "STATE_NAMES",
    "SUPERSEDED",
    "SUSPENDED",
    "ExpectedStatus",
    "Frontier",
    "ManifestHeader",
    "ProvinceLog",
    "SerialGroup",
    "canonical_text",
    "leaf_of_text",
    "pack_number",
    "read_manifest",
    "unpack_number",
]
