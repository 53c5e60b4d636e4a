"""Refresh rotation and reuse detection, logout, rejection of forged / expired / foreign tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI

from shared.auth import JWKSCache, TokenError, TokenVerifier
from shared.kv import RedisKV
from shared.testing.tokens import TokenFactory

from .conftest import bearer, events


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/users/me", headers=bearer(token))


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_returns_a_new_pair_and_retires_the_old_refresh_token(
    client: httpx.AsyncClient, make_user
) -> None:
    tokens = await (await make_user()).login(client)

    resp = await refresh(client, tokens["refresh_token"])

    assert resp.status_code == 200, resp.text
    new = resp.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    assert (await me(client, new["access_token"])).status_code == 200
    assert (await refresh(client, new["refresh_token"])).status_code == 200


async def test_reusing_a_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    tokens = await user.login(client)
    rotated = (await refresh(client, tokens["refresh_token"])).json()

    reuse = await refresh(client, tokens["refresh_token"])  # a stolen copy

    assert reuse.status_code == 401 and reuse.json()["code"] == "refresh_token_reused"
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401
    assert (await me(client, rotated["access_token"])).status_code == 401
    assert (await me(client, tokens["access_token"])).status_code == 401
    revoked = await events(app, subject=user.id, type_="user.session_revoked")
    assert revoked[-1]["data"]["reason"] == "refresh_token_reuse"


async def test_an_access_token_is_not_a_refresh_token(client: httpx.AsyncClient, make_user) -> None:
    tokens = await (await make_user()).login(client)

    resp = await refresh(client, tokens["access_token"])

    assert resp.status_code == 401 and resp.json()["code"] == "invalid_refresh_token"


async def test_a_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, make_user) -> None:
    tokens = await (await make_user()).login(client)

    assert (await me(client, tokens["refresh_token"])).status_code == 401


async def test_garbage_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    resp = await refresh(client, "not.a.token")

    assert resp.status_code == 401


async def test_logout_makes_the_access_and_refresh_tokens_useless(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    tokens = await user.login(client)
    other = await user.login(client)

    resp = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))

    assert resp.status_code == 204
    assert (await me(client, tokens["access_token"])).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    assert (await me(client, other["access_token"])).status_code == 200  # other sessions live on
    assert await events(app, subject=user.id, type_="user.logged_out")


async def test_logout_is_honoured_by_another_service_verifying_through_jwks_and_redis(
    client: httpx.AsyncClient, make_user, redis_url: str
) -> None:
    tokens = await (await make_user()).login(client)
    kv = RedisKV(redis_url)
    elsewhere = TokenVerifier(
        JWKSCache("http://testserver/.well-known/jwks.json", client),
        issuer="payment-gateway",
        audience="payment-gateway-api",
        kv=kv,
    )
    try:
        assert (await elsewhere.verify(tokens["access_token"])).role == "user"

        await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))

        with pytest.raises(TokenError) as err:
            await elsewhere.verify(tokens["access_token"])
        assert err.value.reason == "revoked"
    finally:
        await kv.close()


def _claims(app: FastAPI, **over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "payment-gateway",
        "aud": "payment-gateway-api",
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "sid": uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "type": "access",
    }
    claims.update(over)
    return claims


def _sign(app: FastAPI, claims: dict[str, object]) -> str:
    key = app.state.keystore.current
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


async def test_a_correctly_signed_token_is_accepted(client: httpx.AsyncClient, app: FastAPI) -> None:
    # The control for the rejections below: only the one property under test differs.
    resp = await client.get("/api/v1/users", headers=bearer(_sign(app, _claims(app))))

    assert resp.status_code == 200


@pytest.mark.parametrize(
    "override",
    [
        {"exp": int(time.time()) - 60},
        {"aud": "another-api"},
        {"iss": "someone-else"},
        {"type": "refresh"},
        {"role": "root"},
    ],
    ids=["expired", "wrong_aud", "wrong_iss", "refresh_type", "unknown_role"],
)
async def test_tokens_with_a_bad_claim_are_rejected(
    client: httpx.AsyncClient, app: FastAPI, override: dict[str, object]
) -> None:
    resp = await client.get("/api/v1/users", headers=bearer(_sign(app, _claims(app, **override))))

    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"


async def test_tampered_token_is_rejected(client: httpx.AsyncClient, make_user) -> None:
    token = (await (await make_user()).login(client))["access_token"]
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    resp = await client.get("/api/v1/users", headers=bearer(f"{head}.{forged}.{sig}"))

    assert resp.status_code == 401


async def test_alg_none_is_rejected(client: httpx.AsyncClient, app: FastAPI) -> None:
    kid = app.state.keystore.current.kid
    token = jwt.encode(_claims(app), None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]

    resp = await client.get("/api/v1/users", headers=bearer(token))

    assert resp.status_code == 401


async def test_hmac_with_the_public_key_is_rejected(client: httpx.AsyncClient, app: FastAPI) -> None:
    # The classic confusion attack: HS256 "signed" with the published public key as the secret.
    key = app.state.keystore.current
    secret = key.jwk()["x"].encode()

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
        + "."
        + b64(json.dumps(_claims(app)).encode())
    )
    token = signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())

    resp = await client.get("/api/v1/users", headers=bearer(token))

    assert resp.status_code == 401


async def test_token_signed_by_a_foreign_key_is_rejected(client: httpx.AsyncClient) -> None:
    token = TokenFactory().token(role="admin")

    resp = await client.get("/api/v1/users", headers=bearer(token))

    assert resp.status_code == 401
