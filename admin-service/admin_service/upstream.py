"""Calls to the other services. Reads and admin actions on public APIs forward the caller's own
bearer token (so the owning service applies its own authorization and audit); `/internal/*`
calls use this service's API key (set on the pooled client). Failures become problem errors:
unreachable → 503, timeout → 504, upstream 5xx → 502, upstream 4xx → the same status and code."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from shared.errors import GatewayTimeout, ProblemError, ServiceUnavailable, UpstreamError
from shared.logging import get_logger

log = get_logger(__name__)


class UpstreamRefused(ProblemError):
    """The owning service refused the request (4xx): its status and code are passed through."""


def bearer_of(request: Request) -> dict[str, str]:
    auth = request.headers.get("authorization")
    return {"Authorization": auth} if auth else {}


async def call(
    request: Request,
    service: str,
    method: str,
    path: str,
    *,
    forward_bearer: bool = False,
    json: Any = None,
    params: dict[str, Any] | None = None,
    wait: float | None = None,
) -> Any:
    resp = await exchange(
        request, service, method, path, forward_bearer=forward_bearer, json=json, params=params, wait=wait
    )
    return _json(resp) if resp.content else None


async def exchange(
    request: Request,
    service: str,
    method: str,
    path: str,
    *,
    forward_bearer: bool = False,
    json: Any = None,
    params: dict[str, Any] | None = None,
    wait: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """`call`, returning the whole response (status < 400; errors raise the same problems)."""
    settings = request.app.state.settings
    http: httpx.AsyncClient = request.app.state.http
    url = settings.url_of(service) + path
    headers = {**(bearer_of(request) if forward_bearer else {}), **(headers or {})}
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        resp = await http.request(
            method,
            url,
            json=json,
            params=clean,
            headers=headers,
            timeout=wait or settings.upstream_timeout,
        )
    except httpx.TimeoutException as exc:
        log.warning("upstream_timeout", service=service, path=path)
        raise GatewayTimeout(f"{service} did not answer in time.", code="upstream_timeout") from exc
    except httpx.HTTPError as exc:
        log.warning("upstream_unreachable", service=service, path=path, error=type(exc).__name__)
        raise ServiceUnavailable(f"{service} is unreachable.", code="upstream_unavailable") from exc
    if resp.status_code >= 500:
        log.warning("upstream_error", service=service, path=path, status=resp.status_code)
        raise UpstreamError(f"{service} failed to answer.", code="upstream_error")
    if resp.status_code >= 400:
        body = _json(resp)
        code = body.get("code") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else None
        raise UpstreamRefused(
            str(detail) if detail else f"{service} refused the request.",
            status=resp.status_code,
            code=str(code) if code else "upstream_refused",
        )
    return resp


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
