"""The caller's own profile, e-mail change, sessions and password change."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from .conftest import bearer, events, get_user, mailed_token


async def test_me_requires_a_token(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/users/me")

    assert resp.status_code == 401 and resp.json()["code"] == "not_authenticated"


async def test_me_returns_the_callers_profile(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user(full_name="Karim Uddin")

    resp = await client.get("/api/v1/users/me", headers=await user.headers(client))

    assert resp.status_code == 200
    assert resp.json()["id"] == user.id and resp.json()["full_name"] == "Karim Uddin"
    assert "password_hash" not in resp.json()


async def test_patch_me_updates_profile_fields_and_emits_user_updated(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user(phone_number="+8801712345678")
    headers = await user.headers(client)

    resp = await client.patch(
        "/api/v1/users/me",
        json={"full_name": "New Name", "phone_number": "+44 20 7946 0958", "address": "House 1, Dhaka"},
        headers=headers,
    )

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["full_name"], body["phone_number"], body["address"]) == (
        "New Name",
        "+442079460958",
        "House 1, Dhaka",
    )
    updated = await events(app, subject=user.id, type_="user.updated")
    assert updated[-1]["data"]["fields"] == ["full_name", "phone_number", "address"]


async def test_patch_me_rejects_unknown_fields_like_role(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()

    resp = await client.patch("/api/v1/users/me", json={"role": "admin"}, headers=await user.headers(client))

    assert resp.status_code == 422
    assert (await client.get("/api/v1/users/me", headers=await user.headers(client))).json()["role"] == "user"


async def test_patch_me_rejects_an_invalid_phone(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()

    resp = await client.patch(
        "/api/v1/users/me", json={"phone_number": "999"}, headers=await user.headers(client)
    )

    assert resp.status_code == 422 and resp.json()["code"] == "invalid_phone_number"


async def test_email_change_waits_for_verification_of_the_new_address(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    headers = await user.headers(client)
    new_email = f"new_{uuid.uuid4().hex[:8]}@example.com"

    resp = await client.patch("/api/v1/users/me", json={"email": new_email}, headers=headers)

    assert resp.status_code == 200
    assert resp.json()["email"] == user.email and resp.json()["pending_email"] == new_email
    mail = await mailed_token(app, user.id, "user.email_verification_requested")
    assert mail["email"] == new_email
    verified = await client.post("/api/v1/auth/verify-email", json={"token": mail["token"]})
    assert verified.status_code == 200
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    assert me["email"] == new_email and me["pending_email"] is None and me["email_verified"] is True


async def test_email_change_to_a_taken_address_is_409(client: httpx.AsyncClient, make_user) -> None:
    user, other = await make_user(), await make_user()

    resp = await client.patch(
        "/api/v1/users/me", json={"email": other.email}, headers=await user.headers(client)
    )

    assert resp.status_code == 409


async def test_sessions_lists_my_active_sessions_and_marks_the_current_one(
    client: httpx.AsyncClient, make_user
) -> None:
    user = await make_user()
    await user.login(client)
    headers = await user.headers(client)

    resp = await client.get("/api/v1/users/me/sessions", headers=headers)

    assert resp.status_code == 200
    sessions = resp.json()
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1


async def test_deleting_a_session_revokes_its_tokens(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()
    victim = await user.login(client)
    headers = await user.headers(client)
    sid = next(
        s["id"]
        for s in (await client.get("/api/v1/users/me/sessions", headers=headers)).json()
        if not s["current"]
    )

    resp = await client.delete(f"/api/v1/users/me/sessions/{sid}", headers=headers)

    assert resp.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(victim["access_token"]))).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": victim["refresh_token"]})
    ).status_code == 401
    assert len((await client.get("/api/v1/users/me/sessions", headers=headers)).json()) == 1


async def test_a_user_cannot_delete_another_users_session(client: httpx.AsyncClient, make_user) -> None:
    owner, intruder = await make_user(), await make_user()
    owner_tokens = await owner.login(client)
    sid = (
        await client.get("/api/v1/users/me/sessions", headers=bearer(owner_tokens["access_token"]))
    ).json()[0]["id"]

    resp = await client.delete(f"/api/v1/users/me/sessions/{sid}", headers=await intruder.headers(client))

    assert resp.status_code == 404
    assert (
        await client.get("/api/v1/users/me", headers=bearer(owner_tokens["access_token"]))
    ).status_code == 200


async def test_password_change_needs_the_current_password(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()

    resp = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "Wr0ng!password", "new_password": "An0ther!Passw0rd"},
        headers=await user.headers(client),
    )

    assert resp.status_code == 400 and resp.json()["code"] == "wrong_password"
    failed = await events(app, subject=user.id, type_="user.login_failed")
    assert failed[-1]["data"]["reason"] == "bad_current_password"


async def test_password_change_enforces_the_policy(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user()

    resp = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": "weak"},
        headers=await user.headers(client),
    )

    assert resp.status_code == 422 and resp.json()["code"] == "weak_password"


async def test_password_change_revokes_other_sessions_but_keeps_this_one(
    client: httpx.AsyncClient, make_user, app: FastAPI
) -> None:
    user = await make_user()
    other = await user.login(client)
    this = await user.login(client)

    resp = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": "An0ther!Passw0rd"},
        headers=bearer(this["access_token"]),
    )

    assert resp.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(other["access_token"]))).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bearer(this["access_token"]))).status_code == 200
    old = await client.post("/api/v1/auth/login", data={"username": user.email, "password": user.password})
    assert old.status_code == 401
    changed = await events(app, subject=user.id, type_="user.password_changed")
    assert changed[-1]["data"] == {"user_id": user.id, "by": "user", "sessions_revoked": 1}
    assert (await get_user(app, user.id)).password_hash.startswith("$argon2id$")
