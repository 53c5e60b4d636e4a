"""Per-user limits in USD equivalent: reserved atomically at creation (never both of two
concurrent requests past a limit), released on every path that does not complete."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.helpers import create_txn, envelope, post_event, transfer
from transaction_service.limits.windows import windows, zone


async def _set_limits(client, admin, user_id: str, **limits: str | None) -> dict:
    resp = await client.put(
        f"/api/v1/limits/{user_id}", json={**limits, "reason": "test"}, headers=admin.headers
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_limits_show_defaults_and_what_remains(client, user) -> None:
    await create_txn(client, user, "100.00")
    body = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert body["currency"] == "USD" and body["timezone"] == "Asia/Dhaka"
    assert body["per_transaction"] == {"min": "10.00", "max": "10000.00"}
    assert (body["daily"]["limit"], body["daily"]["used"], body["daily"]["remaining"]) == (
        "5000.00",
        "100.00",
        "4900.00",
    )
    assert body["monthly"]["limit"] == "25000.00" and body["yearly"]["limit"] == "100000.00"


async def test_check_says_whether_an_amount_fits(client, admin, user) -> None:
    await _set_limits(client, admin, user.id, daily_limit="150.00")
    ok = (
        await client.get(
            "/api/v1/limits/check", params={"currency": "USD", "amount": "150.00"}, headers=user.headers
        )
    ).json()
    too_much = (
        await client.get(
            "/api/v1/limits/check", params={"currency": "EUR", "amount": "200.00"}, headers=user.headers
        )
    ).json()
    assert ok["allowed"] is True and ok["violations"] == []
    assert too_much["allowed"] is False and too_much["violations"] == ["daily_limit"]
    assert too_much["usd_equivalent"] == "216.60"  # 200 EUR × 127.25 / 117.50


async def test_exceeding_the_daily_limit_is_refused(client, admin, user) -> None:
    await _set_limits(client, admin, user.id, daily_limit="150.00")
    await create_txn(client, user, "100.00")
    resp = await client.post("/api/v1/transactions", json=transfer("60.00"), headers=user.headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "limit_exceeded"
    assert resp.json()["limits_exceeded"] == ["daily_limit"]
    assert resp.json()["remaining_usd"] == "50.00"


async def test_two_concurrent_requests_can_never_both_pass_a_limit(client, app, stub, admin, user) -> None:
    await _set_limits(client, admin, user.id, daily_limit="100.00")
    stub.state.session_delay = 0.3  # the first holds the user's limit lock while payment-service answers
    results = await asyncio.gather(
        *(client.post("/api/v1/transactions", json=transfer("60.00"), headers=user.headers) for _ in range(3))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 422, 422]
    limits = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert limits["daily"]["used"] == "60.00"


async def test_cancel_releases_the_reservation(client, admin, user) -> None:
    await _set_limits(client, admin, user.id, daily_limit="100.00")
    first = await create_txn(client, user, "80.00")
    assert (
        await client.post("/api/v1/transactions", json=transfer("80.00"), headers=user.headers)
    ).status_code == 422
    assert (
        await client.post(f"/api/v1/transactions/{first['id']}/cancel", headers=user.headers)
    ).status_code == 200
    await create_txn(client, user, "80.00")


async def test_failed_payment_releases_the_reservation(client, user) -> None:
    txn = await create_txn(client, user, "100.00")
    await post_event(client, envelope("payment.failed", txn["id"], reason="card declined"))
    body = (await client.get("/api/v1/limits", headers=user.headers)).json()
    assert body["daily"]["used"] == "0.00"


async def test_admin_sets_and_resets_a_users_limits(client, admin, user) -> None:
    body = await _set_limits(client, admin, user.id, daily_limit="200.00", monthly_limit="1000.00")
    assert (body["daily"]["limit"], body["monthly"]["limit"], body["yearly"]["limit"]) == (
        "200.00",
        "1000.00",
        "100000.00",
    )
    assert body["updated_by"] == admin.id
    body = await _set_limits(client, admin, user.id, daily_limit=None)
    assert body["daily"]["limit"] == "5000.00"


async def test_only_admins_set_limits(client, support, user) -> None:
    for actor in (support, user):
        resp = await client.put(
            f"/api/v1/limits/{user.id}", json={"daily_limit": "1.00", "reason": "nope"}, headers=actor.headers
        )
        assert resp.status_code == 403


def test_calendar_windows_are_in_asia_dhaka() -> None:
    # 2026-12-31 20:00 UTC is already 2027-01-01 02:00 in Dhaka (UTC+6).
    wins = windows(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), zone("Asia/Dhaka"))
    assert wins["daily"].start == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert wins["daily"].end == datetime(2027, 1, 1, 18, 0, tzinfo=UTC)
    assert wins["monthly"].start == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert wins["monthly"].end == datetime(2027, 1, 31, 18, 0, tzinfo=UTC)
    assert wins["yearly"].start == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
