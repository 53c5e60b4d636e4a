"""Fixtures for the User Service tests: a fresh PostgreSQL database migrated with this service's
Alembic tree, real Redis, and the app served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.testing.plugin import asgi_client

from user_service.main import create_app
from user_service.settings import Settings


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("user_service", "users")


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(environment="test", database_url=database_url, redis_url=redis_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings)) as c:
        yield c
