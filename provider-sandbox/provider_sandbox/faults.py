"""Fault injection, selectable per request.

Two ways to ask for a fault (both use the same spec grammar):

* the `X-Sandbox-Fault` request header, for a test that makes the call itself;
* armed rules, `POST /sandbox/faults {"path_prefix", "method"?, "fault", "times"?}`, for calls made
  by a service under test (whose requests a test cannot decorate). The pseudo-paths `@ipn` and
  `@webhook` arm delivery faults for IPNs / webhooks that no request triggers (auto-complete).

Spec: tokens separated by `;` or `,`:

| token | effect |
|---|---|
| `latency=<ms>` | wait before handling |
| `status=<code>` | answer `<code>` at once in the provider's error dialect; nothing is processed |
| `status_after=<code>` | process (state changes are kept), then answer `<code>` instead |
| `timeout` / `timeout_after` | hold the request `FAULT_HANG_SECONDS`, then 504 (before / after processing) |
| `maintenance` | `503` with an HTML maintenance page (a non-JSON body) |
| `ipn=suppress` / `ipn=duplicate` / `ipn=late:<ms>` | IPN not sent / sent twice / sent after a delay |
| `webhook=suppress` / `duplicate` / `reorder` / `tamper` / `delay:<ms>` | PayPal webhook delivery faults |

Request faults (`latency`, `status*`, `timeout*`, `maintenance`) apply to provider endpoints only;
delivery faults are read by the endpoints that send IPNs or webhooks.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provider_sandbox.state import alnum_id

HEADER = b"x-sandbox-fault"
_EXEMPT = ("/health", "/metrics", "/docs", "/openapi.json", "/redoc", "/sandbox/", "/sslcommerz/pay/")

MAINTENANCE_HTML = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
    "<h1>We'll be back soon!</h1><p>The system is under scheduled maintenance.</p></body></html>"
)


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    latency_ms: int = 0
    status: int | None = None
    status_after: int | None = None
    timeout: bool = False
    timeout_after: bool = False
    maintenance: bool = False
    ipn: set[str] = field(default_factory=set)  # suppress | duplicate | late
    ipn_delay_ms: int = 0
    webhook: set[str] = field(default_factory=set)  # suppress | duplicate | reorder | tamper | delay
    webhook_delay_ms: int = 0

    def merge(self, other: Fault) -> Fault:
        return Fault(
            latency_ms=max(self.latency_ms, other.latency_ms),
            status=self.status or other.status,
            status_after=self.status_after or other.status_after,
            timeout=self.timeout or other.timeout,
            timeout_after=self.timeout_after or other.timeout_after,
            maintenance=self.maintenance or other.maintenance,
            ipn=self.ipn | other.ipn,
            ipn_delay_ms=max(self.ipn_delay_ms, other.ipn_delay_ms),
            webhook=self.webhook | other.webhook,
            webhook_delay_ms=max(self.webhook_delay_ms, other.webhook_delay_ms),
        )


def parse_fault(spec: str) -> Fault:
    fault = Fault()
    for raw in spec.replace(";", ",").split(","):
        token = raw.strip()
        if not token:
            continue
        key, _, value = token.partition("=")
        key = key.strip().lower()
        value = value.strip()
        try:
            if key == "latency":
                fault.latency_ms = int(value)
            elif key == "status":
                fault.status = _status(value)
            elif key == "status_after":
                fault.status_after = _status(value)
            elif key in ("timeout", "timeout_after", "maintenance") and not value:
                setattr(fault, key, True)
            elif key == "ipn" and value in ("suppress", "duplicate"):
                fault.ipn.add(value)
            elif key == "ipn" and value.startswith("late:"):
                fault.ipn.add("late")
                fault.ipn_delay_ms = int(value[5:])
            elif key == "webhook" and value in ("suppress", "duplicate", "reorder", "tamper"):
                fault.webhook.add(value)
            elif key == "webhook" and value.startswith("delay:"):
                fault.webhook.add("delay")
                fault.webhook_delay_ms = int(value[6:])
            else:
                raise FaultSpecError(f"unknown fault token {token!r}")
        except ValueError as exc:
            raise FaultSpecError(f"bad fault token {token!r}") from exc
    return fault


def _status(value: str) -> int:
    code = int(value)
    if not 400 <= code <= 599:
        raise ValueError(code)
    return code


@dataclass
class FaultRule:
    id: str
    path_prefix: str
    method: str | None
    fault: str
    times: int | None  # None → until cleared
    hits: int = 0


class FaultRules:
    """Armed faults, consumed in order of arming."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def arm(
        self, path_prefix: str, fault: str, *, method: str | None = None, times: int | None = 1
    ) -> FaultRule:
        parse_fault(fault)  # reject a bad spec when arming, not when it fires
        rule = FaultRule(alnum_id(10), path_prefix, method.upper() if method else None, fault, times)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def take(self, path: str, method: str) -> Fault:
        fault = Fault()
        for rule in list(self.rules):
            if not path.startswith(rule.path_prefix) or (rule.method and rule.method != method):
                continue
            fault = fault.merge(parse_fault(rule.fault))
            rule.hits += 1
            if rule.times is not None and rule.hits >= rule.times:
                self.rules.remove(rule)
        return fault


def error_response(path: str, status: int, debug_id: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """An error in the dialect of the provider that owns `path`."""
    if path.startswith("/v1/projects/"):  # FCM (Google APIs)
        body: Any = {
            "error": {"code": status, "message": "Internal error encountered.", "status": "INTERNAL"}
        }
    elif path.startswith("/v1/"):  # PayPal
        name = {429: "RATE_LIMIT_REACHED", 503: "SERVICE_UNAVAILABLE", 504: "REQUEST_TIMEOUT_EXCEEDED"}
        body = {
            "name": name.get(status, "INTERNAL_SERVER_ERROR"),
            "message": "An internal service error has occurred.",
            "debug_id": debug_id,
            "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
            "links": [],
        }
    elif path.startswith("/2010-04-01/"):  # Twilio
        body = {
            "code": 20500,
            "message": "Internal Server Error",
            "status": status,
            "more_info": "https://www.twilio.com/docs/errors/20500",
        }
    elif path.startswith("/v6/"):  # ExchangeRate-API
        body = {"result": "error", "error-type": "internal-error"}
    else:  # SSLCommerz answers server errors with an HTML page
        html = f"<html><body><h1>{status} Server Error</h1></body></html>".encode()
        return html, [(b"content-type", b"text/html; charset=utf-8")]
    headers = [(b"content-type", b"application/json")]
    if path.startswith("/v1/") and not path.startswith("/v1/projects/"):
        headers.append((b"paypal-debug-id", debug_id.encode()))
    return json.dumps(body).encode(), headers


class FaultMiddleware:
    """Pure ASGI: applies request faults and leaves the parsed `Fault` in `request.state.fault`."""

    def __init__(self, app: ASGIApp, rules: FaultRules, hang_seconds: float) -> None:
        self.app = app
        self.rules = rules
        self.hang_seconds = hang_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER), "")
        try:
            fault = parse_fault(header).merge(self.rules.take(path, scope["method"]))
        except FaultSpecError as exc:
            await _send(
                send, 400, json.dumps({"error": str(exc)}).encode(), [(b"content-type", b"application/json")]
            )
            return
        scope.setdefault("state", {})["fault"] = fault
        if path.startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.maintenance:
            await _send(
                send, 503, MAINTENANCE_HTML.encode(), [(b"content-type", b"text/html; charset=utf-8")]
            )
            return
        if fault.timeout:
            await asyncio.sleep(self.hang_seconds)
            await self._error(send, path, 504)
            return
        if fault.status:
            await self._error(send, path, fault.status)
            return
        if fault.status_after or fault.timeout_after:
            await self.app(scope, receive, _swallow)  # the state change happens; the answer is lost
            if fault.timeout_after:
                await asyncio.sleep(self.hang_seconds)
            await self._error(send, path, fault.status_after or 504)
            return
        await self.app(scope, receive, send)

    async def _error(self, send: Send, path: str, status: int) -> None:
        body, headers = error_response(path, status, alnum_id(13).lower())
        await _send(send, status, body, headers)


async def _swallow(message: Message) -> None:
    return None


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
