"""POST /api/v1/transactions: quote use, bounds, the payment session, Idempotency-Key, and that a
failure anywhere leaves nothing half-written."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy import func, select

from tests.helpers import create_txn, event_types, events_for, load, transfer
from transaction_service.models import Transaction


async def _count(app, user_id: str) -> int:
    async with app.state.db.sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Transaction).where(Transaction.user_id == user_id)
            )
            or 0
        )


async def test_create_returns_pending_with_amounts_and_payment_url(client, app, stub, user) -> None:
    body = await create_txn(client, user)
    assert body["status"] == "PENDING"
    assert re.fullmatch(r"TXN-\d{8}-[A-Z0-9]{8}", body["internal_tran_id"])
    assert (body["bdt_amount"], body["fee_bdt"], body["total_bdt"]) == ("11750.00", "235.00", "11985.00")
    assert body["payment_url"].startswith("http://127.0.0.1:1/sslcommerz/pay/")
    session_call = stub.state.calls_to("/internal/payments/sessions", body["id"])[0]
    assert session_call["total_bdt"] == "11985.00"
    assert session_call["internal_tran_id"] == body["internal_tran_id"]
    assert session_call["customer"] == {
        "name": "Rahim Uddin",
        "email": "sender@example.com",
        "phone": "+8801700000000",
    }
    txn = await load(app, body["id"])
    assert (txn.total_bdt, txn.foreign_amount, txn.usd_equivalent) == (1198500, 10000, 10000)
    events = await events_for(app, body["id"])
    assert [e["type"] for e in events] == ["transaction.created"]
    assert events[0]["data"]["payment_url"] == body["payment_url"]
    assert events[0]["data"]["total_bdt"] == "11985.00"


async def test_create_uses_a_valid_quote_and_marks_it_used(client, user) -> None:
    quote = (
        await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": "EUR", "amount": "50.00"},
            headers=user.headers,
        )
    ).json()
    body = await create_txn(client, user, "50.00", "EUR", quote_id=quote["quote_id"])
    assert body["quote_id"] == quote["quote_id"]
    assert body["total_bdt"] == quote["total_bdt"]
    again = await client.post(
        "/api/v1/transactions",
        json=transfer("50.00", "EUR", quote_id=quote["quote_id"]),
        headers=user.headers,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "quote_used"


async def test_expired_quote_is_a_409(client, app, user) -> None:
    from datetime import timedelta

    from shared.db import utcnow
    from transaction_service.models import Quote

    quote = (
        await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": "USD", "amount": "20.00"},
            headers=user.headers,
        )
    ).json()
    async with app.state.db.sessionmaker() as session, session.begin():
        row = await session.get(Quote, uuid.UUID(quote["quote_id"]))
        row.expires_at = utcnow() - timedelta(seconds=1)
    resp = await client.post(
        "/api/v1/transactions", json=transfer("20.00", quote_id=quote["quote_id"]), headers=user.headers
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "quote_expired"
    assert await _count(app, user.id) == 0


async def test_another_users_quote_is_a_409(client, user, other_user) -> None:
    quote = (
        await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": "USD", "amount": "20.00"},
            headers=other_user.headers,
        )
    ).json()
    resp = await client.post(
        "/api/v1/transactions", json=transfer("20.00", quote_id=quote["quote_id"]), headers=user.headers
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "quote_invalid"


async def test_quote_for_another_amount_is_a_409(client, user) -> None:
    quote = (
        await client.post(
            "/api/v1/transactions/calculate",
            json={"currency": "USD", "amount": "20.00"},
            headers=user.headers,
        )
    ).json()
    resp = await client.post(
        "/api/v1/transactions", json=transfer("21.00", quote_id=quote["quote_id"]), headers=user.headers
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "quote_mismatch"


async def test_float_amount_and_bad_email_are_422(client, user) -> None:
    bad = [transfer() | {"requested_foreign_amount": 100.0}, transfer() | {"recipient_paypal_email": "nope"}]
    for payload in bad:
        resp = await client.post("/api/v1/transactions", json=payload, headers=user.headers)
        assert resp.status_code == 422
        assert resp.json()["code"] == "validation_error"


async def test_payment_service_failure_is_502_and_leaves_nothing(client, app, stub, user) -> None:
    stub.state.session_status = 500
    resp = await client.post("/api/v1/transactions", json=transfer(), headers=user.headers)
    assert resp.status_code == 502
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await _count(app, user.id) == 0
    stub.state.session_status = 201
    limits = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert limits["daily"]["used"] == "0.00"


async def test_payment_service_unavailable_is_503_and_leaves_nothing(client, app, stub, user) -> None:
    stub.state.session_status = 503
    resp = await client.post("/api/v1/transactions", json=transfer(), headers=user.headers)
    assert resp.status_code == 503
    assert await _count(app, user.id) == 0


async def test_payment_service_timeout_is_504_and_leaves_nothing(client, app, stub, user) -> None:
    stub.state.session_status = 0  # hangs past the 2 s client timeout
    resp = await client.post("/api/v1/transactions", json=transfer(), headers=user.headers)
    assert resp.status_code == 504
    assert await _count(app, user.id) == 0


async def test_inactive_account_cannot_create(client, app, stub, user) -> None:
    stub.state.inactive_users.add(user.id)
    resp = await client.post("/api/v1/transactions", json=transfer(), headers=user.headers)
    assert resp.status_code == 403
    assert await _count(app, user.id) == 0


async def test_same_idempotency_key_and_body_replays_the_stored_response(client, app, stub, user) -> None:
    headers = user.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await client.post("/api/v1/transactions", json=transfer(), headers=headers)
    second = await client.post("/api/v1/transactions", json=transfer(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await _count(app, user.id) == 1
    assert len(stub.state.calls_to("/internal/payments/sessions", first.json()["id"])) == 1
    assert await event_types(app, first.json()["id"]) == ["transaction.created"]


async def test_same_idempotency_key_with_a_different_body_is_422(client, app, user) -> None:
    headers = user.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    assert (await client.post("/api/v1/transactions", json=transfer(), headers=headers)).status_code == 201
    resp = await client.post("/api/v1/transactions", json=transfer("200.00"), headers=headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "idempotency_key_reused"
    assert await _count(app, user.id) == 1


async def test_concurrent_duplicate_with_the_same_key_is_409(client, app, stub, user) -> None:
    stub.state.session_delay = 1.0
    headers = user.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first, second = await asyncio.gather(
        client.post("/api/v1/transactions", json=transfer(), headers=headers),
        client.post("/api/v1/transactions", json=transfer(), headers=headers),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "idempotency_request_in_flight"
    assert await _count(app, user.id) == 1


async def test_failed_attempt_releases_the_key_for_a_retry(client, app, stub, user) -> None:
    headers = user.headers | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    stub.state.session_status = 500
    assert (await client.post("/api/v1/transactions", json=transfer(), headers=headers)).status_code == 502
    stub.state.session_status = 201
    retry = await client.post("/api/v1/transactions", json=transfer(), headers=headers)
    assert retry.status_code == 201
    assert await _count(app, user.id) == 1


async def test_creation_is_recorded_in_the_status_history(client, user) -> None:
    body = await create_txn(client, user)
    history = (await client.get(f"/api/v1/transactions/{body['id']}/history", headers=user.headers)).json()
    assert [(h["from_status"], h["to_status"], h["actor_type"], h["actor_id"]) for h in history] == [
        (None, "PENDING", "user", user.id)
    ]


async def test_maintenance_mode_refuses_new_transfers(client, app, user) -> None:
    app.state.ctx.runtime.apply("maintenance_mode", "true")
    resp = await client.post("/api/v1/transactions", json=transfer(), headers=user.headers)
    assert resp.status_code == 503
    assert resp.json()["code"] == "maintenance_mode"


async def test_created_event_is_queued_for_audit_and_notification_in_the_same_commit(
    client, app, user
) -> None:
    from transaction_service.models import OutboxMessage

    body = await create_txn(client, user)
    async with app.state.db.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == "transaction.created")
            )
        ).all()
    subscribers = sorted(r.subscriber for r in rows if r.envelope["subject_id"] == body["id"])
    assert subscribers == ["audit-service", "notification-service"]
