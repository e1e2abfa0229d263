"""One active anchoring worker per province log, whatever the number of ``certreg node run``
processes over one PostgreSQL database (docs/OPERATIONS.md "Several processes").

Every worker process asks for the province's leader lock (:class:`node.storage.leader.LeaderLock`,
a PostgreSQL advisory lock on a connection held for the worker's life). The one that gets it
runs the anchoring loop (:meth:`province.node.ProvinceNode.run`, starting with its
reconciliation, which finishes whatever a killed predecessor left submitted or pending); the
others wait as standbys and ask again every ``poll_seconds``. When the active process dies its
connection closes, PostgreSQL drops the lock and a standby takes over.

The active worker checks that it still holds the lock (on the lock's own connection) every
``poll_seconds`` while it runs; on losing it (its connection broke) it stops after the step in
hand and goes back to standby. The contract refuses a checkpoint whose size is not past the
province's last anchored one (``ProvinceLogsCheckpointAlreadyAnchored``), so a step of a
fenced-off worker could not anchor a checkpoint twice either.

On SQLite the lock is granted at once: run one worker per node (docs/OPERATIONS.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from anchor.worker import AnchorOutcome
from node.storage.leader import LeaderLock
from province.node import ProvinceNode

log = logging.getLogger(__name__)


def lock_name(province: str) -> str:
    """The leader lock's name for the anchoring of ``province``'s log."""
    return f"certreg:anchoring-worker:{province}"


def run_elected(
    node: ProvinceNode,
    stop: threading.Event,
    *,
    poll_seconds: float = 1.0,
    on_anchor: Callable[[AnchorOutcome], None] | None = None,
    on_role: Callable[[str], None] | None = None,
) -> None:
    """Anchor while this process holds the province's leader lock, wait as a standby while
    another does, until ``stop`` is set. ``on_role`` hears ``"standby"`` and ``"active"``
    whenever the role changes."""
    lock = LeaderLock(node.db, lock_name(node.province))
    role = ""

    def become(new: str) -> None:
        nonlocal role
        if new != role:
            role = new
            log.info("anchoring worker of log %s: %s", node.province, new)
            if on_role is not None:
                on_role(new)

    try:
        while not stop.is_set():
            if not lock.try_acquire():
                become("standby")
                stop.wait(poll_seconds)
                continue
            become("active")
            active = threading.Event()
            watchdog = threading.Thread(
                target=_watch, args=(lock, stop, active, poll_seconds), daemon=True
            )
            watchdog.start()
            try:
                node.run(active, poll_seconds=poll_seconds, on_anchor=on_anchor)
            finally:
                active.set()
                watchdog.join()
            if not stop.is_set():
                log.warning("anchoring worker of log %s lost its leader lock", node.province)
    finally:
        lock.release()


def _watch(lock: LeaderLock, stop: threading.Event, active: threading.Event, every: float) -> None:
    """Set ``active`` (stopping the loop after its step in hand) when ``stop`` is set or the
    lock is lost."""
    while not active.is_set():
        if stop.wait(every) or not lock.held():
            active.set()
