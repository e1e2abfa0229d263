"""Forked API servers on one listening socket (``certreg serve --workers N`` and the HTTP stage
of ``certreg bench province``): the socket, and a server process forked onto it."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable


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


def exit_on_signal(signum: int, frame: object) -> None:
    """SIGTERM or SIGINT ends a server (or the demo's supervising process) like a normal return:
    ``finally`` blocks run (the demo's temporary folder is removed) and the process exits 0.
    uvicorn shuts down gracefully on either signal, then raises it again once its own handlers
    are gone; this handler is the one that receives it."""
    raise SystemExit(0)


def _stop_without_parent(parent: int, interval: float = 1.0) -> None:
    """A server process whose parent was killed outright (SIGKILL) stops itself, as if sent
    SIGTERM, instead of serving on as an orphan."""
    while os.getppid() == parent:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)


def fork_server(serve: Callable[[], None]) -> int:
    """Fork a server process that runs ``serve()`` (build the app there, after the fork: its
    own connections, thread pools and caches) and return its PID. The child never returns
    into the caller's frames: it exits 0 when ``serve`` returns or SIGTERM / SIGINT stops it,
    1 when it fails, and stops itself when this process dies."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, exit_on_signal)
        watch = threading.Thread(target=_stop_without_parent, args=(parent,), name="parent-watch")
        watch.daemon = True
        watch.start()
        serve()
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code in (0, None) else 1
    except BaseException:
        logging.getLogger(__name__).exception("server process failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


__all__ = ["exit_on_signal", "fork_server", "listening_socket"]
