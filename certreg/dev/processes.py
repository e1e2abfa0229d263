"""Background processes of a development consortium, recorded by PID in ``DIR/pids.json``.

``certreg dev up`` starts the chain, the IPFS daemon, each province's API server and anchoring
worker as detached processes (their own session, so they outlive the command and a signal to the
group reaches their children), on 127.0.0.1 only, logging to ``DIR/logs/<name>.log``. Each record
keeps the PID, the command line, the process's start time (``/proc/PID/stat`` field 22) and a
random tag put in the process's environment, so that ``certreg dev down`` signals a PID only while
it still belongs to the process we started (a PID reused by another program is left alone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from node.core.errors import RegistryError

PIDS_NAME = "pids.json"
#: Environment variable carrying each record's tag (checked in ``/proc/PID/environ``).
TAG_ENV = "CERTREG_DEV_TAG"


class DevError(RegistryError):
    """A development consortium could not be started or stopped (the message says why)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProcessRecord:
    """One background process we started."""

    name: str
    pid: int
    argv: tuple[str, ...]
    start_time: int
    tag: str
    log: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid,
            "argv": list(self.argv),
            "start_time": self.start_time,
            "tag": self.tag,
            "log": self.log,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ProcessRecord:
        return cls(
            name=str(value["name"]),
            pid=int(value["pid"]),
            argv=tuple(str(a) for a in value["argv"]),
            start_time=int(value["start_time"]),
            tag=str(value["tag"]),
            log=str(value["log"]),
        )


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` split after the command name (field 3 on), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an exited child nobody reaped yet)."""
    fields = _stat_fields(pid)
    if fields is None:
        return False
    if fields[0] in ("Z", "X"):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        return False
    return True


def _environ_has(pid: int, entry: bytes) -> bool:
    try:
        return entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def is_ours(record: ProcessRecord) -> bool:
    """True when ``record.pid`` is still the process we started: same start time, and our tag in
    its environment (js-ipfs rewrites its command line, so the tag is what identifies it)."""
    if not is_running(record.pid) or process_start_time(record.pid) != record.start_time:
        return False
    return _environ_has(record.pid, f"{TAG_ENV}={record.tag}".encode())


def spawn(
    name: str,
    argv: list[str],
    *,
    logs: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start ``argv`` detached (own session, stdin closed, output to ``logs/<name>.log``)."""
    logs.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(8)
    log_path = logs / f"{name}.log"
    environment = {**(os.environ if env is None else env), TAG_ENV: tag}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=cwd,
            start_new_session=True,
        )
    start = process_start_time(process.pid)
    if start is None:  # exited at once: leave the reaping to the caller's wait
        start = -1
    return ProcessRecord(name, process.pid, tuple(argv), start, tag, str(log_path))


def log_tail(record: ProcessRecord, chars: int = 1500) -> str:
    """The end of a process's log (for error messages; our servers log no personal data)."""
    try:
        return Path(record.log).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def stop(records: Iterable[ProcessRecord], *, grace: float = 20.0) -> list[str]:
    """Stop the processes that are still ours: SIGTERM to each one's process group, then
    SIGKILL to those still running after ``grace`` seconds. Returns one line per record saying
    what happened (stopped, killed, already gone, not ours)."""
    pending: list[ProcessRecord] = []
    report: list[str] = []
    for record in records:
        if not is_ours(record):
            gone = not is_running(record.pid)
            report.append(
                f"{record.name} (pid {record.pid}): "
                + ("already stopped" if gone else "PID now belongs to another process; left alone")
            )
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGTERM)
        pending.append(record)
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        pending_now = [r for r in pending if is_running(r.pid)]
        for record in pending:
            if record not in pending_now:
                report.append(f"{record.name} (pid {record.pid}): stopped")
        pending = pending_now
        if pending:
            time.sleep(0.05)
    for record in pending:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGKILL)
        while is_running(record.pid):
            time.sleep(0.05)
        report.append(f"{record.name} (pid {record.pid}): killed after {grace:.0f} s")
    return report


def read_records(directory: Path) -> list[ProcessRecord]:
    """The records of ``DIR/pids.json`` (none when the file is missing)."""
    path = directory / PIDS_NAME
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except json.JSONDecodeError as exc:
        raise DevError(f"{path} is not JSON ({exc.msg}); check the processes by hand") from None
    return [ProcessRecord.from_json(v) for v in value.get("processes", [])]


def write_records(directory: Path, records: Iterable[ProcessRecord]) -> None:
    """Replace ``DIR/pids.json`` atomically (written to a temporary file, then renamed)."""
    path = directory / PIDS_NAME
    tmp = path.with_suffix(".tmp")
    value = {"processes": [r.to_json() for r in records]}
    tmp.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port``. SO_REUSEADDR, as servers set it: a
    port whose old connections linger in TIME_WAIT (just after ``down``) counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def require_ports_free(ports: Mapping[str, int]) -> None:
    """Raise DevError naming every port that is taken."""
    taken = [f"{what} {port}" for what, port in ports.items() if not port_free(port)]
    if taken:
        raise DevError(
            "port(s) taken on 127.0.0.1: " + ", ".join(taken) + "; stop what uses them "
            "(or remove the consortium folder to start afresh on new ports)"
        )


def wait_until(
    ready: Any, *, record: ProcessRecord, what: str, timeout: float, interval: float = 0.1
) -> None:
    """Poll ``ready()`` until true; raise DevError when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(record.pid):
            raise DevError(f"{what} exited at start; its log ends:\n{log_tail(record)}")
        if ready():
            return
        time.sleep(interval)
    raise DevError(
        f"{what} did not answer within {timeout:.0f} s; its log ends:\n{log_tail(record)}"
    )
