"""httpx client factory: explicit timeouts, a pooled client per purpose (created in `lifespan`,
closed at shutdown), and request-id / traceparent propagation on every outgoing call."""

from __future__ import annotations

import httpx

from shared.logging import request_id_var, traceparent_var

DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)


async def _propagate_context(request: httpx.Request) -> None:
    rid = request_id_var.get()
    if rid and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = rid
    tp = traceparent_var.get()
    if tp and "traceparent" not in request.headers:
        request.headers["traceparent"] = tp


def create_http_client(
    *,
    base_url: str = "",
    timeout: httpx.Timeout | float | None = None,
    api_key: str | None = None,
    headers: dict[str, str] | None = None,
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    all_headers = {"User-Agent": "payment-gateway/0.1"}
    if api_key:
        all_headers["X-API-Key"] = api_key
    all_headers.update(headers or {})
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections // 2),
        headers=all_headers,
        event_hooks={"request": [_propagate_context]},
        transport=transport,
        follow_redirects=False,
    )
