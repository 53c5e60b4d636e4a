"""E-mail verification and password reset: sealed links, single use, expiry, no enumeration."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from shared.db import utcnow
from user_service.auth.onetime import token_hash
from user_service.models import OneTimeToken

from .conftest import bearer, events, get_user, mailed_token, set_user

NEW_PASSWORD = "Fresh!Passw0rd2"


async def expire(app: FastAPI, token: str) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.token_hash == token_hash(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_verification_token_verifies_the_email_once(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    mail = await mailed_token(app, user.id, "user.email_verification_requested")

    first = await client.post("/api/v1/auth/verify-email", json={"token": mail["token"]})
    second = await client.post("/api/v1/auth/verify-email", json={"token": mail["token"]})

    assert first.status_code == 200 and first.json() == {"email_verified": True}
    assert second.status_code == 400 and second.json()["code"] == "invalid_or_expired_token"
    assert (await get_user(app, user.id)).email_verified is True
    assert await events(app, subject=user.id, type_="user.email_verified")


async def test_expired_verification_token_is_refused(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    mail = await mailed_token(app, user.id, "user.email_verification_requested")
    await expire(app, mail["token"])

    resp = await client.post("/api/v1/auth/verify-email", json={"token": mail["token"]})

    assert resp.status_code == 400
    assert (await get_user(app, user.id)).email_verified is False


async def test_requesting_a_new_verification_link_invalidates_the_old_one(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    old = await mailed_token(app, user.id, "user.email_verification_requested")

    resp = await client.post("/api/v1/auth/verify-email/request", headers=await user.headers(client))

    assert resp.status_code == 202
    new = await mailed_token(app, user.id, "user.email_verification_requested")
    assert new["token"] != old["token"]
    assert (await client.post("/api/v1/auth/verify-email", json={"token": old["token"]})).status_code == 400
    assert (await client.post("/api/v1/auth/verify-email", json={"token": new["token"]})).status_code == 200


async def test_verification_request_by_email_answers_the_same_for_unknown_addresses(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    before = len(await events(app, subject=user.id, type_="user.email_verification_requested"))

    known = await client.post("/api/v1/auth/verify-email/request", json={"email": user.email})
    unknown = await client.post(
        "/api/v1/auth/verify-email/request", json={"email": f"x{uuid.uuid4().hex}@example.com"}
    )

    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
    assert len(await events(app, subject=user.id, type_="user.email_verification_requested")) == before + 1


async def test_verified_users_get_no_new_verification_mail(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    await set_user(app, user.id, email_verified=True)
    before = len(await events(app, subject=user.id, type_="user.email_verification_requested"))

    resp = await client.post("/api/v1/auth/verify-email/request", headers=await user.headers(client))

    assert resp.status_code == 202
    assert len(await events(app, subject=user.id, type_="user.email_verification_requested")) == before


async def test_password_reset_request_is_202_for_anyone_but_mails_only_real_users(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()

    known = await client.post("/api/v1/auth/password-reset/request", json={"email": user.email.upper()})
    unknown = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": f"n{uuid.uuid4().hex}@example.com"}
    )

    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
    mail = await mailed_token(app, user.id, "user.password_reset_requested")
    assert (
        mail["email"] == user.email and "/reset-password?token=" in mail["url"] and mail["token_expires_at"]
    )


async def test_password_reset_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    session = await user.login(client)
    await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    mail = await mailed_token(app, user.id, "user.password_reset_requested")

    first = await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": NEW_PASSWORD}
    )
    again = await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": "Other!Pass0rd"}
    )

    assert first.status_code == 204
    assert again.status_code == 400 and again.json()["code"] == "invalid_or_expired_token"
    assert (await client.get("/api/v1/users/me", headers=bearer(session["access_token"]))).status_code == 401
    old = await client.post("/api/v1/auth/login", data={"username": user.email, "password": user.password})
    new = await client.post("/api/v1/auth/login", data={"username": user.email, "password": NEW_PASSWORD})
    assert old.status_code == 401 and new.status_code == 200
    changed = await events(app, subject=user.id, type_="user.password_changed")
    assert changed[-1]["data"]["by"] == "reset"


async def test_expired_reset_token_is_refused(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user = await make_user()
    await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    mail = await mailed_token(app, user.id, "user.password_reset_requested")
    await expire(app, mail["token"])

    resp = await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": NEW_PASSWORD}
    )

    assert resp.status_code == 400
    assert (
        await client.post("/api/v1/auth/login", data={"username": user.email, "password": user.password})
    ).status_code == 200


async def test_weak_new_password_leaves_the_reset_token_usable(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    mail = await mailed_token(app, user.id, "user.password_reset_requested")

    weak = await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": "weak"}
    )
    good = await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": NEW_PASSWORD}
    )

    assert weak.status_code == 422 and good.status_code == 204


async def test_reset_lifts_a_lockout(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user = await make_user()
    await set_user(app, user.id, locked_until=utcnow() + timedelta(minutes=10))
    await client.post("/api/v1/auth/password-reset/request", json={"email": user.email})
    mail = await mailed_token(app, user.id, "user.password_reset_requested")

    await client.post(
        "/api/v1/auth/password-reset", json={"token": mail["token"], "new_password": NEW_PASSWORD}
    )

    assert (
        await client.post("/api/v1/auth/login", data={"username": user.email, "password": NEW_PASSWORD})
    ).status_code == 200


async def test_mail_cooldown_limits_repeated_requests(
    database_url: str, redis_url: str, tmp_path, make_user
) -> None:
    from shared.testing.plugin import asgi_client
    from user_service.main import create_app

    from .conftest import make_settings

    app = create_app(
        make_settings(
            database_url=database_url, redis_url=redis_url, data_dir=tmp_path, mail_cooldown_seconds=60
        )
    )
    async with asgi_client(app) as c:
        user = await make_user()
        for _ in range(3):
            assert (
                await c.post("/api/v1/auth/password-reset/request", json={"email": user.email})
            ).status_code == 202
        assert len(await events(app, subject=user.id, type_="user.password_reset_requested")) == 1


async def test_housekeeping_purges_only_long_dead_sessions_and_tokens(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    from sqlalchemy import func, select

    from user_service.auth.housekeeping import purge_expired
    from user_service.models import AuthSession

    user = await make_user()
    await user.login(client)
    uid = uuid.UUID(user.id)

    async def counts() -> tuple[int, int]:
        async with app.state.db.sessionmaker() as session:
            s = await session.scalar(
                select(func.count()).select_from(AuthSession).where(AuthSession.user_id == uid)
            )
            t = await session.scalar(
                select(func.count()).select_from(OneTimeToken).where(OneTimeToken.user_id == uid)
            )
        return int(s or 0), int(t or 0)

    assert await counts() == (1, 1)
    async with app.state.db.sessionmaker() as session, session.begin():
        await purge_expired(session)
    assert await counts() == (1, 1)  # alive: kept

    async with app.state.db.sessionmaker() as session, session.begin():
        await purge_expired(session, now=utcnow() + timedelta(days=60))
    assert await counts() == (0, 0)


async def test_verification_request_with_a_bad_token_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/verify-email/request", headers=bearer("not-a-token"))

    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"
