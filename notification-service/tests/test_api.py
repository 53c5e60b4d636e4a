"""The notifications API: own history (filters, pagination, other users' rows invisible), admin
search, devices, the service-only direct send, and the SMTP sink's HTTP view."""

from __future__ import annotations

import uuid

import httpx

from notification_service.smtp_sink import MessageStore, http_app
from shared.settings import dev_api_key
from shared.testing.plugin import asgi_client

TXN = {
    "transaction_id": str(uuid.uuid4()),
    "internal_tran_id": "TXN-20261126-HISTORY1",
    "status": "completed",
    "foreign_currency": "USD",
    "foreign_amount": "10.00",
    "total_bdt": "1198.50",
}
SERVICE_KEY = {"X-API-Key": dev_api_key("transaction-service")}


async def test_history_lists_only_my_messages_with_filters_and_pages(service, users, smtp) -> None:
    me, other = users.add(), users.add()
    await service.event("transaction.completed", {**TXN, "user_id": me["id"]})
    await service.event("user.password_changed", {"user_id": me["id"]})
    await service.event("user.password_changed", {"user_id": other["id"]})
    await service.deliver_all()
    h = service.user(me["id"])

    everything = (await service.client.get("/api/v1/notifications", headers=h)).json()
    assert everything["total"] == 3  # completed: email + sms; password_changed: email
    emails = (await service.client.get("/api/v1/notifications?channel=email&size=1&page=2", headers=h)).json()
    assert (emails["total"], emails["page"], emails["size"], len(emails["items"])) == (2, 2, 1, 1)
    by_txn = (
        await service.client.get("/api/v1/notifications?internal_tran_id=TXN-20261126-HISTORY1", headers=h)
    ).json()
    assert {i["channel"] for i in by_txn["items"]} == {"email", "sms"}
    item = [i for i in by_txn["items"] if i["channel"] == "email"][0]
    assert item["subject"] == "Transfer TXN-20261126-HISTORY1 completed"
    assert item["status"] == "sent"
    assert item["internal_tran_id"] == "TXN-20261126-HISTORY1"
    assert item["sent_at"] and item["created_at"]
    assert "recipient" not in item


async def test_history_requires_a_token(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/notifications")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_admin_search_spans_users_and_is_staff_only(service, users, smtp) -> None:
    a, b = users.add(), users.add()
    await service.event("user.password_changed", {"user_id": a["id"]})
    await service.event("user.password_changed", {"user_id": b["id"]})
    denied = await service.client.get("/api/v1/notifications/admin/search", headers=service.user(a["id"]))
    assert denied.status_code == 403
    found = await service.client.get(
        f"/api/v1/notifications/admin/search?user_id={b['id']}", headers=service.admin()
    )
    assert found.status_code == 200
    assert [(i["user_id"], i["recipient"], i["status"]) for i in found.json()["items"]] == [
        (b["id"], b["email"], "queued")
    ]


async def test_direct_send_needs_a_service_key(client: httpx.AsyncClient) -> None:
    resp = await client.post("/internal/notifications", json={"user_id": "x", "template_key": "welcome"})
    assert resp.status_code == 401


async def test_direct_send_unknown_user_is_404(service, users) -> None:
    body = {"user_id": str(uuid.uuid4()), "template_key": "password_changed", "variables": {"user_name": "x"}}
    resp = await service.client.post("/internal/notifications", json=body, headers=SERVICE_KEY)
    assert resp.status_code == 404
    assert resp.json()["code"] == "user_not_found"


async def test_direct_send_missing_variable_fails_before_queueing(service, users) -> None:
    user = users.add()
    body = {"user_id": user["id"], "template_key": "password_changed", "variables": {}}
    resp = await service.client.post("/internal/notifications", json=body, headers=SERVICE_KEY)
    assert resp.status_code == 422
    assert resp.json()["detail"] == "missing required variables: user_name"


async def test_direct_send_is_idempotent_per_key_and_uses_directory_address(service, users, smtp) -> None:
    user = users.add()
    body = {
        "user_id": user["id"],
        "template_key": "password_changed",
        "variables": {"user_name": "Rahim", "email": "attacker@evil.example"},
        "idempotency_key": "reminder-1",
        "channels": ["email"],
    }
    first = await service.client.post("/internal/notifications", json=body, headers=SERVICE_KEY)
    second = await service.client.post("/internal/notifications", json=body, headers=SERVICE_KEY)
    assert first.status_code == 202, first.text
    assert first.json()["notifications"][0]["id"] == second.json()["notifications"][0]["id"]
    await service.deliver_all()
    assert [m["rcpt_tos"] for m in smtp.store.messages] == [[user["email"]]]


async def test_devices_register_list_delete_own_only(service, users) -> None:
    me, other = users.add(), users.add()
    created = await service.client.post(
        "/api/v1/notifications/devices",
        json={"token": "fcm-token-1234567890", "platform": "ios"},
        headers=service.user(me["id"]),
    )
    assert created.status_code == 201
    assert created.json()["token_suffix"] == "567890"
    listed = await service.client.get("/api/v1/notifications/devices", headers=service.user(me["id"]))
    assert [d["platform"] for d in listed.json()] == ["ios"]
    device_id = created.json()["id"]
    theirs = await service.client.delete(
        f"/api/v1/notifications/devices/{device_id}", headers=service.user(other["id"])
    )
    assert theirs.status_code == 404
    mine = await service.client.delete(
        f"/api/v1/notifications/devices/{device_id}", headers=service.user(me["id"])
    )
    assert mine.status_code == 204


async def test_smtp_sink_lists_messages_as_json_and_shows_html_sandboxed(service, users, smtp) -> None:
    user = users.add()
    await service.event("user.password_changed", {"user_id": user["id"]})
    await service.deliver_all()
    store: MessageStore = smtp.store
    async with asgi_client(http_app(store)) as view:
        listed = (await view.get("/messages")).json()
        assert [m["to"] for m in listed] == [user["email"]]
        one = await view.get(f"/messages/{listed[0]['id']}")
        assert one.json()["subject"] == "Your password was changed"
        html = await view.get(f"/messages/{listed[0]['id']}/html")
        assert html.headers["content-type"].startswith("text/html")
        assert "sandbox" in html.headers["content-security-policy"]
        assert "<p>Hello Rahim Uddin,</p>" in html.text
        assert (await view.get("/messages/999")).status_code == 404
