"""RFC 9457 problem details: one exception hierarchy and one set of handlers for every service.

Raise a `ProblemError` subclass anywhere; the handler renders
`{type, title, status, detail, instance, code}` as `application/problem+json`. Unknown exceptions
become a generic 500 problem: no stack trace, no `str(e)` ever reaches a client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger, request_id_var

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://errors.payment-gateway.local/"

log = get_logger(__name__)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class ProblemError(Exception):
    """Base of every error a client may see. Subclasses fix `status` and a default `code`."""

    status: int = 500
    code: str = "internal_error"
    title: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(detail or self.code)


class BadRequest(ProblemError):
    status, code = 400, "bad_request"


class Unauthorized(ProblemError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str | None = "Authentication required.", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(ProblemError):
    status, code = 403, "forbidden"


class NotFound(ProblemError):
    status, code = 404, "not_found"


class Conflict(ProblemError):
    status, code = 409, "conflict"


class Gone(ProblemError):
    status, code = 410, "gone"


class PayloadTooLarge(ProblemError):
    status, code = 413, "payload_too_large"


class Unprocessable(ProblemError):
    status, code = 422, "unprocessable"


class Locked(ProblemError):
    status, code = 423, "locked"


class TooManyRequests(ProblemError):
    status, code = 429, "rate_limited"


class ServiceUnavailable(ProblemError):
    status, code = 503, "service_unavailable"


class UpstreamError(ProblemError):
    status, code = 502, "upstream_error"


class GatewayTimeout(ProblemError):
    status, code = 504, "upstream_timeout"


def problem_body(
    status: int,
    *,
    code: str,
    detail: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
        "instance": instance,
        "code": code,
    }
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    if extra:
        body.update(extra)
    return body


def problem_response(
    status: int,
    *,
    code: str,
    detail: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    return ProblemResponse(
        problem_body(status, code=code, detail=detail, title=title, instance=instance, extra=extra),
        status_code=status,
        headers=dict(headers or {}),
    )


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "service_unavailable",
}


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        # Only the location, a message and a machine code: never echo the input (may be a password).
        out.append(
            {
                "field": ".".join(p for p in loc if p not in ("body", "query", "path", "header")) or "body",
                "location": loc[0] if loc else "body",
                "message": str(err.get("msg", "invalid")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


async def _problem_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ProblemError)
    if exc.status >= 500:
        log.warning("problem", code=exc.code, status=exc.status, detail=exc.detail)
    return problem_response(
        exc.status,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return problem_response(
        422,
        code="validation_error",
        title="Validation failed",
        detail=f"Invalid request: {fields}." if fields else "Invalid request.",
        instance=request.url.path,
        extra={"errors": errors},
    )


async def _http_handler(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        exc.status_code,
        code=_STATUS_CODES.get(exc.status_code, "http_error"),
        detail=detail,
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _unhandled_handler(request: Request, exc: Exception) -> ProblemResponse:
    log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    return problem_response(
        500,
        code="internal_error",
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unhandled_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem bodies for the given statuses."""
    schema = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string"},
        },
    }
    return {
        s: {"description": HTTPStatus(s).phrase, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
        for s in statuses
    }
