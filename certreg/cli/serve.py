"""``certreg serve``: run the HTTP API (docs/API.md).

- ``certreg serve --demo [--port P]``: a fresh throw-away province (:mod:`certreg.dev.demo`),
  printing
  its API keys and sample certificates (synthetic), then serving at once.
- ``certreg serve --dir D [--host H] [--port P]``: the API over the node in ``D``
  (``node.json``, docs/NODE.md).
- ``certreg serve --dir D --create-key ROLE[:SCOPE] [--label L]``: create an API key (printed
  once; only its hash is kept) and exit; ``--revoke-key KEY`` revokes one.
- ``--workers N``: N server processes on one listening socket (forked from this one, which
  only supervises them), each with its own node, connections and caches over the one database
  (docs/OPERATIONS.md "Several processes"). With ``--demo`` the processes share the demo's
  SQLite file; each has its own copy of the in-process chain as it was when they started, so
  several demo processes are for read load (``scripts/load_api.py --workers N``).

Access logs go to stderr as JSON lines (``--no-access-log`` to silence them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from certreg.sockets import exit_on_signal, fork_server, listening_socket

NODE_DIR_ENV = "CERTREG_NODE_DIR"


def _settings(args: argparse.Namespace) -> Any:
    from api.context import ApiSettings

    return ApiSettings(
        search_rate=args.search_rate,
        search_burst=args.search_burst,
        verify_rate=args.verify_rate,
        verify_burst=args.verify_burst,
        trusted_proxies=tuple(args.trusted_proxy or ()),
        bulk_workers=args.bulk_workers,
        job_lease_seconds=args.job_lease,
        trust_root=None if args.trust_root is None else Path(args.trust_root),
        checkpoint_key=None if args.checkpoint_key is None else Path(args.checkpoint_key),
        checkpoint_suite=args.checkpoint_suite,
        # Several processes: the token buckets go to the database (shared), on SQLite too.
        shared_limits=args.workers > 1,
    )


def uvicorn_config(app: Any, host: str, port: int) -> Any:
    """The server's settings. ``proxy_headers`` is off: uvicorn would otherwise take the client
    address from ``X-Forwarded-For`` of any loopback peer, and every spoofed value would get a
    fresh rate-limit bucket; the app trusts the header only from ``--trusted-proxy``
    (``api.context.client_address``)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def _serve(app: Any, args: argparse.Namespace, sockets: list[socket.socket] | None = None) -> None:
    import uvicorn

    if not args.no_access_log:
        handler = logging.StreamHandler(sys.stderr)
        access = logging.getLogger("api.access")
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    uvicorn.Server(uvicorn_config(app, args.host, args.port)).run(sockets=sockets)


def _serve_processes(make_app: Callable[[], Any], args: argparse.Namespace) -> int:
    """Serve ``make_app()`` in ``args.workers`` processes forked from this one, which only
    supervises them (with one, in this process).

    This process binds the socket, forks the servers (each calls ``make_app`` after the fork:
    its own database connections, thread pools and caches) and waits; SIGTERM or SIGINT to it
    (or to the process group) stops them all. Returns 0 when every server ended cleanly, 1 when
    one failed (the others are then stopped). A server exits 0 on SIGTERM or SIGINT.
    """
    if args.workers <= 1:
        _serve(make_app(), args)
        return 0
    listener = listening_socket(args.host, args.port)
    children: list[int] = []
    try:
        for _ in range(args.workers):
            children.append(fork_server(lambda: _serve(make_app(), args, [listener])))
        _, status = os.wait()
        return 0 if os.waitstatus_to_exitcode(status) == 0 else 1
    except SystemExit:  # SIGTERM or SIGINT to this process (exit_on_signal)
        return 0
    finally:
        listener.close()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _serve_demo(args: argparse.Namespace) -> int:
    """``serve --demo``: a throw-away province in a temporary folder, removed however the
    server stops (a return, an error, SIGTERM or SIGINT: docs/API.md)."""
    from api.app import create_app
    from certreg.dev.demo import make_demo, next_row

    previous = {sig: signal.signal(sig, exit_on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with tempfile.TemporaryDirectory(prefix="certreg-demo-") as tmp:
            demo = make_demo(
                Path(tmp),
                certificates=args.certificates,
                calendar=getattr(args, "calendar", None),
            )
            info = {
                **demo.info(),
                "url": f"http://{args.host}:{args.port}",
                "next_row": next_row(demo, 900_000),
            }
            if args.info:
                Path(args.info).write_text(json.dumps(info, ensure_ascii=False), "utf-8")
            print(json.dumps({k: info[k] for k in ("url", "keys", "organisation")}), flush=True)

            def make_app() -> Any:
                if args.workers > 1:  # a forked server: connections of its own
                    demo.node.db.engine.dispose(close=False)
                return create_app(demo.node, _settings(args))

            try:
                code = _serve_processes(make_app, args)
            finally:
                demo.node.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API (or create / revoke a key); see the module docstring."""
    from api.app import create_app
    from api.auth import create_api_key, revoke_api_key
    from province.config import load_config
    from province.node import ProvinceNode

    if args.demo:
        return _serve_demo(args)

    config = load_config(Path(args.dir or os.environ.get(NODE_DIR_ENV) or "."))
    if args.create_key or args.revoke_key:
        from node.storage import open_database

        db = open_database(config.database)
        try:
            if args.revoke_key:
                done = revoke_api_key(db, args.revoke_key)
                print("revoked" if done else "no such active key")
                return 0 if done else 1
            role, _, scope = args.create_key.partition(":")
            print(create_api_key(db, role, scope, label=args.label))
        finally:
            db.dispose()
        return 0
    if args.workers > 1:
        previous = {s: signal.signal(s, exit_on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return _serve_processes(
                lambda: create_app(
                    ProvinceNode.open(config, calendar=getattr(args, "calendar", None)),
                    _settings(args),
                ),
                args,
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    node = ProvinceNode.open(config, calendar=getattr(args, "calendar", None))
    try:
        _serve(create_app(node, _settings(args)), args)
    finally:
        node.close()
    return 0


def add_parsers(subparsers: Any) -> None:
    """Register ``serve`` on the ``certreg`` command line (certreg/cli/)."""
    p = subparsers.add_parser("serve", help="run the HTTP API (or --demo: a throw-away province)")
    p.add_argument("--dir", help=f"the node's folder (default ${NODE_DIR_ENV}, else .)")
    p.add_argument("--demo", action="store_true", help="a fresh throw-away demo province")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--certificates", type=int, default=20, help="--demo: how many to issue")
    p.add_argument("--info", help="--demo: write keys and sample certificates (JSON) here")
    p.add_argument("--search-rate", type=float, default=1.0, help="search tokens per second")
    p.add_argument("--search-burst", type=int, default=10, help="search bucket size")
    p.add_argument(
        "--verify-rate", type=float, default=5.0, help="POST /v1/verify tokens per second"
    )
    p.add_argument("--verify-burst", type=int, default=30, help="POST /v1/verify bucket size")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDRESS[/BITS]",
        help="a reverse proxy whose X-Forwarded-For names the client (repeat; default: none, "
        "the header is ignored)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the one port, over the one database (token buckets then "
        "live in the database; docs/OPERATIONS.md)",
    )
    p.add_argument("--bulk-workers", type=int, default=2, help="bulk upload jobs processed at once")
    p.add_argument(
        "--job-lease",
        type=float,
        default=30.0,
        help="seconds a bulk job's claim lasts without a heartbeat; after that another API "
        "process over the same database takes the job over",
    )
    p.add_argument(
        "--trust-root",
        help="the network's trust-root file: served to the page (which pins it) and used by "
        "POST /v1/verify",
    )
    p.add_argument(
        "--checkpoint-key",
        metavar="FILE",
        help="the node's checkpoint-signing private key (hex; member key purpose 2; default: "
        "node.json's witness key): GET /v1/snapshot is then signed by this node and cosigned by "
        "its federation peers, and the node cosigns its peers' snapshots",
    )
    p.add_argument(
        "--checkpoint-suite",
        default="ed25519",
        choices=("ed25519", "sm2-sm3"),
        help="the checkpoint-signing key's suite",
    )
    p.add_argument("--create-key", metavar="ROLE[:SCOPE]", help="create an API key and exit")
    p.add_argument("--label", default="", help="--create-key: a label for the key")
    p.add_argument("--revoke-key", metavar="KEY", help="revoke an API key and exit")
    p.add_argument("--no-access-log", action="store_true", help="no JSON access log on stderr")
    p.set_defaults(func=_run(cmd_serve))


def _run(func: Any) -> Any:
    """Refused input exits 1 with the field and rule; other registry errors exit 2."""
    from certreg.cli.explanations import print_error
    from node.core.errors import InvalidInput, RegistryError

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except InvalidInput as exc:
            print_error(exc)
            return 1
        except RegistryError as exc:
            print_error(exc)
            return 2

    return wrapped
