"""The refresher: single-flight across replicas (PostgreSQL advisory lock; the key-value store on
SQLite), skipping when another replica refreshed recently, the periodic loop, append-only history,
and exact storage on SQLite (the embedded mode)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from exchange_rate_service.main import create_app
from exchange_rate_service.providers import build_providers
from exchange_rate_service.refresher import (
    REFRESHED,
    SKIPPED_FRESH,
    SKIPPED_LOCKED,
    Refresher,
    jittered_delay,
)
from exchange_rate_service.settings import Settings
from shared.migrate import upgrade as migrate_upgrade
from shared.testing.plugin import asgi_client

from .conftest import ProviderDouble, er_api_body


def replica(app, settings: Settings, providers: ProviderDouble) -> Refresher:
    """Another replica's refresher over the same database and key-value store."""
    http = httpx.AsyncClient(transport=providers.transport())
    chain = build_providers(settings, http)
    return Refresher(app.state.db, app.state.kv, app.state.rate_cache, chain, settings)


async def race(one: Refresher, two: Refresher, providers: ProviderDouble) -> list[str]:
    """Replica one holds the lock inside its provider call while replica two tries to refresh;
    then one's provider answers. Deterministic: no timing assumptions."""
    release = asyncio.Event()

    async def held_provider(req: httpx.Request) -> httpx.Response:
        await asyncio.wait_for(release.wait(), timeout=10)
        return httpx.Response(200, json=er_api_body(int(time.time())))

    providers.handler = held_provider
    first = asyncio.create_task(one.refresh(force=True))
    for _ in range(500):  # until replica one is inside the provider call, i.e. holds the lock
        if providers.requests:
            break
        await asyncio.sleep(0.01)
    second = await two.refresh(force=True)
    release.set()
    return [(await first).status, second.status]


async def test_concurrent_refreshes_on_two_replicas_call_the_provider_once(
    app, client, settings: Settings, providers: ProviderDouble, engine: AsyncEngine
) -> None:
    one, two = replica(app, settings, providers), replica(app, settings, providers)

    statuses = await race(one, two, providers)

    assert statuses == [REFRESHED, SKIPPED_LOCKED]
    assert len(providers.requests) == 1
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM exchange_rate WHERE source = 'exchangerate-api'")
        )
    assert count == 8


async def test_scheduled_refresh_is_skipped_when_rates_were_just_fetched(
    app, client, settings: Settings, providers: ProviderDouble
) -> None:
    outcome = await replica(app, settings, providers).refresh()  # the startup seed is seconds old

    assert outcome.status == SKIPPED_FRESH
    assert providers.requests == []


async def test_periodic_loop_refreshes_from_the_providers(
    app, client, settings: Settings, providers: ProviderDouble
) -> None:
    providers.handler = lambda req: httpx.Response(200, json=er_api_body(int(time.time())))
    settings = settings.model_copy(update={"rate_refresh_interval": 0.01})
    refresher = replica(app, settings, providers)

    refresher.start(first_delay=0)
    try:
        deadline = time.monotonic() + 10  # generous: the test machine is shared
        while time.monotonic() < deadline:
            body = (await client.get("/api/v1/rates/current?currency=USD")).json()
            if body["source"] == "exchangerate-api":
                break
            await asyncio.sleep(0.02)
    finally:
        await refresher.stop()

    assert body["source"] == "exchangerate-api"
    assert len(providers.requests) >= 1


async def test_stop_ends_the_loop_even_when_a_driver_turns_the_cancel_into_an_error(
    app, client, settings: Settings, providers: ProviderDouble
) -> None:
    entered = asyncio.Event()

    async def provider_that_converts_cancellation(req: httpx.Request) -> httpx.Response:
        entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise RuntimeError("connection was closed in the middle of operation") from None
        return httpx.Response(500)

    providers.handler = provider_that_converts_cancellation
    refresher = replica(app, settings.model_copy(update={"rate_refresh_interval": 0.01}), providers)
    refresher.start(first_delay=0)
    await asyncio.wait_for(entered.wait(), timeout=10)

    await asyncio.wait_for(refresher.stop(), timeout=5)

    assert refresher._task is None
    assert len(providers.requests) == 1


def test_jitter_keeps_the_delay_near_the_interval(settings: Settings) -> None:
    delays = [
        jittered_delay(settings.rate_refresh_interval, settings.rate_refresh_jitter) for _ in range(200)
    ]
    assert all(810 <= d <= 990 for d in delays)  # 900 s ± 10 %
    assert len(set(delays)) > 1


async def test_history_rows_can_never_be_rewritten(client, engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE exchange_rate SET rate_to_bdt = '1.000000'"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM exchange_rate"))


async def test_embedded_sqlite_mode_stores_rates_exactly_and_single_flights(
    tmp_path: Path, tokens, providers: ProviderDouble
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rates.db'}"
    migrate_upgrade("exchange_rate_service", url, "rates")
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url="memory:",
        data_dir=tmp_path,
        rate_providers="exchangerate-api,static",
        exchangerate_api_key="k" * 20,
        exchangerate_api_base_url="https://er-api.test",
        rate_refresh_enabled=False,
        runtime_settings_refresh=False,
        outbox_relay_enabled=False,
    )
    app = create_app(settings, provider_transport=providers.transport())
    async with asgi_client(app) as client:
        tokens.install(app)
        seeded = (await client.get("/api/v1/rates/current?currency=USD")).json()
        override = await client.post(
            "/api/v1/rates/override",
            json={"currency": "JPY", "rate_to_bdt": "0.783012", "reason": "desk rate"},
            headers=tokens.headers(role="admin"),
        )
        current = (await client.get("/api/v1/rates/current?currency=JPY")).json()
        statuses = await race(replica(app, settings, providers), replica(app, settings, providers), providers)
        async with app.state.db.engine.connect() as conn:
            stored = (
                await conn.execute(
                    text("SELECT rate_to_bdt, typeof(rate_to_bdt) FROM exchange_rate WHERE source = 'manual'")
                )
            ).one()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("UPDATE exchange_rate SET rate_to_bdt = '1'"))

    assert seeded["rate_to_bdt"] == "117.500000"
    assert override.status_code == 201
    assert current["rate_to_bdt"] == "0.783012"
    assert tuple(stored) == ("0.783012", "text")
    assert statuses == [REFRESHED, SKIPPED_LOCKED]
    assert len(providers.requests) == 1
