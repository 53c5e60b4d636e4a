"""History export (streamed CSV/JSON) and stats (own; admin platform-wide)."""

from __future__ import annotations

import csv
import io

from tests.helpers import create_txn, envelope, post_event


async def test_export_csv_lists_own_transactions(client, user, other_user) -> None:
    a = await create_txn(client, user, "10.00")
    b = await create_txn(client, user, "5000", "JPY")
    await create_txn(client, other_user)
    resp = await client.get("/api/v1/history/export", params={"format": "csv"}, headers=user.headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["id"] for r in rows] == [a["id"], b["id"]]
    assert (rows[1]["foreign_currency"], rows[1]["foreign_amount"], rows[1]["total_bdt"]) == (
        "JPY",
        "5000",
        "4003.50",
    )


async def test_export_json_is_a_list_of_records(client, user) -> None:
    a = await create_txn(client, user)
    resp = await client.get("/api/v1/history/export", params={"format": "json"}, headers=user.headers)
    assert resp.status_code == 200
    body = resp.json()
    assert [r["id"] for r in body] == [a["id"]] and body[0]["total_bdt"] == "11985.00"


async def test_export_rejects_an_unknown_format(client, user) -> None:
    resp = await client.get("/api/v1/history/export", params={"format": "xml"}, headers=user.headers)
    assert resp.status_code == 422


async def test_stats_are_own_for_users(client, user, other_user) -> None:
    done = await create_txn(client, user, "100.00")
    await create_txn(client, user, "50.00", "EUR")
    await create_txn(client, other_user)
    await post_event(client, envelope("payment.cancelled", done["id"]))
    body = (await client.get("/api/v1/transactions/stats", headers=user.headers)).json()
    assert body["scope"] == "own" and body["total_count"] == 2
    assert body["by_status"]["CANCELLED"] == 1 and body["by_status"]["PENDING"] == 1
    assert body["by_currency"]["USD"] == {
        "count": 1,
        "foreign_amount": "100.00",
        "total_bdt": "11985.00",
        "by_status": {"CANCELLED": 1},
    }


async def test_stats_are_platform_wide_for_admins(client, user, other_user, admin) -> None:
    await create_txn(client, user)
    await create_txn(client, other_user)
    body = (await client.get("/api/v1/transactions/stats", headers=admin.headers)).json()
    assert body["scope"] == "platform" and body["total_count"] >= 2
