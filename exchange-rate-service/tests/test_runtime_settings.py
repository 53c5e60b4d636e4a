"""Runtime settings from admin-service: `provider.exchange_rate.base_url` and the secret
`provider.exchange_rate.api_key` override the PRIMARY provider's (ExchangeRate-API) env URL and key
for the next fetch, without a restart. admin-service is the real one (`admin_service.testing`: its
app on its own migrated database and a loopback port; values set through its admin API); the
provider is the recording `ProviderDouble`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from admin_service.testing import RunningAdmin, running_admin
from exchange_rate_service.main import create_app
from exchange_rate_service.refresher import REFRESHED
from exchange_rate_service.settings import Settings
from shared.devstack import free_port
from shared.settings import dev_api_key
from shared.testing.plugin import asgi_client

from .conftest import PROVIDER_KEY, ProviderDouble, er_api_body

BASE_KEY = "provider.exchange_rate.base_url"
API_KEY = "provider.exchange_rate.api_key"
NEW_URL = "https://er-api-2.test"
NEW_KEY = "er-api-rotated-key-0042"
MASK = "********"


@pytest.fixture(scope="session")
async def admin(make_database: Any, redis_url: str) -> AsyncIterator[RunningAdmin]:
    async with running_admin(make_database, redis_url) as running:
        yield running


@pytest.fixture(autouse=True)
async def _reset_admin(admin: RunningAdmin) -> AsyncIterator[None]:
    yield
    for key in (BASE_KEY, API_KEY):
        await admin.unset(key)


@pytest.fixture
def settings(settings: Settings, admin: RunningAdmin) -> Settings:
    return settings.model_copy(update={"admin_service_url": admin.url})


async def fetch_url(
    client: httpx.AsyncClient, admin_headers: dict[str, str], providers: ProviderDouble
) -> str:
    """Refresh the rates now (admin) and return the URL the primary provider was called at."""
    providers.handler = lambda req: httpx.Response(200, json=er_api_body(int(time.time())))
    providers.requests.clear()
    resp = await client.post("/api/v1/rates/refresh", headers=admin_headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["source"] == "exchangerate-api"
    assert len(providers.requests) == 1
    return str(providers.requests[0].url)


async def setting_changed(client: httpx.AsyncClient, key: str, value: Any) -> httpx.Response:
    env = {
        "id": str(uuid.uuid4()),
        "type": "setting.changed",
        "producer": "admin-service",
        "subject_id": key,
        "data": {"key": key, "value": value, "old_value": None, "by": "admin-1", "action": "set"},
    }
    return await client.post(
        "/internal/events", json=env, headers={"X-API-Key": dev_api_key("admin-service")}
    )


async def test_admin_base_url_and_key_are_used_by_the_next_fetch(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    assert (
        await fetch_url(client, admin_headers, providers)
        == f"https://er-api.test/v6/{PROVIDER_KEY}/latest/BDT"
    )
    await admin.set(BASE_KEY, NEW_URL + "/")
    await admin.set(API_KEY, NEW_KEY)  # encrypted in admin; only its owner reads it in clear

    await app.state.runtime.refresh(app.state.http)

    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{NEW_KEY}/latest/BDT"
    # The fallback provider is untouched.
    assert app.state.refresher.chain.providers[1].base_url == "https://fxratesapi.test"


async def test_unset_secret_falls_back_to_the_env_key(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    await admin.set(BASE_KEY, NEW_URL)
    await admin.set(API_KEY, NEW_KEY)
    await app.state.runtime.refresh(app.state.http)
    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{NEW_KEY}/latest/BDT"
    await admin.unset(API_KEY)  # the admin reset the key

    await app.state.runtime.refresh(app.state.http)

    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{PROVIDER_KEY}/latest/BDT"


async def test_base_url_event_is_applied_at_once(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    resp = await setting_changed(client, BASE_KEY, NEW_URL)

    assert resp.status_code == 200 and resp.json()["status"] == "processed"
    # Nothing is stored in admin-service: the non-secret value travelled in the event itself.
    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{PROVIDER_KEY}/latest/BDT"


async def test_masked_secret_event_refreshes_the_clear_key_from_admin(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    await admin.set(API_KEY, NEW_KEY)

    resp = await setting_changed(client, API_KEY, MASK)
    await asyncio.wait_for(app.state.runtime.pending_refresh, timeout=5)

    assert resp.status_code == 200 and resp.json()["status"] == "processed"
    assert await fetch_url(client, admin_headers, providers) == f"https://er-api.test/v6/{NEW_KEY}/latest/BDT"


async def test_masked_secret_value_is_never_applied(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    # admin-service unreachable: the refresh the event triggers fails, and the mask must not win.
    app.state.runtime.admin_url = f"http://127.0.0.1:{free_port()}"

    resp = await setting_changed(client, API_KEY, MASK)
    await asyncio.wait_for(app.state.runtime.pending_refresh, timeout=5)

    assert resp.json()["status"] == "processed"
    assert app.state.runtime.apply(API_KEY, MASK) is False  # not even when applied directly
    url = await fetch_url(client, admin_headers, providers)
    assert url == f"https://er-api.test/v6/{PROVIDER_KEY}/latest/BDT" and "*" not in url


async def test_invalid_base_url_is_ignored(
    app, client, admin_headers, providers: ProviderDouble, admin: RunningAdmin
) -> None:
    await admin.set(BASE_KEY, NEW_URL)
    await app.state.runtime.refresh(app.state.http)

    # admin-service refuses such a value itself; one arriving anyway (an event) is ignored here.
    assert app.state.runtime.apply(BASE_KEY, "ftp://er-api-3.test") is False

    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{PROVIDER_KEY}/latest/BDT"


async def test_a_fetch_in_flight_finishes_with_the_settings_it_started_with(
    app, client, admin_headers, providers: ProviderDouble
) -> None:
    release = asyncio.Event()

    async def held(req: httpx.Request) -> httpx.Response:
        await asyncio.wait_for(release.wait(), timeout=10)
        return httpx.Response(200, json=er_api_body(int(time.time())))

    providers.handler = held
    in_flight = asyncio.create_task(app.state.refresher.refresh(force=True))
    for _ in range(500):
        if providers.requests:
            break
        await asyncio.sleep(0.01)
    app.state.runtime.apply(BASE_KEY, NEW_URL)
    app.state.runtime.apply(API_KEY, NEW_KEY)
    release.set()
    outcome = await in_flight

    assert (outcome.status, outcome.source, outcome.failures) == (REFRESHED, "exchangerate-api", [])
    assert str(providers.requests[0].url) == f"https://er-api.test/v6/{PROVIDER_KEY}/latest/BDT"
    assert await fetch_url(client, admin_headers, providers) == f"{NEW_URL}/v6/{NEW_KEY}/latest/BDT"


async def test_lifespan_polls_admin_and_never_logs_the_key(
    settings: Settings, clean_db, providers: ProviderDouble, tokens, admin: RunningAdmin, capsys
) -> None:
    await admin.set(BASE_KEY, NEW_URL)
    await admin.set(API_KEY, NEW_KEY)
    settings = settings.model_copy(
        update={"runtime_settings_refresh": True, "runtime_settings_interval": 0.05}
    )
    app = create_app(settings, provider_transport=providers.transport())
    async with asgi_client(app) as client:
        tokens.install(app)
        for _ in range(500):  # the poller's first pass runs as the app starts
            if app.state.runtime.base_url == NEW_URL:
                break
            await asyncio.sleep(0.01)
        url = await fetch_url(client, tokens.headers(role="admin"), providers)
        await admin.set(BASE_KEY, NEW_URL + "/v2")  # no event: only the periodic poll can see it
        for _ in range(500):
            if app.state.runtime.base_url == NEW_URL + "/v2":
                break
            await asyncio.sleep(0.01)
        polled_again = app.state.runtime.base_url == NEW_URL + "/v2"

    assert url == f"{NEW_URL}/v6/{NEW_KEY}/latest/BDT"
    assert polled_again
    logs = capsys.readouterr().err
    assert "runtime_setting_applied" in logs and "api_key" in logs
    assert NEW_KEY not in logs and PROVIDER_KEY not in logs
