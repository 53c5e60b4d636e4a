"""Operations admin-service relies on: force logout of a user, and registration counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from shared.settings import dev_api_key

from .conftest import events


async def test_admin_force_logout_ends_every_session_of_the_user(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    admin, user = await make_user(role="admin"), await make_user()
    first, second = await user.headers(client), await user.headers(client)
    assert (await client.get("/api/v1/users/me", headers=first)).status_code == 200

    resp = await client.post(f"/api/v1/users/{user.id}/sessions/revoke", headers=await admin.headers(client))

    assert resp.status_code == 200 and resp.json() == {"user_id": user.id, "sessions_revoked": 2}
    assert (await client.get("/api/v1/users/me", headers=first)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=second)).status_code == 401
    [event] = await events(app, subject=user.id, type_="user.sessions_revoked")
    assert event["data"]["by"] == admin.id


async def test_force_logout_is_admin_only(client: httpx.AsyncClient, make_user) -> None:
    support, user = await make_user(role="support"), await make_user()
    resp = await client.post(
        f"/api/v1/users/{user.id}/sessions/revoke", headers=await support.headers(client)
    )
    assert resp.status_code == 403
    assert (await client.get("/api/v1/users/me", headers=await user.headers(client))).status_code == 200


async def test_internal_user_stats_count_registrations_in_the_period(
    client: httpx.AsyncClient, make_user
) -> None:
    key = {"X-API-Key": dev_api_key("admin-service")}
    now = datetime.now(UTC)
    params = {
        "date_from": (now - timedelta(minutes=5)).isoformat(),
        "date_to": (now + timedelta(minutes=5)).isoformat(),
    }
    before = (await client.get("/internal/users/stats", params=params, headers=key)).json()
    await make_user()
    await make_user()
    after = (await client.get("/internal/users/stats", params=params, headers=key)).json()
    assert after["new_users"] == before["new_users"] + 2
    assert after["total_users"] == before["total_users"] + 2
    past = {"date_from": "2000-01-01T00:00:00+00:00", "date_to": "2000-01-02T00:00:00+00:00"}
    assert (await client.get("/internal/users/stats", params=past, headers=key)).json()["new_users"] == 0
    assert (await client.get("/internal/users/stats", params=params)).status_code == 401
