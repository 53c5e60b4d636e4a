"""`POST /internal/payments/sessions`: the SSLCommerz hosted session of a transaction."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from payment_service.models import ProviderCall
from payment_service.testing.fakes import ProviderFake, form_body, reply
from payment_service.testing.helpers import INTERNAL, create_session, payment_row


async def test_session_is_created_with_our_urls_and_amount(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created = await create_session(client, total_bdt="11985.00")
    assert created["status"] == "initiated"
    assert created["payment_url"].startswith("https://sandbox.sslcommerz.com/EasyCheckOut/")
    assert created["sessionkey"] == "A8EF93B75B8107E4F36049E80B4F9149"
    (sent,) = fake.seen("/gwprocess/v4/api.php")
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    form = form_body(sent)
    assert form["store_id"] == "testbox" and form["store_passwd"] == "qwerty"
    assert form["total_amount"] == "11985.00" and form["currency"] == "BDT"
    assert form["tran_id"] == created["internal_tran_id"]
    assert form["ipn_url"] == "https://pay.example.test/api/v1/webhooks/sslcommerz/ipn"
    assert form["success_url"].endswith("/api/v1/webhooks/sslcommerz/success")
    payment = await payment_row(app, uuid.UUID(created["transaction_id"]))
    assert payment.total_amount == 1198500 and payment.currency == "BDT"


async def test_a_second_call_returns_the_same_session_without_calling_sslcommerz(
    client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    created = await create_session(client)
    body = {k: created[k] for k in ("transaction_id", "internal_tran_id", "user_id", "total_bdt", "customer")}
    again = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert again.status_code == 201
    assert again.json()["payment_id"] == created["payment_id"]
    assert len(fake.seen("/gwprocess/v4/api.php")) == 1


async def test_internal_routes_need_a_service_key(client: httpx.AsyncClient) -> None:
    resp = await client.post("/internal/payments/sessions", json={})
    assert resp.status_code == 401
    assert resp.json()["code"] == "invalid_service_key"


async def test_a_float_amount_is_refused(client: httpx.AsyncClient) -> None:
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": "TXN-1",
        "user_id": str(uuid.uuid4()),
        "total_bdt": 11985.0,
        "customer": {"name": "A", "email": "a@example.com", "phone": "01711000000"},
    }
    resp = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert resp.status_code == 422


async def test_a_refused_session_is_a_502_and_can_be_retried(
    client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    fake.on(
        "/gwprocess/v4/api.php",
        lambda r: reply({"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"}),
    )
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": f"TXN-{uuid.uuid4().hex[:8]}",
        "user_id": str(uuid.uuid4()),
        "total_bdt": "500.00",
        "customer": {"name": "A", "email": "a@example.com", "phone": "01711000000"},
    }
    resp = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert resp.status_code == 502 and resp.json()["code"] == "provider_refused"
    fake.routes.clear()
    retry = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert retry.status_code == 201 and retry.json()["payment_url"]


async def test_provider_calls_are_recorded_with_secrets_masked(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await create_session(client)
    async with app.state.db.sessionmaker() as session:
        calls = (
            await session.scalars(
                select(ProviderCall).where(
                    ProviderCall.transaction_id == uuid.UUID(created["transaction_id"])
                )
            )
        ).all()
    assert [c.operation for c in calls] == ["session.create"]
    assert calls[0].request_body["store_passwd"] == "***"
    assert "qwerty" not in str(calls[0].request_body)
    assert calls[0].status_code == 200


async def test_a_tran_id_of_another_transaction_is_a_conflict(client: httpx.AsyncClient) -> None:
    created = await create_session(client)
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": created["internal_tran_id"],
        "user_id": str(uuid.uuid4()),
        "total_bdt": "100.00",
        "customer": {"name": "A", "email": "a@example.com", "phone": "01711000000"},
    }
    resp = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert resp.status_code == 409 and resp.json()["code"] == "tran_id_in_use"


async def test_concurrent_requests_create_one_payment(client: httpx.AsyncClient, app: FastAPI) -> None:
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": f"TXN-{uuid.uuid4().hex[:8]}",
        "user_id": str(uuid.uuid4()),
        "total_bdt": "100.00",
        "customer": {"name": "A", "email": "a@example.com", "phone": "01711000000"},
    }
    results = await asyncio.gather(
        *(client.post("/internal/payments/sessions", json=body, headers=INTERNAL) for _ in range(3))
    )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["payment_id"] for r in results}) == 1


async def test_a_customer_without_name_or_phone_still_gets_a_session(
    client: httpx.AsyncClient, fake: ProviderFake
) -> None:
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": f"TXN-{uuid.uuid4().hex[:8]}",
        "user_id": str(uuid.uuid4()),
        "total_bdt": "100.00",
        "customer": {"email": "a@example.com"},
    }
    resp = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert resp.status_code == 201
    form = form_body(fake.seen("/gwprocess/v4/api.php")[-1])
    assert form["cus_name"] == "Customer" and form["cus_phone"] == "N/A"
