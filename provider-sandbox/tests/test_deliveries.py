"""IPNs and PayPal webhooks sent to a real HTTP listener on a loopback port; signatures are checked
independently of the sandbox's own code (md5 recomputed here; RSA verified with `cryptography`
against the certificate fetched from PAYPAL-CERT-URL of a sandbox served by uvicorn)."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from provider_sandbox.main import create_app
from provider_sandbox.testing import (
    STORE_PASSWORD,
    Listener,
    Received,
    check_schema,
    create_payout,
    first_item_id,
    get_token,
    make_settings,
    new_session,
    payout_body,
    serve,
)
from shared.devstack import free_port
from shared.testing.plugin import asgi_client


def md5_verify_sign(fields: dict[str, str], password: str) -> str:
    """providers.md §2.5, written out again here so the test does not trust the sandbox's code."""
    data = {k: fields.get(k, "") for k in fields["verify_key"].split(",")}
    data["store_passwd"] = hashlib.md5(password.encode()).hexdigest()
    return hashlib.md5("&".join(f"{k}={data[k]}" for k in sorted(data)).encode()).hexdigest()


def rsa_verifies(cert_pem: bytes, msg: Received, webhook_id: str) -> bool:
    h = msg.headers
    crc = zlib.crc32(msg.body) & 0xFFFFFFFF
    signed = f"{h['paypal-transmission-id']}|{h['paypal-transmission-time']}|{webhook_id}|{crc}".encode()
    key: Any = x509.load_pem_x509_certificate(cert_pem).public_key()
    try:
        key.verify(
            base64.b64decode(h["paypal-transmission-sig"]), signed, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


@pytest.fixture
async def paypal(redis_url: str, listener: Listener) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process sandbox whose webhooks go to the listener; the batch tick is far away so every
    event in a test comes from its own control calls, in a known order."""
    settings = make_settings(
        redis_url, paypal_webhook_url=f"{listener.url}/paypal", paypal_processing_delay_seconds=30
    )
    async with asgi_client(create_app(settings)) as c:
        yield c


async def new_item(c: httpx.AsyncClient, sender_batch_id: str = "d-1") -> tuple[str, dict[str, str]]:
    token = await get_token(c)
    batch = (await create_payout(c, token, payout_body(sender_batch_id))).json()
    return await first_item_id(c, token, batch["batch_header"]["payout_batch_id"]), {
        "Authorization": f"Bearer {token}"
    }


async def test_ipn_reaches_the_listener_with_a_verify_sign_that_recomputes(
    client: httpx.AsyncClient, listener: Listener
) -> None:
    key = (await new_session(client, ipn_url=f"{listener.url}/ipn"))["sessionkey"]
    result = (
        await client.post(f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success"})
    ).json()
    [ipn] = await listener.wait_for(1)
    fields = dict(parse_qsl(ipn.body.decode(), keep_blank_values=True))
    assert ipn.path == "/ipn"
    assert ipn.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (fields["status"], fields["val_id"], fields["tran_id"]) == (
        "VALID",
        result["val_id"],
        result["tran_id"],
    )
    assert fields["verify_sign"] == md5_verify_sign(fields, STORE_PASSWORD)
    assert result["ipn"]["status_code"] == 200


async def test_a_late_ipn_arrives_after_the_control_call_returns(
    client: httpx.AsyncClient, listener: Listener
) -> None:
    key = (await new_session(client, ipn_url=f"{listener.url}/ipn"))["sessionkey"]
    resp = await client.post(
        f"/sandbox/sslcommerz/sessions/{key}/complete",
        json={"outcome": "fail"},
        headers={"X-Sandbox-Fault": "ipn=late:300"},
    )
    assert resp.json()["ipn"]["scheduled"] is True
    assert listener.received == []
    [ipn] = await listener.wait_for(1)
    assert dict(parse_qsl(ipn.body.decode()))["status"] == "FAILED"


async def test_a_suppressed_ipn_is_never_sent(client: httpx.AsyncClient, listener: Listener) -> None:
    key = (await new_session(client, ipn_url=f"{listener.url}/ipn"))["sessionkey"]
    resp = await client.post(
        f"/sandbox/sslcommerz/sessions/{key}/complete", json={"outcome": "success", "deliver_ipn": False}
    )
    assert resp.json()["ipn"]["sent"] is False
    assert (await client.get("/sandbox/state")).json()["ipns_sent"] == []
    assert listener.received == []


async def test_a_duplicate_ipn_fault_posts_the_same_ipn_twice(
    client: httpx.AsyncClient, listener: Listener
) -> None:
    key = (await new_session(client, ipn_url=f"{listener.url}/ipn"))["sessionkey"]
    await client.post(
        f"/sandbox/sslcommerz/sessions/{key}/complete",
        json={"outcome": "success"},
        headers={"X-Sandbox-Fault": "ipn=duplicate"},
    )
    first, second = await listener.wait_for(2)
    assert first.body == second.body


async def test_payout_webhooks_verify_with_the_certificate_at_the_cert_url(
    redis_url: str, listener: Listener
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        redis_url,
        sandbox_public_url=base,
        paypal_webhook_url=f"{listener.url}/paypal",
        paypal_processing_delay_seconds=30,
    )
    async with serve(create_app(settings), port), httpx.AsyncClient(base_url=base) as c:
        item_id, auth = await new_item(c)
        await c.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"})
        received = await listener.wait_for(3)
        cert_url = received[0].headers["paypal-cert-url"]
        assert cert_url == f"{base}/v1/notifications/certs/CERT-sim"
        cert_pem = (await c.get(cert_url)).content
        verify_req = {
            "auth_algo": received[1].headers["paypal-auth-algo"],
            "cert_url": cert_url,
            "transmission_id": received[1].headers["paypal-transmission-id"],
            "transmission_sig": received[1].headers["paypal-transmission-sig"],
            "transmission_time": received[1].headers["paypal-transmission-time"],
            "webhook_id": settings.paypal_webhook_id,
        }
        # The client splices the raw webhook bytes in; PayPal verifies against exactly those bytes.
        text = json.dumps(verify_req)[:-1] + ', "webhook_event": ' + received[1].body.decode() + "}"
        verdict = await c.post(
            "/v1/notifications/verify-webhook-signature",
            content=text,
            headers={**auth, "Content-Type": "application/json"},
        )
    events = [json.loads(r.body) for r in received]
    assert [e["event_type"] for e in events] == [
        "PAYMENT.PAYOUTSBATCH.PROCESSING",
        "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
        "PAYMENT.PAYOUTSBATCH.SUCCESS",
    ]
    assert all(r.headers["paypal-auth-algo"] == "SHA256withRSA" for r in received)
    assert all(rsa_verifies(cert_pem, r, settings.paypal_webhook_id) for r in received)
    assert not rsa_verifies(cert_pem, received[1], "some-other-webhook-id")
    for event in events:
        check_schema(event, "webhooks", "event")
    check_schema(events[1]["resource"], "payouts", "payout_item-2")
    check_schema(events[2]["resource"]["batch_header"], "payouts", "payout_batch_header")
    assert "errors" not in events[1]["resource"]
    assert events[1]["resource"]["payout_item_id"] == item_id
    check_schema(json.loads(text), "webhooks", "verify_webhook_signature")
    check_schema(verdict.json(), "webhooks", "verify_webhook_signature_response")
    assert verdict.json() == {"verification_status": "SUCCESS"}


async def test_verify_webhook_signature_fails_for_changed_bytes_or_another_webhook_id(
    paypal: httpx.AsyncClient, listener: Listener
) -> None:
    item_id, auth = await new_item(paypal)
    await paypal.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "FAILED"})
    msg = (await listener.wait_for(2))[1]
    h = msg.headers
    req = {
        "auth_algo": h["paypal-auth-algo"],
        "cert_url": h["paypal-cert-url"],
        "transmission_id": h["paypal-transmission-id"],
        "transmission_sig": h["paypal-transmission-sig"],
        "transmission_time": h["paypal-transmission-time"],
        "webhook_id": "8PT597110X687430LSIM",
    }

    async def verdict(event_text: str, **changes: str) -> str:
        text = json.dumps({**req, **changes})[:-1] + ', "webhook_event": ' + event_text + "}"
        resp = await paypal.post(
            "/v1/notifications/verify-webhook-signature",
            content=text,
            headers={**auth, "Content-Type": "application/json"},
        )
        return str(resp.json()["verification_status"])

    raw = msg.body.decode()
    assert await verdict(raw) == "SUCCESS"
    assert await verdict(json.dumps(json.loads(raw), indent=2)) == "FAILURE"  # re-serialised ≠ sent bytes
    assert await verdict(raw.replace("FAILED", "SUCCESS", 1)) == "FAILURE"
    assert await verdict(raw, webhook_id="OTHERWEBHOOK1") == "FAILURE"


async def test_a_webhook_answered_with_500_is_retried(paypal: httpx.AsyncClient, listener: Listener) -> None:
    listener.statuses = [500]
    item_id, _ = await new_item(paypal)
    await paypal.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"})
    received = await listener.wait_for(4)  # PROCESSING (500, then retried), ITEM.SUCCEEDED, BATCH.SUCCESS
    ids = [r.headers["paypal-transmission-id"] for r in received]
    assert ids.count(ids[0]) == 2
    state = (await paypal.get("/sandbox/state")).json()
    first = state["webhooks_sent"][0]
    assert [a["status"] for a in first["attempts"]] == [500, 200]
    assert first["delivered"] is True


async def test_the_duplicate_fault_sends_each_event_twice_as_separate_transmissions(
    paypal: httpx.AsyncClient, listener: Listener
) -> None:
    item_id, _ = await new_item(paypal)
    await paypal.post(
        f"/sandbox/paypal/payout-items/{item_id}/complete",
        json={"outcome": "SUCCEEDED"},
        headers={"X-Sandbox-Fault": "webhook=duplicate"},
    )
    received = await listener.wait_for(6)
    events = [json.loads(r.body)["id"] for r in received]
    assert events[0] == events[1] and events[2] == events[3] and events[4] == events[5]
    assert received[0].headers["paypal-transmission-id"] != received[1].headers["paypal-transmission-id"]


async def test_the_reorder_fault_sends_newest_first_then_a_stale_event(
    paypal: httpx.AsyncClient, listener: Listener
) -> None:
    item_id, _ = await new_item(paypal)
    await paypal.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "UNCLAIMED"})
    await paypal.post(
        f"/sandbox/paypal/payout-items/{item_id}/complete",
        json={"outcome": "SUCCEEDED"},
        headers={"X-Sandbox-Fault": "webhook=reorder"},
    )
    received = await listener.wait_for(5)
    assert [json.loads(r.body)["event_type"] for r in received[3:]] == [
        "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
        "PAYMENT.PAYOUTSBATCH.SUCCESS",  # the stale batch event, sent again after the newer item event
    ]


async def test_an_armed_tamper_fault_breaks_the_signatures_of_the_next_delivery(
    paypal: httpx.AsyncClient, listener: Listener
) -> None:
    await paypal.post(
        "/sandbox/faults", json={"path_prefix": "@webhook", "fault": "webhook=tamper", "times": 1}
    )
    item_id, auth = await new_item(paypal)
    await paypal.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"})
    received = await listener.wait_for(3)  # one delivery call: all three events tampered
    event_id = json.loads(received[1].body)["id"]
    # A resend is a new transmission, signed afresh (and the one-shot rule is spent).
    await paypal.post(f"/v1/notifications/webhooks-events/{event_id}/resend", headers=auth)
    received = await listener.wait_for(4)
    cert = (await paypal.get("/v1/notifications/certs/CERT-sim")).content
    assert [rsa_verifies(cert, r, "8PT597110X687430LSIM") for r in received] == [False, False, False, True]


async def test_resending_an_event_delivers_it_again(paypal: httpx.AsyncClient, listener: Listener) -> None:
    item_id, auth = await new_item(paypal)
    await paypal.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"})
    event_id = json.loads((await listener.wait_for(3))[1].body)["id"]
    resp = await paypal.post(f"/v1/notifications/webhooks-events/{event_id}/resend", headers=auth)
    assert resp.status_code == 200
    again = (await listener.wait_for(4))[3]
    assert json.loads(again.body)["id"] == event_id


async def test_verify_webhook_signature_without_required_fields_is_a_validation_error(
    client: httpx.AsyncClient, auth: dict
) -> None:
    resp = await client.post(
        "/v1/notifications/verify-webhook-signature", json={"auth_algo": "SHA256withRSA"}, headers=auth
    )
    assert resp.status_code == 400
    check_schema(resp.json(), "webhooks", "error")
    assert {d["field"] for d in resp.json()["details"]} >= {"transmission_sig", "webhook_event"}


async def test_with_webhooks_off_events_are_stored_but_not_sent(
    client: httpx.AsyncClient, auth: dict
) -> None:
    item_id, _ = await new_item(client)
    await client.post(f"/sandbox/paypal/payout-items/{item_id}/complete", json={"outcome": "SUCCEEDED"})
    state = (await client.get("/sandbox/state")).json()
    assert state["webhooks_sent"] == []
    event_ids = state["payouts"][0]["events"]
    assert len(event_ids) == 3  # PROCESSING, ITEM.SUCCEEDED, BATCH.SUCCESS
    event = (await client.get(f"/v1/notifications/webhooks-events/{event_ids[1]}", headers=auth)).json()
    check_schema(event, "webhooks", "event")
    assert event["event_type"] == "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"
