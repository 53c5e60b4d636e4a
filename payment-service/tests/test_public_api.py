"""`GET /api/v1/payments` and `GET /api/v1/payments/{id}`: owner, support and admin only."""

from __future__ import annotations

import uuid

import httpx

from payment_service.testing.helpers import create_session
from shared.testing.tokens import TokenFactory


async def test_the_owner_reads_their_payment(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    owner = uuid.uuid4()
    created = await create_session(client, user_id=owner)
    resp = await client.get(f"/api/v1/payments/{created['payment_id']}", headers=tokens.headers(owner))
    assert resp.status_code == 200
    body = resp.json()
    assert body["transaction_id"] == created["transaction_id"] and body["status"] == "initiated"
    assert body["amount"] == "11985.00" and body["currency"] == "BDT"
    assert body["payout"] is None and body["refund"] is None
    assert "sessionkey" not in body


async def test_another_user_gets_404(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    created = await create_session(client, user_id=uuid.uuid4())
    resp = await client.get(f"/api/v1/payments/{created['payment_id']}", headers=tokens.headers(uuid.uuid4()))
    assert resp.status_code == 404
    listed = await client.get(
        "/api/v1/payments",
        params={"transaction_id": created["transaction_id"]},
        headers=tokens.headers(uuid.uuid4()),
    )
    assert listed.status_code == 200 and listed.json() == {"items": []}


async def test_support_staff_can_read_any_payment(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    created = await create_session(client, user_id=uuid.uuid4())
    resp = await client.get(
        f"/api/v1/payments/{created['payment_id']}", headers=tokens.headers(uuid.uuid4(), role="support")
    )
    assert resp.status_code == 200


async def test_payments_are_listed_by_transaction(client: httpx.AsyncClient, tokens: TokenFactory) -> None:
    owner = uuid.uuid4()
    created = await create_session(client, user_id=owner)
    resp = await client.get(
        "/api/v1/payments",
        params={"transaction_id": created["transaction_id"]},
        headers=tokens.headers(owner),
    )
    assert [p["id"] for p in resp.json()["items"]] == [created["payment_id"]]


async def test_reads_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/payments")).status_code == 401
