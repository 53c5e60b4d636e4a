"""PayPal OAuth2 client-credentials (providers.md §1.2, §1.16)."""

from __future__ import annotations

import base64

import httpx

from provider_sandbox.main import create_app
from provider_sandbox.settings import Settings
from provider_sandbox.testing import CLIENT_ID, get_token, make_settings
from shared.testing.plugin import asgi_client


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_client_credentials_give_a_bearer_token_with_payouts_scope(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    resp = await client.post(
        "/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic(CLIENT_ID, settings.paypal_client_secret),
    )
    body = resp.json()
    assert resp.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.paypal_token_expires_in
    assert "https://uri.paypal.com/payments/payouts" in body["scope"].split()
    assert body["access_token"] and body["app_id"] and body["nonce"]


async def test_wrong_client_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/oauth2/token", data={"grant_type": "client_credentials"}, headers=basic(CLIENT_ID, "wrong")
    )
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid_client", "error_description": "Client Authentication failed"}


async def test_an_unknown_bearer_token_is_invalid_token(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/payments/payouts/X", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_token"


async def test_a_missing_bearer_token_is_authentication_failure(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/payments/payouts/X")
    assert resp.status_code == 401
    assert resp.json()["name"] == "AUTHENTICATION_FAILURE"
    assert resp.headers["paypal-debug-id"] == resp.json()["debug_id"]


async def test_an_expired_token_is_refused(redis_url: str) -> None:
    async with asgi_client(create_app(make_settings(redis_url, paypal_token_expires_in=0))) as c:
        token = await get_token(c)
        resp = await c.get("/v1/payments/payouts/X", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_token"
