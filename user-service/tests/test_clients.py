"""API clients: admin-only management, secret shown once, client-credentials tokens with scopes."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import update

from shared.db import utcnow
from user_service.models import ApiClient

from .conftest import bearer, events


async def create_client(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> httpx.Response:
    payload = {"name": "partner", "scopes": ["transactions:read", "rates:read"], **body}
    return await client.post("/api/v1/users/api-clients", json=payload, headers=headers)


async def client_token(client: httpx.AsyncClient, cid: str, secret: str, scope: str = "") -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret, "scope": scope},
    )


async def test_admin_creates_a_client_and_sees_the_secret_only_once(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    admin = await make_user(role="admin")
    headers = await admin.headers(client)

    resp = await create_client(client, headers, expires_in_days=30)

    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["client_id"].startswith("pgc_") and created["client_secret"].startswith("pgs_")
    assert created["scopes"] == ["rates:read", "transactions:read"] and created["expires_at"]
    listing = await client.get("/api/v1/users/api-clients", headers=headers)
    assert created["client_id"] in listing.text and created["client_secret"] not in listing.text
    assert "client_secret" not in listing.json()[0]
    audit = await events(app, subject=admin.id, type_="user.api_client_created")
    assert audit[-1]["data"]["client_id"] == created["client_id"] and created["client_secret"] not in str(
        audit
    )


async def test_non_admins_cannot_manage_clients(client: httpx.AsyncClient, make_user) -> None:
    for role in ("user", "support"):
        headers = await (await make_user(role=role)).headers(client)
        assert (await create_client(client, headers)).status_code == 403
        assert (await client.get("/api/v1/users/api-clients", headers=headers)).status_code == 403


async def test_client_credentials_token_carries_the_scopes(client: httpx.AsyncClient, make_user) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()

    resp = await client_token(client, created["client_id"], created["client_secret"])

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "refresh_token" not in body and body["scope"] == "rates:read transactions:read"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (
        claims["sub"] == f"client:{created['client_id']}"
        and claims["scope"] == "rates:read transactions:read"
    )
    assert claims["type"] == "access" and claims["role"] == "user"


async def test_client_may_ask_for_a_subset_of_its_scopes_and_via_basic_auth(
    client: httpx.AsyncClient, make_user
) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()
    basic = base64.b64encode(f"{created['client_id']}:{created['client_secret']}".encode()).decode()

    resp = await client.post(
        "/api/v1/auth/login",
        data={"grant_type": "client_credentials", "scope": "rates:read"},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert resp.status_code == 200 and resp.json()["scope"] == "rates:read"


async def test_a_scope_not_granted_is_refused(client: httpx.AsyncClient, make_user) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()

    resp = await client_token(client, created["client_id"], created["client_secret"], scope="payments:write")

    assert resp.status_code == 400 and resp.json()["code"] == "invalid_scope"


async def test_wrong_secret_and_unknown_client_are_401(client: httpx.AsyncClient, make_user) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()

    wrong = await client_token(client, created["client_id"], "pgs_wrong")
    unknown = await client_token(client, "pgc_unknown", created["client_secret"])

    assert wrong.status_code == unknown.status_code == 401 and wrong.json()["code"] == "invalid_client"


async def test_revoking_a_client_kills_its_live_tokens(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    headers = await (await make_user(role="admin")).headers(client)
    created = (await create_client(client, headers)).json()
    token = (await client_token(client, created["client_id"], created["client_secret"])).json()[
        "access_token"
    ]
    principal = await app.state.verifier.verify(token)
    assert principal.is_client

    resp = await client.delete(f"/api/v1/users/api-clients/{created['client_id']}", headers=headers)

    assert resp.status_code == 204
    assert (await client.post("/api/v1/auth/logout", headers=bearer(token))).status_code == 401
    assert (await client_token(client, created["client_id"], created["client_secret"])).status_code == 401
    assert (await client.delete("/api/v1/users/api-clients/pgc_nope", headers=headers)).status_code == 404


async def test_expired_client_cannot_get_tokens(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiClient)
            .where(ApiClient.client_id == created["client_id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    resp = await client_token(client, created["client_id"], created["client_secret"])

    assert resp.status_code == 401


async def test_a_client_token_is_not_a_users_token(client: httpx.AsyncClient, make_user) -> None:
    created = (await create_client(client, await (await make_user(role="admin")).headers(client))).json()
    token = (await client_token(client, created["client_id"], created["client_secret"])).json()[
        "access_token"
    ]

    me = await client.get("/api/v1/users/me", headers=bearer(token))
    staff = await client.get("/api/v1/users", headers=bearer(token))

    assert me.status_code == 401 and me.json()["code"] == "user_token_required"
    assert staff.status_code == 403


async def test_invalid_scope_names_are_422(client: httpx.AsyncClient, make_user) -> None:
    resp = await create_client(
        client, await (await make_user(role="admin")).headers(client), scopes=["Bad Scope"]
    )

    assert resp.status_code == 422


async def test_client_credentials_without_a_client_is_401(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/auth/login", data={"grant_type": "client_credentials"})

    assert resp.status_code == 401 and resp.json()["code"] == "invalid_client"
