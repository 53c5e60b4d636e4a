"""The saga, driven by real event envelopes posted to /internal/events (as payment-service's
outbox relay does) plus the worker's outgoing calls to the payment-service contract."""

from __future__ import annotations

from tests.helpers import create_txn, envelope, event_types, events_for, load, post_event


async def _paid(client, app, user, amount: str = "100.00") -> dict:
    txn = await create_txn(client, user, amount)
    await post_event(
        client,
        envelope(
            "payment.succeeded",
            txn["id"],
            internal_tran_id=txn["internal_tran_id"],
            payment_id="pay-1",
            amount=txn["total_bdt"],
            currency="BDT",
            val_id="v1",
            bank_tran_id="b1",
            risk_level="0",
        ),
    )
    return txn


def _statuses(history: list[dict]) -> list[str]:
    return [h["to_status"] for h in history]


async def test_happy_path_pending_to_completed(client, app, stub, user) -> None:
    txn = await _paid(client, app, user)
    assert (await load(app, txn["id"])).status == "BDT_RECEIVED"
    out = await app.state.ctx.worker.run_once(reconcile=False)
    assert out["payouts"] == 1
    assert stub.state.calls_to("/internal/payouts", txn["id"]) == [{"transaction_id": txn["id"]}]
    assert (await load(app, txn["id"])).status == "PROCESSING"
    await post_event(
        client,
        envelope(
            "payout.succeeded",
            txn["id"],
            payout_id="po-1",
            payout_item_id="it-1",
            transaction_status="SUCCESS",
        ),
    )
    body = (await client.get(f"/api/v1/transactions/{txn['id']}", headers=user.headers)).json()
    assert body["status"] == "COMPLETED" and body["completed_at"]
    history = (await client.get(f"/api/v1/transactions/{txn['id']}/history", headers=user.headers)).json()
    assert _statuses(history) == ["PENDING", "BDT_RECEIVED", "PROCESSING", "COMPLETED"]
    assert history[1]["actor_id"] == "payment-service" and history[1]["event_id"]
    assert await event_types(app, txn["id"]) == [
        "transaction.created",
        "transaction.bdt_received",
        "transaction.processing",
        "transaction.completed",
    ]
    completed = (await events_for(app, txn["id"]))[-1]["data"]
    assert completed == {
        "transaction_id": txn["id"],
        "internal_tran_id": txn["internal_tran_id"],
        "user_id": user.id,
        "status": "COMPLETED",
        "foreign_currency": "USD",
        "foreign_amount": "100.00",
        "total_bdt": "11985.00",
    }
    limits = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert limits["daily"]["used"] == "100.00"  # a completed transfer keeps its reservation


async def test_duplicate_event_is_processed_once(client, app, user) -> None:
    txn = await create_txn(client, user)
    env = envelope("payment.succeeded", txn["id"], payment_id="p", amount=txn["total_bdt"], currency="BDT")
    assert (await post_event(client, env))["status"] == "processed"
    assert (await post_event(client, env))["status"] == "duplicate"
    assert await event_types(app, txn["id"]) == ["transaction.created", "transaction.bdt_received"]


async def test_out_of_order_events_never_move_backwards(client, app, user) -> None:
    txn = await _paid(client, app, user)
    await post_event(client, envelope("payout.succeeded", txn["id"], payout_id="po-1"))
    # late, stale events about earlier steps arrive afterwards
    await post_event(client, envelope("payment.failed", txn["id"], reason="late"))
    await post_event(
        client, envelope("payment.succeeded", txn["id"], amount=txn["total_bdt"], currency="BDT")
    )
    await post_event(client, envelope("payout.failed", txn["id"], transaction_status="FAILED"))
    assert (await load(app, txn["id"])).status == "COMPLETED"
    history = (await client.get(f"/api/v1/transactions/{txn['id']}/history", headers=user.headers)).json()
    # payout.succeeded before our PROCESSING write: the machine still passes through PROCESSING
    assert _statuses(history) == ["PENDING", "BDT_RECEIVED", "PROCESSING", "COMPLETED"]


async def test_payout_failed_refunds_and_releases_the_limit(client, app, stub, user) -> None:
    txn = await _paid(client, app, user)
    await app.state.ctx.worker.run_once(reconcile=False)
    await post_event(
        client,
        envelope(
            "payout.failed",
            txn["id"],
            payout_id="po-1",
            payout_item_id="it",
            transaction_status="RETURNED",
            error="RECEIVER_UNREGISTERED",
        ),
    )
    row = await load(app, txn["id"])
    assert row.status == "FAILED" and row.failure_reason == "payout failed: RETURNED"
    out = await app.state.ctx.worker.run_once(reconcile=False)
    assert out["refunds"] == 1
    assert stub.state.calls_to("/internal/refunds", txn["id"]) == [
        {"transaction_id": txn["id"], "reason": "payout failed: RETURNED"}
    ]
    assert (await app.state.ctx.worker.run_once(reconcile=False))["refunds"] == 0  # asked once
    await post_event(
        client, envelope("refund.succeeded", txn["id"], refund_id="rf-1", amount="11985.00", currency="BDT")
    )
    assert (await load(app, txn["id"])).status == "REFUNDED"
    assert (await event_types(app, txn["id"]))[-2:] == ["transaction.failed", "transaction.refunded"]
    failed = (await events_for(app, txn["id"]))[-2]["data"]
    assert failed["reason"] == "payout failed: RETURNED"
    limits = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert limits["daily"]["used"] == "0.00"


async def test_payment_failed_and_cancelled_end_the_transaction(client, app, user) -> None:
    failed = await create_txn(client, user)
    cancelled = await create_txn(client, user)
    await post_event(client, envelope("payment.failed", failed["id"], reason="declined"))
    await post_event(client, envelope("payment.cancelled", cancelled["id"]))
    assert (await load(app, failed["id"])).status == "FAILED"
    assert (await load(app, cancelled["id"])).status == "CANCELLED"
    assert (await app.state.ctx.worker.run_once(reconcile=False))["refunds"] == 0  # no BDT to refund
    assert (await event_types(app, cancelled["id"]))[-1] == "transaction.cancelled"


async def test_amount_mismatch_holds_without_advancing(client, app, stub, user) -> None:
    txn = await create_txn(client, user)
    await post_event(client, envelope("payment.succeeded", txn["id"], amount="100.00", currency="BDT"))
    row = await load(app, txn["id"])
    assert (row.status, row.on_hold, row.hold_reason) == ("PENDING", True, "amount_mismatch")
    await app.state.ctx.worker.run_once(reconcile=False)
    assert stub.state.calls_to("/internal/payouts", txn["id"]) == []
    assert (await event_types(app, txn["id"]))[-1] == "transaction.held"


async def test_payment_held_sets_on_hold_with_the_reason(client, app, user) -> None:
    txn = await create_txn(client, user)
    await post_event(
        client,
        envelope(
            "payment.held",
            txn["id"],
            payment_id="p",
            amount=txn["total_bdt"],
            currency="BDT",
            reason="risk_level",
        ),
    )
    body = (await client.get(f"/api/v1/transactions/{txn['id']}", headers=user.headers)).json()
    assert (body["status"], body["on_hold"], body["hold_reason"]) == ("PENDING", True, "risk_level")
    held = (await events_for(app, txn["id"]))[-1]
    assert held["type"] == "transaction.held" and held["data"]["reason"] == "risk_level"


async def test_payment_after_expiry_is_held_not_advanced(client, app, user) -> None:
    txn = await create_txn(client, user)
    await post_event(client, envelope("payment.cancelled", txn["id"]))
    await post_event(
        client, envelope("payment.succeeded", txn["id"], amount=txn["total_bdt"], currency="BDT")
    )
    row = await load(app, txn["id"])
    assert (row.status, row.on_hold, row.hold_reason) == ("CANCELLED", True, "late_payment")


async def test_payout_request_retries_until_payment_service_answers(client, app, stub, user) -> None:
    txn = await _paid(client, app, user)
    stub.state.payout_status = 503
    await app.state.ctx.worker.run_once(reconcile=False)
    row = await load(app, txn["id"])
    assert (row.status, row.action_attempts) == ("BDT_RECEIVED", 1) and row.next_action_at is not None
    stub.state.payout_status = 202
    await app.state.ctx.worker.run_once(reconcile=False)  # backing off: not yet
    assert (await load(app, txn["id"])).status == "BDT_RECEIVED"
    from sqlalchemy import update

    from transaction_service.models import Transaction

    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(update(Transaction).where(Transaction.id == row.id).values(next_action_at=None))
    await app.state.ctx.worker.run_once(reconcile=False)
    assert (await load(app, txn["id"])).status == "PROCESSING"
    assert len(stub.state.calls_to("/internal/payouts", txn["id"])) == 2


async def test_payout_request_survives_a_restart(client, app, stub, database_url, redis_url, user) -> None:
    """The payout is due from persisted state: a fresh process (new app, new worker) picks it up."""
    from shared.testing.plugin import asgi_client
    from tests.conftest import make_settings
    from transaction_service.main import create_app

    txn = await _paid(client, app, user)  # "crash" before the worker ran
    fresh = create_app(make_settings(database_url, redis_url, stub))
    async with asgi_client(fresh):
        await fresh.state.ctx.worker.run_once(reconcile=False)
    assert (await load(app, txn["id"])).status == "PROCESSING"


async def test_refused_payout_request_is_held_for_a_person(client, app, stub, user) -> None:
    txn = await _paid(client, app, user)
    stub.state.payout_status = 422
    await app.state.ctx.worker.run_once(reconcile=False)
    row = await load(app, txn["id"])
    assert (row.status, row.on_hold, row.hold_reason) == ("BDT_RECEIVED", True, "payout_request_refused")


async def test_refund_failed_is_held(client, app, user) -> None:
    txn = await _paid(client, app, user)
    await post_event(client, envelope("payout.failed", txn["id"], transaction_status="BLOCKED"))
    await post_event(client, envelope("refund.failed", txn["id"], refund_id="rf"))
    row = await load(app, txn["id"])
    assert (row.status, row.on_hold, row.hold_reason) == ("FAILED", True, "refund_failed")


async def test_event_for_an_unknown_transaction_is_acknowledged_and_ignored(client) -> None:
    import uuid

    result = await post_event(client, envelope("payment.succeeded", str(uuid.uuid4()), amount="1.00"))
    assert result["status"] == "processed"


async def test_events_need_a_service_key(client, user) -> None:
    txn = await create_txn(client, user)
    resp = await client.post("/internal/events", json=envelope("payment.cancelled", txn["id"]))
    assert resp.status_code == 401


async def test_running_worker_requests_the_payout_as_soon_as_the_payment_commits(
    stub, database_url, redis_url, tokens, user
) -> None:
    """With the background worker on, the commit of BDT_RECEIVED wakes it (no waiting for a poll)."""
    import asyncio

    from shared.testing.plugin import asgi_client
    from tests.conftest import make_settings
    from transaction_service.main import create_app

    live = create_app(
        make_settings(
            database_url,
            redis_url,
            stub,
            saga_worker_enabled=True,
            saga_poll_interval=30.0,
            reconcile_interval=3600.0,
        )
    )
    async with asgi_client(live) as c:
        tokens.install(live)
        txn = await create_txn(c, user)
        await post_event(c, envelope("payment.succeeded", txn["id"], amount=txn["total_bdt"], currency="BDT"))
        for _ in range(200):  # well under the 30 s poll interval, generous for a loaded machine
            if (await load(live, txn["id"])).status == "PROCESSING":
                break
            await asyncio.sleep(0.05)
        assert (await load(live, txn["id"])).status == "PROCESSING"


async def test_refund_of_a_completed_transaction_marks_it_refunded(client, app, user) -> None:
    txn = await _paid(client, app, user)
    await post_event(client, envelope("payout.succeeded", txn["id"], payout_id="po"))
    await post_event(
        client, envelope("refund.succeeded", txn["id"], refund_id="rf", amount="11985.00", currency="BDT")
    )
    assert (await load(app, txn["id"])).status == "REFUNDED"
    assert (await client.get("/api/v1/limits", headers=user.headers)).json()["daily"]["used"] == "0.00"
