"""An open-loop HTTP load generator for the API on loopback, and API processes forked over one
listening socket for it to drive.

The generator (:func:`drive`) *sends* requests at a fixed rate whatever the server's speed (a
closed loop such as ``wrk`` would slow down with the server and hide queueing), over keep-alive
HTTP/1.1 connections; each latency is measured from the request's *scheduled* send time, so
time spent waiting for a free connection counts. It is deliberately light so that it does not
take the server's CPU on a 2-core machine: raw asyncio protocols, request bytes built before
the clock starts, responses parsed only as far as the status line and ``Content-Length`` (about
0.1 ms of CPU per request, against several for an httpx client).

Used by ``scripts/load_api.py`` (against ``certreg serve --demo``) and by ``certreg bench
province``'s ``http`` stage (against :func:`fork_servers`: API processes forked from the
benchmark, each with its own database connections and caches over the one node).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- CPU of process trees (/proc) ----------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float]]:
    """Every process: pid → (parent pid, user + system CPU seconds), from ``/proc``."""
    found: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def tree(pid: int) -> dict[int, float]:
    """``pid`` and its descendants: pid → CPU seconds so far."""
    table = _processes()
    found: dict[int, float] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        found[current] = table.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in table.items() if parent == current)
    return found


def tree_cpu_seconds(*pids: int) -> float:
    """User + system CPU of ``pids`` and their descendants, in seconds."""
    return sum(sum(tree(pid).values()) for pid in pids)


# -- the generator -------------------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: one request at a time, the response read as far as
    its status and ``Content-Length`` body (uvicorn always sends a length here)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        length = 0
        if start >= 0:
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15 : stop if stop >= 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(self.buffer[9:12])
        del self.buffer[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)


async def drive(
    port: int,
    requests: Sequence[bytes],
    rate: float,
    seconds: float,
    connections: int,
    *,
    warmup: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """Send ``requests`` (cycled) at ``rate``/s for ``seconds`` over ``connections``
    connections; return the figures.

    Warm-up, not timed: every connection once and every distinct request once, or, with
    ``warmup``, every connection once with those requests (cycled) and none of ``requests``
    (they then reach the server for the first time when timed: its caches miss when they are
    all distinct).
    """
    loop = asyncio.get_running_loop()
    idle: collections.deque[Connection] = collections.deque()
    for _ in range(connections):
        _, protocol = await loop.create_connection(Connection, "127.0.0.1", port)
        idle.append(protocol)
    if warmup is None:
        for i, data in enumerate(requests):
            await idle[i % connections].request(data)
    else:
        for i in range(connections):
            await idle[i].request(warmup[i % len(warmup)])

    free = asyncio.Condition()
    latencies: list[float] = []
    failures = 0

    async def one(data: bytes, scheduled: float) -> None:
        nonlocal failures
        async with free:
            await free.wait_for(lambda: bool(idle))
            connection = idle.popleft()
        try:
            status = await connection.request(data)
            if status >= 400:
                failures += 1
        except ConnectionError:
            failures += 1
        latencies.append(time.perf_counter() - scheduled)
        if not connection.closed:
            async with free:
                idle.append(connection)
                free.notify()

    total = int(rate * seconds)
    tasks = []
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[i % len(requests)], scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for connection in idle:
        assert connection.transport is not None
        connection.transport.close()
    ordered = sorted(latencies)
    return {
        "requests": total,
        "failures": failures,
        "offered_rate": rate,
        "throughput_rps": round(total / elapsed, 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def http_get(path: str, query: dict[str, str] | None = None, **headers: str) -> bytes:
    """The bytes of a GET request (``headers``' underscores become dashes)."""
    target = path + ("?" + urlencode(query) if query else "")
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_post(path: str, body: bytes, content_type: str) -> bytes:
    """The bytes of a POST request."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class SetupRequestFailed(RuntimeError):
    """A request made before the clock starts did not answer 200."""


def fetch(port: int, data: bytes) -> bytes:
    """One blocking request (set-up only): the response body.

    Raises:
        SetupRequestFailed: not a 200 (the start of the head is in the message).
        OSError: no connection.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30.0) as s:
        s.sendall(data.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SetupRequestFailed(f"setup request failed: {head[:200]!r}")
    return body


# -- API processes forked over one socket --------------------------------------------------------


def fork_servers(make_app: Callable[[], Any], processes: int) -> tuple[int, list[int]]:
    """Bind 127.0.0.1 on a free port and fork ``processes`` uvicorn servers onto it, each
    serving ``make_app()`` (called in the child, after the fork: its own connections and
    caches). Returns the port and the children's PIDs; stop them with :func:`stop_servers`."""
    import uvicorn

    from certreg.sockets import fork_server, listening_socket

    # `serve --workers`'s socket: IPPROTO_TCP, so the accepted connections have Nagle off.
    listener = listening_socket("127.0.0.1", 0)
    port: int = listener.getsockname()[1]

    def serve() -> None:  # in each server process, after the fork
        config = uvicorn.Config(
            make_app(),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
        )
        uvicorn.Server(config).run(sockets=[listener])

    pids: list[int] = []
    try:
        for _ in range(processes):
            pids.append(fork_server(serve))
    except BaseException:
        stop_servers(pids)
        raise
    finally:
        listener.close()
    return port, pids


def stop_servers(pids: Sequence[int], timeout: float = 30.0) -> None:
    """SIGTERM to each of ``pids`` (children of this process), SIGKILL after ``timeout``."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


def wait_answering(port: int, exited: Callable[[], str | None], timeout: float = 120.0) -> None:
    """Until ``GET /v1/status`` on ``port`` answers 200; ``exited()`` names a server that
    stopped meanwhile (then there is no point in waiting), or None.

    Raises:
        SetupRequestFailed: a server exited, or none answered in ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    request = b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while time.monotonic() < deadline:
        gone = exited()
        if gone is not None:
            raise SetupRequestFailed(gone)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2.0) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SetupRequestFailed("the API server did not answer")


def wait_ready(port: int, pids: Sequence[int], timeout: float = 120.0) -> None:
    """Until the forked API processes ``pids`` answer on ``port`` (:func:`wait_answering`)."""

    def exited() -> str | None:
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return f"API process {pid} exited"
        return None

    wait_answering(port, exited, timeout)


__all__ = [
    "Connection",
    "SetupRequestFailed",
    "drive",
    "fetch",
    "fork_servers",
    "free_port",
    "http_get",
    "http_post",
    "stop_servers",
    "tree",
    "tree_cpu_seconds",
    "wait_answering",
    "wait_ready",
]
