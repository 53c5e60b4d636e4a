"""`POST /api/v1/webhooks/sslcommerz/ipn`: only a signed notice confirmed by the validation API
(our tran_id, exact amount and currency) moves a payment; everything else changes nothing."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from payment_service.models import WebhookRecord
from payment_service.testing import payloads
from payment_service.testing.fakes import ProviderFake, timeout
from payment_service.testing.helpers import create_session, events_for, payment_row

IPN = "/api/v1/webhooks/sslcommerz/ipn"


async def _paid_session(
    client: httpx.AsyncClient,
    fake: ProviderFake,
    *,
    paid: str = "11985.00",
    currency: str = "BDT",
    risk: str = "0",
    status: str = "VALID",
) -> tuple[dict, dict]:
    created = await create_session(client, total_bdt="11985.00")
    val_id = f"VAL{uuid.uuid4().hex[:12]}"
    fake.validations[val_id] = payloads.validation(
        created["internal_tran_id"], paid, val_id=val_id, currency=currency, risk_level=risk, status=status
    )
    ipn = payloads.ipn_valid(
        created["internal_tran_id"], paid, val_id=val_id, risk_level=risk, currency=currency
    )
    return created, ipn


async def _records(app: FastAPI, tran_id: str) -> list[WebhookRecord]:
    async with app.state.db.sessionmaker() as session:
        rows = await session.scalars(select(WebhookRecord).where(WebhookRecord.event_id.like(f"{tran_id}:%")))
        return list(rows.all())


async def test_a_validated_ipn_marks_the_payment_succeeded_and_emits_one_event(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    resp = await client.post(IPN, data=ipn)
    assert resp.status_code == 200 and resp.json() == {"status": "processed"}
    txid = uuid.UUID(created["transaction_id"])
    payment = await payment_row(app, txid)
    assert payment.status == "succeeded" and payment.val_id == ipn["val_id"]
    assert payment.bank_tran_id == ipn["bank_tran_id"] and payment.paid_amount == 1198500
    assert await events_for(app, txid) == [
        (
            "payment.succeeded",
            {
                "transaction_id": created["transaction_id"],
                "internal_tran_id": created["internal_tran_id"],
                "payment_id": created["payment_id"],
                "amount": "11985.00",
                "currency": "BDT",
                "val_id": ipn["val_id"],
                "bank_tran_id": ipn["bank_tran_id"],
                "risk_level": "0",
            },
        )
    ]
    (validation_call,) = fake.seen("/validator/api/validationserverAPI.php")
    assert validation_call.url.params["val_id"] == ipn["val_id"]


async def test_a_duplicate_ipn_has_no_second_effect(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    first = await client.post(IPN, data=ipn)
    second = await client.post(IPN, data=ipn)
    assert first.json()["status"] == "processed" and second.json()["status"] == "duplicate"
    assert [t for t, _ in await events_for(app, created["transaction_id"])] == ["payment.succeeded"]
    assert [r.outcome for r in await _records(app, created["internal_tran_id"])] == ["processed", "duplicate"]


async def test_a_forged_signature_is_rejected_before_any_provider_call(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    forged = payloads.sign({k: v for k, v in ipn.items()}, password="guessed-password")
    resp = await client.post(IPN, data=forged)
    assert resp.status_code == 400 and resp.json()["code"] == "ipn_rejected"
    assert fake.seen("/validator/api/validationserverAPI.php") == []
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "initiated"
    assert await events_for(app, created["transaction_id"]) == []
    (record,) = await _records(app, created["internal_tran_id"])
    assert record.outcome == "rejected" and record.reason == "bad_signature"
    assert "verify_sign=" in record.raw_body  # stored raw, first
    metrics = (await client.get("/metrics")).text
    assert 'payment_webhooks_total{kind="ipn",outcome="rejected",provider="sslcommerz"}' in metrics


async def test_an_ipn_the_validation_api_does_not_know_changes_nothing(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake, status="INVALID_TRANSACTION")
    resp = await client.post(IPN, data=ipn)
    assert resp.status_code == 400
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "initiated"
    assert await events_for(app, created["transaction_id"]) == []
    (record,) = await _records(app, created["internal_tran_id"])
    assert record.reason == "validation_invalid_transaction"


async def test_a_validation_for_another_tran_id_is_rejected(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    fake.validations[ipn["val_id"]]["tran_id"] = "TXN-SOMEONE-ELSE"
    resp = await client.post(IPN, data=ipn)
    assert resp.status_code == 400
    assert await events_for(app, created["transaction_id"]) == []


async def test_an_amount_mismatch_is_held_for_review(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake, paid="11984.99")
    resp = await client.post(IPN, data=ipn)
    assert resp.status_code == 200
    payment = await payment_row(app, uuid.UUID(created["transaction_id"]))
    assert payment.status == "held" and payment.hold_reason == "amount_mismatch"
    ((kind, data),) = await events_for(app, created["transaction_id"])
    assert kind == "payment.held"
    assert data["reason"] == "amount_mismatch" and data["amount"] == "11984.99"
    assert data["expected_amount"] == "11985.00"


async def test_a_currency_mismatch_is_held_for_review(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake, currency="USD")
    await client.post(IPN, data=ipn)
    payment = await payment_row(app, uuid.UUID(created["transaction_id"]))
    assert payment.status == "held" and payment.hold_reason == "currency_mismatch"
    assert [(t, d["reason"]) for t, d in await events_for(app, created["transaction_id"])] == [
        ("payment.held", "currency_mismatch")
    ]


async def test_risk_level_one_is_held_for_review(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake, risk="1")
    await client.post(IPN, data=ipn)
    payment = await payment_row(app, uuid.UUID(created["transaction_id"]))
    assert payment.status == "held" and payment.hold_reason == "risk_level"
    assert [(t, d["reason"]) for t, d in await events_for(app, created["transaction_id"])] == [
        ("payment.held", "risk_level")
    ]


async def test_a_failed_ipn_emits_payment_failed(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created = await create_session(client)
    tran_id = created["internal_tran_id"]
    fake.queries[tran_id] = payloads.query(
        tran_id, [{"status": "FAILED", "val_id": "", "amount": "11985.00"}]
    )
    resp = await client.post(IPN, data=payloads.ipn_failed(tran_id))
    assert resp.status_code == 200 and resp.json()["status"] == "processed"
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "failed"
    ((kind, data),) = await events_for(app, created["transaction_id"])
    assert kind == "payment.failed" and data["reason"] == "Declined by bank"


async def test_a_cancelled_ipn_emits_payment_cancelled(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created = await create_session(client)
    resp = await client.post(
        IPN, data=payloads.ipn_failed(created["internal_tran_id"], "CANCELLED", "Cancelled by User")
    )
    assert resp.status_code == 200
    assert [t for t, _ in await events_for(app, created["transaction_id"])] == ["payment.cancelled"]


async def test_a_failure_notice_never_overrides_a_paid_attempt(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created = await create_session(client)
    tran_id, val_id = created["internal_tran_id"], "VALPAID0001"
    fake.queries[tran_id] = payloads.query(
        tran_id, [{"status": "FAILED", "val_id": ""}, {"status": "VALID", "val_id": val_id}]
    )
    fake.validations[val_id] = payloads.validation(tran_id, "11985.00", val_id=val_id)
    await client.post(IPN, data=payloads.ipn_failed(tran_id))
    assert [t for t, _ in await events_for(app, created["transaction_id"])] == ["payment.succeeded"]


async def test_a_validation_timeout_answers_503_and_changes_nothing(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    fake.on("/validator/api/validationserverAPI.php", timeout)
    resp = await client.post(IPN, data=ipn)
    assert resp.status_code == 503
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "initiated"
    assert await events_for(app, created["transaction_id"]) == []


async def test_an_ipn_for_an_unknown_tran_id_is_rejected(client: httpx.AsyncClient) -> None:
    resp = await client.post(IPN, data=payloads.ipn_valid("TXN-NOT-OURS", "10.00"))
    assert resp.status_code == 400


async def test_a_multipart_ipn_is_accepted(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    resp = await client.post(IPN, files={k: (None, v) for k, v in ipn.items()})
    assert resp.status_code == 200 and resp.json()["status"] == "processed"


async def test_browser_returns_redirect_and_never_change_state(
    client: httpx.AsyncClient, fake: ProviderFake, app: FastAPI
) -> None:
    created, ipn = await _paid_session(client, fake)
    for outcome in ("success", "fail", "cancel"):
        resp = await client.post(f"/api/v1/webhooks/sslcommerz/{outcome}", data=ipn)
        assert resp.status_code == 303
        assert resp.headers["location"] == (
            f"https://pay.example.test/api/v1/webhooks/sslcommerz/result?outcome={outcome}"
            f"&tran_id={created['internal_tran_id']}"
        )
    assert (await payment_row(app, uuid.UUID(created["transaction_id"]))).status == "initiated"
    assert await events_for(app, created["transaction_id"]) == []
    assert fake.seen("/validator/api/validationserverAPI.php") == []
    page = await client.get(
        "/api/v1/webhooks/sslcommerz/result", params={"outcome": "success", "tran_id": "<script>"}
    )
    assert page.status_code == 200 and "&lt;script&gt;" in page.text
