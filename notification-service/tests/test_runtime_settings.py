"""Admin-owned runtime settings (`notification.*`): platform-wide channel switches stop a
channel's messages (new ones at enqueue, queued ones at delivery) and leave the other channels
alone; the platform default quiet hours hold non-mandatory SMS/push of users without their own;
`setting.changed` events and admin-service's `GET /internal/settings` are applied, invalid values
ignored."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from admin_service.testing import RunningAdmin, running_admin
from notification_service.models import DeliveryAttempt, Notification
from notification_service.preferences.service import quiet_end_after
from notification_service.settings import QuietWindow, Settings
from shared.db import utcnow
from shared.settings import dev_api_key
from tests.conftest import Service, _service

TXN = {
    "transaction_id": str(uuid.uuid4()),
    "internal_tran_id": "TXN-20261126-RUNTIME1",
    "status": "completed",
    "foreign_currency": "USD",
    "foreign_amount": "25.00",
    "total_bdt": "2996.25",
}
ADMIN_KEY = {"X-API-Key": dev_api_key("admin-service")}
DEVICE = "device-token-runtime-001"


async def setting_changed(service: Service, key: str, value: Any) -> httpx.Response:
    """Deliver admin-service's `setting.changed` event, as its outbox relay does."""
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "setting.changed",
        "producer": "admin-service",
        "subject_id": key,
        "data": {"key": key, "value": value, "old_value": None, "by": "admin-1", "action": "update"},
    }
    resp = await service.client.post("/internal/events", json=envelope, headers=ADMIN_KEY)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "processed"
    return resp


async def rows_by_channel(service: Service) -> dict[str, list[Notification]]:
    out: dict[str, list[Notification]] = {}
    async with service.app.state.db.sessionmaker() as s:
        for row in (await s.scalars(select(Notification).order_by(Notification.created_at))).all():
            out.setdefault(row.channel, []).append(row)
    return out


async def delivered(channel: str, smtp, sandbox) -> int:
    if channel == "email":
        return len(smtp.store.messages)
    return len((await sandbox.state())[channel])


async def add_device(service: Service, user: dict[str, Any], token: str = DEVICE) -> None:
    resp = await service.client.post(
        "/api/v1/notifications/devices", json={"token": token}, headers=service.user(user["id"])
    )
    assert resp.status_code in (200, 201), resp.text


# -- channel switches -------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
async def test_channel_switched_off_is_not_sent_and_switched_on_again_is(
    channel: str, service, users, smtp, sandbox
) -> None:
    user = users.add()
    await add_device(service, user)
    await setting_changed(service, f"notification.{channel}_enabled", False)
    await service.event("transaction.completed", {**TXN, "user_id": user["id"]})
    # Decided at enqueue: visible in history as suppressed, like a user's opt-out.
    rows = await rows_by_channel(service)
    assert (rows[channel][0].status, rows[channel][0].status_reason) == ("suppressed", "channel_disabled")
    await service.deliver_all()
    rows = await rows_by_channel(service)
    others = {"email", "sms", "push"} - {channel}
    assert rows[channel][0].status == "suppressed"
    assert {c: rows[c][0].status for c in others} == dict.fromkeys(others, "sent")
    assert await delivered(channel, smtp, sandbox) == 0
    for other in others:
        assert await delivered(other, smtp, sandbox) == 1

    await setting_changed(service, f"notification.{channel}_enabled", True)
    await service.event("transaction.completed", {**TXN, "user_id": user["id"]})
    await service.deliver_all()
    rows = await rows_by_channel(service)
    assert [r.status for r in rows[channel]] == ["suppressed", "sent"]
    assert await delivered(channel, smtp, sandbox) == 1


async def test_message_queued_before_switch_off_is_not_sent_after_it(service, users, smtp, sandbox) -> None:
    user = users.add()
    await add_device(service, user)
    await service.event("transaction.completed", {**TXN, "user_id": user["id"]})
    assert {c: r[0].status for c, r in (await rows_by_channel(service)).items()} == {
        "email": "queued",
        "sms": "queued",
        "push": "queued",
    }
    await setting_changed(service, "notification.sms_enabled", False)
    await service.deliver_all()
    rows = await rows_by_channel(service)
    sms = rows["sms"][0]
    assert (sms.status, sms.status_reason, sms.sent_at) == ("suppressed", "channel_disabled", None)
    assert sms.attempts == 0  # suppressed when due, never claimed
    assert (rows["email"][0].status, rows["push"][0].status) == ("sent", "sent")
    async with service.app.state.db.sessionmaker() as s:
        attempts = (await s.scalars(select(DeliveryAttempt))).all()
    assert sorted(a.channel for a in attempts) == ["email", "push"]  # no attempt for the SMS
    assert (await sandbox.state())["sms"] == []
    assert len(smtp.store.messages) == 1

    # Switching back on does not resurrect it: suppressed is terminal.
    await setting_changed(service, "notification.sms_enabled", True)
    await service.worker.drain()
    assert (await sandbox.state())["sms"] == []


async def test_channel_switched_off_between_claim_and_send_is_not_sent(service, users, smtp, sandbox) -> None:
    user = users.add()
    await service.event("user.locked", {"user_id": user["id"], "until": "later"})  # email + SMS
    claims = await service.worker.claim()
    assert sorted(c.outgoing.channel for c in claims) == ["email", "sms"]
    await setting_changed(service, "notification.sms_enabled", False)
    assert [await service.worker.process(c) for c in claims] == [True, True]
    rows = await rows_by_channel(service)
    assert (rows["sms"][0].status, rows["sms"][0].status_reason) == ("suppressed", "channel_disabled")
    assert rows["email"][0].status == "sent"
    assert (await sandbox.state())["sms"] == []
    assert len(smtp.store.messages) == 1


# -- platform default quiet hours ---------------------------------------------------------------


async def _account_templates(service: Service) -> None:
    for channel in ("sms", "push"):
        tpl = {
            "key": "account_tip",
            "channel": channel,
            "category": "account",  # not mandatory: quiet hours apply
            "subject": "Tip",
            "body_text": "Hello {{ user_name }}",
            "required_variables": ["user_name"],
        }
        resp = await service.client.post("/api/v1/templates", json=tpl, headers=service.admin())
        assert resp.status_code == 201, resp.text


async def _direct(service: Service, user: dict[str, Any]) -> list[dict[str, Any]]:
    body = {
        "user_id": user["id"],
        "template_key": "account_tip",
        "channels": ["sms", "push"],
        "variables": {"user_name": "R"},
    }
    resp = await service.client.post("/internal/notifications", json=body, headers=ADMIN_KEY)
    assert resp.status_code == 202, resp.text
    return resp.json()["notifications"]


def _hhmm(local, hours: int) -> str:
    return (local + timedelta(hours=hours)).strftime("%H:%M")


async def test_default_quiet_hours_hold_users_without_their_own_only(service, users, smtp, sandbox) -> None:
    zone = ZoneInfo("Asia/Dhaka")
    now = utcnow()
    local = now.astimezone(zone)
    window = {"start": _hhmm(local, -1), "end": _hhmm(local, 1)}  # a window around now
    held_until = quiet_end_after(now, window["start"], window["end"], zone)
    assert held_until is not None
    await _account_templates(service)
    plain = users.add(phone_number="+8801700000011")
    own = users.add(phone_number="+8801700000022")
    await add_device(service, plain, "device-plain-0001")
    await add_device(service, own, "device-own-0001")
    # `own` has quiet hours of their own that do not cover now: they win over the default.
    resp = await service.client.put(
        "/api/v1/preferences/quiet-hours",
        json={"start": _hhmm(local, 3), "end": _hhmm(local, 4)},
        headers=service.user(own["id"]),
    )
    assert resp.status_code == 200, resp.text

    await setting_changed(service, "notification.quiet_hours", window)
    held = await _direct(service, plain)
    sent = await _direct(service, own)
    await service.worker.drain()

    rows = {str(r.id): r for rs in (await rows_by_channel(service)).values() for r in rs}
    assert {(rows[n["id"]].status, rows[n["id"]].scheduled_for) for n in held} == {("queued", held_until)}
    assert {rows[n["id"]].status for n in sent} == {"sent"}
    state = await sandbox.state()
    assert [m["to"] for m in state["sms"]] == [own["phone_number"]]
    assert [p["message"]["token"] for p in state["push"]] == ["device-own-0001"]

    # Reset (null) → the env default, none here: the same user is no longer held.
    await setting_changed(service, "notification.quiet_hours", None)
    again = await _direct(service, plain)
    assert {n["status"] for n in again} == {"queued"}
    await service.worker.drain()
    state = await sandbox.state()
    assert plain["phone_number"] in [m["to"] for m in state["sms"]]


# -- applying settings: events, polling, invalid values ------------------------------------------


async def test_setting_events_apply_reset_to_env_and_ignore_invalid_values(settings, tokens) -> None:
    env = settings.model_copy(
        update={"sms_enabled": False, "default_quiet_hours": QuietWindow(start="23:00", end="06:00")}
    )
    async for service in _service(env, tokens):
        runtime = service.app.state.runtime
        assert runtime.channel_enabled("sms") is False  # env default
        assert runtime.quiet_hours == QuietWindow(start="23:00", end="06:00")

        await setting_changed(service, "notification.sms_enabled", True)
        await setting_changed(service, "push_enabled", False)  # bare keys are accepted too
        await setting_changed(service, "notification.quiet_hours", {"start": "22:00", "end": "07:00"})
        assert (runtime.channel_enabled("sms"), runtime.channel_enabled("push")) == (True, False)
        assert runtime.quiet_hours == QuietWindow(start="22:00", end="07:00")

        for invalid in (
            {"start": "25:00", "end": "07:00"},
            {"start": "7:00", "end": "07:00"},
            {"start": "22:00"},
            {"start": "22:00", "end": "07:00", "timezone": "UTC"},
            {"start": 2200, "end": 700},
            "22:00-07:00",
            ["22:00", "07:00"],
        ):
            await setting_changed(service, "notification.quiet_hours", invalid)
        await setting_changed(service, "notification.email_enabled", "maybe")
        await setting_changed(service, "notification.push_enabled", {"on": True})
        await setting_changed(service, "transaction.fee_percentage", "1.5")  # another owner's key
        assert runtime.quiet_hours == QuietWindow(start="22:00", end="07:00")
        assert runtime.disabled_channels() == ("push",)

        await setting_changed(service, "notification.sms_enabled", None)  # reset → env default
        await setting_changed(service, "notification.quiet_hours", None)
        assert runtime.channel_enabled("sms") is False
        assert runtime.quiet_hours == QuietWindow(start="23:00", end="06:00")


@pytest.fixture
async def admin(make_database: Any, redis_url: str) -> AsyncIterator[RunningAdmin]:
    """The real admin-service (its app on its own migrated database, values set via its API)."""
    async with running_admin(make_database, redis_url) as running:
        yield running


async def test_lifespan_polls_admin_service_settings(settings, tokens, admin: RunningAdmin) -> None:
    await admin.set("notification.sms_enabled", False)
    await admin.set("notification.quiet_hours", {"start": "21:30", "end": "08:00"})
    await admin.set("transaction.fee_percentage", "2.5")  # not ours
    s = settings.model_copy(
        update={
            "admin_service_url": admin.url,
            "runtime_settings_refresh": True,
            "runtime_settings_interval": 0.05,
        }
    )
    async for service in _service(s, tokens):
        runtime = service.app.state.runtime
        for _ in range(250):
            if runtime.quiet_hours is not None:
                break
            await asyncio.sleep(0.02)
        assert runtime.quiet_hours == QuietWindow(start="21:30", end="08:00")
        assert runtime.disabled_channels() == ("sms",)
        await admin.unset("notification.sms_enabled")  # admin reset, no event: the poll sees it
        for _ in range(250):
            if runtime.channel_enabled("sms"):
                break
            await asyncio.sleep(0.02)
        assert runtime.disabled_channels() == ()


def test_env_settings_validate_defaults_and_interval() -> None:
    ok = Settings(environment="test", default_quiet_hours='{"start": "22:00", "end": "07:00"}')
    assert ok.default_quiet_hours == QuietWindow(start="22:00", end="07:00")
    assert (ok.email_enabled, ok.sms_enabled, ok.push_enabled) == (True, True, True)
    assert Settings(environment="test").default_quiet_hours is None
    assert Settings(environment="test").runtime_settings_interval == 60.0
    with pytest.raises(ValidationError):
        Settings(environment="test", default_quiet_hours='{"start": "22:00", "end": "24:00"}')
    with pytest.raises(ValidationError):
        Settings(environment="test", runtime_settings_interval=61)
    with pytest.raises(ValidationError):
        Settings(environment="test", default_timezone="Mars/Base")
