"""The peer of ``certreg bench scale``: OpenAttestation (npm ``@govtechsg/open-attestation``)
issuing the same certificates, and our side of the comparable work.

The peer runs ``scripts/peer/openattestation.js`` under Node on a file of the certificates'
plain fields: per batch, ``wrapDocuments`` (a salt and a keccak256 hash per field, a target hash
per document, the batch's Merkle tree and each document's proof) and ``signDocument`` on every
wrapped document (a secp256k1 signature of the batch root, as OpenAttestation's CLI signs), then
``verifySignature`` (target hash and Merkle proof only). It prints its figures as JSON.

:func:`comparable_ours` does our equivalent of exactly that on the same documents in this
process: salt and commit the twelve fields and sign the commitment with the organisation's
Ed25519 key (node/core/issuer.py, what an issuer does), build the log entry and its leaf hash,
append the batch to a Merkle log and compute every document's inclusion proof (what the node's log
and the bundle's proof need). Everything else our pipeline does (intake rules, encryption,
database, manifests, chain anchoring, status, bundles) has no counterpart in the peer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from node.core.certificate import Certificate
from node.core.formats.entry import Attributes, LogEntry
from node.core.formats.snapshot import Network
from node.core.issuer import sign_certificate
from node.core.merkle import MerkleLog

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "peer" / "openattestation.js"
PACKAGE = ROOT / "node_modules" / "@govtechsg" / "open-attestation" / "package.json"
PEER_NAME = "@govtechsg/open-attestation"


class Issuer(Protocol):
    """An organisation's signing key (``certreg.dev.dataset.SyntheticOrganisation``)."""

    @property
    def suite(self) -> str: ...

    @property
    def private_key(self) -> bytes: ...


def peer_version() -> str | None:
    """The installed OpenAttestation version, or None when it is not installed."""
    if not PACKAGE.is_file():
        return None
    return str(json.loads(PACKAGE.read_text(encoding="utf-8"))["version"])


def run_peer(fields: Path, batch_size: int, *, timeout: float = 7_200.0) -> dict[str, Any]:
    """Run the peer on ``fields`` (JSON Lines of plain certificate fields); return its figures,
    or ``{"name", "unavailable": reason}`` when it cannot run here."""
    node = shutil.which("node")
    if node is None:
        return {"name": PEER_NAME, "unavailable": "node (Node.js) is not on PATH"}
    if peer_version() is None:
        return {"name": PEER_NAME, "unavailable": f"{PEER_NAME} is not installed (npm install)"}
    try:
        done = subprocess.run(
            [node, str(SCRIPT), str(fields), str(batch_size)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"name": PEER_NAME, "unavailable": f"the peer did not finish in {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"name": PEER_NAME, "unavailable": f"the peer failed: {tail[0][:300]}"}
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def _documents(fields: Path) -> Iterator[Certificate]:
    with fields.open(encoding="utf-8") as lines:
        for line in lines:
            yield Certificate(**json.loads(line))


def comparable_ours(
    fields: Path,
    organisations: Mapping[str, Issuer],
    network: Network,
    batch_size: int,
) -> dict[str, Any]:
    """Our side of the peer's job on the same documents (see the module docstring), one
    process; returns documents, seconds (wall), CPU seconds and the rates. ``organisations``
    maps organisation codes to their keys (each document is signed with its own
    organisation's key)."""
    log = MerkleLog()
    documents = 0
    batch: list[bytes] = []
    wall = cpu = 0.0

    def flush() -> None:
        first = log.size
        log.append_many(batch)
        for index in range(first, log.size):
            log.inclusion_proof(index)
        batch.clear()

    for certificate in _documents(fields):
        started, started_cpu = time.perf_counter(), time.process_time()
        org = organisations[certificate.organisation_code]
        salted, signature = sign_certificate(
            certificate, network, suite=org.suite, private_key=org.private_key, key_id=0
        )
        entry = LogEntry(
            kind="issue",
            province=certificate.organisation_code[5:7],
            organisation_code=certificate.organisation_code,
            certificate_number=certificate.certificate_number,
            commitment=salted.commitment(),
            attributes=Attributes.of(certificate),
            signature=signature,
        )
        batch.append(entry.leaf_hash())
        documents += 1
        if len(batch) == batch_size:
            flush()
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    started, started_cpu = time.perf_counter(), time.process_time()
    if batch:
        flush()
    wall += time.perf_counter() - started
    cpu += time.process_time() - started_cpu
    return {
        "documents": documents,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "documents_per_s": round(documents / wall, 1) if wall else None,
        "documents_per_cpu_s": round(documents / cpu, 1) if cpu else None,
    }


__all__ = ["PEER_NAME", "Issuer", "comparable_ours", "peer_version", "run_peer"]
