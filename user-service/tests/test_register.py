"""Registration: validation, normalisation, duplicates, password policy, and the events it emits."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from .conftest import PASSWORD, events, get_user, mailed_token


def unique() -> str:
    return f"r_{uuid.uuid4().hex[:10]}"


async def test_register_creates_user_without_exposing_the_hash(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    name = unique()
    resp = await client.post(
        "/api/v1/auth/register",
        json={
            "username": name.upper(),
            "email": f"{name.upper()}@Example.COM",
            "password": PASSWORD,
            "full_name": "Rahim Ahmed",
            "phone_number": "01712345678",
        },
    )

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["username"] == name and body["email"] == f"{name}@example.com"
    assert body["phone_number"] == "+8801712345678"
    assert body["role"] == "user" and body["email_verified"] is False and body["is_active"] is True
    assert not any("password" in k or "hash" in k for k in body)
    stored = await get_user(app, body["id"])
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


async def test_register_emits_registered_and_a_sealed_verification_mail(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    name = unique()
    resp = await client.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    user_id = resp.json()["id"]

    found = await events(app, subject=user_id)
    assert [e["type"] for e in found] == ["user.registered", "user.email_verification_requested"]
    assert found[0]["data"] == {
        "user_id": user_id,
        "username": name,
        "email_verified": False,
        "role": "user",
        "by": "self",
    }
    assert set(found[0]["subscribers"]) == {"audit-service", "notification-service"}
    assert set(found[1]["data"]) == {"user_id", "sealed"}
    mail = await mailed_token(app, user_id, "user.email_verification_requested")
    assert mail["email"] == f"{name}@example.com" and "/verify-email?token=" in mail["url"]
    assert mail["token"] not in str(found)


@pytest.mark.parametrize("field", ["email", "username"])
async def test_duplicate_email_or_username_is_409(client: httpx.AsyncClient, field: str) -> None:
    name = unique()
    first = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=first)).status_code == 201
    other = unique()
    second = {"username": other, "email": f"{other}@example.com", "password": PASSWORD}
    second[field] = first[field].upper()  # case-insensitive

    resp = await client.post("/api/v1/auth/register", json=second)

    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "already_registered" and resp.json()["fields"] == [field]


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "at least 8 characters"),
        ("nouppercase1!", "an upper-case letter"),
        ("NoDigitsHere!", "a digit"),
        ("NoSpecial123", "a special character"),
    ],
)
async def test_weak_password_is_422_without_echoing_it(
    client: httpx.AsyncClient, password: str, problem: str
) -> None:
    name = unique()
    resp = await client.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": password}
    )

    assert resp.status_code == 422
    assert resp.json()["code"] == "weak_password"
    assert problem in resp.json()["detail"]
    assert password not in resp.text


async def test_password_equal_to_the_email_is_refused(client: httpx.AsyncClient) -> None:
    name = unique()
    email = f"{name}@Example.com"
    resp = await client.post(
        "/api/v1/auth/register", json={"username": f"x{name}", "email": email, "password": email.upper()}
    )

    assert resp.status_code == 422
    assert "must differ from the username and e-mail" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "has space"),
        ("username", "a@b"),
        ("email", "not-an-email"),
        ("phone_number", "12345"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, field: str, value: str
) -> None:
    name = unique()
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, field: value}

    resp = await client.post("/api/v1/auth/register", json=body)

    assert resp.status_code == 422
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert PASSWORD not in resp.text


async def test_a_refused_registration_publishes_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    name = unique()
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    before = len(await events(app, type_="user.registered"))

    again = await client.post("/api/v1/auth/register", json={**body, "username": unique()})

    assert again.status_code == 409
    assert len(await events(app, type_="user.registered")) == before
