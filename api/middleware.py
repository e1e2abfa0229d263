"""ASGI middleware: request size limits and structured access logs.

**Size limits**: a request body larger than its limit is refused with a 413
problem before the endpoint runs, whether the client announced it (``Content-Length``) or
streams it. Bulk uploads have their own, larger limit.

**Access logs**: one JSON line per request on the ``api.access`` logger: method, the *path
template* (``/v1/certificates/{commitment}/bundle``, never the raw path or query string, which
may carry a holder name or ID number), status, duration in milliseconds and the caller's role.
No client address is logged (it can identify a person, PIPL art. 4).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

access_log = logging.getLogger("api.access")


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when a streamed body passes its limit."""


class SizeLimit:
    """Refuse bodies larger than ``limit_for(path)`` bytes with 413 ``request.too_large``."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    announced = 0
                if announced > limit:
                    await _too_large(limit)(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> ASGIApp:
    return problem(
        413, f"the request body is larger than {limit} bytes", "body", "request.too_large"
    ).response()


class AccessLog:
    """Log one JSON line per HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        scope.setdefault("state", {})

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(json.dumps(access_record(scope, status, start)))


def access_record(scope: Scope, status: int, start: float) -> dict[str, Any]:
    """The access log record of a finished request (no personal data)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    state = scope.get("state") or {}
    return {
        "method": scope.get("method"),
        "path": template or "(unmatched)",
        "status": status,
        "duration_ms": round((time.perf_counter() - start) * 1000, 2),
        "role": state.get("role", "public"),
    }
