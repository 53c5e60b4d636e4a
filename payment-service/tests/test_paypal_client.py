"""The PayPal client: OAuth token caching/refresh, 401 handling, timeouts, and request bodies
that PayPal's OpenAPI documents accept."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from payment_service.providers.base import ProviderTimeout
from payment_service.providers.paypal import PayPalClient
from payment_service.testing import payloads
from payment_service.testing.fakes import ProviderFake, json_body, reply, timeout
from payment_service.testing.specs import PAYOUTS, WEBHOOKS, validate

BASE = "https://api-m.sandbox.paypal.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_client(fake: ProviderFake, clock: Clock | None = None) -> tuple[PayPalClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    client = PayPalClient(
        http, base_url=BASE, client_id="cid", client_secret="csecret", token_skew=120, clock=clock or Clock()
    )
    return client, http


async def test_the_token_is_fetched_once_and_reused() -> None:
    fake = ProviderFake()
    fake.items["ITEM1"] = payloads.payout_item("ITEM1", "BATCH1", "PO-x", "PENDING")
    client, http = make_client(fake)
    async with http:
        await client.get_item("ITEM1")
        await client.get_item("ITEM1")
    (token_call,) = fake.seen("/v1/oauth2/token")
    assert token_call.headers["authorization"].startswith("Basic ")
    assert token_call.content == b"grant_type=client_credentials"
    assert [r.headers["authorization"] for r in fake.seen("/v1/payments/payouts-item/ITEM1")] == [
        "Bearer tok-1",
        "Bearer tok-1",
    ]


async def test_the_token_is_refreshed_before_it_expires() -> None:
    fake = ProviderFake()
    fake.token_expires_in = 3600
    fake.items["ITEM1"] = payloads.payout_item("ITEM1", "BATCH1", "PO-x", "PENDING")
    clock = Clock()
    client, http = make_client(fake, clock)
    async with http:
        await client.get_item("ITEM1")
        clock.now += 3600 - 119  # inside the 120 s skew: refresh before PayPal expires it
        await client.get_item("ITEM1")
    assert client.token_fetches == 2
    assert fake.seen("/v1/payments/payouts-item/ITEM1")[-1].headers["authorization"] == "Bearer tok-2"


async def test_concurrent_callers_share_one_token_fetch() -> None:
    fake = ProviderFake()
    fake.items["ITEM1"] = payloads.payout_item("ITEM1", "BATCH1", "PO-x", "PENDING")
    client, http = make_client(fake)
    async with http:
        await asyncio.gather(*(client.get_item("ITEM1") for _ in range(5)))
    assert client.token_fetches == 1


async def test_a_401_refreshes_the_token_and_retries_once() -> None:
    fake = ProviderFake()
    item = payloads.payout_item("ITEM1", "BATCH1", "PO-x", "SUCCESS")
    fake.on(
        "/v1/payments/payouts-item/ITEM1",
        lambda r: reply(
            {"error": "invalid_token", "error_description": "Access Token not found in cache"}, 401
        ),
        lambda r: reply(item),
    )
    client, http = make_client(fake)
    async with http:
        got = await client.get_item("ITEM1")
    assert got["transaction_status"] == "SUCCESS"
    assert client.token_fetches == 2


async def test_a_timeout_is_reported_as_unknown_outcome() -> None:
    fake = ProviderFake()
    fake.on("/v1/payments/payouts", timeout)
    client, http = make_client(fake)
    body = {"sender_batch_header": {"sender_batch_id": "PO-1"}, "items": []}
    async with http:
        with pytest.raises(ProviderTimeout):
            await client.create_payout(body)


async def test_verify_signature_request_splices_the_raw_body_and_fits_paypals_schema() -> None:
    fake = ProviderFake()
    client, http = make_client(fake)
    raw = b'{"id":"WH-1",  "event_type":"PAYMENT.PAYOUTS-ITEM.SUCCEEDED","resource":{"b":1,"a":2}}'
    headers = {
        "paypal-auth-algo": "SHA256withRSA",
        "paypal-cert-url": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "paypal-transmission-id": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "paypal-transmission-sig": (
            "lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3boXB07VXCXUZy/UFzUlnGJn0wD"
            "ugt7FlSvdKeIJenLRemUxYCPVoEZzg9VFNqOa48gMkvF+XTpxBeUx/kWy6B5cp7GkT2+pOowfRK7OaynuxUoKW3JcM"
            "Ww272VKjLTtTAShncla7tGF+55rxyt2KNZIIqxNMJ48RDZheGU5w1npu9dZHnPgTXB9iomeVRoD8O/jhRpnKsGrDsc"
            "hyNdkeh81BJJMH4Ctc6lnCCquoP/GzCzz33MMsNdid7vL/NIWaCsekQpW26FpWPi/tfj8nLA=="
        ),
        "paypal-transmission-time": "2016-02-18T20:01:35Z",
    }
    async with http:
        assert await client.verify_webhook_signature(headers, raw, "1JE4291016473214C")
    (sent,) = fake.seen("/v1/notifications/verify-webhook-signature")
    assert raw in sent.content  # byte-exact, not re-serialised
    body = json.loads(sent.content)
    assert body["webhook_id"] == "1JE4291016473214C" and body["webhook_event"]["id"] == "WH-1"
    validate(WEBHOOKS, "verify_webhook_signature", body)


def test_recorded_payout_payloads_fit_paypals_schema() -> None:
    item = payloads.payout_item("5KUDKLF8SDC7S", "FYXMPQTX4JC9N", "PO-1", "SUCCESS")
    validate(PAYOUTS, "payout_item-2", item)
    validate(PAYOUTS, "payout_batch", payloads.payout_batch("FYXMPQTX4JC9N", "PO-1", "SUCCESS", item))
    validate(PAYOUTS, "payout", payloads.payout_created("FYXMPQTX4JC9N", "PO-1"))


async def test_create_payout_sends_the_sender_batch_id_as_paypal_request_id() -> None:
    fake = ProviderFake()
    fake.on("/v1/payments/payouts", lambda r: reply(payloads.payout_created("B1", "PO-1"), 201))
    client, http = make_client(fake)
    body = {
        "sender_batch_header": {"sender_batch_id": "PO-1"},
        "items": [
            {
                "recipient_type": "EMAIL",
                "amount": {"value": "1.00", "currency": "USD"},
                "receiver": "a@example.com",
            }
        ],
    }
    async with http:
        status, answer = await client.create_payout(body)
    assert status == 201 and answer["batch_header"]["payout_batch_id"] == "B1"
    (sent,) = fake.seen("/v1/payments/payouts")
    assert sent.headers["paypal-request-id"] == "PO-1" and json_body(sent) == body
