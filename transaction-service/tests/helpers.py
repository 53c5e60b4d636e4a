"""Helpers shared by the test modules (requests, event envelopes, database reads)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shared.settings import dev_api_key
from shared.testing.tokens import TokenFactory
from transaction_service.models import OutboxMessage, Transaction

PAYMENT_SERVICE_KEY = "dev-payment-service-key"


class Actor:
    """A user (or staff member) with a token: `actor.headers`."""

    def __init__(self, tokens: TokenFactory, role: str = "user") -> None:
        self.id = str(uuid.uuid4())
        self.role = role
        self.headers = tokens.headers(self.id, role=role)


def transfer(amount: str = "100.00", currency: str = "USD", **extra: Any) -> dict[str, Any]:
    return {
        "requested_foreign_currency": currency,
        "requested_foreign_amount": amount,
        "recipient_paypal_email": "alice@example.com",
        "payment_purpose": "family support",
        **extra,
    }


async def create_txn(
    client: httpx.AsyncClient, actor: Actor, amount: str = "100.00", currency: str = "USD", **extra: Any
) -> dict[str, Any]:
    resp = await client.post(
        "/api/v1/transactions", json=transfer(amount, currency, **extra), headers=actor.headers
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def envelope(event_type: str, transaction_id: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": "2026-11-26T10:00:00Z",
        "producer": "payment-service",
        "subject_id": transaction_id,
        "data": {"transaction_id": transaction_id, **data},
        "trace": {},
    }


async def post_event(client: httpx.AsyncClient, env: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(
        "/internal/events", json=env, headers={"X-API-Key": dev_api_key(env["producer"])}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def load(app: FastAPI, transaction_id: str) -> Transaction:
    async with app.state.db.sessionmaker() as session:
        txn = await session.get(Transaction, uuid.UUID(transaction_id))
        assert txn is not None
        return txn


async def events_for(app: FastAPI, transaction_id: str) -> list[dict[str, Any]]:
    """The transaction's outbox events (one per event, first subscriber row), in order."""
    async with app.state.db.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.envelope.get("subject_id") == transaction_id and str(row.event_id) not in seen:
            seen[str(row.event_id)] = row.envelope
    return list(seen.values())


async def event_types(app: FastAPI, transaction_id: str) -> list[str]:
    return [e["type"] for e in await events_for(app, transaction_id)]
