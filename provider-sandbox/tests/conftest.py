"""Fixtures for the Provider Sandbox tests (helpers live in `provider_sandbox.testing`).

`client` talks to the sandbox in-process (ASGI); `listener` is a real HTTP server on a free loopback
port recording what the sandbox sends it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from provider_sandbox.main import create_app
from provider_sandbox.settings import Settings
from provider_sandbox.testing import Listener, get_token, make_settings, serve
from shared.devstack import free_port
from shared.testing.plugin import asgi_client


@pytest.fixture(scope="session")
def settings(redis_url: str) -> Settings:
    return make_settings(redis_url)


@pytest.fixture(scope="session")
async def _shared_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # One app for the session (start-up costs ~0.3 s on a loaded machine); `client` resets it.
    async with asgi_client(create_app(settings)) as c:
        yield c


@pytest.fixture
async def client(_shared_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The in-process sandbox, with all state, tokens and armed faults forgotten."""
    assert (await _shared_client.post("/sandbox/reset")).status_code == 204
    return _shared_client


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    port = free_port()
    rec = Listener(url=f"http://127.0.0.1:{port}")
    async with serve(rec, port):
        yield rec


@pytest.fixture
async def paypal_token(client: httpx.AsyncClient) -> str:
    return await get_token(client)


@pytest.fixture
def auth(paypal_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {paypal_token}"}
