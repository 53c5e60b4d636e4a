"""Object-level access: owners, support and admins see a transaction; anyone else gets 404."""

from __future__ import annotations

import uuid

from tests.helpers import PAYMENT_SERVICE_KEY, create_txn


async def test_owner_support_and_admin_can_read(client, user, support, admin) -> None:
    txn = await create_txn(client, user)
    for actor in (user, support, admin):
        resp = await client.get(f"/api/v1/transactions/{txn['id']}", headers=actor.headers)
        assert resp.status_code == 200
        assert resp.json()["id"] == txn["id"]


async def test_another_user_gets_404_for_the_transaction_and_its_history(client, user, other_user) -> None:
    txn = await create_txn(client, user)
    for path in (f"/api/v1/transactions/{txn['id']}", f"/api/v1/transactions/{txn['id']}/history"):
        resp = await client.get(path, headers=other_user.headers)
        assert resp.status_code == 404
        assert resp.json()["code"] == "transaction_not_found"
    resp = await client.post(f"/api/v1/transactions/{txn['id']}/cancel", headers=other_user.headers)
    assert resp.status_code == 404


async def test_unknown_transaction_is_404(client, user) -> None:
    resp = await client.get(f"/api/v1/transactions/{uuid.uuid4()}", headers=user.headers)
    assert resp.status_code == 404


async def test_support_cannot_cancel(client, user, support) -> None:
    txn = await create_txn(client, user)
    resp = await client.post(f"/api/v1/transactions/{txn['id']}/cancel", headers=support.headers)
    assert resp.status_code == 404


async def test_cancel_only_while_pending(client, user) -> None:
    txn = await create_txn(client, user)
    first = await client.post(f"/api/v1/transactions/{txn['id']}/cancel", headers=user.headers)
    assert first.status_code == 200 and first.json()["status"] == "CANCELLED"
    again = await client.post(f"/api/v1/transactions/{txn['id']}/cancel", headers=user.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_status"


async def test_list_shows_only_own_transactions_with_filters_and_pages(client, user, other_user) -> None:
    a = await create_txn(client, user, "10.00")
    b = await create_txn(client, user, "20.00", "EUR")
    await create_txn(client, user, "30.00")
    await create_txn(client, other_user)
    page1 = (await client.get("/api/v1/transactions", params={"size": 2}, headers=user.headers)).json()
    page2 = (
        await client.get("/api/v1/transactions", params={"size": 2, "page": 2}, headers=user.headers)
    ).json()
    assert page1["total"] == 3 and len(page1["items"]) == 2 and len(page2["items"]) == 1
    ids = [t["id"] for t in page1["items"] + page2["items"]]
    assert len(set(ids)) == 3 and a["id"] in ids
    eur = (await client.get("/api/v1/transactions", params={"currency": "EUR"}, headers=user.headers)).json()
    assert [t["id"] for t in eur["items"]] == [b["id"]]
    await client.post(f"/api/v1/transactions/{a['id']}/cancel", headers=user.headers)
    cancelled = (
        await client.get("/api/v1/transactions", params={"status": "CANCELLED"}, headers=user.headers)
    ).json()
    assert [t["id"] for t in cancelled["items"]] == [a["id"]]
    future = (
        await client.get(
            "/api/v1/transactions", params={"date_from": "2100-01-01T00:00:00Z"}, headers=user.headers
        )
    ).json()
    assert future["total"] == 0


async def test_users_cannot_list_others_but_staff_can(client, user, other_user, support) -> None:
    await create_txn(client, other_user)
    resp = await client.get("/api/v1/transactions", params={"user_id": other_user.id}, headers=user.headers)
    assert resp.status_code == 403
    staff = await client.get(
        "/api/v1/transactions", params={"user_id": other_user.id}, headers=support.headers
    )
    assert staff.status_code == 200 and staff.json()["total"] == 1


async def test_internal_record_needs_the_service_key(client, user) -> None:
    txn = await create_txn(client, user)
    assert (await client.get(f"/internal/transactions/{txn['id']}", headers=user.headers)).status_code == 401
    resp = await client.get(f"/internal/transactions/{txn['id']}", headers={"X-API-Key": PAYMENT_SERVICE_KEY})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "id",
        "internal_tran_id",
        "user_id",
        "status",
        "on_hold",
        "hold_reason",
        "foreign_currency",
        "foreign_amount",
        "recipient_paypal_email",
        "payment_purpose",
        "rate_to_bdt",
        "bdt_amount",
        "fee_bdt",
        "total_bdt",
        "created_at",
        "updated_at",
        "expires_at",
    }
    assert (body["foreign_amount"], body["recipient_paypal_email"], body["total_bdt"]) == (
        "100.00",
        "alice@example.com",
        "11985.00",
    )


async def test_endpoints_require_a_token(client) -> None:
    for method, path in (
        ("GET", "/api/v1/transactions"),
        ("GET", "/api/v1/limits"),
        ("GET", "/api/v1/history/export"),
        ("GET", "/api/v1/transactions/stats"),
    ):
        assert (await client.request(method, path)).status_code == 401


async def test_unknown_status_filter_is_422(client, user) -> None:
    resp = await client.get("/api/v1/transactions", params={"status": "DONE"}, headers=user.headers)
    assert resp.status_code == 422
