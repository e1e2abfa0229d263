"""The listening socket that forked API servers share (``certreg serve --workers N`` and the
HTTP stage of ``certreg bench province``)."""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """The TCP socket the forked servers of ``--workers N`` accept on, bound and listening.

    ``IPPROTO_TCP`` is spelled out: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only
    on sockets whose ``proto`` says TCP, and accepted sockets inherit the listener's. With
    ``proto`` 0, a response's headers and body went out as two segments, the second held back
    until the client's delayed ACK: ~40 ms a request on reused keep-alive connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(2048)
    return listener


__all__ = ["listening_socket"]
