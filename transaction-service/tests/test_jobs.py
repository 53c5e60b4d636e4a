"""Periodic work: expiry of unpaid transactions and the single-flight reconciler."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import update

from shared.db import utcnow
from tests.helpers import create_txn, event_types, load
from transaction_service.models import JobLease, Transaction


async def _age(app, txn_id: str, **values) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(update(Transaction).where(Transaction.id == uuid.UUID(txn_id)).values(**values))


async def _free_reconciler_lease(app) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(update(JobLease).values(locked_until=utcnow() - timedelta(seconds=1)))


async def test_unpaid_transaction_expires_and_releases_its_limit(client, app, user) -> None:
    txn = await create_txn(client, user)
    await app.state.ctx.worker.expire_unpaid()
    assert (await load(app, txn["id"])).status == "PENDING"  # not yet
    await _age(app, txn["id"], expires_at=utcnow() - timedelta(seconds=1))
    assert await app.state.ctx.worker.expire_unpaid() >= 1
    assert (await load(app, txn["id"])).status == "EXPIRED"
    assert (await event_types(app, txn["id"]))[-1] == "transaction.expired"
    history = (await client.get(f"/api/v1/transactions/{txn['id']}/history", headers=user.headers)).json()
    assert (history[-1]["to_status"], history[-1]["actor_type"], history[-1]["reason"]) == (
        "EXPIRED",
        "system",
        "payment window elapsed",
    )
    assert (await client.get("/api/v1/limits", headers=user.headers)).json()["daily"]["used"] == "0.00"


async def test_held_pending_transaction_does_not_expire(client, app, user) -> None:
    txn = await create_txn(client, user)
    await _age(
        app, txn["id"], expires_at=utcnow() - timedelta(seconds=1), on_hold=True, hold_reason="risk_level"
    )
    await app.state.ctx.worker.expire_unpaid()
    assert (await load(app, txn["id"])).status == "PENDING"


async def test_reconciler_asks_payment_service_about_stuck_transactions(client, app, stub, user) -> None:
    stuck = await create_txn(client, user)
    fresh = await create_txn(client, user)
    await _age(app, stuck["id"], updated_at=utcnow() - timedelta(hours=1))
    await _free_reconciler_lease(app)
    assert await app.state.ctx.worker.reconcile() >= 1
    assert len(stub.state.calls_to(f"/internal/reconcile/{stuck['id']}")) == 1
    assert stub.state.calls_to(f"/internal/reconcile/{fresh['id']}") == []
    assert (await load(app, stuck["id"])).last_reconciled_at is not None
    await _free_reconciler_lease(app)
    await app.state.ctx.worker.reconcile()  # re-checked only after RECONCILE_STUCK_AFTER again
    assert len(stub.state.calls_to(f"/internal/reconcile/{stuck['id']}")) == 1


async def test_reconciler_is_single_flight_across_replicas(
    client, app, stub, database_url, redis_url, user
) -> None:
    from shared.testing.plugin import asgi_client
    from tests.conftest import make_settings
    from transaction_service.main import create_app

    stuck = await create_txn(client, user)
    await _age(app, stuck["id"], updated_at=utcnow() - timedelta(hours=1))
    await _free_reconciler_lease(app)
    replica = create_app(make_settings(database_url, redis_url, stub))
    async with asgi_client(replica):
        runs = await asyncio.gather(
            app.state.ctx.worker.reconcile(),
            replica.state.ctx.worker.reconcile(),
            app.state.ctx.worker.reconcile(),
        )
    assert sorted(runs)[:2] == [0, 0] and max(runs) >= 1
    assert len(stub.state.calls_to(f"/internal/reconcile/{stuck['id']}")) == 1
