"""The HTTP API's app factory: ``create_app(node, settings)``.

Layers, outermost first: access log (one JSON line per request, path templates only),
containment (an escaped exception is a 500 problem logged by type only), size limits (413), the
JSON guard (bounded parsing of JSON bodies, 422 with a ``json.*`` rule), then FastAPI's routers
(:mod:`api.reads`, :mod:`api.writes`). Errors are RFC 9457 problem details chosen in one place
(:mod:`api.problems`). The web page is ``api/static/``: ``GET /`` redirects to
``/static/index.html``; ``/static`` serves the folder.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from api import consortium, federation, holder, reads, search, sharing, witness, writes
from api.context import ApiContext, ApiSettings, Caller, Context
from api.middleware import AccessLog, Contain, JsonGuard, SizeLimit
from api.pdf import render_certificate_pdf
from api.problems import TITLES, Problem, problem, problem_for
from api.reads import _commitment, _may_read_bundle, _record, log_read
from node.core.errors import RegistryError
from province.node import ProvinceNode

log = logging.getLogger(__name__)

BULK_PATH = "/v1/certificates/bulk"
VERIFY_PATH = "/v1/verify"
DESCRIPTION = """\
certreg province node API: public reads of the log, checkpoints, proofs, the organisation
registry and certificate statuses; the two-of-three search across provinces and the holder's
bundle; sharing agreements, the access log and province-to-province queries; online
verification; and writes by API key (`Authorization: Bearer <key>`) bound to a role (operator of
a province, issuer for an organisation, auditor, sharing partner, public). Errors are RFC 9457
`application/problem+json` objects naming the `field` and the `rule`. See docs/API.md and
docs/SHARING.md.
"""


def _validation_problem(exc: RequestValidationError) -> Problem:
    """FastAPI's request validation error as a problem naming the first bad field. An unknown
    key is not named (the caller chose it: it may be a holder's name); its object is."""
    errors = exc.errors()
    first: dict[str, Any] = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ())]
    if first.get("type") == "extra_forbidden" and location:
        location = location[:-1]
        first = {**first, "msg": "unknown key"}
    field = ".".join(location[1:]) if len(location) > 1 else ".".join(location) or None
    kind = str(first.get("type", "invalid"))
    return problem(422, str(first.get("msg", "invalid request")), field, f"request.{kind}")


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> Response:
        return exc.response()

    @app.exception_handler(RegistryError)
    async def _registry(_request: Request, exc: RegistryError) -> Response:
        found = problem_for(exc)
        if found.status >= 500:
            log.error("request failed: %s", type(exc).__name__)
        return found.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return _validation_problem(exc).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        found = Problem(
            status, TITLES.get(status, "Error"), str(exc.detail), None, f"http.{status}"
        )
        found.headers = dict(exc.headers or {})
        return found.response()

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.error("unexpected %s", type(exc).__name__)  # never the message: it may hold data
        return problem(500, "the node failed", None, "node.error").response()


def _install_static(app: FastAPI, settings: ApiSettings) -> None:
    index = settings.static_dir / "index.html"

    @app.get("/", include_in_schema=False)
    def _index() -> Response:
        # A redirect, not the file itself: the page loads its scripts and styles by paths
        # relative to /static/index.html.
        if not index.is_file():
            raise problem(404, "no web page installed", None, "http.404")
        return RedirectResponse("/static/index.html", status_code=307)

    trust_root = settings.trust_root
    if trust_root is not None:

        @app.get("/static/trust-root.json", include_in_schema=False)
        def _trust_root() -> Response:
            # The network's trust root, pinned by the page served beside it.
            return Response(trust_root.read_bytes(), media_type="application/json")

    if settings.static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")


#: Where the vendored Swagger UI is served (scripts/vendor_js.py copies the pinned
#: swagger-ui-dist into api/static/vendor/).
SWAGGER_UI = "/static/vendor/swagger-ui-dist"


def _install_docs(app: FastAPI) -> None:
    """``GET /v1/docs``: Swagger UI over ``/v1/openapi.json``, from this node's own static files
    (FastAPI's default loads it from a CDN, which leaves the page blank on a network with no
    internet, as government networks often are)."""

    @app.get("/v1/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/v1/openapi.json",
            title="certreg API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        )


def _install_pdf(app: FastAPI) -> None:
    """``GET /v1/certificates/{commitment}/pdf``: the certificate's province operator or its
    issuer (holders use ``GET /v1/holder/pdf``)."""

    @app.get(
        "/v1/certificates/{commitment}/pdf",
        summary="The certificate as a PDF (its province's operator or its issuer)",
        tags=["certificates"],
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}},
    )
    def _pdf(ctx: Context, who: Caller, commitment: str) -> Response:
        record = _record(ctx, _commitment(commitment))
        _may_read_bundle(who, record)
        log_read(ctx, "pdf", who, record)
        data = render_certificate_pdf(ctx.node.bundles.bundle(record.commitment))
        return Response(bytes(data), media_type="application/pdf")


def create_app(node: ProvinceNode, settings: ApiSettings | None = None) -> FastAPI:
    """The API over an open province node (the caller closes the node after the app stops).

    ``settings``: see :class:`api.context.ApiSettings`.
    """
    settings = settings or ApiSettings()
    context = ApiContext(node, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        context.jobs.close()

    app = FastAPI(
        title="certreg",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        docs_url=None,  # _install_docs: Swagger UI from vendored files
        redoc_url=None,
    )
    app.state.context = context
    _install_errors(app)
    app.include_router(reads.router)
    app.include_router(search.router)
    app.include_router(holder.router)
    app.include_router(sharing.router)
    app.include_router(federation.router)
    app.include_router(writes.router)
    app.include_router(consortium.router)
    app.include_router(witness.router)
    _install_pdf(app)
    _install_docs(app)
    _install_static(app, settings)

    def limit_for(path: str) -> int:
        return settings.max_bulk_bytes if path == BULK_PATH else settings.max_body_bytes

    def not_json(path: str) -> bool:
        return path in (BULK_PATH, VERIFY_PATH)

    # Outermost last: access log, containment, size limits, JSON guard, the app.
    app.add_middleware(JsonGuard, skip=not_json)
    app.add_middleware(SizeLimit, limit_for=limit_for)
    app.add_middleware(Contain)
    app.add_middleware(AccessLog)
    return app
