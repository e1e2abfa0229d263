"""Errors as RFC 9457 problem details (``application/problem+json``), chosen in one place.

Every refusal names the ``field`` and the dotted ``rule``, as :class:`node.core.errors.InvalidInput`
does, so clients can show both, and explains the rule from the rule-id catalogue
(:mod:`node.core.rules.ids`) in the extension member ``explanation``: ``{"zh", "en", "source"}``
(RFC 9457 §3.2; null only for a rule the catalogue lacks, which
``tests/node/core/test_rule_ids.py`` keeps from happening). Domain code never raises HTTP
errors: :class:`Problem` is raised by the API layer only, and :func:`problem_for` maps domain
errors to statuses:

- ``InvalidInput`` → 422, except a resource named in the path that does not exist
  (``*.unknown`` rules: ``certificate.unknown``, ``organisation.unknown``) → 404, and its
  subclasses ``AccessDenied`` → 403, ``QuotaExhausted`` → 429 with ``Retry-After``,
  ``RequestRefused`` (a province's signed request) → 401;
- ``ChainError`` / ``ManifestStoreError`` → 503 (the node keeps the work pending);
- ``InconsistencyError`` → 409 (needs an operator); other ``RegistryError`` → 500.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import JSONResponse

from node.core.errors import (
    ChainError,
    InconsistencyError,
    InvalidInput,
    ManifestStoreError,
    RegistryError,
)
from node.core.formats.federation import RequestRefused
from node.core.rules.ids import lookup
from node.core.sharing import AccessDenied, QuotaExhausted

PROBLEM_TYPE: Final = "application/problem+json"
#: ``type`` URIs are relative references to the API's documentation (docs/API.md "Errors").
TYPE_BASE: Final = "/docs/problems#"
NOT_FOUND_RULES: Final = frozenset(
    {
        "certificate.unknown",
        "organisation.unknown",
        "job.unknown",
        "sharing.unknown",
        "holder.other_province",
    }
)
TITLES: Final = {
    400: "Bad request",
    401: "Unauthorised",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An HTTP problem raised by the API layer."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        field: str | None = None,
        rule: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.rule = rule
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The problem object: ``type``, ``title``, ``status``, ``detail``, ``field``,
        ``rule`` and ``explanation`` (the catalogue's ``{"zh", "en", "source"}`` for the rule,
        or null)."""
        entry = None if self.rule is None else lookup(self.rule)
        return {
            "type": TYPE_BASE + (self.rule or str(self.status)),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "field": self.field,
            "rule": self.rule,
            "explanation": None if entry is None else entry.to_json(),
        }

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=self.status, media_type=PROBLEM_TYPE, headers=self.headers
        )


def problem_for(exc: RegistryError) -> Problem:
    """The problem a domain error becomes (see the module docstring)."""
    if isinstance(exc, QuotaExhausted):
        return Problem(
            429,
            TITLES[429],
            exc.message,
            exc.field,
            exc.rule,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, AccessDenied):
        return Problem(403, TITLES[403], exc.message, exc.field, exc.rule)
    if isinstance(exc, RequestRefused):
        return Problem(401, TITLES[401], exc.message, exc.field, exc.rule)
    if isinstance(exc, InvalidInput):
        status = 404 if exc.rule in NOT_FOUND_RULES else 422
        return Problem(status, TITLES[status], exc.message, exc.field, exc.rule)
    if isinstance(exc, (ChainError, ManifestStoreError)):
        return Problem(
            503,
            TITLES[503],
            "the chain or manifest store is unavailable; retry",
            None,
            "node.unavailable",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, InconsistencyError):
        return Problem(
            409,
            TITLES[409],
            "the chain contradicts this node; an operator must act",
            None,
            "node.inconsistent",
        )
    return Problem(500, TITLES[500], "the node failed", None, "node.error")


def problem(status: int, detail: str, field: str | None = None, rule: str | None = None) -> Problem:
    """A problem with the standard title of ``status``."""
    return Problem(status, TITLES.get(status, "Error"), detail, field, rule)
