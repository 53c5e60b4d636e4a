"""Fixtures for the Payment Service tests: a fresh PostgreSQL database migrated with this
service's Alembic tree, real Redis, the app served in-process with the providers replaced by an
`httpx.MockTransport` fake (recorded payloads), and a contract stub of transaction-service on a
free loopback port; admin-service is the real one (`admin_service.testing`) for runtime settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from admin_service.testing import RunningAdmin, running_admin
from payment_service.main import create_app
from payment_service.settings import Settings
from payment_service.testing.contract_stub import TransactionServiceStub, serve_stub
from payment_service.testing.fakes import ProviderFake
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TokenFactory

SSLCOMMERZ = "https://sandbox.sslcommerz.com"
PAYPAL = "https://api-m.sandbox.paypal.com"


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("payment_service", "payments")


@pytest.fixture(scope="session")
async def txn_service() -> AsyncIterator[tuple[TransactionServiceStub, str]]:
    stub = TransactionServiceStub()
    async with serve_stub(stub) as url:
        yield stub, url


@pytest.fixture(scope="session")
async def admin_service(make_database: Any, redis_url: str) -> AsyncIterator[RunningAdmin]:
    async with running_admin(make_database, redis_url) as running:
        yield running


PROVIDER_KEYS = [
    f"provider.{p}.{k}"
    for p, keys in (
        ("paypal", ("base_url", "client_id", "client_secret")),
        ("sslcommerz", ("base_url", "store_id", "store_password")),
    )
    for k in keys
]


@pytest.fixture
async def admin(admin_service: RunningAdmin) -> AsyncIterator[RunningAdmin]:
    yield admin_service
    for key in PROVIDER_KEYS:
        await admin_service.unset(key)


@pytest.fixture
def fake() -> ProviderFake:
    return ProviderFake()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(database_url: str, redis_url: str, txn_service, admin_service, settings_overrides) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "transaction_service_url": txn_service[1],
        "admin_service_url": admin_service.url,
        "outbox_relay_enabled": False,
        "reconcile_enabled": False,
        "runtime_settings_refresh": False,  # tests apply runtime settings themselves
        "sslcommerz_base_url": SSLCOMMERZ,
        "paypal_base_url": PAYPAL,
        "public_base_url": "https://pay.example.test",
        "sslcommerz_store_id": "testbox",
        "sslcommerz_store_password": "qwerty",
    }
    values.update(settings_overrides)
    return Settings(**values)


@pytest.fixture
async def app(settings: Settings, fake: ProviderFake) -> AsyncIterator[FastAPI]:
    application = create_app(settings, provider_transport=httpx.MockTransport(fake))
    async with asgi_client(application) as c:
        application.state.test_client = c
        yield application


@pytest.fixture
def client(app: FastAPI) -> httpx.AsyncClient:
    return app.state.test_client


@pytest.fixture
def tokens(app: FastAPI) -> TokenFactory:
    factory = TokenFactory()
    factory.install(app)
    return factory


@pytest.fixture
def stub(txn_service) -> TransactionServiceStub:
    return txn_service[0]
