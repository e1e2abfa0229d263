"""ASGI middleware: request size limits and structured access logs.

**Size limits**: a request body larger than its limit is refused with a 413
problem before the endpoint runs, whether the client announced it (``Content-Length``) or
streams it. Bulk uploads have their own, larger limit.

**Access logs**: one JSON line per request on the ``api.access`` logger: method, the *path
template* (``/v1/certificates/{commitment}/bundle``, never the raw path or query string, which
may carry a holder name or ID number), status, duration in milliseconds and the caller's role.
No client address is logged (it can identify a person, PIPL art. 4).

**JSON bodies** (:class:`JsonGuard`): a body FastAPI would parse as JSON is first read by the
bounded reader (``node.core.safejson``: depth, duplicate keys, number length, lone
surrogates) and refused with a 422 problem naming the ``json.*`` rule; only then does the app
see it.

**Containment** (:class:`Contain`): an exception no handler turned into a response becomes a
500 problem here and is logged by type only. Starlette's outermost error middleware would
otherwise re-raise it to the server, which logs the traceback with the exception's text (which
may quote the input).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem
from node.core import safejson
from node.core.errors import InvalidInput

access_log = logging.getLogger("api.access")
log = logging.getLogger(__name__)


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


class JsonGuard:
    """Check JSON request bodies with the bounded reader before the app parses them (see the
    module docstring). ``skip(path)``: paths whose body is not JSON (bulk uploads, the raw
    text of ``POST /v1/verify``, which the verifier reads safely itself)."""

    def __init__(self, app: ASGIApp, skip: Callable[[str], bool]) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("POST", "PUT", "PATCH")
            or self.skip(scope["path"])
            or not _json_content(scope)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                safejson.loads(body, "body")
            except InvalidInput as exc:
                await problem(422, exc.message, exc.field, exc.rule).response()(
                    scope, receive, send
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _json_content(scope: Scope) -> bool:
    """Whether FastAPI would parse the body as JSON: no content type, or a JSON one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json") or not kind
    return True


class Contain:
    """Turn an exception that escaped every handler into a 500 problem, logged by type only
    (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # the point: nothing escapes to the server
            log.error("unexpected %s", type(exc).__name__)  # never the message
            if not started:
                await problem(500, "the node failed", None, "node.error").response()(
                    scope, receive, send
                )


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
