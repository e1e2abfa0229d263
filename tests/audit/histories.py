"""Histories for the audit tests: a clean one written through the real contract, to which each
test adds one planted fault."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anchor.manifest import LocalManifestStore
from audit.auditor import AuditOptions, AuditReport, audit
from certreg.bench.audit import HistoryWriter
from node.core.crypto.signatures import get_suite
from node.core.formats.entry import LogEntry
from tests.conftest import today_calendar
from tests.contract.conftest import Registry

ORG = "S000144011001"
ORG2 = "S000144011002"
KEY = get_suite("ed25519").generate_private_key(b"\x21" * 32)
KEY2 = get_suite("ed25519").generate_private_key(b"\x22" * 32)
ZERO = b"\x00" * 32
REVOKED, SUSPENDED, SUPERSEDED, ACTIVE = 1, 2, 3, 0


@dataclasses.dataclass
class Clean:
    """A clean history of province 44 and what a test needs to extend it."""

    writer: HistoryWriter
    store: LocalManifestStore
    issued: list[LogEntry]


def clean_history(reg: Registry, tmp_path: Path) -> Clean:
    """Two organisations; eight certificates over two checkpoints; a revocation, a
    correction, a suspension and a reinstatement, each logged, anchored and set on chain."""
    client = reg.as_(0)
    store = LocalManifestStore(tmp_path / "manifests")
    w = HistoryWriter(client, store, "44")
    w.file_organisation(ORG, KEY)
    w.file_organisation(ORG2, KEY2)
    issued = [w.issue(ORG, serial) for serial in range(1, 7)]
    issued.append(w.issue(ORG2, 1))
    w.anchor()
    issued.append(w.issue(ORG, 1, level=3, occupation_code="6-20-01-01"))
    revoke = w.change("revoke", issued[1], 101)
    correction = w.correct(issued[2], 403)
    suspend = w.change("suspend", issued[3], 201)
    reinstate = w.change("reinstate", issued[3], 301)
    w.anchor()
    client.set_status(44, revoke.commitment, REVOKED, 101, ZERO)
    client.set_status(44, issued[2].commitment, SUPERSEDED, 403, correction.commitment)
    client.set_status(44, suspend.commitment, SUSPENDED, 201, ZERO)
    client.set_status(44, reinstate.commitment, ACTIVE, 301, ZERO)
    return Clean(w, store, issued)


def run(clean: Clean, **options: object) -> AuditReport:
    """Audit the history, judging deadlines in the calendar of the test run's today (the
    history is anchored today, on the chain's clock) unless ``calendar`` is given."""
    options.setdefault("calendar", today_calendar())
    return audit(clean.writer.client, clean.store, AuditOptions(**options))  # type: ignore[arg-type]
