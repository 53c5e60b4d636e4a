"""Fixtures for the User Service tests: a fresh PostgreSQL database migrated with this service's
Alembic tree, real Redis, and the app served in-process.

The database lives for the whole run (the app commits through its own engine), so every test
creates its own users with unique names. argon2 is made cheap here (the production parameters are
the settings' defaults); the outbox relay is off so tests read the published events from the table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from shared.sealed import unseal
from shared.testing.plugin import asgi_client
from user_service.main import create_app
from user_service.models import OutboxMessage, User
from user_service.settings import Settings

PASSWORD = "Str0ng!Passw0rd"


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("user_service", "users")


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 1024,
        "argon2_parallelism": 1,
        "mail_cooldown_seconds": 0,
        "outbox_relay_enabled": False,
        "jwt_key_reload_interval": 0,
        "bootstrap_admin_email": "",
        "bootstrap_admin_password": "",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path) -> Settings:
    return make_settings(database_url=database_url, redis_url=redis_url, data_dir=tmp_path)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: str
    username: str
    email: str
    password: str
    role: str = "user"

    async def login(self, client: httpx.AsyncClient, *, identifier: str | None = None) -> dict[str, Any]:
        resp = await client.post(
            "/api/v1/auth/login", data={"username": identifier or self.email, "password": self.password}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return bearer((await self.login(client))["access_token"])


async def set_user(app: FastAPI, user_id: str, **values: Any) -> None:
    async with app.state.db.sessionmaker() as session, session.begin():
        await session.execute(update(User).where(User.id == uuid.UUID(user_id)).values(**values))


async def get_user(app: FastAPI, user_id: str) -> User:
    async with app.state.db.sessionmaker() as session:
        return (await session.scalars(select(User).where(User.id == uuid.UUID(user_id)))).one()


@pytest.fixture
def make_user(client: httpx.AsyncClient, app: FastAPI) -> Callable[..., Awaitable[Account]]:
    async def factory(role: str = "user", password: str = PASSWORD, **extra: Any) -> Account:
        name = f"u_{uuid.uuid4().hex[:10]}"
        body = {"username": name, "email": f"{name}@example.com", "password": password, **extra}
        resp = await client.post("/api/v1/auth/register", json=body)
        assert resp.status_code == 201, resp.text
        account = Account(id=resp.json()["id"], username=name, email=f"{name}@example.com", password=password)
        if role != "user":
            await set_user(app, account.id, role=role)
            account.role = role
        return account

    return factory


async def events(
    app: FastAPI, *, subject: str | None = None, type_: str | None = None
) -> list[dict[str, Any]]:
    """Published envelopes (one per event, not per subscriber), oldest first."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if type_:
        stmt = stmt.where(OutboxMessage.event_type == type_)
    async with app.state.db.sessionmaker() as session:
        rows = (await session.scalars(stmt)).all()
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        env = row.envelope
        if subject is not None and env.get("subject_id") != subject:
            continue
        seen.setdefault(env["id"], {**env, "subscribers": []})["subscribers"].append(row.subscriber)
    return list(seen.values())


async def mailed_token(app: FastAPI, user_id: str, event_type: str) -> dict[str, Any]:
    """Open the sealed part of the latest mail event, as notification-service would."""
    found = await events(app, subject=user_id, type_=event_type)
    assert found, f"no {event_type} event"
    sealed = unseal(found[-1]["data"]["sealed"], app.state.settings.event_seal_key.get_secret_value())
    sealed["token"] = sealed["url"].split("token=", 1)[1]
    return sealed
