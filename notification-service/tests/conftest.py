"""Fixtures for the Notification Service tests.

Real PostgreSQL (fresh database migrated with this service's Alembic tree) and Redis; the outside
world is real servers on free loopback ports: an aiosmtpd SMTP server (the service's own sink),
two provider-sandbox instances (primary and secondary SMS/push provider), and a contract stub of
user-service's `GET /internal/users/{id}` (user-service is built in parallel; the stub serves
exactly the documented contract of docs/internal-api.md).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_service.delivery.worker import DeliveryWorker
from notification_service.main import create_app
from notification_service.settings import Settings
from notification_service.smtp_sink import MessageStore, smtp_server
from provider_sandbox.main import create_app as create_sandbox_app
from provider_sandbox.testing import make_settings as sandbox_settings
from shared.db import create_engine
from shared.devstack import free_port
from shared.settings import dev_api_key
from shared.testing.plugin import asgi_client
from shared.testing.servers import serve
from shared.testing.tokens import TokenFactory

PRODUCER_KEY = {"X-API-Key": dev_api_key("user-service")}


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("notification_service", "notifications")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, schema="notifications", pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
async def clean_db(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE delivery_attempt, notification, inbox_event, outbox_message, "
                "notification_preference, quiet_hours, device_token RESTART IDENTITY CASCADE"
            )
        )
        await conn.execute(text("DELETE FROM notification_template WHERE created_by <> 'migration'"))


# -- SMTP: a real aiosmtpd server -------------------------------------------------------------


@dataclass
class Smtp:
    store: MessageStore
    port: int


@pytest.fixture(scope="session")
async def _smtp() -> AsyncIterator[Smtp]:
    store = MessageStore()
    async with smtp_server(store, "127.0.0.1", free_port()) as port:
        yield Smtp(store, port)


@pytest.fixture
def smtp(_smtp: Smtp) -> Smtp:
    _smtp.store.clear()
    return _smtp


# -- provider-sandbox: primary and secondary SMS/push providers -------------------------------


@dataclass
class Sandbox:
    url: str
    http: httpx.AsyncClient

    async def state(self) -> dict[str, Any]:
        return (await self.http.get(f"{self.url}/sandbox/state")).json()

    async def arm(self, path_prefix: str, fault: str, times: int | None = None) -> None:
        body = {"path_prefix": path_prefix, "fault": fault, "times": times}
        resp = await self.http.post(f"{self.url}/sandbox/faults", json=body)
        assert resp.status_code in (200, 201), resp.text


async def _sandbox(redis_url: str) -> AsyncIterator[Sandbox]:
    app = create_sandbox_app(sandbox_settings(redis_url))
    async with serve(app) as url, httpx.AsyncClient() as http:
        yield Sandbox(url, http)


@pytest.fixture(scope="session")
async def _sandbox_primary(redis_url: str) -> AsyncIterator[Sandbox]:
    async for sb in _sandbox(redis_url):
        yield sb


@pytest.fixture(scope="session")
async def _sandbox_secondary(redis_url: str) -> AsyncIterator[Sandbox]:
    async for sb in _sandbox(redis_url):
        yield sb


@pytest.fixture
async def sandbox(_sandbox_primary: Sandbox) -> Sandbox:
    await _sandbox_primary.http.post(f"{_sandbox_primary.url}/sandbox/reset")
    return _sandbox_primary


@pytest.fixture
async def sandbox2(_sandbox_secondary: Sandbox) -> Sandbox:
    await _sandbox_secondary.http.post(f"{_sandbox_secondary.url}/sandbox/reset")
    return _sandbox_secondary


# -- user-service contract stub ---------------------------------------------------------------


class UserServiceContractStub:
    """Serves user-service's documented `GET /internal/users/{user_id}` (docs/internal-api.md):
    the full record, 404 problem for unknown ids, 401 without a valid service key."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.down = False
        self.app = FastAPI()
        accepted = dev_api_key("notification-service")

        @self.app.get("/internal/users/{user_id}")
        async def get_user(user_id: str, request: Request) -> JSONResponse:
            self.calls += 1
            if request.headers.get("x-api-key") != accepted:
                return JSONResponse({"status": 401, "code": "invalid_service_key"}, status_code=401)
            if self.down:
                return JSONResponse({"status": 503, "code": "service_unavailable"}, status_code=503)
            user = self.users.get(user_id)
            if user is None:
                return JSONResponse({"status": 404, "code": "user_not_found"}, status_code=404)
            return JSONResponse(user)

    def add(self, **overrides: Any) -> dict[str, Any]:
        uid = str(uuid.uuid4())
        user = {
            "id": uid,
            "username": f"user{uid[:6]}",
            "email": f"{uid[:8]}@example.com",
            "full_name": "Rahim Uddin",
            "phone_number": "+8801700000001",
            "role": "user",
            "is_active": True,
            "email_verified": True,
            "locked_until": None,
            "preferred_language": "en",
        }
        user.update(overrides)
        self.users[uid] = user
        return user


@pytest.fixture(scope="session")
async def _users() -> AsyncIterator[tuple[UserServiceContractStub, str]]:
    stub = UserServiceContractStub()
    async with serve(stub.app) as url:
        yield stub, url


@pytest.fixture
def users(_users: tuple[UserServiceContractStub, str]) -> UserServiceContractStub:
    stub = _users[0]
    stub.users.clear()
    stub.down = False
    return stub


# -- the service --------------------------------------------------------------------------------


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    smtp: Smtp,
    sandbox: Sandbox,
    _users: tuple[UserServiceContractStub, str],
) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        user_service_url=_users[1],
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_base_url=sandbox.url,
        fcm_base_url=sandbox.url,
        delivery_worker_enabled=False,  # tests drive the worker explicitly (deterministic)
        delivery_base_delay=0.01,
        delivery_max_delay=0.05,
        delivery_max_attempts=4,
        breaker_failure_threshold=2,
        breaker_reset_seconds=60,
        outbox_relay_enabled=False,
        runtime_settings_refresh=False,  # admin-service is not polled unless a test asks for it
        db_pool_size=4,
    )


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@dataclass
class Service:
    client: httpx.AsyncClient
    app: FastAPI
    tokens: TokenFactory

    @property
    def worker(self) -> DeliveryWorker:
        return self.app.state.delivery_worker

    async def event(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        subject_id: str | None = None,
        event_id: str | None = None,
    ) -> httpx.Response:
        envelope = {
            "id": event_id or str(uuid.uuid4()),
            "type": event_type,
            "producer": "transaction-service" if event_type.startswith("transaction.") else "user-service",
            "subject_id": subject_id,
            "data": data,
        }
        return await self.client.post(
            "/internal/events", json=envelope, headers={"X-API-Key": dev_api_key(envelope["producer"])}
        )

    def user(self, user_id: str, role: str = "user") -> dict[str, str]:
        return self.tokens.headers(user_id, role=role)

    def admin(self) -> dict[str, str]:
        return self.tokens.headers(str(uuid.uuid4()), role="admin")

    async def deliver_all(self, seconds: float = 10.0) -> None:
        """Run the worker until nothing is queued (waiting out retry back-offs)."""
        import asyncio

        from sqlalchemy import func, select

        from notification_service.models import QUEUED, SENDING, Notification

        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self.worker.drain()
            async with self.app.state.db.sessionmaker() as s:
                left = await s.scalar(select(func.count()).where(Notification.status.in_((QUEUED, SENDING))))
            if not left:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("messages still queued")


async def _service(settings: Settings, tokens: TokenFactory) -> AsyncIterator[Service]:
    app = create_app(settings)
    async with asgi_client(app) as c:
        tokens.install(app)
        yield Service(c, app, tokens)


@pytest.fixture
async def service(settings: Settings, tokens: TokenFactory) -> AsyncIterator[Service]:
    async for svc in _service(settings, tokens):
        yield svc


@pytest.fixture
async def client(service: Service) -> httpx.AsyncClient:
    return service.client
