"""Dashboard figures equal the sums computed directly from seeded transactions (real
transaction-service data, streamed over HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import bdt, clear_transactions, seed

DHAKA = ZoneInfo("Asia/Dhaka")


def start_of_today() -> datetime:
    now = datetime.now(DHAKA)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
async def seeded(platform, stub):
    await clear_transactions(platform.txn_app)
    base = start_of_today() + timedelta(seconds=1)
    sender = "user-a"
    rows = [
        await seed(platform.txn_app, amount="100.00", created_at=base, user_id=sender),
        await seed(
            platform.txn_app,
            amount="250.50",
            created_at=base,
            user_id=sender,
            completed_after=timedelta(minutes=20),
        ),
        await seed(platform.txn_app, amount="80.00", currency="EUR", created_at=base, user_id="user-b"),
        await seed(
            platform.txn_app,
            amount="40.00",
            status="FAILED",
            created_at=base,
            user_id="user-c",
            failure_reason="payout_failed",
        ),
        await seed(platform.txn_app, amount="60.00", status="PENDING", created_at=base, user_id="user-c"),
        await seed(platform.txn_app, amount="70.00", status="REFUNDED", created_at=base, user_id="user-d"),
    ]
    # Outside "today": 400 days ago (outside every period).
    await seed(platform.txn_app, amount="999.00", created_at=base - timedelta(days=400), user_id="user-old")
    stub.state.users.clear()
    stub.state.add_user(created_at=base.isoformat())
    stub.state.add_user(created_at=(base - timedelta(days=400)).isoformat())
    return rows


async def test_today_stats_equal_the_sums_of_the_seeded_transactions(client, admin, seeded) -> None:
    resp = await client.get("/api/v1/admin/dashboard/stats", params={"period": "today"}, headers=admin)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    completed = [t for t in seeded if t.status == "COMPLETED"]
    assert body["transactions"] == len(seeded)
    assert body["by_status"]["COMPLETED"] == 3
    assert body["by_status"]["FAILED"] == body["by_status"]["PENDING"] == body["by_status"]["REFUNDED"] == 1
    assert body["volume_bdt"] == bdt(sum(t.total_bdt for t in completed))
    assert body["fee_revenue_bdt"] == bdt(sum(t.fee_bdt for t in completed))
    assert body["volume_by_currency"]["USD"] == {
        "count": 2,
        "amount": "350.50",
        "bdt_amount": bdt(sum(t.total_bdt for t in completed if t.foreign_currency == "USD")),
    }
    assert body["volume_by_currency"]["EUR"]["amount"] == "80.00"
    assert body["success_rate"] == f"{Decimal(3) / Decimal(5):.4f}"  # 3 completed of 5 finished
    assert body["average_completion_seconds"] == round((600 + 1200 + 600) / 3)
    assert body["active_users"] == 4
    assert body["new_users"] == 1 and body["unavailable"] == []


async def test_year_includes_more_than_today_only_when_seeded_so(client, admin, seeded) -> None:
    body = (
        await client.get("/api/v1/admin/dashboard/stats", params={"period": "year"}, headers=admin)
    ).json()
    assert body["transactions"] == len(seeded)  # the 400-day-old one is outside the year


async def test_metrics_give_a_daily_series_and_the_top_currencies(client, admin, seeded) -> None:
    resp = await client.get("/api/v1/admin/dashboard/metrics", params={"days": 7}, headers=admin)
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["daily"]) == 7
    today = body["daily"][-1]
    completed = [t for t in seeded if t.status == "COMPLETED"]
    assert today["date"] == start_of_today().date().isoformat()
    assert (today["transactions"], today["completed"]) == (6, 3)
    assert today["volume_bdt"] == bdt(sum(t.total_bdt for t in completed))
    assert all(d["transactions"] == 0 for d in body["daily"][:-1])
    assert [c["currency"] for c in body["top_currencies"]] == ["USD", "EUR"]


async def test_unknown_period_is_a_422(client, admin) -> None:
    resp = await client.get("/api/v1/admin/dashboard/stats", params={"period": "decade"}, headers=admin)
    assert resp.status_code == 422
