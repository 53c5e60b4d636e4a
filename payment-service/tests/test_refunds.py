"""`POST /internal/refunds`: a full BDT refund through SSLCommerz, polled until final."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from payment_service.reconcile.service import poll_once
from payment_service.testing import payloads
from payment_service.testing.contract_stub import TransactionServiceStub
from payment_service.testing.fakes import ProviderFake, reply, timeout
from payment_service.testing.helpers import INTERNAL, events_for, paid_transaction, refund_row

REFUND_API = "/validator/api/merchantTransIDvalidationAPI.php"


def refund_api(fake: ProviderFake, *, status_answer: str = "refunded") -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "refund_ref_id" in params:
            return reply(payloads.refund_status(params["refund_ref_id"], status_answer))
        return reply(payloads.refund_initiated(params["bank_tran_id"], refund_ref_id="59bd63fea5455"))

    fake.on(REFUND_API, handle)


async def test_a_refund_is_initiated_with_our_refund_id_and_the_paid_amount(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    refund_api(fake)
    resp = await client.post(
        "/internal/refunds",
        json={"transaction_id": tx["transaction_id"], "reason": "payout failed"},
        headers=INTERNAL,
    )
    assert resp.status_code == 202 and resp.json()["status"] == "processing"
    refund = await refund_row(app, uuid.UUID(tx["transaction_id"]))
    (sent,) = [r for r in fake.seen(REFUND_API) if "bank_tran_id" in r.url.params]
    assert sent.url.params["bank_tran_id"] == tx["bank_tran_id"]
    assert sent.url.params["refund_amount"] == "11985.00"
    assert sent.url.params["refund_trans_id"] == refund.refund_trans_id and len(refund.refund_trans_id) <= 30
    assert refund.refund_ref_id == "59bd63fea5455"
    assert [t for t, _ in await events_for(app, tx["transaction_id"])][-1] == "refund.initiated"


async def test_a_second_request_returns_the_same_refund(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub
) -> None:
    tx = await paid_transaction(client, fake, stub)
    refund_api(fake)
    body = {"transaction_id": tx["transaction_id"], "reason": "payout failed"}
    first = await client.post("/internal/refunds", json=body, headers=INTERNAL)
    second = await client.post("/internal/refunds", json=body, headers=INTERNAL)
    assert first.json()["refund_id"] == second.json()["refund_id"]
    assert len([r for r in fake.seen(REFUND_API) if "bank_tran_id" in r.url.params]) == 1


async def test_the_poller_completes_a_processing_refund(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    refund_api(fake, status_answer="refunded")
    await client.post(
        "/internal/refunds", json={"transaction_id": tx["transaction_id"], "reason": "r"}, headers=INTERNAL
    )
    found = (await client.post(f"/internal/reconcile/{tx['transaction_id']}", headers=INTERNAL)).json()
    assert found["refund"]["status"] == "succeeded"
    refund = await refund_row(app, uuid.UUID(tx["transaction_id"]))
    assert (await events_for(app, tx["transaction_id"]))[-1] == (
        "refund.succeeded",
        {
            "transaction_id": tx["transaction_id"],
            "refund_id": str(refund.id),
            "amount": "11985.00",
            "currency": "BDT",
        },
    )


async def test_a_timed_out_initiation_stays_pending_and_the_poller_retries_it(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    tx = await paid_transaction(client, fake, stub)
    fake.on(REFUND_API, timeout)
    resp = await client.post(
        "/internal/refunds", json={"transaction_id": tx["transaction_id"], "reason": "r"}, headers=INTERNAL
    )
    assert resp.status_code == 202 and resp.json()["status"] == "pending"
    refund_api(fake)
    async with app.state.db.sessionmaker() as session, session.begin():  # make it due now
        row = await refund_row(app, uuid.UUID(tx["transaction_id"]))
        row = await session.merge(row)
        row.next_poll_at = None
    await poll_once(app.state.ctx)
    assert (await refund_row(app, uuid.UUID(tx["transaction_id"]))).status == "processing"


async def test_an_unpaid_transaction_cannot_be_refunded(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/internal/refunds", json={"transaction_id": str(uuid.uuid4()), "reason": "r"}, headers=INTERNAL
    )
    assert resp.status_code == 404
