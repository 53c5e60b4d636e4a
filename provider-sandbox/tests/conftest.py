"""Fixtures for the Provider Sandbox tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.testing.plugin import asgi_client

from provider_sandbox.main import create_app
from provider_sandbox.settings import Settings


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(environment="test", redis_url=redis_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings)) as c:
        yield c
