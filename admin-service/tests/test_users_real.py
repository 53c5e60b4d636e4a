"""User management against the REAL user-service (served on a free loopback port with its own
fresh database): its real access tokens are verified by admin-service through the real JWKS, the
change takes effect in user-service's database, user-service publishes its own event to the audit
trail, and admin-service records its own `admin.user_updated` for the audit-service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from admin_service.models import OutboxMessage
from shared.testing.servers import serve
from tests.conftest import FAST_RELAY, service_urls
from tests.helpers import wait_until
from user_service.main import create_app as create_user_app
from user_service.models import User
from user_service.settings import Settings as UserSettings

PASSWORD = "Str0ng!Passw0rd"


@pytest.fixture(scope="module")
async def users(make_database, redis_url, stub, tmp_path_factory) -> AsyncIterator[tuple[Any, str]]:
    settings = UserSettings(
        environment="test",
        database_url=make_database("user_service", "users"),
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("user-service"),
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
        mail_cooldown_seconds=0,
        jwt_key_reload_interval=0,
        bootstrap_admin_email="",
        bootstrap_admin_password="",
        log_level="WARNING",
        **service_urls(stub.url),  # its events go to the audit/notification contract stub
        **FAST_RELAY,
    )
    app = create_user_app(settings)
    async with serve(app) as url:
        yield app, url


async def account(http: httpx.AsyncClient, app: Any, role: str = "user") -> dict[str, Any]:
    name = f"u_{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    resp = await http.post("/api/v1/auth/register", json=body)
    assert resp.status_code == 201, resp.text
    user = {**resp.json(), "username": name, "email": body["email"]}
    if role != "user":
        async with app.state.db.sessionmaker() as s, s.begin():
            await s.execute(update(User).where(User.id == uuid.UUID(user["id"])).values(role=role))
    return user


async def login(http: httpx.AsyncClient, user: dict[str, Any]) -> httpx.Response:
    return await http.post("/api/v1/auth/login", data={"username": user["email"], "password": PASSWORD})


async def bearer(http: httpx.AsyncClient, user: dict[str, Any]) -> dict[str, str]:
    resp = await login(http, user)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_deactivation_takes_effect_in_the_real_user_service_and_is_audited(
    users, isolated_admin, stub
) -> None:
    user_app, url = users
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        boss = await account(http, user_app, "admin")
        helper = await account(http, user_app, "support")
        target = await account(http, user_app)
        admin_headers, support_headers = await bearer(http, boss), await bearer(http, helper)
        async with isolated_admin(
            test_tokens=False, user_service_url=url, jwks_url=f"{url}/.well-known/jwks.json"
        ) as (client, app):
            found = await client.get(
                "/api/v1/admin/users", params={"q": target["username"]}, headers=support_headers
            )
            assert found.status_code == 200, found.text
            assert [u["id"] for u in found.json()["items"]] == [target["id"]]

            denied = await client.patch(
                f"/api/v1/admin/users/{target['id']}", json={"is_active": False}, headers=support_headers
            )
            assert denied.status_code == 403

            resp = await client.patch(
                f"/api/v1/admin/users/{target['id']}", json={"is_active": False}, headers=admin_headers
            )
            assert resp.status_code == 200, resp.text
            assert resp.json()["is_active"] is False

            async with app.state.db.sessionmaker() as s:
                rows = (
                    await s.scalars(
                        select(OutboxMessage).where(OutboxMessage.event_type == "admin.user_updated")
                    )
                ).all()
            mine = [r for r in rows if r.envelope["subject_id"] == target["id"]]
            assert {r.subscriber for r in mine} >= {"audit-service"}
            assert mine[0].envelope["data"]["changes"] == {"is_active": False}

        async with user_app.state.db.sessionmaker() as s:
            stored = (await s.scalars(select(User).where(User.id == uuid.UUID(target["id"])))).one()
        assert stored.is_active is False
        assert (await login(http, target)).status_code in (401, 403)  # the change took effect

    async def audited() -> bool:
        return any(e["subject_id"] == target["id"] for e in stub.state.events_of("user.deactivated"))

    await wait_until(audited)  # user-service's own event reached the audit trail (contract stub)
