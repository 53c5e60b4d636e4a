"""`POST /api/v1/webhooks/paypal` (postback verification): verified, deduped by event id and
transmission id, applied from a re-GET of the item, only forward."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from payment_service.testing import payloads
from payment_service.testing.contract_stub import TransactionServiceStub
from payment_service.testing.fakes import ProviderFake, reply, timeout
from payment_service.testing.helpers import events_for, payout_in_flight, payout_row, set_item

HOOK = "/api/v1/webhooks/paypal"
VERIFY = "/v1/notifications/verify-webhook-signature"


def headers(transmission_id: str | None = None) -> dict[str, str]:
    return {
        "PAYPAL-TRANSMISSION-ID": transmission_id or str(uuid.uuid4()),
        "PAYPAL-TRANSMISSION-TIME": "2026-11-26T18:05:10Z",
        "PAYPAL-TRANSMISSION-SIG": "c2lnbmF0dXJl",
        "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "Content-Type": "application/json",
    }


async def post_event(client: httpx.AsyncClient, event: dict[str, Any], transmission_id: str | None = None):
    return await client.post(HOOK, content=json.dumps(event).encode(), headers=headers(transmission_id))


async def payout_events(app: FastAPI, p: dict) -> list[tuple[str, dict]]:
    return [(t, d) for t, d in await events_for(app, p["transaction_id"]) if t.startswith("payout.")][1:]


async def test_item_succeeded_completes_the_payout_from_the_item_it_re_reads(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    item = set_item(fake, p, "SUCCESS")
    resp = await post_event(client, payloads.item_event("WH-1A", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item))
    assert resp.status_code == 200 and resp.json() == {"status": "processed"}
    assert (await payout_row(app, uuid.UUID(p["transaction_id"]))).status == "SUCCESS"
    payout = await payout_row(app, uuid.UUID(p["transaction_id"]))
    assert await payout_events(app, p) == [
        (
            "payout.succeeded",
            {
                "transaction_id": p["transaction_id"],
                "payout_id": str(payout.id),
                "payout_item_id": p["item_id"],
                "transaction_status": "SUCCESS",
                "amount": "100.00",
                "currency": "USD",
            },
        )
    ]
    assert fake.seen(f"/v1/payments/payouts-item/{p['item_id']}")  # the GET is the truth
    assert fake.seen(VERIFY)


async def test_a_duplicate_event_id_has_no_second_effect(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    event = payloads.item_event(
        f"WH-{uuid.uuid4().hex[:8]}", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", set_item(fake, p, "SUCCESS")
    )
    first = await post_event(client, event)
    second = await post_event(client, event)  # PayPal redelivery: same event id, new transmission id
    assert first.json()["status"] == "processed" and second.json()["status"] == "duplicate"
    assert [t for t, _ in await payout_events(app, p)] == ["payout.succeeded"]


async def test_a_replayed_transmission_id_is_a_duplicate(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    item = set_item(fake, p, "SUCCESS")
    tid = str(uuid.uuid4())
    await post_event(client, payloads.item_event("WH-T1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item), tid)
    again = await post_event(
        client, payloads.item_event("WH-T2", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item), tid
    )
    assert again.json()["status"] == "duplicate"


async def test_out_of_order_events_never_move_a_payout_backwards(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    # UNCLAIMED first, then SUCCESS (claim): both apply in order.
    unclaimed = set_item(fake, p, "UNCLAIMED")
    await post_event(client, payloads.item_event("WH-O1", "PAYMENT.PAYOUTS-ITEM.UNCLAIMED", unclaimed))
    success = set_item(fake, p, "SUCCESS")
    await post_event(client, payloads.item_event("WH-O2", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", success))
    # A late batch PROCESSING event whose batch GET still lists the item as PENDING changes nothing.
    stale = payloads.payout_item(p["item_id"], p["batch_id"], p["sbid"], "PENDING")
    fake.batches[p["batch_id"]] = payloads.payout_batch(p["batch_id"], p["sbid"], "PROCESSING", stale)
    late = await post_event(
        client, payloads.batch_event("WH-O3", "PAYMENT.PAYOUTSBATCH.PROCESSING", fake.batches[p["batch_id"]])
    )
    assert late.json()["status"] == "unchanged"
    assert (await payout_row(app, uuid.UUID(p["transaction_id"]))).status == "SUCCESS"
    assert [(t, d["transaction_status"]) for t, d in await payout_events(app, p)] == [
        ("payout.pending", "UNCLAIMED"),
        ("payout.succeeded", "SUCCESS"),
    ]


async def test_a_failed_item_emits_payout_failed_with_the_reason_from_paypal(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    item = set_item(fake, p, "FAILED", error="RECEIVER_ACCOUNT_LOCKED")
    await post_event(client, payloads.item_event("WH-F1", "PAYMENT.PAYOUTS-ITEM.FAILED", item))
    ((kind, data),) = await payout_events(app, p)
    assert kind == "payout.failed" and data["transaction_status"] == "FAILED"
    assert data["error"] == "RECEIVER_ACCOUNT_LOCKED"


async def test_the_event_resource_is_not_trusted_over_the_item_get(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    claimed = payloads.payout_item(p["item_id"], p["batch_id"], p["sbid"], "SUCCESS")
    # PayPal's GET still says PENDING: nothing is completed.
    resp = await post_event(client, payloads.item_event("WH-L1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", claimed))
    assert resp.status_code == 200
    assert (await payout_row(app, uuid.UUID(p["transaction_id"]))).status == "PENDING"
    assert await payout_events(app, p) == []


async def test_a_forged_webhook_is_rejected_with_no_state_change(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    item = set_item(fake, p, "SUCCESS")
    fake.on(VERIFY, lambda r: reply({"verification_status": "FAILURE"}))
    resp = await post_event(client, payloads.item_event("WH-X1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item))
    assert resp.status_code == 400 and resp.json()["code"] == "webhook_rejected"
    assert (await payout_row(app, uuid.UUID(p["transaction_id"]))).status == "PENDING"
    assert await payout_events(app, p) == []
    assert not fake.seen(f"/v1/payments/payouts-item/{p['item_id']}")


async def test_when_the_re_read_times_out_paypal_is_asked_to_redeliver(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    item = set_item(fake, p, "SUCCESS")
    event = payloads.item_event("WH-R1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item)
    fake.on(f"/v1/payments/payouts-item/{p['item_id']}", timeout, lambda r: reply(item))
    first = await post_event(client, event)
    assert first.status_code == 503
    retry = await post_event(client, event)  # not deduped: the first was never applied
    assert retry.json()["status"] == "processed"
    assert [t for t, _ in await payout_events(app, p)] == ["payout.succeeded"]


async def test_an_event_for_an_unknown_payout_is_acknowledged_and_ignored(client: httpx.AsyncClient) -> None:
    item = payloads.payout_item("UNKNOWNITEM01", "UNKNOWNBATCH1", "PO-unknown", "SUCCESS")
    resp = await post_event(client, payloads.item_event("WH-U1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", item))
    assert resp.status_code == 200 and resp.json()["status"] == "ignored"


async def test_a_malformed_body_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.post(HOOK, content=b"not json", headers=headers())
    assert resp.status_code == 400


async def test_a_denied_batch_fails_the_payout(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    denied = payloads.payout_batch(p["batch_id"], p["sbid"], "DENIED", fake.items[p["item_id"]])
    denied["items"] = []
    fake.batches[p["batch_id"]] = denied
    resp = await post_event(client, payloads.batch_event("WH-D1", "PAYMENT.PAYOUTSBATCH.DENIED", denied))
    assert resp.json()["status"] == "processed"
    ((kind, data),) = await payout_events(app, p)
    assert kind == "payout.failed" and data["transaction_status"] == "DENIED"
