"""`POST /internal/payouts`: one PayPal payout per transaction, paid at most once."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI

from payment_service.payouts.service import sender_batch_id_for
from payment_service.testing import payloads
from payment_service.testing.contract_stub import TransactionServiceStub
from payment_service.testing.fakes import ProviderFake, json_body, reply, timeout
from payment_service.testing.helpers import INTERNAL, events_for, paid_transaction, payout_row
from payment_service.testing.specs import PAYOUTS, validate
from shared.settings import dev_api_key

PAYOUTS_PATH = "/v1/payments/payouts"


def accept_batch(
    fake: ProviderFake,
    batch_id: str = "5UXD2E8A7EBQJ",
    item_id: str = "8AELMXH8UB2P8",
    item_status: str = "PENDING",
) -> None:
    used: set[str] = set()

    def create(request: httpx.Request) -> httpx.Response:
        sbid = json_body(request)["sender_batch_header"]["sender_batch_id"]
        if sbid in used:  # PayPal's 30-day sender_batch_id dedupe (P.4)
            return reply(payloads.duplicate_batch(batch_id), 400)
        used.add(sbid)
        item = payloads.payout_item(item_id, batch_id, sbid, item_status)
        fake.items[item_id] = item
        fake.batches[batch_id] = payloads.payout_batch(batch_id, sbid, "PENDING", item)
        return reply(payloads.payout_created(batch_id, sbid), 201)

    fake.on(PAYOUTS_PATH, create)


async def test_a_payout_uses_the_transaction_record_and_a_derived_sender_batch_id(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub, currency="USD", amount="100.00")
    accept_batch(fake)
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.status_code == 202, resp.text
    txid = uuid.UUID(tx["transaction_id"])
    assert resp.json()["sender_batch_id"] == sender_batch_id_for(txid) == f"PO-{txid.hex}"
    assert resp.json()["status"] == "PENDING"
    assert stub.callers[-1] == dev_api_key("payment-service")
    (sent,) = fake.seen(PAYOUTS_PATH)
    body = json_body(sent)
    validate(PAYOUTS, "create_payout_request", body)
    (item,) = body["items"]
    assert item["amount"] == {"value": "100.00", "currency": "USD"}
    assert item["receiver"] == "alice@example.com" and item["sender_item_id"] == f"PO-{txid.hex}"
    payout = await payout_row(app, txid)
    assert payout.payout_batch_id == "5UXD2E8A7EBQJ" and payout.payout_item_id == "8AELMXH8UB2P8"
    assert payout.payout_amount == 10000 and payout.currency == "USD"
    kinds = [(t, d) for t, d in await events_for(app, txid) if t.startswith("payout.")]
    assert kinds == [
        (
            "payout.created",
            {
                "transaction_id": str(txid),
                "payout_id": str(payout.id),
                "sender_batch_id": f"PO-{txid.hex}",
                "payout_batch_id": "5UXD2E8A7EBQJ",
            },
        )
    ]


async def test_a_repeated_request_never_posts_a_second_batch(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub
) -> None:
    tx = await paid_transaction(client, fake, stub)
    accept_batch(fake)
    first = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    second = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert first.json() == second.json()
    assert len(fake.seen(PAYOUTS_PATH)) == 1


async def test_a_duplicate_sender_batch_id_answer_adopts_the_existing_batch(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    txid = uuid.UUID(tx["transaction_id"])
    sbid = sender_batch_id_for(txid)
    item = payloads.payout_item("ITEMADOPT0001", "CR9VS2K4X4846", sbid, "PENDING")
    fake.batches["CR9VS2K4X4846"] = payloads.payout_batch("CR9VS2K4X4846", sbid, "PROCESSING", item)
    fake.on(PAYOUTS_PATH, lambda r: reply(payloads.duplicate_batch("CR9VS2K4X4846"), 400))
    resp = await client.post("/internal/payouts", json={"transaction_id": str(txid)}, headers=INTERNAL)
    assert resp.status_code == 202 and resp.json()["status"] == "PENDING"
    payout = await payout_row(app, txid)
    assert payout.payout_batch_id == "CR9VS2K4X4846" and payout.payout_item_id == "ITEMADOPT0001"
    assert payout.batch_status == "PROCESSING"
    assert [t for t, _ in await events_for(app, txid) if t.startswith("payout.")] == ["payout.created"]


async def test_timeouts_are_retried_with_the_same_sender_batch_id(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    accept_batch(fake)
    created = fake.routes[PAYOUTS_PATH]
    fake.on(PAYOUTS_PATH, timeout, created)  # first try times out, the second is accepted
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.json()["status"] == "PENDING"
    ids = {json_body(r)["sender_batch_header"]["sender_batch_id"] for r in fake.seen(PAYOUTS_PATH)}
    assert len(fake.seen(PAYOUTS_PATH)) == 2 and len(ids) == 1


async def test_when_paypal_never_answers_the_payout_waits_for_the_reconciler(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    fake.on(PAYOUTS_PATH, timeout)
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.status_code == 202 and resp.json()["status"] == "CREATED"
    payout = await payout_row(app, uuid.UUID(tx["transaction_id"]))
    assert payout.error == "ProviderTimeout" and payout.payout_batch_id is None
    assert not [t for t, _ in await events_for(app, tx["transaction_id"]) if t.startswith("payout.")]
    # PayPal had in fact created the batch: the reconciler's resubmission adopts it.
    sbid = sender_batch_id_for(uuid.UUID(tx["transaction_id"]))
    item = payloads.payout_item("ITEMLATE00001", "LATEBATCH0001", sbid, "SUCCESS")
    fake.batches["LATEBATCH0001"] = payloads.payout_batch("LATEBATCH0001", sbid, "SUCCESS", item)
    fake.on(PAYOUTS_PATH, lambda r: reply(payloads.duplicate_batch("LATEBATCH0001"), 400))
    found = (await client.post(f"/internal/reconcile/{tx['transaction_id']}", headers=INTERNAL)).json()
    assert found["payout"]["status"] == "SUCCESS" and found["payout"]["payout_batch_id"] == "LATEBATCH0001"
    kinds = [t for t, _ in await events_for(app, tx["transaction_id"]) if t.startswith("payout.")]
    assert kinds == ["payout.created", "payout.succeeded"]


async def test_jpy_is_paid_without_decimals(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub
) -> None:
    tx = await paid_transaction(client, fake, stub, currency="JPY", amount="15000")
    accept_batch(fake)
    await client.post("/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL)
    (sent,) = fake.seen(PAYOUTS_PATH)
    assert json_body(sent)["items"][0]["amount"] == {"value": "15000", "currency": "JPY"}


async def test_a_transaction_not_ready_is_refused(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub
) -> None:
    tx = await paid_transaction(client, fake, stub, status="PENDING")
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.status_code == 409 and resp.json()["code"] == "transaction_not_payable"
    assert fake.seen(PAYOUTS_PATH) == []


async def test_an_unknown_transaction_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": str(uuid.uuid4())}, headers=INTERNAL
    )
    assert resp.status_code == 404


async def test_a_validation_error_fails_the_payout(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    fake.on(
        PAYOUTS_PATH,
        lambda r: reply(
            {
                "name": "VALIDATION_ERROR",
                "message": "Invalid request - see details",
                "details": [
                    {"field": "items[0].receiver", "location": "body", "issue": "Receiver is invalid"}
                ],
            },
            400,
        ),
    )
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.json()["status"] == "FAILED"
    ((kind, data),) = [
        (t, d) for t, d in await events_for(app, tx["transaction_id"]) if t.startswith("payout.")
    ]
    assert kind == "payout.failed" and data["error"] == "VALIDATION_ERROR"


async def test_concurrent_payout_requests_publish_one_payout(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    accept_batch(fake)
    results = await asyncio.gather(
        *(
            client.post("/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL)
            for _ in range(3)
        )
    )
    assert {r.status_code for r in results} == {202}
    assert len({r.json()["payout_id"] for r in results}) == 1
    assert [t for t, _ in await events_for(app, tx["transaction_id"])].count("payout.created") == 1
