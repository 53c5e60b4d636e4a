"""Offline PayPal webhook verification (providers.md §1.11) with our own test RSA certificate,
pinned through the test-only trust setting; the certificate URL is fetched only from allow-listed
PayPal hosts over HTTPS."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from payment_service.providers.paypal_webhook import OfflineVerifier, WebhookVerificationError, signed_message
from payment_service.testing import payloads
from payment_service.testing.fakes import ProviderFake
from payment_service.testing.helpers import events_for, payout_in_flight, set_item

WEBHOOK_ID = "WH-OFFLINE-TEST"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test-1"


def make_cert(cn: str = "messageverificationcerts.sandbox.paypal.com") -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, CERT_PEM = make_cert()
OTHER_KEY, _ = make_cert()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "paypal_webhook_verification": "offline",
        "paypal_webhook_id": WEBHOOK_ID,
        "paypal_cert_trust_pem": CERT_PEM.decode(),
    }


@pytest.fixture
def fake() -> ProviderFake:
    fake = ProviderFake()
    fake.on("/v1/notifications/certs/CERT-test-1", lambda r: httpx.Response(200, content=CERT_PEM))
    return fake


def signed(raw: bytes, *, key: rsa.RSAPrivateKey = KEY, cert_url: str = CERT_URL) -> dict[str, str]:
    tid, ttime = str(uuid.uuid4()), "2026-11-26T18:05:10Z"
    sig = key.sign(signed_message(tid, ttime, WEBHOOK_ID, raw), padding.PKCS1v15(), hashes.SHA256())
    return {
        "PAYPAL-TRANSMISSION-ID": tid,
        "PAYPAL-TRANSMISSION-TIME": ttime,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(sig).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "Content-Type": "application/json",
    }


async def test_a_correctly_signed_webhook_is_applied(
    client: httpx.AsyncClient, fake: ProviderFake, stub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    raw = json.dumps(
        payloads.item_event("WH-OFF1", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", set_item(fake, p, "SUCCESS"))
    ).encode()
    resp = await client.post("/api/v1/webhooks/paypal", content=raw, headers=signed(raw))
    assert resp.status_code == 200 and resp.json()["status"] == "processed"
    assert "payout.succeeded" in [t for t, _ in await events_for(app, p["transaction_id"])]
    assert not fake.seen("/v1/notifications/verify-webhook-signature")  # no postback in offline mode


async def test_a_body_changed_after_signing_is_rejected(
    client: httpx.AsyncClient, fake: ProviderFake, stub, app: FastAPI
) -> None:
    p = await payout_in_flight(client, fake, stub)
    raw = json.dumps(
        payloads.item_event("WH-OFF2", "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", set_item(fake, p, "SUCCESS"))
    ).encode()
    hdrs = signed(raw)
    resp = await client.post("/api/v1/webhooks/paypal", content=raw.replace(b'"1.0"', b'"1.1"'), headers=hdrs)
    assert resp.status_code == 400
    assert "payout.succeeded" not in [t for t, _ in await events_for(app, p["transaction_id"])]


async def test_a_signature_by_another_key_is_rejected(client: httpx.AsyncClient) -> None:
    raw = b'{"id": "WH-OFF3", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": {}}'
    resp = await client.post("/api/v1/webhooks/paypal", content=raw, headers=signed(raw, key=OTHER_KEY))
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-test-1",  # not a PayPal host
        "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-test-1",  # not HTTPS
        "https://api.sandbox.paypal.com.evil.example/cert",  # suffix trick
        "https://user@api.sandbox.paypal.com/v1/notifications/certs/CERT-test-1",  # credentials in URL
    ],
)
async def test_a_certificate_url_off_the_allow_list_is_never_fetched(
    client: httpx.AsyncClient, fake: ProviderFake, url: str
) -> None:
    raw = b'{"id": "WH-OFF4", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": {}}'
    resp = await client.post("/api/v1/webhooks/paypal", content=raw, headers=signed(raw, cert_url=url))
    assert resp.status_code == 400
    assert [r for r in fake.requests if "cert" in r.url.path.lower()] == []


def _verifier(pem: bytes, trust: str = "") -> OfflineVerifier:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=pem)))
    return OfflineVerifier(http, allowed_hosts=frozenset({"api.sandbox.paypal.com"}), trust_pem=trust)


async def test_without_pinning_a_self_signed_paypal_named_certificate_is_refused() -> None:
    raw = b'{"id": "WH-OFF5"}'
    with pytest.raises(WebhookVerificationError, match="trusted root"):
        await _verifier(CERT_PEM).verify({k.lower(): v for k, v in signed(raw).items()}, raw, WEBHOOK_ID)


async def test_without_pinning_a_certificate_not_named_for_paypal_is_refused() -> None:
    key, pem = make_cert(cn="attacker.example.com")
    raw = b'{"id": "WH-OFF6"}'
    with pytest.raises(WebhookVerificationError, match="not a PayPal host"):
        await _verifier(pem).verify({k.lower(): v for k, v in signed(raw, key=key).items()}, raw, WEBHOOK_ID)


async def test_an_expired_pinned_certificate_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=60))
        .not_valid_after(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    raw = b'{"id": "WH-OFF7"}'
    with pytest.raises(WebhookVerificationError, match="expired"):
        await _verifier(pem, pem.decode()).verify(
            {k.lower(): v for k, v in signed(raw, key=key).items()}, raw, WEBHOOK_ID
        )
