"""Staff endpoints: support reads, admin writes, users neither; each action audited."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from .conftest import bearer, events, set_user


async def test_a_user_cannot_list_or_read_other_users(client: httpx.AsyncClient, make_user) -> None:
    user, other = await make_user(), await make_user()
    headers = await user.headers(client)

    listing = await client.get("/api/v1/users", headers=headers)
    reading = await client.get(f"/api/v1/users/{other.id}", headers=headers)
    own = await client.get(f"/api/v1/users/{user.id}", headers=headers)

    assert listing.status_code == reading.status_code == own.status_code == 403
    assert reading.json()["code"] == "insufficient_role"


async def test_a_user_cannot_change_another_user(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    user, other = await make_user(), await make_user()

    resp = await client.patch(
        f"/api/v1/users/{other.id}", json={"is_active": False}, headers=await user.headers(client)
    )

    assert resp.status_code == 403
    assert (
        await client.post("/api/v1/auth/login", data={"username": other.email, "password": other.password})
    ).status_code == 200


@pytest.mark.parametrize("role", ["support", "admin"])
async def test_staff_can_search_with_filters_and_pagination(
    client: httpx.AsyncClient, make_user, role: str
) -> None:
    staff = await make_user(role=role)
    tag = uuid.uuid4().hex[:6]
    for _ in range(3):
        await make_user(full_name=f"Searchable {tag}")
    headers = await staff.headers(client)

    page1 = await client.get("/api/v1/users", params={"q": tag, "size": 2}, headers=headers)
    page2 = await client.get("/api/v1/users", params={"q": tag, "size": 2, "page": 2}, headers=headers)

    assert page1.status_code == 200, page1.text
    assert page1.json()["total"] == 3 and len(page1.json()["items"]) == 2 and len(page2.json()["items"]) == 1
    assert "password_hash" not in page1.text
    admins = await client.get("/api/v1/users", params={"role": "admin", "size": 100}, headers=headers)
    assert {u["role"] for u in admins.json()["items"]} <= {"admin"}
    unverified = await client.get(
        "/api/v1/users", params={"q": tag, "email_verified": "false", "is_active": "true"}, headers=headers
    )
    assert unverified.json()["total"] == 3


async def test_search_treats_like_wildcards_literally(client: httpx.AsyncClient, make_user) -> None:
    admin = await make_user(role="admin")

    resp = await client.get("/api/v1/users", params={"q": "%"}, headers=await admin.headers(client))

    assert resp.status_code == 200 and resp.json()["total"] == 0


async def test_staff_reads_are_audited_without_the_search_text(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    support, target = await make_user(role="support"), await make_user()
    headers = await support.headers(client)

    resp = await client.get(f"/api/v1/users/{target.id}", headers=headers)
    await client.get("/api/v1/users", params={"q": target.email}, headers=headers)

    assert resp.status_code == 200 and resp.json()["email"] == target.email
    viewed = await events(app, subject=target.id, type_="user.staff_viewed")
    assert viewed[-1]["data"]["by"] == support.id and viewed[-1]["subscribers"] == ["audit-service"]
    searched = [e for e in await events(app, type_="user.staff_searched") if e["data"]["by"] == support.id]
    assert searched[-1]["data"]["filters"]["q"] is True and target.email not in str(searched)


async def test_unknown_user_is_404(client: httpx.AsyncClient, make_user) -> None:
    admin = await make_user(role="admin")

    resp = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=await admin.headers(client))

    assert resp.status_code == 404


async def test_support_cannot_write(client: httpx.AsyncClient, make_user) -> None:
    support, target = await make_user(role="support"), await make_user()

    resp = await client.patch(
        f"/api/v1/users/{target.id}", json={"role": "admin"}, headers=await support.headers(client)
    )

    assert resp.status_code == 403 and resp.json()["code"] == "insufficient_role"


async def test_admin_changes_a_role_ending_the_users_sessions(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    admin, target = await make_user(role="admin"), await make_user()
    target_tokens = await target.login(client)

    resp = await client.patch(
        f"/api/v1/users/{target.id}", json={"role": "support"}, headers=await admin.headers(client)
    )

    assert resp.status_code == 200 and resp.json()["role"] == "support"
    assert (
        await client.get("/api/v1/users/me", headers=bearer(target_tokens["access_token"]))
    ).status_code == 401
    changed = await events(app, subject=target.id, type_="user.role_changed")
    assert changed[-1]["data"] == {
        "user_id": target.id,
        "old_role": "user",
        "new_role": "support",
        "by": admin.id,
    }
    relogin = await target.login(client)
    assert (await client.get("/api/v1/users", headers=bearer(relogin["access_token"]))).status_code == 200


async def test_admin_deactivates_a_user(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    admin, target = await make_user(role="admin"), await make_user()
    target_tokens = await target.login(client)

    resp = await client.patch(
        f"/api/v1/users/{target.id}", json={"is_active": False}, headers=await admin.headers(client)
    )

    assert resp.status_code == 200 and resp.json()["is_active"] is False
    assert (
        await client.get("/api/v1/users/me", headers=bearer(target_tokens["access_token"]))
    ).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", data={"username": target.email, "password": target.password}
    )
    assert login.status_code == 403
    assert await events(app, subject=target.id, type_="user.deactivated")


async def test_admin_unlocks_a_locked_account(client: httpx.AsyncClient, make_user, app: FastAPI) -> None:
    admin, target = await make_user(role="admin"), await make_user()
    for _ in range(5):
        await client.post("/api/v1/auth/login", data={"username": target.email, "password": "Wr0ng!password"})
    assert (
        await client.post("/api/v1/auth/login", data={"username": target.email, "password": target.password})
    ).status_code == 423

    resp = await client.patch(
        f"/api/v1/users/{target.id}", json={"unlock": True}, headers=await admin.headers(client)
    )

    assert resp.status_code == 200 and resp.json()["locked_until"] is None
    assert (
        await client.post("/api/v1/auth/login", data={"username": target.email, "password": target.password})
    ).status_code == 200
    unlocked = await events(app, subject=target.id, type_="user.unlocked")
    assert unlocked[-1]["data"] == {"user_id": target.id, "was_locked": True, "by": admin.id}


async def test_admin_cannot_demote_or_deactivate_themselves(client: httpx.AsyncClient, make_user) -> None:
    admin = await make_user(role="admin")
    headers = await admin.headers(client)

    demote = await client.patch(f"/api/v1/users/{admin.id}", json={"role": "user"}, headers=headers)
    disable = await client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers)

    assert demote.status_code == disable.status_code == 409


async def test_admin_patch_of_unknown_user_is_404(client: httpx.AsyncClient, make_user) -> None:
    admin = await make_user(role="admin")

    resp = await client.patch(
        f"/api/v1/users/{uuid.uuid4()}", json={"unlock": True}, headers=await admin.headers(client)
    )

    assert resp.status_code == 404


async def test_deactivated_admin_token_stops_working(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    admin = await make_user(role="admin")
    headers = await admin.headers(client)
    await set_user(app, admin.id, is_active=False)

    resp = await client.get("/api/v1/users/me", headers=headers)

    assert resp.status_code == 401


async def test_unknown_role_filter_is_422(client: httpx.AsyncClient, make_user) -> None:
    admin = await make_user(role="admin")

    resp = await client.get("/api/v1/users", params={"role": "root"}, headers=await admin.headers(client))

    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "role"
