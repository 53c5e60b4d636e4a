"""Fixtures for the Admin Service tests.

Real PostgreSQL for admin-service and for the real transaction-service (its own fresh database),
both served over real HTTP on free loopback ports, so settings polling, `setting.changed` delivery,
row streaming and proxied admin actions cross real sockets. The real provider-sandbox stands in for
PayPal / SSLCommerz / the rate API. Services still being written elsewhere are served by the
clearly-named contract stub (tests/contract_stub.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin_service.main import create_app
from admin_service.settings import Settings
from provider_sandbox.main import create_app as create_sandbox_app
from provider_sandbox.testing import make_settings as sandbox_settings
from shared.devstack import free_port
from shared.outbox_admin import include_outbox_admin
from shared.testing.plugin import asgi_client
from shared.testing.servers import serve
from shared.testing.tokens import TokenFactory
from shared.topology import SERVICES
from tests.contract_stub import StubState, build_app
from transaction_service.main import create_app as create_txn_app
from transaction_service.models import OutboxMessage as TxnOutbox
from transaction_service.settings import Settings as TxnSettings

FAST_RELAY: dict[str, Any] = dict(outbox_poll_interval=0.1, outbox_base_delay=0.05, outbox_max_delay=0.2)


@dataclass
class Stub:
    url: str
    state: StubState


@dataclass
class Platform:
    admin_app: FastAPI
    txn_app: FastAPI
    admin_url: str
    txn_url: str
    client: httpx.AsyncClient  # to admin-service
    txn_client: httpx.AsyncClient  # to transaction-service


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("admin_service", "admin")


@pytest.fixture(scope="session")
def txn_database_url(make_database) -> str:
    return make_database("transaction_service", "transactions")


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
async def stub() -> AsyncIterator[Stub]:
    state = StubState()
    async with serve(build_app(state), lifespan="off") as url:
        yield Stub(url, state)


@pytest.fixture(scope="session")
async def sandbox(redis_url: str) -> AsyncIterator[str]:
    async with serve(create_sandbox_app(sandbox_settings(redis_url))) as url:
        yield url


def service_urls(default: str, **overrides: str) -> dict[str, str]:
    urls = {f"{s.env_prefix.lower()}_url": default for s in SERVICES}
    urls.update(overrides)
    return urls


def admin_settings(database_url: str, redis_url: str, urls: dict[str, str], **extra: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        health_timeout=1.0,
        **urls,
        **{**FAST_RELAY, **extra},
    )


@pytest.fixture(scope="session")
async def platform(
    database_url: str, txn_database_url: str, redis_url: str, stub: Stub, sandbox: str, tokens: TokenFactory
) -> AsyncIterator[Platform]:
    admin_port = free_port()
    admin_url = f"http://127.0.0.1:{admin_port}"
    txn_app = create_txn_app(
        TxnSettings(
            environment="test",
            database_url=txn_database_url,
            redis_url=redis_url,
            saga_worker_enabled=False,
            runtime_settings_interval=0.5,  # the production bound is 60 s; tests need not wait
            log_level="WARNING",
            **service_urls(stub.url, admin_service_url=admin_url, provider_sandbox_url=sandbox),
            **FAST_RELAY,
        )
    )
    include_outbox_admin(txn_app, TxnOutbox)  # until create_service_app registers it for every service
    async with serve(txn_app) as txn_url:
        tokens.install(txn_app)
        urls = service_urls(stub.url, transaction_service_url=txn_url, provider_sandbox_url=sandbox)
        admin_app = create_app(admin_settings(database_url, redis_url, urls, port=admin_port))
        async with serve(admin_app, port=admin_port) as url:
            tokens.install(admin_app)
            async with (
                httpx.AsyncClient(base_url=url, timeout=20) as client,
                httpx.AsyncClient(base_url=txn_url, timeout=20) as txn_client,
            ):
                yield Platform(admin_app, txn_app, url, txn_url, client, txn_client)


@pytest.fixture
def client(platform: Platform) -> httpx.AsyncClient:
    return platform.client


@pytest.fixture
def admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(role="admin")


@pytest.fixture
def support(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(role="support")


@pytest.fixture
def user(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(role="user")


@pytest.fixture
async def isolated_admin(
    database_url: str, redis_url: str, stub: Stub, tokens: TokenFactory
) -> AsyncIterator[Any]:
    """Factory: an extra in-process admin app with its own service URLs (e.g. for health checks);
    `async with isolated_admin(gateway_url=...) as (client, app)`."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(
        *, test_tokens: bool = True, **urls: str
    ) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
        settings = admin_settings(
            database_url, redis_url, service_urls(stub.url, **urls), outbox_relay_enabled=False
        )
        app = create_app(settings)
        async with asgi_client(app) as c:
            if test_tokens:  # else the real JWKS at JWKS_URL is used
                tokens.install(app)
            yield c, app

    return make
