"""Every consumed event produces the right message to the right address, exactly once, even when
the event is delivered twice; the address always comes from user-service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from notification_service.models import InboxEvent, Notification
from shared.sealed import seal
from shared.settings import ServiceSettings

SEAL_KEY = ServiceSettings(environment="test").event_seal_key.get_secret_value()
TXN_ID = str(uuid.uuid4())
TXN = {
    "transaction_id": TXN_ID,
    "internal_tran_id": "TXN-20261126-ABCDEF12",
    "status": "x",
    "foreign_currency": "USD",
    "foreign_amount": "100.00",
    "total_bdt": "11985.00",
}


def _data(event_type: str, user_id: str) -> dict[str, Any]:
    if event_type == "user.email_verification_requested":
        sealed = seal(
            {"url": "https://pay.example/verify?t=secret-verify", "token_expires_at": "2026-11-27"}, SEAL_KEY
        )
        return {"user_id": user_id, "sealed": sealed}
    if event_type == "user.password_reset_requested":
        sealed = seal(
            {"url": "https://pay.example/reset?t=secret-reset", "token_expires_at": "2026-11-27"}, SEAL_KEY
        )
        return {"user_id": user_id, "sealed": sealed}
    if event_type == "user.locked":
        return {"user_id": user_id, "until": "2026-11-26T13:00:00Z"}
    if event_type.startswith("user."):
        return {"user_id": user_id, "username": "ignored", "email_verified": False}
    data = {**TXN, "user_id": user_id}
    if event_type == "transaction.created":
        data.update(payment_url="https://sandbox.example/pay/abc", expires_at="2026-11-26T12:30:00Z")
    if event_type == "transaction.failed":
        data["reason"] = "payment declined"
    return data


# event type → (email subject fragment, email body fragment, sms expected, push expected)
CASES: dict[str, tuple[str, str, bool, bool]] = {
    "user.registered": ("Welcome to Payment Gateway", "Your username is", False, False),
    "user.email_verification_requested": (
        "Verify your email",
        "https://pay.example/verify?t=secret-verify",
        False,
        False,
    ),
    "user.password_reset_requested": (
        "Reset your password",
        "https://pay.example/reset?t=secret-reset",
        False,
        False,
    ),
    "user.locked": ("temporarily locked", "locked until 2026-11-26T13:00:00Z", True, False),
    "user.password_changed": ("password was changed", "just changed", False, False),
    "transaction.created": (
        "Complete your payment for TXN-20261126-ABCDEF12",
        "https://sandbox.example/pay/abc",
        True,
        False,
    ),
    "transaction.bdt_received": ("Payment received", "100.00 USD (11985.00 BDT)", False, True),
    "transaction.completed": ("Transfer TXN-20261126-ABCDEF12 completed", "is complete", True, True),
    "transaction.failed": ("Transfer TXN-20261126-ABCDEF12 failed", "payment declined", True, True),
    "transaction.refunded": ("Refund for TXN-20261126-ABCDEF12", "We refunded 11985.00 BDT", True, False),
    "transaction.expired": ("Transfer TXN-20261126-ABCDEF12 expired", "Nothing was charged", False, False),
}


@pytest.mark.parametrize("event_type", list(CASES))
async def test_event_sends_right_message_to_right_address_once_despite_redelivery(
    event_type: str, service, users, smtp, sandbox
) -> None:
    user = users.add()
    await service.client.post(
        "/api/v1/notifications/devices",
        json={"token": "device-token-abcdef123"},
        headers=service.user(user["id"]),
    )
    event_id = str(uuid.uuid4())
    data = _data(event_type, user["id"])
    # The event carries a different address: it must be ignored.
    data["email"] = "attacker@evil.example"
    first = await service.event(event_type, data, subject_id=user["id"], event_id=event_id)
    second = await service.event(event_type, data, subject_id=user["id"], event_id=event_id)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "processed"
    assert second.json()["status"] == "duplicate"
    await service.deliver_all()

    subject, fragment, want_sms, want_push = CASES[event_type]
    mails = smtp.store.messages
    assert len(mails) == 1
    assert mails[0]["rcpt_tos"] == [user["email"]]
    assert subject in mails[0]["subject"]
    assert fragment in mails[0]["text"]
    assert mails[0]["html"] is not None
    state = await sandbox.state()
    assert [m["to"] for m in state["sms"]] == ([user["phone_number"]] if want_sms else [])
    assert [p["message"]["token"] for p in state["push"]] == (["device-token-abcdef123"] if want_push else [])
    async with service.app.state.db.sessionmaker() as s:
        statuses = (await s.scalars(select(Notification.status))).all()
        assert set(statuses) == {"sent"}
        assert await s.scalar(select(func.count()).select_from(InboxEvent)) == 1


async def test_sealed_link_never_stored_in_the_event_record_but_rendered_in_mail(
    service, users, smtp
) -> None:
    user = users.add()
    resp = await service.event(
        "user.password_reset_requested", _data("user.password_reset_requested", user["id"])
    )
    assert resp.status_code == 200
    await service.deliver_all()
    assert "secret-reset" in smtp.store.messages[0]["text"]
    async with service.app.state.db.sessionmaker() as s:
        row = (await s.scalars(select(Notification))).one()
    assert "sealed" not in row.data


async def test_unknown_user_consumes_event_without_sending(service, users, smtp) -> None:
    resp = await service.event("user.registered", {"user_id": str(uuid.uuid4())})
    assert resp.status_code == 200
    assert resp.json()["status"] == "processed"
    await service.deliver_all()
    assert list(smtp.store.messages) == []


async def test_user_service_outage_refuses_event_so_producer_redelivers(service, users, smtp) -> None:
    user = users.add()
    users.down = True
    event_id = str(uuid.uuid4())
    failed = await service.event("user.registered", {"user_id": user["id"]}, event_id=event_id)
    assert failed.status_code == 502
    users.down = False
    again = await service.event("user.registered", {"user_id": user["id"]}, event_id=event_id)
    assert again.json()["status"] == "processed"
    await service.deliver_all()
    assert len(smtp.store.messages) == 1


async def test_bangla_user_gets_bangla_variant(service, users, smtp, sandbox) -> None:
    user = users.add(preferred_language="bn")
    await service.event("transaction.completed", _data("transaction.completed", user["id"]))
    await service.deliver_all()
    assert smtp.store.messages[0]["subject"] == "লেনদেন TXN-20261126-ABCDEF12 সম্পন্ন"
    assert "সম্পন্ন" in (await sandbox.state())["sms"][0]["body"]


async def test_event_without_required_data_dead_letters_instead_of_looping(service, users, smtp) -> None:
    user = users.add()
    data = _data("transaction.created", user["id"])
    del data["payment_url"]
    resp = await service.event("transaction.created", data)
    assert resp.status_code == 200
    async with service.app.state.db.sessionmaker() as s:
        rows = (await s.scalars(select(Notification))).all()
    assert {r.status for r in rows} == {"dead"}
    assert all("payment_url" in (r.last_error or "") for r in rows)


async def test_email_change_verification_goes_to_the_sealed_new_address(service, users, smtp) -> None:
    user = users.add()
    payload = {
        "url": "https://pay.example/verify?t=new",
        "token_expires_at": "soon",
        "email": "new@example.com",
    }
    sealed = seal(payload, SEAL_KEY)
    resp = await service.event("user.email_verification_requested", {"user_id": user["id"], "sealed": sealed})
    assert resp.status_code == 200
    await service.deliver_all()
    assert [m["rcpt_tos"] for m in smtp.store.messages] == [["new@example.com"]]


async def test_forged_sealed_payload_sends_nothing(service, users, smtp) -> None:
    user = users.add()
    forged = seal({"url": "https://evil.example/", "email": "x@evil.example"}, "A" * 43 + "=")
    resp = await service.event("user.email_verification_requested", {"user_id": user["id"], "sealed": forged})
    assert resp.status_code == 200
    await service.deliver_all()
    assert list(smtp.store.messages) == []
