"""Reports run in the background and match the seeded data in both CSV and JSON."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import bdt, clear_transactions, seed, wait_until

DHAKA = ZoneInfo("Asia/Dhaka")
DAY1 = datetime(2026, 3, 10, 9, 0, tzinfo=DHAKA)
DAY2 = datetime(2026, 3, 11, 23, 30, tzinfo=DHAKA)  # 17:30 UTC: still the 11th in Dhaka


@pytest.fixture
async def seeded(platform):
    await clear_transactions(platform.txn_app)
    app = platform.txn_app
    return [
        await seed(app, amount="100.00", created_at=DAY1),
        await seed(app, amount="50.00", currency="EUR", created_at=DAY1),
        await seed(app, amount="20.00", status="FAILED", created_at=DAY1, failure_reason="payout_failed"),
        await seed(app, amount="300.00", created_at=DAY2, completed_after=timedelta(minutes=10)),
        await seed(app, amount="75.00", status="REFUNDED", created_at=DAY2),
        await seed(app, amount="10.00", status="EXPIRED", created_at=DAY2),
        # Outside the range (the 12th in Dhaka).
        await seed(app, amount="999.00", created_at=datetime(2026, 3, 12, 0, 30, tzinfo=DHAKA)),
    ]


async def run_report(client, headers, kind: str) -> dict:
    resp = await client.post(
        "/api/v1/admin/reports",
        json={"kind": kind, "date_from": "2026-03-10", "date_to": "2026-03-11"},
        headers=headers,
    )
    assert resp.status_code == 202, resp.text
    report_id = resp.json()["id"]
    assert resp.json()["status"] == "queued"
    state: dict = {}

    async def done() -> bool:
        state.update((await client.get(f"/api/v1/admin/reports/{report_id}", headers=headers)).json())
        return state["status"] in ("completed", "failed")

    await wait_until(done)
    assert state["status"] == "completed", state
    assert (state["progress"], state["rows_processed"], state["total_rows"]) == (100, 6, 6)
    return state


async def download(client, headers, report: dict) -> tuple[list[dict], dict]:
    csv_resp = await client.get(report["downloads"]["csv"], headers=headers)
    json_resp = await client.get(report["downloads"]["json"], headers=headers)
    assert csv_resp.status_code == json_resp.status_code == 200
    assert csv_resp.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(csv_resp.text))), json_resp.json()


def as_text(rows: list[dict]) -> list[dict]:
    return [{k: str(v) for k, v in r.items()} for r in rows]


async def test_revenue_report_matches_the_seeded_data_in_csv_and_json(client, support, seeded) -> None:
    report = await run_report(client, support, "revenue")
    csv_rows, body = await download(client, support, report)
    day1 = [t for t in seeded[:3] if t.status == "COMPLETED"]
    day2 = [seeded[3]]
    expected = [
        {
            "date": "2026-03-10",
            "completed": 2,
            "bdt_amount": bdt(sum(t.bdt_amount for t in day1)),
            "fee_bdt": bdt(sum(t.fee_bdt for t in day1)),
            "total_bdt": bdt(sum(t.total_bdt for t in day1)),
        },
        {
            "date": "2026-03-11",
            "completed": 1,
            "bdt_amount": bdt(day2[0].bdt_amount),
            "fee_bdt": bdt(day2[0].fee_bdt),
            "total_bdt": bdt(day2[0].total_bdt),
        },
    ]
    assert body["rows"] == expected
    assert csv_rows == as_text(expected)
    assert body["columns"] == list(expected[0])


async def test_settlement_report_compares_collections_and_payouts_per_day(client, admin, seeded) -> None:
    report = await run_report(client, admin, "settlement")
    assert "transaction-service" in report["notes"]
    csv_rows, body = await download(client, admin, report)
    in_range = seeded[:6]
    received = [t for t in in_range if t.bdt_received_at is not None]
    paid = [t for t in in_range if t.status == "COMPLETED"]
    assert sum(int(r["sslcommerz_collected_count"]) for r in body["rows"]) == len(received)
    total_collected = sum(int(r["sslcommerz_collected_bdt"].replace(".", "")) for r in body["rows"])
    assert total_collected == sum(t.total_bdt for t in received)
    day1 = next(r for r in body["rows"] if r["date"] == "2026-03-10")
    assert day1["paypal_paid_count"] == 2
    assert day1["paypal_paid_usd_equivalent"] == "154.00"  # 100 USD + 50 EUR × 1.08
    assert sum(r["paypal_paid_count"] for r in body["rows"]) == len(paid)
    assert sum(r["refunded_count"] for r in body["rows"]) == 1
    assert csv_rows == as_text(body["rows"])


async def test_currency_and_failure_reports(client, admin, seeded) -> None:
    _, currencies = await download(client, admin, await run_report(client, admin, "currency_breakdown"))
    usd = next(r for r in currencies["rows"] if r["currency"] == "USD")
    assert (usd["transactions"], usd["completed"], usd["foreign_amount"]) == (5, 2, "400.00")
    _, failures = await download(client, admin, await run_report(client, admin, "failure_analysis"))
    assert {(r["status"], r["transactions"]) for r in failures["rows"]} == {
        ("FAILED", 1),
        ("REFUNDED", 1),
        ("EXPIRED", 1),
    }
    failed = next(r for r in failures["rows"] if r["status"] == "FAILED")
    assert (failed["reason"], failed["share"]) == ("payout_failed", "0.1667")


async def test_a_backwards_range_is_a_422_and_unknown_reports_404(client, admin) -> None:
    resp = await client.post(
        "/api/v1/admin/reports",
        json={"kind": "revenue", "date_from": "2026-03-11", "date_to": "2026-03-10"},
        headers=admin,
    )
    assert resp.status_code == 422
    missing = "/api/v1/admin/reports/00000000-0000-0000-0000-000000000000"
    assert (await client.get(missing, headers=admin)).status_code == 404
