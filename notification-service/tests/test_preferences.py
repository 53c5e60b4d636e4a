"""Preferences: opted-out categories are not sent, mandatory (security, money) ones always are,
marketing is off by default, quiet hours hold non-mandatory SMS."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from notification_service.models import Notification
from notification_service.preferences.service import quiet_end_after
from shared.sealed import seal
from shared.settings import ServiceSettings

SEAL_KEY = ServiceSettings(environment="test").event_seal_key.get_secret_value()


async def test_opted_out_category_is_not_sent_but_security_mail_is(service, users, smtp) -> None:
    user = users.add()
    resp = await service.client.put(
        "/api/v1/preferences/account/email", json={"enabled": False}, headers=service.user(user["id"])
    )
    assert resp.status_code == 200, resp.text
    assert {"category": "account", "channel": "email", "enabled": False, "mandatory": False} in resp.json()[
        "preferences"
    ]
    await service.event("user.registered", {"user_id": user["id"]})
    sealed = seal({"url": "https://x.example/reset", "token_expires_at": "soon"}, SEAL_KEY)
    await service.event("user.password_reset_requested", {"user_id": user["id"], "sealed": sealed})
    await service.deliver_all()
    assert [m["subject"] for m in smtp.store.messages] == ["Reset your password"]
    async with service.app.state.db.sessionmaker() as s:
        rows = {r.template_key: r for r in (await s.scalars(select(Notification))).all()}
    assert rows["welcome"].status == "suppressed"
    assert rows["welcome"].status_reason == "opted_out"
    assert rows["password_reset"].status == "sent"


async def test_security_and_money_messages_cannot_be_switched_off(service, users) -> None:
    user = users.add()
    for category in ("security", "transactions"):
        resp = await service.client.put(
            f"/api/v1/preferences/{category}/sms", json={"enabled": False}, headers=service.user(user["id"])
        )
        assert resp.status_code == 422
        assert resp.json()["code"] == "mandatory_category"


async def test_marketing_defaults_off_and_opt_in_adds_list_unsubscribe(service, users, smtp) -> None:
    user = users.add()
    prefs = await service.client.get("/api/v1/preferences", headers=service.user(user["id"]))
    marketing = [p for p in prefs.json()["preferences"] if p["category"] == "marketing"]
    assert marketing and not any(p["enabled"] for p in marketing)
    tpl = {
        "key": "promo",
        "channel": "email",
        "category": "marketing",
        "subject": "News",
        "body_text": "Hello {{ user_name }}",
        "required_variables": ["user_name"],
    }
    assert (
        await service.client.post("/api/v1/templates", json=tpl, headers=service.admin())
    ).status_code == 201
    send = {"user_id": user["id"], "template_key": "promo", "variables": {"user_name": "R"}}
    key = {"X-API-Key": "dev-admin-service-key"}
    first = await service.client.post("/internal/notifications", json=send, headers=key)
    assert first.status_code == 202, first.text
    assert first.json()["notifications"][0]["status"] == "suppressed"
    await service.client.put(
        "/api/v1/preferences/marketing/email", json={"enabled": True}, headers=service.user(user["id"])
    )
    second = await service.client.post("/internal/notifications", json=send, headers=key)
    assert second.json()["notifications"][0]["status"] == "queued"
    await service.deliver_all()
    assert len(smtp.store.messages) == 1
    headers = smtp.store.messages[0]["headers"]
    assert " ".join(headers["List-Unsubscribe"].split()) == (
        "<http://127.0.0.1:8000/api/v1/preferences?category=marketing>, "
        "<mailto:unsubscribe@payment-gateway.local?subject=unsubscribe-marketing>"
    )


async def test_transactional_mail_has_no_list_unsubscribe(service, users, smtp) -> None:
    user = users.add()
    await service.event("user.password_changed", {"user_id": user["id"]})
    await service.deliver_all()
    headers = smtp.store.messages[0]["headers"]
    assert "List-Unsubscribe" not in headers
    assert headers["Message-ID"].endswith("@payment-gateway.local>")


async def test_quiet_hours_window_wraps_midnight() -> None:
    dhaka = ZoneInfo("Asia/Dhaka")  # UTC+6
    inside = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # 00:00 local
    end = quiet_end_after(inside, "22:00", "07:00", dhaka)
    assert end == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 07:00 local
    outside = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 12:00 local
    assert quiet_end_after(outside, "22:00", "07:00", dhaka) is None


async def test_quiet_hours_are_stored_and_validated(service, users) -> None:
    user = users.add()
    h = service.user(user["id"])
    bad = await service.client.put(
        "/api/v1/preferences/quiet-hours",
        json={"start": "22:00", "end": "07:00", "timezone": "Mars/Base"},
        headers=h,
    )
    assert bad.status_code == 422
    ok = await service.client.put(
        "/api/v1/preferences/quiet-hours", json={"start": "22:00", "end": "07:00"}, headers=h
    )
    assert ok.status_code == 200
    assert ok.json()["quiet_hours"] == {"start": "22:00", "end": "07:00", "timezone": "Asia/Dhaka"}
