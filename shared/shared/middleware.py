"""Pure-ASGI request context middleware: request id (kept if sane, else generated), traceparent,
access log and per-route metrics. Pure ASGI so streaming responses are not buffered."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import get_logger, request_id_var, traceparent_var, user_id_var
from shared.metrics import HTTP_ERRORS, HTTP_LATENCY, HTTP_REQUESTS

_RID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_TP_RE = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_QUIET = ("/health", "/metrics")

log = get_logger("access")


def valid_request_id(value: str | None) -> str | None:
    return value if value and _RID_RE.match(value) else None


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid_in = tp_in = None
        for k, v in scope["headers"]:
            if k == b"x-request-id":
                rid_in = v.decode("latin-1")
            elif k == b"traceparent":
                tp_in = v.decode("latin-1")
        rid = valid_request_id(rid_in) or uuid.uuid4().hex
        tokens = (
            request_id_var.set(rid),
            traceparent_var.set(tp_in if tp_in and _TP_RE.match(tp_in) else None),
            user_id_var.set(None),
        )
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, route).observe(elapsed)
            if status >= 500:
                HTTP_ERRORS.labels(self.service, route).inc()
            path = scope["path"]
            if not path.startswith(_QUIET):
                log.info(
                    "request",
                    method=method,
                    path=path,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(tokens[0])
            traceparent_var.reset(tokens[1])
            user_id_var.reset(tokens[2])
