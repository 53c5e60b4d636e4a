"""`POST /internal/reconcile/{transaction_id}` and the poller: provider timeouts and lost
notifications are resolved from the providers' own records."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from payment_service.reconcile.service import poll_once
from payment_service.testing import payloads
from payment_service.testing.contract_stub import TransactionServiceStub
from payment_service.testing.fakes import ProviderFake
from payment_service.testing.helpers import (
    INTERNAL,
    create_session,
    events_for,
    payout_in_flight,
    payout_row,
    set_item,
)


async def test_a_payment_whose_ipn_was_lost_is_found_by_transaction_query(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created = await create_session(client)
    tran_id, val_id = created["internal_tran_id"], "VALRECON0001"
    fake.queries[tran_id] = payloads.query(tran_id, [{"status": "VALID", "val_id": val_id}])
    fake.validations[val_id] = payloads.validation(tran_id, "11985.00", val_id=val_id)
    resp = await client.post(f"/internal/reconcile/{created['transaction_id']}", headers=INTERNAL)
    assert resp.status_code == 200
    assert resp.json()["payment"] == {
        "payment_id": created["payment_id"],
        "status": "succeeded",
        "hold_reason": None,
        "changed": True,
        "error": None,
    }
    again = await client.post(f"/internal/reconcile/{created['transaction_id']}", headers=INTERNAL)
    assert again.json()["payment"]["changed"] is False
    assert [t for t, _ in await events_for(app, created["transaction_id"])] == ["payment.succeeded"]


async def test_an_unpaid_session_stays_initiated(client: httpx.AsyncClient, app: FastAPI) -> None:
    created = await create_session(client)
    found = (await client.post(f"/internal/reconcile/{created['transaction_id']}", headers=INTERNAL)).json()
    assert found["payment"]["status"] == "initiated" and found["payment"]["changed"] is False
    assert await events_for(app, created["transaction_id"]) == []


async def test_the_poller_resolves_a_payout_whose_webhook_never_came(
    client: httpx.AsyncClient, fake: ProviderFake, stub: TransactionServiceStub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    set_item(fake, p, "SUCCESS")
    async with app.state.db.sessionmaker() as session, session.begin():
        payout = await session.merge(await payout_row(app, uuid.UUID(p["transaction_id"])))
        payout.next_check_at = None  # due now
    assert await poll_once(app.state.ctx) >= 1
    assert (await payout_row(app, uuid.UUID(p["transaction_id"]))).status == "SUCCESS"
    assert [t for t, _ in await events_for(app, p["transaction_id"]) if t.startswith("payout.")] == [
        "payout.created",
        "payout.succeeded",
    ]


async def test_reconcile_of_an_unknown_transaction_finds_nothing(client: httpx.AsyncClient) -> None:
    txid = str(uuid.uuid4())
    resp = await client.post(f"/internal/reconcile/{txid}", headers=INTERNAL)
    assert resp.json() == {"transaction_id": txid, "payment": None, "payout": None, "refund": None}
