"""A local server process (anvil, the js-ipfs daemon) started by us and stopped by its PID.

Subclasses start the process (:meth:`LocalServer._spawn` records it, its private temporary
HOME and its log) and say how to tell that it answers (:meth:`LocalServer._answers`);
this class waits for it, stops it (SIGTERM, then SIGKILL after a timeout; the whole process
group when it runs in its own session) and removes its HOME.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from node.core.errors import RegistryError


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """Process handling shared by the local servers."""

    #: What the errors call the server, and the error they raise.
    name = "server"
    error: type[RegistryError] = RegistryError
    #: Stop the whole process group (the process was started in its own session).
    group = False
    poll_interval = 0.05

    def __init__(self, *, startup_timeout: float) -> None:
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None
        self._log: Path | None = None

    @property
    def pid(self) -> int | None:
        """The process id while running (also the process group id when ``group``)."""
        return self.process.pid if self.process is not None else None

    def _make_home(self, prefix: str) -> Path:
        self._home = tempfile.TemporaryDirectory(prefix=prefix)
        return Path(self._home.name)

    def _spawn(self, args: list[str], home: Path, env: dict[str, str], log_name: str) -> None:
        self._log = home / log_name
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=home,
                start_new_session=self.group,
            )

    def _answers(self) -> bool:
        raise NotImplementedError

    def _output(self) -> str:
        return "" if self._log is None else self._log.read_text(errors="replace")[-2000:]

    def _wait_ready(self, where: str) -> None:
        """Wait until :meth:`_answers`; raise ``error`` if the process exits or time runs out."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self._output()
                self._cleanup()
                raise self.error(f"{self.name} exited at start: {output}")
            if self._answers():
                return
            time.sleep(self.poll_interval)
        output = self._output()
        self.stop()
        raise self.error(
            f"{self.name} did not answer on {where} in {self.startup_timeout} s: {output}"
        )

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            if self.group:
                os.killpg(self.process.pid, signum)
            else:
                os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process by its PID (SIGTERM; SIGKILL after ``timeout``) and remove its
        private HOME."""
        process = self.process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait(timeout=timeout)
        self._cleanup()

    def _cleanup(self) -> None:
        self.process = None
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    def start(self) -> Self:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
