"""Helpers for tests that drive the sandbox: its own suite, and any service's tests that want the
sandbox in-process (ASGI) or on a loopback port.

`Listener` is a real HTTP server that records what the sandbox sends (IPNs, webhooks); `serve` runs
any ASGI app with uvicorn inside the caller's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from provider_sandbox.settings import Settings
from shared.devstack import free_port
from shared.settings import repo_root

CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
STORE_ID, STORE_PASSWORD = "teststore", "teststore@ssl"


def closed_url(path: str) -> str:
    """A loopback URL nobody listens on: deliveries fail fast instead of reaching a real service."""
    return f"http://127.0.0.1:{free_port()}{path}"


def make_settings(redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "redis_url": redis_url,
        "sandbox_public_url": "http://sandbox.test",
        "sslcommerz_store_id": STORE_ID,
        "sslcommerz_store_password": STORE_PASSWORD,
        "sslcommerz_default_ipn_url": closed_url("/ipn"),
        "sslcommerz_ipn_max_attempts": 1,
        "paypal_client_id": CLIENT_ID,
        "paypal_client_secret": CLIENT_SECRET,
        "paypal_webhook_url": "off",
        "paypal_webhook_id": "8PT597110X687430LSIM",
        "paypal_webhook_max_attempts": 3,
        "paypal_webhook_retry_base_seconds": 0.05,
        "paypal_processing_delay_seconds": 0.05,
        "fault_hang_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def serve(app: Any, port: int) -> AsyncIterator[None]:
    """Run an ASGI app with uvicorn on 127.0.0.1:`port` inside the test's event loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Listener:
    """Records every POST; answers with the queued statuses first, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body))
        self._arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[Received]:
        async def wait() -> None:
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), seconds)
        return self.received


async def get_token(client: httpx.AsyncClient) -> str:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    resp = await client.post(
        "/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def session_form(**overrides: str) -> dict[str, str]:
    form = {
        "store_id": STORE_ID,
        "store_passwd": STORE_PASSWORD,
        "total_amount": "11985.00",
        "currency": "BDT",
        "tran_id": "TXN-20261126-ABCDEF12",
        "success_url": "http://merchant.test/success",
        "fail_url": "http://merchant.test/fail",
        "cancel_url": "http://merchant.test/cancel",
        "cus_name": "Rahim",
        "cus_email": "rahim@example.com",
        "cus_phone": "01700000000",
        "cus_add1": "House 1",
        "cus_city": "Dhaka",
        "cus_country": "Bangladesh",
        "shipping_method": "NO",
        "num_of_item": "1",
        "product_name": "Remittance",
        "product_category": "Remittance",
        "product_profile": "non-physical-goods",
        "value_a": "payment-42",
    }
    form.update(overrides)
    return form


async def new_session(client: httpx.AsyncClient, **overrides: str) -> dict[str, Any]:
    resp = await client.post("/gwprocess/v4/api.php", data=session_form(**overrides))
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    if body["status"] != "SUCCESS":
        raise AssertionError(f"session init failed: {body}")
    return body


def payout_body(sender_batch_id: str = "payout-1", **item: Any) -> dict[str, Any]:
    one = {
        "recipient_type": "EMAIL",
        "amount": {"value": "100.00", "currency": "USD"},
        "receiver": "alice@example.com",
        "sender_item_id": sender_batch_id,
        "note": "Remittance",
        "purpose": "SERVICES",
    }
    one.update(item)
    return {
        "sender_batch_header": {"sender_batch_id": sender_batch_id, "email_subject": "You have money"},
        "items": [one],
    }


async def create_payout(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/payments/payouts", json=body, headers={"Authorization": f"Bearer {token}"})


async def first_item_id(client: httpx.AsyncClient, token: str, batch_id: str) -> str:
    resp = await client.get(f"/v1/payments/payouts/{batch_id}", headers={"Authorization": f"Bearer {token}"})
    return str(resp.json()["items"][0]["payout_item_id"])


SPEC_FILES = {
    "payouts": "paypal-payments_payouts_batch_v1.json",
    "webhooks": "paypal-notifications_webhooks_v1.json",
}


def specs_dir() -> Path:
    """PayPal's OpenAPI documents live beside the repository (`../shared/provider-specs`), never in it."""
    return repo_root().parent / "shared" / "provider-specs"


@functools.lru_cache(maxsize=4)
def _spec_registry(spec: str) -> Any:
    from jsonschema.validators import Draft4Validator  # test-only dependency
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    doc = json.loads((specs_dir() / SPEC_FILES[spec]).read_text())
    uri = f"urn:paypal:{spec}"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
    return uri, registry, Draft4Validator


def check_schema(body: Any, spec: str, schema: str) -> None:
    """Validate `body` against `#/components/schemas/<schema>` of PayPal's `spec` document.

    Where the specs folder is absent (a user's own clone) only this fidelity check is skipped, with a
    warning naming the folder; the caller's other assertions still run.
    """
    if not (specs_dir() / SPEC_FILES[spec]).exists():
        warnings.warn(f"PayPal OpenAPI specs not found in {specs_dir()}: schema check skipped", stacklevel=2)
        return
    uri, registry, validator_cls = _spec_registry(spec)
    validator = validator_cls({"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        detail = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        raise AssertionError(f"body does not match PayPal schema {schema}: {detail}")
