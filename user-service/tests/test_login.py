"""Password login: e-mail or username, generic failures, lockout, disabled accounts, hash upgrades
and the claims of the issued tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import jwt
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.bcrypt import BcryptHasher

from shared.db import utcnow

from .conftest import bearer, events, get_user, set_user


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", data={"username": username, "password": password})


async def test_login_with_email_returns_a_token_pair(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()

    resp = await login(client, user.email.upper(), user.password)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    assert resp.headers["cache-control"] == "no-store"
    assert (await client.get("/api/v1/users/me", headers=bearer(body["access_token"]))).json()[
        "id"
    ] == user.id
    logged_in = await events(app, subject=user.id, type_="user.logged_in")
    assert logged_in[0]["data"]["method"] == "password"


async def test_login_with_username_works(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()

    resp = await login(client, user.username.upper(), user.password)

    assert resp.status_code == 200, resp.text


async def test_access_token_claims_match_the_verifier_contract(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()
    tokens = await user.login(client)

    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    refresh = jwt.decode(tokens["refresh_token"], options={"verify_signature": False})

    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert header["alg"] == "EdDSA" and header["kid"] in [k["kid"] for k in jwks["keys"]]
    assert claims["iss"] == "payment-gateway" and claims["aud"] == "payment-gateway-api"
    assert claims["sub"] == user.id and claims["role"] == "user" and claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"] and claims["sid"]
    assert refresh["type"] == "refresh" and refresh["sid"] == claims["sid"]
    assert refresh["exp"] - refresh["iat"] == 30 * 24 * 3600


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()

    bad_password = await login(client, user.email, "Wr0ng!password")
    unknown = await login(client, f"nobody_{uuid.uuid4().hex[:8]}@example.com", "Wr0ng!password")

    assert bad_password.status_code == unknown.status_code == 401
    strip = ("request_id", "instance")
    assert {k: v for k, v in bad_password.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert bad_password.json()["code"] == "invalid_credentials"
    failed = await events(app, subject=user.id, type_="user.login_failed")
    assert failed[-1]["data"]["reason"] == "bad_password" and failed[-1]["data"]["user_id"] == user.id


async def test_unknown_user_pays_the_same_password_hash_cost(client: httpx.AsyncClient, app: FastAPI) -> None:
    calls: list[object] = []
    original = app.state.hasher.verify

    async def spy(password: str, hashed: str | None) -> tuple[bool, str | None]:
        calls.append(hashed)
        return await original(password, hashed)

    app.state.hasher.verify = spy
    resp = await login(client, f"ghost_{uuid.uuid4().hex[:8]}", "Wr0ng!password")

    assert resp.status_code == 401
    assert calls == [None]  # verified against the dummy hash


async def test_five_failures_lock_the_account_with_retry_after(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    statuses = [(await login(client, user.email, "Wr0ng!password")).status_code for _ in range(5)]

    locked = await login(client, user.email, user.password)  # even the right password

    assert statuses == [401, 401, 401, 401, 423]
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
    assert 850 <= int(locked.headers["retry-after"]) <= 900
    types = [e["type"] for e in await events(app, subject=user.id)]
    assert types.count("user.login_failed") == 6 and types.count("user.locked") == 1
    assert (await get_user(app, user.id)).locked_until is not None


async def test_unknown_identifiers_lock_the_same_way(client: httpx.AsyncClient) -> None:
    ghost = f"ghost_{uuid.uuid4().hex[:8]}"

    statuses = [(await login(client, ghost, "Wr0ng!password")).status_code for _ in range(6)]

    assert statuses == [401, 401, 401, 401, 423, 423]


async def test_lock_expires_after_the_window(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user = await make_user()
    await set_user(app, user.id, locked_until=utcnow() - timedelta(seconds=1))

    resp = await login(client, user.email, user.password)

    assert resp.status_code == 200
    assert (await get_user(app, user.id)).locked_until is None


async def test_old_failures_stop_counting(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user = await make_user()
    await set_user(app, user.id, failed_login_count=4, last_failed_login_at=utcnow() - timedelta(hours=1))

    resp = await login(client, user.email, "Wr0ng!password")

    assert resp.status_code == 401
    assert (await get_user(app, user.id)).failed_login_count == 1


async def test_disabled_account_cannot_log_in(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user = await make_user()
    await set_user(app, user.id, is_active=False)

    right = await login(client, user.email, user.password)
    wrong = await login(client, user.email, "Wr0ng!password")

    assert right.status_code == 403 and right.json()["code"] == "account_disabled"
    assert wrong.status_code == 401  # nothing revealed without the password


async def test_bcrypt_hash_is_accepted_and_upgraded_to_argon2(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    legacy = PasswordHash((BcryptHasher(rounds=4),)).hash(user.password)
    await set_user(app, user.id, password_hash=legacy)

    resp = await login(client, user.username, user.password)

    assert resp.status_code == 200
    assert (await get_user(app, user.id)).password_hash.startswith("$argon2id$")


async def test_unsupported_grant_type_is_400(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/login", data={"grant_type": "implicit"})

    assert resp.status_code == 400 and resp.json()["code"] == "unsupported_grant_type"


async def test_missing_credentials_are_401(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/login", data={})

    assert resp.status_code == 401
