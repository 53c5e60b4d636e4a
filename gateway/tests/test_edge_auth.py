"""Edge authentication in the real gateway process: every rejection case, the denylist in Redis,
spoofed identity headers, staff-only prefixes and the public routes of ARCHITECTURE §4."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as redis_asyncio

from shared.auth import revoked_jti_key, revoked_sid_key
from shared.kv import SQLiteKV
from shared.testing.tokens import TokenFactory

PROTECTED = "/api/v1/transactions/t1"


def assert_401(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["status"] == 401
    assert "x-stand-in" not in resp.headers  # refused at the edge: the service never saw it


async def test_missing_token_is_refused(gateway_url: str, http: httpx.AsyncClient) -> None:
    resp = await http.get(f"{gateway_url}{PROTECTED}")
    assert_401(resp)
    assert resp.json()["code"] == "not_authenticated"


async def test_expired_token_is_refused(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    assert_401(await http.get(f"{gateway_url}{PROTECTED}", headers=tokens.headers(ttl=-60)))


async def test_tampered_token_is_refused(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    header, payload, sig = tokens.token(role="user").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    resp = await http.get(
        f"{gateway_url}/api/v1/admin/x", headers={"Authorization": f"Bearer {header}.{forged}.{sig}"}
    )
    assert_401(resp)


async def test_token_signed_by_another_key_is_refused(gateway_url: str, http: httpx.AsyncClient) -> None:
    stranger = TokenFactory()  # unknown kid: the gateway re-reads the JWKS, still unknown
    assert_401(await http.get(f"{gateway_url}{PROTECTED}", headers=stranger.headers()))


async def test_rotated_signing_key_is_accepted_once_published(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient, published_keys: list[dict[str, Any]]
) -> None:
    """user-service rotates keys by publishing the new one in its JWKS: the gateway picks it up on
    the first token with the new `kid` (one JWKS re-read, at most every 5 s), and tokens signed by
    the old key stay valid until they expire."""
    new = TokenFactory()
    new_headers = new.headers()
    old_headers = tokens.headers()
    published_keys.append(new.jwk())
    try:
        deadline = time.monotonic() + 8  # the JWKS re-read is rate-limited to one per 5 s
        while True:
            resp = await http.get(f"{gateway_url}{PROTECTED}", headers=new_headers)
            if resp.status_code == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-stand-in"] == "transaction-service"
        assert (await http.get(f"{gateway_url}{PROTECTED}", headers=old_headers)).status_code == 200
    finally:
        published_keys.remove(new.jwk())


async def test_wrong_audience_is_refused(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    assert_401(await http.get(f"{gateway_url}{PROTECTED}", headers=tokens.headers(aud="another-api")))


async def test_refresh_token_used_as_access_is_refused(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    assert_401(await http.get(f"{gateway_url}{PROTECTED}", headers=tokens.headers(token_type="refresh")))


@pytest.mark.parametrize("by", ["jti", "sid"])
async def test_revoked_token_is_refused(
    by: str, gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient, redis_url: str
) -> None:
    token = tokens.token()
    claims = jwt.decode(token, options={"verify_signature": False})
    headers = {"Authorization": f"Bearer {token}"}
    assert (await http.get(f"{gateway_url}{PROTECTED}", headers=headers)).status_code == 200  # now cached
    key = revoked_jti_key(claims["jti"]) if by == "jti" else revoked_sid_key(claims["sid"])
    client = redis_asyncio.from_url(redis_url)
    try:
        await client.set(key, "1", ex=60)  # what user-service's logout writes
        assert_401(await http.get(f"{gateway_url}{PROTECTED}", headers=headers))
    finally:
        await client.delete(key)
        await client.aclose()


async def test_spoofed_identity_headers_are_stripped(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    spoof = {
        "X-User-ID": "someone-else",
        "X-User-Role": "admin",
        "X-API-Key": "dev-admin-service-key",
        "X-Forwarded-User": "root",
        "X-Principal": "admin",
    }
    resp = await http.get(f"{gateway_url}{PROTECTED}", headers={**tokens.headers(), **spoof})
    assert resp.status_code == 200
    seen = resp.json()["headers"]
    assert not {h.lower() for h in spoof} & set(seen)
    assert seen["authorization"].startswith("Bearer ")  # the token itself is forwarded


async def test_staff_prefixes_refuse_a_user_token(
    gateway_url: str, tokens: TokenFactory, http: httpx.AsyncClient
) -> None:
    for prefix in ("/api/v1/admin/settings", "/api/v1/audit/events", "/api/v1/analytics/daily"):
        resp = await http.get(f"{gateway_url}{prefix}", headers=tokens.headers(role="user"))
        assert resp.status_code == 403, prefix
        assert resp.json()["code"] == "insufficient_role"
        support = await http.get(f"{gateway_url}{prefix}", headers=tokens.headers(role="support"))
        assert support.status_code == 200, prefix


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/refresh"),
        ("GET", "/api/v1/auth/verify-email/abc"),
        ("POST", "/api/v1/auth/password-reset/request"),
        ("POST", "/api/v1/webhooks/paypal"),
        ("POST", "/api/v1/webhooks/sslcommerz/ipn"),
        ("GET", "/api/v1/rates/USD"),
        ("GET", "/.well-known/jwks.json"),
    ],
)
async def test_public_routes_need_no_token(
    method: str, path: str, gateway_url: str, http: httpx.AsyncClient, client_ip: str
) -> None:
    resp = await http.request(method, f"{gateway_url}{path}", headers={"X-Forwarded-For": client_ip})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/users/me"),
        ("POST", "/api/v1/rates/refresh"),
        ("GET", "/api/v1/payments/p1"),
        ("GET", "/api/v1/notifications"),
    ],
)
async def test_everything_else_needs_a_token(
    method: str, path: str, gateway_url: str, http: httpx.AsyncClient, client_ip: str
) -> None:
    assert_401(await http.request(method, f"{gateway_url}{path}", headers={"X-Forwarded-For": client_ip}))


async def test_embedded_mode_honours_the_denylist(
    make_gateway: Callable[..., Any], tokens: TokenFactory, tmp_path: Path
) -> None:
    token = tokens.token()
    headers = {"Authorization": f"Bearer {token}"}
    async with make_gateway(redis_url="", data_dir=tmp_path) as gw:
        assert (await gw.get(PROTECTED, headers=headers)).status_code == 200
        kv = SQLiteKV(tmp_path / "kv.sqlite3")  # the file every embedded process shares
        try:
            await kv.set(
                revoked_jti_key(jwt.decode(token, options={"verify_signature": False})["jti"]), "1", ttl=60
            )
        finally:
            await kv.close()
        assert_401(await gw.get(PROTECTED, headers=headers))
