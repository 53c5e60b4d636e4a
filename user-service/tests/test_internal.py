"""`GET /internal/users/{id}`: the contract of docs/internal-api.md, for service API keys only."""

from __future__ import annotations

import uuid

import httpx

from shared.settings import dev_api_key


async def test_internal_user_lookup_returns_the_contract_fields(client: httpx.AsyncClient, make_user) -> None:
    user = await make_user(full_name="Nadia Islam", phone_number="+8801812345678")

    resp = await client.get(
        f"/internal/users/{user.id}", headers={"X-API-Key": dev_api_key("notification-service")}
    )

    assert resp.status_code == 200
    assert resp.json() == {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "full_name": "Nadia Islam",
        "phone_number": "+8801812345678",
        "role": "user",
        "is_active": True,
        "email_verified": False,
        "locked_until": None,
        "preferred_language": "en",
    }


async def test_internal_lookup_refuses_user_tokens_and_missing_keys(
    client: httpx.AsyncClient, make_user
) -> None:
    user = await make_user()

    no_key = await client.get(f"/internal/users/{user.id}")
    bad_key = await client.get(f"/internal/users/{user.id}", headers={"X-API-Key": "nope"})
    user_token = await client.get(f"/internal/users/{user.id}", headers=await user.headers(client))

    assert no_key.status_code == bad_key.status_code == user_token.status_code == 401
    assert no_key.json()["code"] == "invalid_service_key"


async def test_internal_lookup_of_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        f"/internal/users/{uuid.uuid4()}", headers={"X-API-Key": dev_api_key("admin-service")}
    )

    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
