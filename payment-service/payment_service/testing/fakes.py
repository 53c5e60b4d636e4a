"""The outside world for tests: an `httpx.MockTransport` handler answering SSLCommerz and PayPal
paths with the recorded payloads of `payloads.py`, programmable per test, and recording every
request it saw. (End-to-end tests against the provider-sandbox come separately.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from payment_service.testing import payloads

Handler = Callable[[httpx.Request], httpx.Response]


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("simulated timeout", request=request)


@dataclass
class ProviderFake:
    requests: list[httpx.Request] = field(default_factory=list)
    # exact path → handler (or a queue of handlers consumed in order, the last one sticks)
    routes: dict[str, Handler | list[Handler]] = field(default_factory=dict)
    validations: dict[str, dict[str, Any]] = field(default_factory=dict)  # val_id → validation body
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)  # tran_id → query body
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # payout_item_id → item body
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)  # payout_batch_id → batch body
    token_counter: int = 0
    token_expires_in: int = 32400

    def on(self, path: str, *handlers: Handler) -> None:
        self.routes[path] = list(handlers) if len(handlers) > 1 else handlers[0]

    def seen(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        route = self.routes.get(path)
        if isinstance(route, list):
            handler = route.pop(0) if len(route) > 1 else route[0]
            return handler(request)
        if route is not None:
            return route(request)
        return self.default(request)

    def default(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if path == "/gwprocess/v4/api.php":
            return reply(payloads.session_success())
        if path == "/validator/api/validationserverAPI.php":
            return reply(self.validations.get(params.get("val_id", ""), {"status": "INVALID_TRANSACTION"}))
        if path == "/validator/api/merchantTransIDvalidationAPI.php":
            if "tran_id" in params:
                return reply(self.queries.get(params["tran_id"], payloads.query(params["tran_id"], [])))
        if path == "/v1/oauth2/token":
            self.token_counter += 1
            return reply(payloads.token(f"tok-{self.token_counter}", self.token_expires_in))
        if path.startswith("/v1/payments/payouts-item/"):
            item = self.items.get(path.rsplit("/", 1)[-1])
            return reply(item) if item else reply({"name": "RESOURCE_NOT_FOUND"}, 404)
        if path.startswith("/v1/payments/payouts/"):
            batch = self.batches.get(path.rsplit("/", 1)[-1])
            return reply(batch) if batch else reply({"name": "RESOURCE_NOT_FOUND"}, 404)
        if path == "/v1/notifications/verify-webhook-signature":
            return reply({"verification_status": "SUCCESS"})
        return reply({"name": "NOT_FOUND_IN_FAKE", "path": path}, 404)


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def form_body(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
