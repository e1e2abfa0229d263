"""Access records: who read personal data, why, and what they got (docs/FORMATS.md "Access
records", docs/SHARING.md).

Every read of a holder's data (the search, the holder's bundle and PDF, bundles by commitment,
a partner's query, a query from another province) appends one record to the node's access log.
A record holds **no personal data of the holder**: certificates are named by their commitments,
the query by the names of the fields given (never their values) and, for traffic monitoring, a
short keyed tag of the queried name (the first 8 bytes of its blind index: equal names give
equal tags, and the tag reveals nothing without the node's blind-index key). Requesters are
named by what they are: the key's id, role and scope, the organisation and the person, and the
five fields of the national e-licence platform's practice (``orgName``, ``username``,
``itemName``, ``itemCode`` 事项编码, ``businessCode`` 办件编号) with the purpose (``UseFor``).

The log is a hash chain: ``record_hash = SHA-256("certreg.access-record.v1\\n" ‖ JCS(record))``
and ``head(n) = SHA-256("certreg.access-chain.v1\\n" ‖ head(n-1) ‖ record_hash(n))`` with
``head(0)`` 32 zero bytes. Each checkpoint's manifest carries the head and count at the time it
was made (docs/FORMATS.md "Manifests", version 2), so once a checkpoint is anchored no record
before it can be dropped or changed without the chain no longer reaching the anchored head.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from node.core.canonical import canonical_json
from node.core.errors import InvalidInput
from node.core.formats.jsonfmt import Reader

RECORD_VERSION: Final = 1
RECORD_PREFIX: Final = b"certreg.access-record.v1\n"
CHAIN_PREFIX: Final = b"certreg.access-chain.v1\n"
EMPTY_HEAD: Final = b"\x00" * 32
#: What was read.
OPERATIONS: Final = (
    "search",
    "holder_bundle",
    "holder_pdf",
    "holder_access_log",
    "bundle",
    "pdf",
    "partner_query",
    "partner_status",
    "federated_search",
    "federated_query",
    "federated_status",
)
RESULTS: Final = ("found", "not_found", "refused")
#: The five audit fields, under the names callers send.
AUDIT_FIELDS: Final = ("orgName", "username", "itemName", "itemCode", "businessCode")
MAX_FIELD: Final = 128
_SAFE: Final = re.compile(r"[^\x00-\x1f\x7f]*")


@dataclasses.dataclass(frozen=True, slots=True)
class Requester:
    """Who asked: the key (None without one), its role and scope, and for a request another
    province forwarded, that province."""

    role: str
    key_id: int | None = None
    scope: str = ""
    via: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "key_id": self.key_id, "scope": self.scope, "via": self.via}


@dataclasses.dataclass(frozen=True, slots=True)
class AccessRecord:
    """One read of personal data (see the module docstring)."""

    index: int
    time: dt.datetime
    province: str
    operation: str
    requester: Requester
    agreement: str | None
    purpose: str | None
    audit: tuple[tuple[str, str | None], ...]
    query: tuple[str, ...]
    name_tag: bytes | None
    commitments: tuple[bytes, ...]
    result: str
    rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "index": self.index,
            "time": self.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "province": self.province,
            "operation": self.operation,
            "requester": self.requester.to_json(),
            "agreement": self.agreement,
            "purpose": self.purpose,
            "audit": dict(self.audit),
            "query": list(self.query),
            "name_tag": None if self.name_tag is None else self.name_tag.hex(),
            "commitments": [c.hex() for c in self.commitments],
            "result": self.result,
            "rule": self.rule,
        }

    def to_bytes(self) -> bytes:
        """``JCS(record)``: what is hashed and stored."""
        return canonical_json(self.to_json())

    def record_hash(self) -> bytes:
        return record_hash(self.to_bytes())

    @classmethod
    def from_json(cls, value: Any) -> AccessRecord:
        """Parse a stored record strictly.

        Raises:
            InvalidInput: ``access.*`` / ``schema.*`` naming the key.
        """
        r = Reader(value, "access")
        r.keys(
            {
                "v",
                "index",
                "time",
                "province",
                "operation",
                "requester",
                "agreement",
                "purpose",
                "audit",
                "query",
                "name_tag",
                "commitments",
                "result",
                "rule",
            }
        )
        if r.raw("v") != RECORD_VERSION:
            raise InvalidInput("access.v", "access.version", "not a version-1 access record")
        q = r.obj("requester")
        q.keys({"role", "key_id", "scope", "via"})
        audit = r.obj("audit")
        audit.keys(set(AUDIT_FIELDS))
        tag = r.raw("name_tag")
        key_id = q.raw("key_id")
        return cls(
            index=r.integer("index"),
            time=dt.datetime.fromisoformat(r.string("time").replace("Z", "+00:00")),
            province=r.string("province"),
            operation=r.string("operation"),
            requester=Requester(
                role=q.string("role"),
                key_id=None if key_id is None else q.integer("key_id"),
                scope=q.string("scope"),
                via=None if q.raw("via") is None else q.string("via"),
            ),
            agreement=None if r.raw("agreement") is None else r.string("agreement"),
            purpose=None if r.raw("purpose") is None else r.string("purpose"),
            audit=tuple(
                (k, None if audit.raw(k) is None else audit.string(k)) for k in AUDIT_FIELDS
            ),
            query=tuple(str(x) for x in r.array("query", 3)),
            name_tag=None if tag is None else r.hex("name_tag", 8),
            commitments=tuple(bytes.fromhex(str(c)) for c in r.array("commitments", 1000)),
            result=r.string("result"),
            rule=None if r.raw("rule") is None else r.string("rule"),
        )


def audit_fields(values: dict[str, str | None]) -> tuple[tuple[str, str | None], ...]:
    """The five audit fields in their fixed order, each checked (printable, at most 128
    characters) and blank ones as None.

    Raises:
        InvalidInput: ``<name>`` / ``access.field`` (too long or holds control characters).
    """
    out: list[tuple[str, str | None]] = []
    for name in AUDIT_FIELDS:
        value = values.get(name)
        if value is not None:
            value = value.strip() or None
        if value is not None and (len(value) > MAX_FIELD or not _SAFE.fullmatch(value)):
            raise InvalidInput(name, "access.field", f"at most {MAX_FIELD} printable characters")
        out.append((name, value))
    return tuple(out)


def record_hash(record_bytes: bytes) -> bytes:
    """The hash of one stored record (its JCS bytes)."""
    return hashlib.sha256(RECORD_PREFIX + record_bytes).digest()


def chain_hash(previous: bytes, record: bytes) -> bytes:
    """The head after appending the record whose hash is ``record`` to head ``previous``."""
    return hashlib.sha256(CHAIN_PREFIX + previous + record).digest()


def chain_heads(record_hashes: Iterable[bytes], start: bytes = EMPTY_HEAD) -> list[bytes]:
    """The head after each record, in order, from head ``start``."""
    heads: list[bytes] = []
    head = start
    for value in record_hashes:
        head = chain_hash(head, value)
        heads.append(head)
    return heads


@dataclasses.dataclass(frozen=True, slots=True)
class LogHead:
    """How many records the log holds and the head over them."""

    count: int
    head: bytes

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "head": self.head.hex()}


def check_heads(
    record_hashes: Sequence[bytes], anchored: Iterable[tuple[int, LogHead]]
) -> list[tuple[int, str]]:
    """Check the chain of ``record_hashes`` (every record from the first, in order) against
    the heads anchored with checkpoints ``(checkpoint_index, head)``; return the problems as
    ``(checkpoint_index, message)`` (empty: the records reach every anchored head, so none was
    dropped, added before it or changed)."""
    heads = chain_heads(record_hashes)
    problems: list[tuple[int, str]] = []
    previous = 0
    for index, head in anchored:
        if head.count < previous:
            problems.append((index, f"the anchored count fell from {previous} to {head.count}"))
        previous = max(previous, head.count)
        if head.count > len(heads):
            problems.append(
                (index, f"{head.count} records were anchored, the log holds {len(heads)}")
            )
            continue
        have = EMPTY_HEAD if head.count == 0 else heads[head.count - 1]
        if have != head.head:
            problems.append(
                (index, f"the records up to {head.count} do not chain to the anchored head")
            )
    return problems


def parse_export(lines: Iterable[str]) -> list[bytes]:
    """The record hashes of an access-log export (JSON lines ``{"index", "record_hash"}``, as
    ``certreg node access-log export`` writes them), checked to run from 0 without a gap.

    Raises:
        InvalidInput: ``export`` / ``access.export`` naming the first bad line.
    """
    hashes: list[bytes] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            index, digest = value["index"], bytes.fromhex(value["record_hash"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(
                "export", "access.export", f"line {number} is not an access-log hash"
            ) from None
        if index != len(hashes) or len(digest) != 32:
            raise InvalidInput(
                "export", "access.export", f"line {number}: expected record {len(hashes)}"
            )
        hashes.append(digest)
    return hashes
