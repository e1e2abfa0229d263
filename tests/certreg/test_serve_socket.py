"""The listening socket of ``certreg serve --workers N``: the connections the forked servers
accept on it have Nagle's algorithm off, as uvicorn's own sockets do.

With Nagle on, a response's headers and body (two writes) waited for the client's delayed ACK:
~40 ms a request on reused keep-alive connections (issue #19: p50 44 ms at 300 requests/s with
two processes, against 2 ms with one)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from certreg.sockets import listening_socket


async def _accepted_nodelay(listener: socket.socket) -> tuple[int, int]:
    """Serve on ``listener`` as uvicorn does with ``sockets=``; connect once; the accepted
    socket's ``TCP_NODELAY`` and the reply the client read."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.write(b"ok")  # type: ignore[attr-defined]
            transport.close()

    server = await asyncio.get_running_loop().create_server(Echo, sock=listener)
    async with server:
        host, port = listener.getsockname()[:2]
        reader, writer = await asyncio.open_connection(host, port)
        reply = await reader.read()
        writer.close()
        nodelay = await asyncio.wait_for(accepted, 10)
    return nodelay, len(reply)


Run = Callable[[Coroutine[Any, Any, tuple[int, int]]], tuple[int, int]]


# uvicorn runs on uvloop when it is installed (it is: pyproject.toml), else on asyncio's loop.
@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_have_nagle_off(host: str, run: Run) -> None:
    try:
        listener = listening_socket(host, 0)
    except OSError:
        pytest.skip(f"no {host} on this machine")
    assert listener.proto == socket.IPPROTO_TCP
    nodelay, replied = run(_accepted_nodelay(listener))
    assert replied == 2
    assert nodelay != 0
