"""Admin-owned runtime settings (`provider.paypal.*`, `provider.sslcommerz.*`) reach the next
provider call without a restart: new base URL, new credentials, no OAuth token reused across
credentials, secrets from admin-service's secrets endpoint (never from an event's mask), env
values as the fallback, invalid URLs ignored, values never logged."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin_service.testing import RunningAdmin
from payment_service.main import create_app
from payment_service.models import Payment
from payment_service.settings import Settings
from payment_service.testing import payloads
from payment_service.testing.contract_stub import TransactionServiceStub
from payment_service.testing.fakes import ProviderFake, form_body, reply
from payment_service.testing.helpers import INTERNAL, create_session, paid_transaction, payment_row
from shared.events import EventEnvelope
from shared.settings import dev_api_key
from shared.testing.plugin import asgi_client

NEW_PAYPAL = "https://paypal-rotated.example.test"
NEW_SSLCOMMERZ = "https://sslcommerz-rotated.example.test"
TOKEN_PATH = "/v1/oauth2/token"
SESSION_PATH = "/gwprocess/v4/api.php"
ENV_PAYPAL_SECRET = "dev-paypal-client-secret"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def setting_event(client: httpx.AsyncClient, key: str, value: Any, *, secret: bool) -> None:
    env = EventEnvelope(
        type="setting.changed",
        producer="admin-service",
        subject_id=key,
        data={"key": key, "value": value, "old_value": None, "action": "update", "secret": secret},
    )
    resp = await client.post(
        "/internal/events",
        json=env.model_dump(mode="json"),
        headers={"X-API-Key": dev_api_key("admin-service")},
    )
    assert resp.status_code == 200, resp.text


async def test_new_paypal_credentials_and_base_url_reach_the_next_payout(
    app: FastAPI, client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub
) -> None:
    ctx = app.state.ctx
    await ctx.paypal.access_token()  # a token cached for the env credentials
    ctx.runtime.apply_all(
        {
            "provider.paypal.base_url": NEW_PAYPAL + "/",
            "provider.paypal.client_id": "rotated-id",
            "provider.paypal.client_secret": "rotated-secret",
        }
    )
    tx = await paid_transaction(client, fake, stub)
    fake.on("/v1/payments/payouts", lambda r: reply(payloads.payout_created("B1", "PO-x"), 201))
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.status_code == 202, resp.text
    first, second = fake.seen(TOKEN_PATH)
    assert first.headers["authorization"] == basic("dev-paypal-client-id", ENV_PAYPAL_SECRET)
    assert second.url.host == "paypal-rotated.example.test"
    assert second.headers["authorization"] == basic("rotated-id", "rotated-secret")
    (payout,) = fake.seen("/v1/payments/payouts")
    assert str(payout.url) == NEW_PAYPAL + "/v1/payments/payouts"
    assert payout.headers["authorization"] == "Bearer tok-2"  # never the old credentials' token


async def test_new_sslcommerz_store_and_base_url_reach_the_next_session(
    app: FastAPI, client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    app.state.ctx.runtime.apply_all(
        {
            "provider.sslcommerz.base_url": NEW_SSLCOMMERZ,
            "provider.sslcommerz.store_id": "rotatedstore",
            "provider.sslcommerz.store_password": "rotated-pass",
        }
    )
    await create_session(client)
    (sent,) = fake.seen(SESSION_PATH)
    assert str(sent.url) == NEW_SSLCOMMERZ + SESSION_PATH
    form = form_body(sent)
    assert (form["store_id"], form["store_passwd"]) == ("rotatedstore", "rotated-pass")


async def test_the_ipn_signature_is_checked_with_the_runtime_store_password(
    app: FastAPI, client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    app.state.ctx.runtime.apply("provider.sslcommerz.store_password", "rotated-pass")
    created = await create_session(client)
    tran_id, val_id = created["internal_tran_id"], f"VAL{uuid.uuid4().hex[:12]}"
    fake.validations[val_id] = payloads.validation(tran_id, "11985.00", val_id=val_id)
    fields = payloads.ipn_valid(tran_id, "11985.00", val_id=val_id)
    old = await client.post("/api/v1/webhooks/sslcommerz/ipn", data=fields)
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "initiated"
    new = await client.post(
        "/api/v1/webhooks/sslcommerz/ipn", data=payloads.sign(fields, password="rotated-pass")
    )
    assert old.status_code == 400 and new.status_code == 200  # the env password's signature: refused
    payment: Payment = await payment_row(app, uuid.UUID(created["transaction_id"]))
    assert payment.status == "succeeded"


async def test_an_unset_secret_falls_back_to_the_env_value(
    app: FastAPI, admin: RunningAdmin, fake: ProviderFake
) -> None:
    ctx = app.state.ctx
    await admin.set("provider.paypal.client_secret", "admin-secret")
    await ctx.runtime.refresh(app.state.http)  # read in clear with payment-service's own key
    assert ctx.paypal.client_secret == "admin-secret"
    await admin.unset("provider.paypal.client_secret")  # the admin removed it
    await ctx.runtime.refresh(app.state.http)
    await ctx.paypal.access_token()
    (token,) = fake.seen(TOKEN_PATH)
    assert token.headers["authorization"] == basic("dev-paypal-client-id", ENV_PAYPAL_SECRET)


async def test_a_secret_setting_event_refreshes_from_admin_service_and_never_applies_the_mask(
    app: FastAPI, client: httpx.AsyncClient, admin: RunningAdmin, fake: ProviderFake
) -> None:
    ctx = app.state.ctx
    await admin.set("provider.sslcommerz.store_password", "rotated-pass")
    await setting_event(client, "provider.sslcommerz.store_password", "********", secret=True)
    await asyncio.wait_for(ctx.runtime.pending_refresh, 10)
    assert ctx.sslcommerz.store_password == "rotated-pass"
    # Admin-service cannot be reached by the next event's refresh: the mask is still not applied.
    await admin.set("provider.sslcommerz.store_password", "ignored")
    ctx.runtime.admin_url = "http://127.0.0.1:9"
    await setting_event(client, "provider.sslcommerz.store_password", "********", secret=True)
    await asyncio.wait_for(ctx.runtime.pending_refresh, 10)
    await create_session(client)
    assert form_body(fake.seen(SESSION_PATH)[-1])["store_passwd"] == "rotated-pass"


async def test_a_base_url_setting_event_is_applied_without_a_refresh(
    app: FastAPI, client: httpx.AsyncClient, admin: RunningAdmin
) -> None:
    await setting_event(client, "provider.paypal.base_url", NEW_PAYPAL, secret=False)
    assert app.state.ctx.paypal.base_url == NEW_PAYPAL
    await setting_event(client, "transaction.fee_percentage", "3.0", secret=False)  # not ours
    await setting_event(client, "provider.paypal.base_url", None, secret=False)  # reset
    # Nothing was stored in admin-service: the values travelled in the events themselves.
    assert app.state.ctx.paypal.base_url == app.state.ctx.settings.paypal_base_url


async def test_an_invalid_base_url_is_ignored(
    app: FastAPI, client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    runtime = app.state.ctx.runtime
    runtime.apply("provider.sslcommerz.base_url", NEW_SSLCOMMERZ)
    runtime.apply("provider.sslcommerz.base_url", "ftp://sslcommerz.example.test")
    runtime.apply_all({"provider.sslcommerz.base_url": "sslcommerz.example.test"})
    assert runtime.sslcommerz_base_url == NEW_SSLCOMMERZ
    await create_session(client)
    assert str(fake.seen(SESSION_PATH)[-1].url) == NEW_SSLCOMMERZ + SESSION_PATH


async def test_a_call_in_flight_finishes_on_the_old_client(app: FastAPI, fake: ProviderFake) -> None:
    ctx = app.state.ctx
    started, release = asyncio.Event(), asyncio.Event()
    item = payloads.payout_item("ITEM1", "BATCH1", "PO-x", "SUCCESS")

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.host != "paypal-rotated.example.test":
            started.set()
            await release.wait()
        return reply(item)

    fake.on("/v1/payments/payouts-item/ITEM1", slow)  # type: ignore[arg-type]
    in_flight = asyncio.create_task(ctx.paypal.get_item("ITEM1"))
    await asyncio.wait_for(started.wait(), 5)
    ctx.runtime.apply_all({"provider.paypal.base_url": NEW_PAYPAL, "provider.paypal.client_id": "rotated-id"})
    # The next call goes out on the new client (bounded: on the old host it would wait forever).
    next_call = await asyncio.wait_for(ctx.paypal.get_item("ITEM1"), 5)
    assert next_call["payout_item_id"] == "ITEM1"
    release.set()
    assert (await in_flight)["payout_item_id"] == "ITEM1"  # the old one, not broken
    hosts = [r.url.host for r in fake.seen("/v1/payments/payouts-item/ITEM1")]
    assert hosts == ["api-m.sandbox.paypal.com", "paypal-rotated.example.test"]


async def test_the_lifespan_polls_admin_service_at_startup(
    settings: Settings, admin: RunningAdmin, fake: ProviderFake
) -> None:
    await admin.set("provider.paypal.base_url", NEW_PAYPAL)
    await admin.set("provider.paypal.client_id", "admin-id")
    application = create_app(
        settings.model_copy(update={"runtime_settings_refresh": True}),
        provider_transport=httpx.MockTransport(fake),
    )
    async with asgi_client(application):
        ctx = application.state.ctx
        for _ in range(500):
            if ctx.paypal.client_id == "admin-id":
                break
            await asyncio.sleep(0.01)
        assert (ctx.paypal.base_url, ctx.paypal.client_id) == (NEW_PAYPAL, "admin-id")


async def test_secret_values_are_never_logged(
    app: FastAPI, admin: RunningAdmin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await admin.set("provider.paypal.client_secret", "zq-secret-value-1")
    await admin.set("provider.sslcommerz.store_id", "zq-store-2")
    await app.state.ctx.runtime.refresh(app.state.http)
    assert app.state.ctx.paypal.client_secret == "zq-secret-value-1"
    assert "paypal.client_secret" in caplog.text  # the key is logged…
    assert "zq-" not in caplog.text  # …never the value


def test_the_runtime_settings_interval_is_at_most_60_seconds() -> None:
    assert Settings(environment="test").runtime_settings_interval == 60.0
    with pytest.raises(ValueError):
        Settings(environment="test", runtime_settings_interval=61)
