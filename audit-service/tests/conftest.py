"""Fixtures for the Audit Service tests: a fresh PostgreSQL database migrated with this service's
Alembic tree, real Redis, and the app served in-process with a test token issuer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from audit_service.main import create_app
from audit_service.settings import Settings
from shared.events import EventEnvelope
from shared.settings import dev_api_key
from shared.testing.plugin import _asyncpg_dsn, asgi_client
from shared.testing.tokens import TokenFactory

SERVICE_KEY = {"X-API-Key": dev_api_key("payment-service")}


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("audit_service", "audit")


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        outbox_relay_enabled=False,
        audit_checkpoint_interval_seconds=0,
    )


@pytest.fixture(scope="session")
def issuer() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    yield create_app(settings)


@pytest.fixture
async def client(app: FastAPI, issuer: TokenFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        issuer.install(app)
        yield c


@pytest.fixture
def admin(issuer: TokenFactory) -> dict[str, str]:
    return issuer.headers(role="admin")


@pytest.fixture
def support(issuer: TokenFactory) -> dict[str, str]:
    return issuer.headers(role="support")


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct superuser connection to the test database (search_path = audit), for tampering."""
    conn = await asyncpg.connect(_asyncpg_dsn(database_url), server_settings={"search_path": "audit"})
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def scratch_database(make_database) -> str:
    """A second database for tests that tamper with the chain (emptied before each of them)."""
    return make_database("audit_service", "audit", label="audit_scratch")


async def _empty(database_url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(database_url), server_settings={"search_path": "audit"})
    try:
        # Superuser in replica mode: the append-only triggers do not fire (test reset only).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("TRUNCATE audit_entry, audit_checkpoint, inbox_event RESTART IDENTITY")
    finally:
        await conn.close()


@pytest.fixture
async def fresh_client(
    scratch_database: str, redis_url: str, issuer: TokenFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an empty trail (chain positions start at 1)."""
    await _empty(scratch_database)
    settings = Settings(
        environment="test",
        database_url=scratch_database,
        redis_url=redis_url,
        outbox_relay_enabled=False,
        audit_checkpoint_interval_seconds=0,
    )
    app = create_app(settings)
    async with asgi_client(app) as c:
        issuer.install(app)
        c.database_url = scratch_database  # type: ignore[attr-defined]
        yield c


class Helpers:
    service_key = SERVICE_KEY

    @staticmethod
    def key_for(envelope: dict[str, Any]) -> dict[str, str]:
        """Events are accepted only with their producer's own key."""
        return {"X-API-Key": dev_api_key(envelope["producer"])}

    @staticmethod
    def envelope(event_type: str, data: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        env = EventEnvelope(
            type=event_type, producer=kw.pop("producer", "user-service"), data=data or {}, **kw
        )
        return env.model_dump(mode="json")

    @staticmethod
    async def post_entry(client: httpx.AsyncClient, **body: Any) -> int:
        body.setdefault("action", "test.action")
        resp = await client.post("/internal/audit", json=body, headers=SERVICE_KEY)
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    @staticmethod
    def unique() -> str:
        """A marker unique to one test, so tests sharing the session database filter their own rows."""
        return uuid.uuid4().hex[:12]


@pytest.fixture
def h() -> type[Helpers]:
    return Helpers
