"""Fixtures for the Transaction Service tests: a fresh PostgreSQL database migrated with this
service's Alembic tree, real Redis, the app served in-process, and the contract stub (see
contract_stub.py) standing in for payment-, exchange-rate- and user-service over real HTTP.

The saga worker's loop, the runtime-settings poller and the outbox relay are off: tests drive the
worker with `run_once()`/its steps and read the outbox table, so every assertion is deterministic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.testing.plugin import asgi_client
from shared.testing.servers import serve
from shared.testing.tokens import TokenFactory
from tests.contract_stub import ContractStub
from tests.helpers import Actor
from transaction_service.main import create_app
from transaction_service.settings import Settings


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("transaction_service", "transactions")


@pytest.fixture(scope="session")
async def stub() -> AsyncIterator[ContractStub]:
    contract = ContractStub()
    async with serve(contract.app(), lifespan="off") as url:
        contract.url = url
        yield contract


@pytest.fixture(autouse=True)
def _reset_stub(stub: ContractStub) -> None:
    stub.state.reset()


def make_settings(database_url: str, redis_url: str, stub: ContractStub, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        exchange_rate_service_url=stub.url,
        payment_service_url=stub.url,
        user_service_url=stub.url,
        admin_service_url=stub.url,
        saga_worker_enabled=False,
        runtime_settings_refresh=False,
        outbox_relay_enabled=False,
        saga_retry_base_delay=30.0,  # a failed call is not retried within a test by accident
        upstream_timeout=2.0,
        log_level="WARNING",
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, redis_url: str, stub: ContractStub) -> Settings:
    return make_settings(database_url, redis_url, stub)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
async def app_and_client(
    database_url: str, redis_url: str, stub: ContractStub, tokens: TokenFactory
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(make_settings(database_url, redis_url, stub))
    async with asgi_client(app) as c:
        tokens.install(app)
        yield app, c


@pytest.fixture
def app(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> Iterator[FastAPI]:
    app = app_and_client[0]
    yield app
    app.state.ctx.runtime._overrides.clear()


@pytest.fixture
def client(app: FastAPI, app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


@pytest.fixture
def user(tokens: TokenFactory) -> Actor:
    return Actor(tokens)


@pytest.fixture
def other_user(tokens: TokenFactory) -> Actor:
    return Actor(tokens)


@pytest.fixture
def admin(tokens: TokenFactory) -> Actor:
    return Actor(tokens, "admin")


@pytest.fixture
def support(tokens: TokenFactory) -> Actor:
    return Actor(tokens, "support")
