"""Helpers shared by the Payment Service tests (imported by tests only)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from payment_service.models import OutboxMessage, Payment, Payout, Refund
from payment_service.payouts.service import sender_batch_id_for
from payment_service.testing import payloads
from payment_service.testing.contract_stub import transaction_record
from payment_service.testing.fakes import reply
from shared.settings import dev_api_key

INTERNAL = {"X-API-Key": dev_api_key("transaction-service")}


async def events_for(app: FastAPI, transaction_id: uuid.UUID | str) -> list[tuple[str, dict[str, Any]]]:
    """Events published for transaction-service about this transaction, in order."""
    async with app.state.db.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.subscriber == "transaction-service")
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [
        (r.event_type, r.envelope["data"])
        for r in rows
        if r.envelope.get("subject_id") == str(transaction_id)
    ]


async def payment_row(app: FastAPI, transaction_id: uuid.UUID) -> Payment:
    async with app.state.db.sessionmaker() as session:
        payment = await session.scalar(select(Payment).where(Payment.transaction_id == transaction_id))
    assert payment is not None
    return payment


def new_tran_id() -> str:
    return f"TXN-20261126-{uuid.uuid4().hex[:8].upper()}"


async def create_session(
    client: httpx.AsyncClient, *, total_bdt: str = "11985.00", user_id: uuid.UUID | None = None
) -> dict[str, Any]:
    body = {
        "transaction_id": str(uuid.uuid4()),
        "internal_tran_id": new_tran_id(),
        "user_id": str(user_id or uuid.uuid4()),
        "total_bdt": total_bdt,
        "customer": {"name": "Rahim Uddin", "email": "rahim@example.com", "phone": "01711000000"},
    }
    resp = await client.post("/internal/payments/sessions", json=body, headers=INTERNAL)
    assert resp.status_code == 201, resp.text
    return {**body, **resp.json()}


async def payout_row(app: FastAPI, transaction_id: uuid.UUID) -> Payout:
    async with app.state.db.sessionmaker() as session:
        payout = await session.scalar(select(Payout).where(Payout.transaction_id == transaction_id))
    assert payout is not None
    return payout


async def refund_row(app: FastAPI, transaction_id: uuid.UUID) -> Refund:
    async with app.state.db.sessionmaker() as session:
        refund = await session.scalar(select(Refund).where(Refund.transaction_id == transaction_id))
    assert refund is not None
    return refund


async def paid_transaction(
    client: httpx.AsyncClient,
    fake: Any,
    stub: Any,
    *,
    currency: str = "USD",
    amount: str = "100.00",
    status: str = "BDT_RECEIVED",
    user_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A session paid through a validated IPN, and its transaction record on the contract stub."""

    created = await create_session(client, user_id=user_id)
    val_id = f"VAL{uuid.uuid4().hex[:12]}"
    fake.validations[val_id] = payloads.validation(created["internal_tran_id"], "11985.00", val_id=val_id)
    resp = await client.post(
        "/api/v1/webhooks/sslcommerz/ipn",
        data=payloads.ipn_valid(created["internal_tran_id"], "11985.00", val_id=val_id),
    )
    assert resp.status_code == 200, resp.text
    stub.add(
        transaction_record(
            uuid.UUID(created["transaction_id"]),
            created["internal_tran_id"],
            uuid.UUID(created["user_id"]),
            status=status,
            currency=currency,
            amount=amount,
        )
    )
    return {**created, "val_id": val_id, "bank_tran_id": f"BT{val_id}"}


async def payout_in_flight(client: httpx.AsyncClient, fake: Any, stub: Any) -> dict:
    tx = await paid_transaction(client, fake, stub)
    sbid = sender_batch_id_for(uuid.UUID(tx["transaction_id"]))
    batch_id, item_id = f"B{uuid.uuid4().hex[:12].upper()}", f"I{uuid.uuid4().hex[:12].upper()}"
    item = payloads.payout_item(item_id, batch_id, sbid, "PENDING")
    fake.items[item_id] = item
    fake.batches[batch_id] = payloads.payout_batch(batch_id, sbid, "PENDING", item)
    fake.on("/v1/payments/payouts", lambda r: reply(payloads.payout_created(batch_id, sbid), 201))
    resp = await client.post(
        "/internal/payouts", json={"transaction_id": tx["transaction_id"]}, headers=INTERNAL
    )
    assert resp.status_code == 202
    return {**tx, "sbid": sbid, "batch_id": batch_id, "item_id": item_id}


def set_item(fake: Any, p: dict, status: str, error: str | None = None) -> dict[str, Any]:

    fake.items[p["item_id"]] = payloads.payout_item(
        p["item_id"], p["batch_id"], p["sbid"], status, error_name=error
    )
    return fake.items[p["item_id"]]
