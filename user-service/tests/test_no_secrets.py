"""No response, log line or event ever carries a password, a hash, a token or a client secret
(except the response that hands the caller their own new token or secret)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from shared.sealed import unseal
from shared.testing.plugin import asgi_client
from user_service.main import create_app
from user_service.models import OutboxMessage

from .conftest import PASSWORD, bearer, get_user, make_settings, set_user

NEW_PASSWORD = "Rotated!Passw0rd"
WRONG_PASSWORD = "Guess3d!Wrong"


async def test_secrets_never_leak_into_responses_logs_or_events(
    database_url: str, redis_url: str, tmp_path, capsys
) -> None:
    app: FastAPI = create_app(
        make_settings(database_url=database_url, redis_url=redis_url, data_dir=tmp_path, log_level="DEBUG")
    )
    responses: list[httpx.Response] = []
    issued: dict[str, str] = {}  # secret → the one response body allowed to contain it

    async with asgi_client(app) as client:

        async def call(method: str, url: str, **kw: Any) -> httpx.Response:
            resp = await client.request(method, url, **kw)
            responses.append(resp)
            return resp

        reg = await call(
            "POST",
            "/api/v1/auth/register",
            json={"username": "leakcheck", "email": "leakcheck@example.com", "password": PASSWORD},
        )
        user_id = reg.json()["id"]
        first_hash = (await get_user(app, user_id)).password_hash
        await call("POST", "/api/v1/auth/login", data={"username": "leakcheck", "password": WRONG_PASSWORD})
        login = await call("POST", "/api/v1/auth/login", data={"username": "leakcheck", "password": PASSWORD})
        refreshed = await call(
            "POST", "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        await call(
            "POST", "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )  # reuse
        await call("POST", "/api/v1/auth/password-reset/request", json={"email": "leakcheck@example.com"})
        async with app.state.db.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.event_type == "user.password_reset_requested")
                )
            ).all()
        sealed = [r.envelope["data"]["sealed"] for r in rows if r.envelope["subject_id"] == user_id][-1]
        reset_token = unseal(sealed, app.state.settings.event_seal_key.get_secret_value())["url"].split(
            "token="
        )[1]
        await call(
            "POST", "/api/v1/auth/password-reset", json={"token": reset_token, "new_password": NEW_PASSWORD}
        )
        second_hash = (await get_user(app, user_id)).password_hash
        await set_user(app, user_id, role="admin")
        admin = await call(
            "POST", "/api/v1/auth/login", data={"username": "leakcheck", "password": NEW_PASSWORD}
        )
        headers = bearer(admin.json()["access_token"])
        created = await call(
            "POST", "/api/v1/users/api-clients", json={"name": "leak", "scopes": ["a:b"]}, headers=headers
        )
        ctoken = await call(
            "POST",
            "/api/v1/auth/login",
            data={
                "grant_type": "client_credentials",
                "client_id": created.json()["client_id"],
                "client_secret": created.json()["client_secret"],
            },
        )
        await call("GET", "/api/v1/users/api-clients", headers=headers)
        await call("GET", f"/api/v1/users/{user_id}", headers=headers)
        await call("POST", "/api/v1/auth/logout", headers=headers)

        async with app.state.db.sessionmaker() as session:
            envelopes = [r.envelope for r in (await session.scalars(select(OutboxMessage))).all()]

    logs = capsys.readouterr()
    for resp, key in (
        (login, "access_token"),
        (login, "refresh_token"),
        (refreshed, "access_token"),
        (refreshed, "refresh_token"),
        (admin, "access_token"),
        (admin, "refresh_token"),
        (ctoken, "access_token"),
        (created, "client_secret"),
    ):
        issued[resp.json()[key]] = resp.text
    never = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, first_hash, second_hash, reset_token, "$argon2"]
    everything_logged = logs.out + logs.err
    assert "login" in everything_logged  # the capture did see the service's log lines
    for secret in [*never, *issued]:
        assert secret not in everything_logged
        assert secret not in str(envelopes)
        for resp in responses:
            if issued.get(secret) != resp.text:
                assert secret not in resp.text and secret not in str(resp.headers)
