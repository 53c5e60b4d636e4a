"""Operations: system health (a stopped service shows as down), outboxes and dead-letter replay
(delivered exactly once), held transactions with approve/refund, provider test connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from admin_service.models import OutboxMessage as AdminOutbox
from provider_sandbox.main import create_app as create_sandbox_app
from provider_sandbox.testing import make_settings as sandbox_settings
from shared.db import utcnow
from shared.outbox import DEAD, DELIVERED
from shared.testing.servers import serve
from tests.helpers import clear_transactions, seed, wait_until
from transaction_service.models import OutboxMessage as TxnOutbox


async def test_health_shows_a_stopped_service_as_down(isolated_admin, admin, redis_url) -> None:
    async with serve(create_sandbox_app(sandbox_settings(redis_url))) as sandbox_url:
        async with isolated_admin(provider_sandbox_url=sandbox_url) as (client, _):
            running = (await client.get("/api/v1/admin/system/health", headers=admin)).json()
            by_name = {s["service"]: s for s in running["services"]}
            assert by_name["provider-sandbox"]["status"] == "up"
            assert by_name["user-service"]["status"] == "up"
            assert running["gateway"]["services"]["user-service"]["breaker"] == "closed"
    # The sandbox is stopped now.
    async with isolated_admin(provider_sandbox_url=sandbox_url) as (client, _):
        resp = await client.get("/api/v1/admin/system/health", headers=admin)
    assert resp.status_code == 200
    body = resp.json()
    stopped = next(s for s in body["services"] if s["service"] == "provider-sandbox")
    assert stopped["status"] == "down"
    assert body["status"] == "degraded"


async def test_outbox_overview_has_every_service_with_real_counts_where_served(
    platform, client, support
) -> None:
    resp = await client.get("/api/v1/admin/system/outbox", headers=support)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "user-service",
        "payment-service",
        "transaction-service",
        "notification-service",
        "audit-service",
        "exchange-rate-service",
        "admin-service",
    }
    assert {"pending", "delivered", "dead"} <= set(body["transaction-service"])
    assert {"pending", "delivered", "dead"} <= set(body["admin-service"])
    assert body["user-service"]["unavailable"]  # the contract stub has no outbox


async def test_a_dead_letter_is_replayed_and_then_delivered_once(platform, client, admin, stub) -> None:
    event_id = uuid.uuid4()
    envelope = {
        "id": str(event_id),
        "type": "transaction.completed",
        "occurred_at": utcnow().isoformat(),
        "producer": "transaction-service",
        "subject_id": "t-dead",
        "data": {"transaction_id": "t-dead"},
        "trace": {},
    }
    async with platform.txn_app.state.db.sessionmaker() as s, s.begin():
        row = TxnOutbox(
            event_id=event_id,
            event_type="transaction.completed",
            subscriber="audit-service",
            envelope=envelope,
            status=DEAD,
            attempts=12,
            next_attempt_at=utcnow(),
            last_error="HTTP 503",
        )
        s.add(row)
    listed = await client.get("/api/v1/admin/system/outbox/transaction-service/dead-letters", headers=admin)
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"] if i["event_id"] == str(event_id)] == [row.id]
    assert not [e for e in stub.state.events if e["id"] == str(event_id)]
    resp = await client.post(
        "/api/v1/admin/system/outbox/transaction-service/dead-letters/replay",
        json={"ids": [row.id]},
        headers=admin,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["replayed"] == 1

    async def delivered() -> bool:
        async with platform.txn_app.state.db.sessionmaker() as s:
            return (await s.get(TxnOutbox, row.id)).status == DELIVERED

    await wait_until(delivered)
    assert len([e for e in stub.state.events if e["id"] == str(event_id)]) == 1
    again = await client.post(
        "/api/v1/admin/system/outbox/transaction-service/dead-letters/replay",
        json={"ids": [row.id]},
        headers=admin,
    )
    assert again.json()["replayed"] == 0  # delivered rows are not dead letters any more
    async with platform.admin_app.state.db.sessionmaker() as s:
        audit = (
            await s.scalars(
                select(AdminOutbox).where(AdminOutbox.event_type == "admin.dead_letters_replayed")
            )
        ).all()
    assert audit and audit[-1].envelope["data"]["service"] == "transaction-service"


async def test_support_cannot_replay(client, support) -> None:
    resp = await client.post("/api/v1/admin/system/outbox/admin-service/dead-letters/replay", headers=support)
    assert resp.status_code == 403


async def test_held_transactions_are_listed_and_approved_through_transaction_service(
    platform, client, admin, support
) -> None:
    await clear_transactions(platform.txn_app)
    held = await seed(
        platform.txn_app,
        amount="100.00",
        status="PENDING",
        created_at=datetime.now(UTC),
        on_hold=True,
        hold_reason="risk_level",
        received=True,
    )
    listed = await client.get("/api/v1/admin/transactions/held", headers=support)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["items"]] == [str(held.id)]
    denied = await client.post(
        f"/api/v1/admin/transactions/{held.id}/approve", json={"reason": "checked"}, headers=support
    )
    assert denied.status_code == 403
    resp = await client.post(
        f"/api/v1/admin/transactions/{held.id}/approve", json={"reason": "customer verified"}, headers=admin
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["on_hold"]) == ("BDT_RECEIVED", False)
    # A second decision is refused by transaction-service, and its answer passes through.
    again = await client.post(
        f"/api/v1/admin/transactions/{held.id}/approve", json={"reason": "once more"}, headers=admin
    )
    assert again.status_code == 409
    assert again.json()["code"] == "not_on_hold"


async def test_the_reconcilers_view_lists_stuck_transactions(platform, client, support) -> None:
    await clear_transactions(platform.txn_app)
    stuck = await seed(
        platform.txn_app,
        amount="10.00",
        status="PROCESSING",
        created_at=datetime.now(UTC) - timedelta(hours=3),
    )
    await seed(platform.txn_app, amount="10.00", status="PROCESSING", created_at=datetime.now(UTC))
    resp = await client.get("/api/v1/admin/transactions/stuck", headers=support)
    assert resp.status_code == 200
    assert [t["id"] for t in resp.json()["items"]] == [str(stuck.id)]
    assert resp.json()["items"][0]["last_reconciled_at"] is None


async def test_refund_of_a_held_transaction(platform, client, admin) -> None:
    held = await seed(
        platform.txn_app,
        amount="30.00",
        status="PENDING",
        created_at=datetime.now(UTC),
        on_hold=True,
        hold_reason="amount_mismatch",
        received=True,
    )
    resp = await client.post(
        f"/api/v1/admin/transactions/{held.id}/refund", json={"reason": "wrong amount"}, headers=admin
    )
    assert resp.status_code == 200 and resp.json()["status"] == "FAILED"


async def test_a_retried_refund_with_its_idempotency_key_gets_the_first_answer(
    platform, client, admin
) -> None:
    held = await seed(
        platform.txn_app,
        amount="30.00",
        status="PENDING",
        created_at=datetime.now(UTC),
        on_hold=True,
        hold_reason="amount_mismatch",
        received=True,
    )
    url = f"/api/v1/admin/transactions/{held.id}/refund"
    headers = {**admin, "Idempotency-Key": f"refund-{held.id}"}
    first = await client.post(url, json={"reason": "wrong amount"}, headers=headers)
    again = await client.post(url, json={"reason": "wrong amount"}, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post(url, json={"reason": "another reason"}, headers=headers)
    assert other.status_code == 422  # the same key for a different request
    async with platform.admin_app.state.db.sessionmaker() as s:
        rows = (
            await s.scalars(
                select(AdminOutbox).where(AdminOutbox.event_type == "admin.transaction_refund_ordered")
            )
        ).all()
    recorded = {r.event_id for r in rows if r.envelope["subject_id"] == str(held.id)}
    assert len(recorded) == 1  # the replay is not audited a second time


async def test_provider_test_connection_against_the_sandbox(client, admin) -> None:
    async def put(key: str, value: str) -> None:
        resp = await client.put(f"/api/v1/admin/settings/{key}", json={"value": value}, headers=admin)
        assert resp.status_code == 200

    from provider_sandbox.testing import CLIENT_ID, CLIENT_SECRET, STORE_ID, STORE_PASSWORD

    unset = (await client.post("/api/v1/admin/providers/paypal/test", headers=admin)).json()
    assert (unset["ok"], unset["detail"]) == (False, "credentials not configured")
    await put("provider.paypal.client_id", CLIENT_ID)
    await put("provider.paypal.client_secret", CLIENT_SECRET)
    good = await client.post("/api/v1/admin/providers/paypal/test", headers=admin)
    assert good.status_code == 200 and good.json()["ok"] is True, good.text
    assert CLIENT_SECRET not in good.text and "access_token" not in good.text
    await put("provider.paypal.client_secret", "wrong-secret")
    assert (await client.post("/api/v1/admin/providers/paypal/test", headers=admin)).json()["ok"] is False
    await put("provider.sslcommerz.store_id", STORE_ID)
    await put("provider.sslcommerz.store_password", STORE_PASSWORD)
    assert (await client.post("/api/v1/admin/providers/sslcommerz/test", headers=admin)).json()["ok"] is True
    await put("provider.exchange_rate.api_key", "invalid-key")
    assert (await client.post("/api/v1/admin/providers/exchange_rate/test", headers=admin)).json()[
        "ok"
    ] is False
    await put("provider.exchange_rate.api_key", "a-good-key")
    assert (await client.post("/api/v1/admin/providers/exchange_rate/test", headers=admin)).json()[
        "ok"
    ] is True
    for key in (
        "paypal.client_id",
        "paypal.client_secret",
        "sslcommerz.store_id",
        "sslcommerz.store_password",
        "exchange_rate.api_key",
    ):
        await client.delete(f"/api/v1/admin/settings/provider.{key}", headers=admin)
