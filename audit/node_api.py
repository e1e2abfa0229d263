"""The auditor's comparison of a province node's public API with the replayed chain (docs/AUDIT.md:
"compare a node's API answers against the replayed state").

After the replay, the auditor asks a node's documented public endpoints (docs/API.md) about a
sample of the certificates it replayed — a seeded reservoir of at most ``sample`` certificate
entries per province, drawn while the manifests stream by, so memory stays bounded — and
about every checkpoint:

- ``GET /v1/certificates/{commitment}/status``: the certificate number, the log index and the
  status the replayed log gives (``api.status_mismatch``; a 404 is ``api.certificate_missing``);
- ``GET /v1/proofs/inclusion?commitment=``: the leaf index and leaf hash replayed, a tree size
  that was anchored with the root anchored for it, and a proof that verifies (RFC 9162
  §2.1.3.2; ``api.proof_invalid``);
- ``GET /v1/checkpoints``: each anchored checkpoint with its size, root, manifest CID,
  transaction and block; none claimed ``confirmed`` that the chain does not hold
  (``api.checkpoint_mismatch``).

A node that cannot be reached or answers with a server error or no JSON gives one
``api.unreachable`` and is not asked further. Only the standard library's HTTP client is used;
an optional key is sent as ``Authorization: Bearer`` (docs/API.md "Roles": the endpoints above
are public, so no key is needed).
"""

from __future__ import annotations

import dataclasses
import random
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

from node.core import safejson
from node.core.errors import InvalidInput, VerificationError
from node.core.merkle import verify_inclusion

#: Checkpoints asked per page (the API's page limit, docs/API.md).
PAGE: Final = 100
#: Log states (audit/log.py) -> the node's status names (node storage).
_STATE_NAMES: Final = ("active", "revoked", "suspended", "superseded", "deleted")


@dataclasses.dataclass(frozen=True)
class ApiTarget:
    """A node API to compare: its base URL (``http://host:port``), the province it serves
    (None: read from ``GET /v1/status``) and an optional API key."""

    url: str
    province: str | None = None
    key: str | None = None

    @classmethod
    def parse(cls, text: str, key: str | None = None) -> ApiTarget:
        """``URL`` or ``PROVINCE=URL`` (``--api 44=http://127.0.0.1:8000``).

        Raises:
            InvalidInput: ``--api``, rule ``audit.api_target``.
        """
        province, sep, url = text.partition("=")
        if not sep:
            province, url = "", text
        if province and not (len(province) == 2 and province.isdigit()):
            raise InvalidInput("--api", "audit.api_target", "province must be two digits")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise InvalidInput("--api", "audit.api_target", "URL must be http(s)://…")
        return cls(url.rstrip("/"), province or None, key)


@dataclasses.dataclass(frozen=True, slots=True)
class ChainCheckpoint:
    """A checkpoint as the chain anchored it (what the node's API must repeat)."""

    index: int
    tree_size: int
    root: bytes
    manifest_cid: str
    transaction: str
    block: int


class CertificateSample:
    """A seeded reservoir (Algorithm R) of at most ``size`` certificate entries per province:
    (commitment, leaf index, leaf hash)."""

    def __init__(self, size: int, seed: int = 6) -> None:
        self.size = size
        self._random = random.Random(seed)
        self._seen: dict[str, int] = {}
        self.items: dict[str, list[tuple[bytes, int, bytes]]] = {}

    def offer(self, province: str, commitment: bytes, leaf_index: int, leaf: bytes) -> None:
        seen = self._seen.get(province, 0)
        self._seen[province] = seen + 1
        items = self.items.setdefault(province, [])
        if seen < self.size:
            items.append((commitment, leaf_index, leaf))
            return
        slot = self._random.randrange(seen + 1)
        if slot < self.size:
            items[slot] = (commitment, leaf_index, leaf)


class Unreachable(Exception):
    """The API did not answer usefully (network, 5xx, not JSON)."""


#: finding sink: (kind, province, message, **evidence)
Report = Callable[..., None]


class ApiComparison:
    """Compares one node's API with the replayed state of its province."""

    def __init__(self, target: ApiTarget, report: Report, timeout: float = 10.0) -> None:
        self.target = target
        self.report = report
        self.timeout = timeout

    def get(self, path: str, **query: Any) -> tuple[int, Any]:
        """(HTTP status, parsed JSON) of ``GET path``; 4xx answers are returned, not raised.

        Raises:
            Unreachable: no answer, a 5xx, or a body that is not JSON.
        """
        url = self.target.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self.target.key:
            request.add_header("Authorization", f"Bearer {self.target.key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, body = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (OSError, ValueError) as exc:
            raise Unreachable(f"GET {path}: {type(exc).__name__}: {exc}") from exc
        if status >= 500:
            raise Unreachable(f"GET {path}: HTTP {status}")
        try:
            return status, safejson.loads(body, "body")
        except InvalidInput as exc:
            raise Unreachable(f"GET {path}: HTTP {status}, not JSON [{exc.rule}]") from exc

    def province(self) -> str:
        """The province the API serves (given, or its ``/v1/status``)."""
        if self.target.province is not None:
            return self.target.province
        _, status = self.get("/v1/status")
        return str(status["province"]) if isinstance(status, dict) else ""

    def run(
        self,
        checkpoints: Mapping[str, list[ChainCheckpoint]],
        roots: Mapping[str, Mapping[int, bytes]],
        sample: CertificateSample,
        state_of: Callable[[str, bytes], tuple[str, int] | None],
    ) -> None:
        """Ask the API and report every disagreement with the replayed state."""
        province = None
        try:
            province = self.province()
            self.compare_checkpoints(province, checkpoints.get(province, []))
            for commitment, leaf_index, leaf in sample.items.get(province, []):
                self.compare_certificate(
                    province, commitment, leaf_index, leaf, state_of(province, commitment)
                )
                self.compare_proof(province, commitment, leaf_index, leaf, roots.get(province, {}))
        except (Unreachable, KeyError, TypeError, ValueError) as exc:
            self.report(
                "api.unreachable",
                province,
                f"API {self.target.url} gave no usable answer: {exc}",
                api=self.target.url,
            )

    def _evidence(self, **more: Any) -> dict[str, Any]:
        return {"api": self.target.url, **more}

    def compare_checkpoints(self, province: str, chain: list[ChainCheckpoint]) -> None:
        node: dict[int, dict[str, Any]] = {}
        offset, total = 0, 1
        while offset < total:
            _, page = self.get("/v1/checkpoints", offset=offset, limit=PAGE)
            total = int(page["total"])
            for item in page["checkpoints"]:
                node[int(item["index"])] = item
            offset += PAGE
        for held in chain:
            item = node.pop(held.index, None)
            expected = {
                "tree_size": held.tree_size,
                "root": held.root.hex(),
                "manifest_cid": held.manifest_cid,
                "transaction_hash": held.transaction.lower(),
                "block_number": held.block,
            }
            got = None
            if item is not None:
                got = {key: item.get(key) for key in expected}
                if isinstance(got["transaction_hash"], str):
                    got["transaction_hash"] = got["transaction_hash"].lower()
            if got != expected:
                wrong = sorted(k for k in expected if got is None or got[k] != expected[k])
                self.report(
                    "api.checkpoint_mismatch",
                    province,
                    f"the API's checkpoint {held.index} differs from the chain's: "
                    f"{', '.join(wrong) if got is not None else 'missing'}",
                    **self._evidence(
                        checkpoint_index=held.index,
                        block=held.block,
                        transaction=held.transaction,
                        fields=wrong,
                        hashes={"root": held.root.hex()},
                    ),
                )
        for index, item in sorted(node.items()):
            if item.get("state") == "confirmed":
                self.report(
                    "api.checkpoint_mismatch",
                    province,
                    f"the API calls checkpoint {index} confirmed; the chain has no such one",
                    **self._evidence(checkpoint_index=index, fields=["index"]),
                )

    def compare_certificate(
        self,
        province: str,
        commitment: bytes,
        leaf_index: int,
        leaf: bytes,
        replayed: tuple[str, int] | None,
    ) -> None:
        evidence = self._evidence(
            leaf_index=leaf_index, hashes={"commitment": commitment.hex(), "leaf": leaf.hex()}
        )
        status, answer = self.get(f"/v1/certificates/{commitment.hex()}/status")
        if status == 404:
            self.report(
                "api.certificate_missing",
                province,
                f"the API does not know the anchored certificate at leaf {leaf_index}",
                **evidence,
            )
            return
        if replayed is None:
            return
        number, state = replayed
        expected = {
            "certificate_number": number,
            "status": _STATE_NAMES[state],
            "log_index": leaf_index,
        }
        got = {key: answer.get(key) for key in expected}
        if got != expected:
            wrong = sorted(k for k in expected if got[k] != expected[k])
            self.report(
                "api.status_mismatch",
                province,
                f"the API's status of {number} differs from the replayed log: "
                + ", ".join(f"{k} {got[k]!r} (replayed {expected[k]!r})" for k in wrong),
                **evidence,
                certificate_number=number,
                fields=wrong,
            )

    def compare_proof(
        self,
        province: str,
        commitment: bytes,
        leaf_index: int,
        leaf: bytes,
        roots: Mapping[int, bytes],
    ) -> None:
        status, proof = self.get("/v1/proofs/inclusion", commitment=commitment.hex())
        if status == 404:
            return  # reported once, as api.certificate_missing
        problem = ""
        try:
            size = int(proof["tree_size"])
            root = bytes.fromhex(proof["root"])
            if int(proof["leaf_index"]) != leaf_index:
                problem = f"leaf index {proof['leaf_index']}, replayed {leaf_index}"
            elif bytes.fromhex(proof["leaf_hash"]) != leaf:
                problem = "the leaf hash is not the replayed entry's"
            elif roots.get(size) != root:
                problem = f"root {root.hex()} was not anchored for size {size}"
            else:
                hashes = [bytes.fromhex(h) for h in proof["hashes"]]
                verify_inclusion(leaf, leaf_index, size, hashes, root)
        except VerificationError as exc:
            problem = f"the proof does not verify: {exc}"
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"not a proof: {type(exc).__name__}"
        if problem:
            self.report(
                "api.proof_invalid",
                province,
                f"the API's inclusion proof of leaf {leaf_index}: {problem}",
                **self._evidence(
                    leaf_index=leaf_index,
                    hashes={"commitment": commitment.hex(), "leaf": leaf.hex()},
                ),
            )


__all__ = [
    "ApiComparison",
    "ApiTarget",
    "CertificateSample",
    "ChainCheckpoint",
    "Unreachable",
]
