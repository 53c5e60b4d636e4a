"""The delivery queue: outage → retries → failover to the secondary, delivered once; dead letters
and admin retry; a crash between claim and send neither loses nor duplicates; concurrent workers
never send a message twice."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from notification_service.models import DeliveryAttempt, DeviceToken, Notification
from shared.devstack import free_port
from tests.conftest import _service

TXN = {
    "transaction_id": str(uuid.uuid4()),
    "internal_tran_id": "TXN-20261126-FAILOVER",
    "status": "completed",
    "foreign_currency": "USD",
    "foreign_amount": "50.00",
    "total_bdt": "5990.00",
}


async def _rows(service, model=Notification):
    async with service.app.state.db.sessionmaker() as s:
        return list((await s.scalars(select(model).order_by(model.id))).all())


async def test_sms_outage_retries_then_fails_over_to_secondary_and_delivers_once(
    settings, tokens, users, smtp, sandbox, sandbox2
) -> None:
    await sandbox.arm("/2010-04-01/", "status=503", times=None)  # primary down until cleared
    s = settings.model_copy(update={"sms_secondary_base_url": sandbox2.url})
    async for service in _service(s, tokens):
        user = users.add()
        await service.event("transaction.refunded", {**TXN, "user_id": user["id"]})
        await service.deliver_all()
        sms = [r for r in await _rows(service) if r.channel == "sms"][0]
        attempts = [a for a in await _rows(service, DeliveryAttempt) if a.notification_id == sms.id]
        stats = await service.client.get("/api/v1/notifications/admin/stats", headers=service.admin())

    assert sms.status == "sent"
    assert sms.provider == "twilio-secondary"
    assert [(a.provider, a.ok) for a in attempts] == [
        ("twilio-primary", False),
        ("twilio-primary", False),  # breaker threshold 2 → open
        ("twilio-secondary", True),
    ]
    assert attempts[0].error == "HTTP 503 code 20500"
    assert attempts[2].provider_message_id == sms.provider_message_id
    assert sms.provider_message_id.startswith("SM")
    assert all(a.latency_ms >= 0 for a in attempts)
    assert (await sandbox.state())["sms"] == []
    assert [m["to"] for m in (await sandbox2.state())["sms"]] == [user["phone_number"]]
    assert len(smtp.store.messages) == 1  # the email went through untouched
    body = stats.json()
    assert body["breakers"]["twilio-primary"] == "open"
    sms_row = [r for r in body["by_provider"] if r["provider"] == "twilio-secondary"][0]
    assert sms_row == {
        "channel": "sms",
        "provider": "twilio-secondary",
        "sent": 1,
        "failed": 0,
        "failed_attempts": 0,
        "delivery_rate": 1.0,
    }
    primary = [r for r in body["by_channel"] if r["channel"] == "sms"][0]
    assert primary["failed_attempts"] == 2


async def test_email_fails_over_to_secondary_smtp_when_primary_unreachable(
    settings, tokens, users, smtp
) -> None:
    s = settings.model_copy(
        update={
            "smtp_port": free_port(),  # nobody listens: connection refused
            "smtp_secondary_host": "127.0.0.1",
            "smtp_secondary_port": smtp.port,
            "smtp_secondary_security": "none",
        }
    )
    async for service in _service(s, tokens):
        user = users.add()
        await service.event("user.password_changed", {"user_id": user["id"]})
        await service.deliver_all()
        (row,) = await _rows(service)
    assert row.status == "sent"
    assert row.provider == "smtp-secondary"
    assert row.attempts == 3
    assert len(smtp.store.messages) == 1


async def test_exhausted_retries_dead_letter_then_admin_retry_delivers(service, users, smtp, sandbox) -> None:
    await sandbox.arm("/2010-04-01/", "status=500", times=None)
    user = users.add()
    await service.event("user.locked", {"user_id": user["id"], "until": "later"})
    await service.deliver_all()
    sms = [r for r in await _rows(service) if r.channel == "sms"][0]
    assert sms.status == "dead"
    assert sms.status_reason == "retries_exhausted"
    assert sms.attempts == 4

    await sandbox.http.delete(f"{sandbox.url}/sandbox/faults")
    service.worker.chains["sms"].breakers["twilio-primary"].record_success()  # provider recovered
    denied = await service.client.post(
        f"/api/v1/notifications/admin/{sms.id}/retry", headers=service.user(str(uuid.uuid4()), role="support")
    )
    assert denied.status_code == 403
    resp = await service.client.post(f"/api/v1/notifications/admin/{sms.id}/retry", headers=service.admin())
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "queued"
    await service.deliver_all()
    again = await service.client.post(f"/api/v1/notifications/admin/{sms.id}/retry", headers=service.admin())
    assert again.status_code == 409
    detail = await service.client.get(f"/api/v1/notifications/admin/{sms.id}", headers=service.admin())
    assert detail.json()["status"] == "sent"
    assert [a["ok"] for a in detail.json()["attempts_log"]] == [False, False, False, False, True]
    assert len((await sandbox.state())["sms"]) == 1


async def test_permanent_provider_error_dead_letters_at_once(service, users, sandbox) -> None:
    user = users.add(phone_number="+15005550001")  # Twilio's magic invalid number
    await service.event("user.locked", {"user_id": user["id"], "until": "later"})
    await service.deliver_all()
    sms = [r for r in await _rows(service) if r.channel == "sms"][0]
    assert (sms.status, sms.status_reason, sms.attempts) == ("dead", "permanent_error", 1)
    assert "21211" in sms.last_error


async def test_unregistered_push_token_is_deactivated(service, users, sandbox) -> None:
    user = users.add()
    await service.client.post(
        "/api/v1/notifications/devices",
        json={"token": "invalid-device-0001"},
        headers=service.user(user["id"]),
    )
    await service.event("transaction.completed", {**TXN, "user_id": user["id"]})
    await service.deliver_all()
    push = [r for r in await _rows(service) if r.channel == "push"][0]
    assert push.status == "dead"
    (device,) = await _rows(service, DeviceToken)
    assert device.active is False


async def test_crash_between_claim_and_send_neither_loses_nor_duplicates(
    settings, tokens, users, smtp
) -> None:
    s = settings.model_copy(update={"delivery_lease_seconds": 0.5})
    async for service in _service(s, tokens):
        user = users.add()
        await service.event("user.password_changed", {"user_id": user["id"]})
        crashed = await service.worker.claim()  # worker A claims … and dies before sending
        assert len(crashed) == 1
        assert await service.worker.run_once() == 0  # the lease protects the claim
        assert list(smtp.store.messages) == []
        await asyncio.sleep(0.6)  # lease expires
        assert await service.worker.run_once() == 1  # worker B picks it up
        # Worker A comes back from the dead and tries to complete its stale claim: refused.
        late = await service.worker.process(crashed[0])
        (row,) = await _rows(service)
    assert late is False
    assert row.status == "sent"
    assert row.attempts == 2
    assert len(smtp.store.messages) == 1
    assert smtp.store.messages[0]["message_id"] == f"<{row.id}@payment-gateway.local>"


async def test_concurrent_workers_send_each_message_exactly_once(settings, tokens, users, smtp) -> None:
    s = settings.model_copy(update={"delivery_batch_size": 3})
    async for service in _service(s, tokens):
        for _ in range(12):
            user = users.add()
            await service.event("user.password_changed", {"user_id": user["id"]})
        await asyncio.gather(service.worker.drain(), service.worker.drain(), service.worker.drain())
        await service.deliver_all()
    ids = [m["message_id"] for m in smtp.store.messages]
    assert len(ids) == 12
    assert len(set(ids)) == 12


async def test_background_worker_is_woken_by_the_commit_and_exports_metrics(
    settings, tokens, users, smtp
) -> None:
    s = settings.model_copy(update={"delivery_worker_enabled": True, "delivery_poll_interval": 30})
    async for service in _service(s, tokens):
        user = users.add()
        await service.event("user.password_changed", {"user_id": user["id"]})
        # Poll interval is 30 s: arriving within 5 s proves the commit hook woke the worker.
        await smtp.store.wait_for(1, 5)
        metrics = (await service.client.get("/metrics")).text
    assert 'notifications_sent_total{channel="email",provider="smtp-primary"}' in metrics
    assert 'notification_queue{status="sent"}' in metrics
