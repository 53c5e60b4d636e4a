"""Internal read-only views for admin-service: the NDJSON row stream, held list and summary."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

from shared.db import utcnow
from tests.helpers import create_txn, envelope, post_event
from transaction_service.models import Transaction

ADMIN_KEY = {"X-API-Key": "dev-admin-service-key"}


async def test_stream_has_every_row_of_the_range_with_a_total(client, user, other_user) -> None:
    mine = [await create_txn(client, user, "100.00"), await create_txn(client, user, "20.00", "EUR")]
    theirs = await create_txn(client, other_user, "50.00")
    since = min(t["created_at"] for t in (*mine, theirs))
    resp = await client.get(
        "/internal/reports/transactions", params={"date_from": since, "user_id": user.id}, headers=ADMIN_KEY
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in resp.text.splitlines()]
    assert resp.headers["x-total-count"] == "2"
    assert [r["id"] for r in rows] == [t["id"] for t in mine]
    assert [(r["foreign_currency"], r["foreign_amount"], r["total_bdt"]) for r in rows] == [
        (t["foreign_currency"], t["foreign_amount"], t["total_bdt"]) for t in mine
    ]


async def test_held_list_shows_transactions_waiting_for_an_admin(client, user) -> None:
    txn = await create_txn(client, user)
    await post_event(
        client,
        envelope(
            "payment.held", txn["id"], payment_id="p", amount=txn["total_bdt"], currency="BDT", reason="x"
        ),
    )
    resp = await client.get("/internal/reports/held", headers=ADMIN_KEY)
    assert resp.status_code == 200
    held = {r["id"]: r for r in resp.json()["items"]}
    assert held[txn["id"]]["on_hold"] is True and held[txn["id"]]["hold_reason"]


async def test_stuck_list_shows_in_flight_transactions_unchanged_for_too_long(client, app, user) -> None:
    txn = await create_txn(client, user)
    fresh = await create_txn(client, user)
    async with app.state.db.sessionmaker() as s, s.begin():
        row = await s.get(Transaction, uuid.UUID(txn["id"]))
        row.updated_at = utcnow() - timedelta(hours=2)
    resp = await client.get("/internal/reports/stuck", headers=ADMIN_KEY)
    assert resp.status_code == 200
    ids = [r["id"] for r in resp.json()["items"]]
    assert txn["id"] in ids and fresh["id"] not in ids
    stuck = next(r for r in resp.json()["items"] if r["id"] == txn["id"])
    assert stuck["unchanged_seconds"] >= 7200 and stuck["last_reconciled_at"] is None


async def test_summary_sums_by_status_and_currency_for_one_user(client, user) -> None:
    a = await create_txn(client, user, "100.00")
    b = await create_txn(client, user, "10.00")
    resp = await client.get("/internal/stats/summary", params={"user_id": user.id}, headers=ADMIN_KEY)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["count"], body["distinct_users"]) == (2, 1)
    (group,) = body["groups"]
    assert (group["status"], group["currency"], group["count"]) == ("PENDING", "USD", 2)
    assert Decimal(group["total_bdt"]) == Decimal(a["total_bdt"]) + Decimal(b["total_bdt"])


async def test_reporting_routes_need_a_service_key_and_refuse_bad_filters(client, admin) -> None:
    for path in (
        "/internal/reports/transactions",
        "/internal/reports/held",
        "/internal/reports/stuck",
        "/internal/stats/summary",
    ):
        assert (await client.get(path, headers=admin.headers)).status_code == 401
    resp = await client.get("/internal/reports/transactions", params={"status": "NOPE"}, headers=ADMIN_KEY)
    assert resp.status_code == 422
