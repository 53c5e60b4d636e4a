"""Fixtures for the Exchange Rate Service tests: a fresh PostgreSQL database migrated with this
service's Alembic tree, real Redis (keys under a per-test prefix), the app served in-process, and
the third-party rate providers behind an `httpx.MockTransport` serving recorded-shape payloads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from exchange_rate_service.main import create_app
from exchange_rate_service.models import ExchangeRate
from exchange_rate_service.settings import Settings
from shared.db import create_engine
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TokenFactory

PROVIDER_KEY = "er-api-secret-key-0001"
FX_KEY = "fxr_live_secret_key_0002"


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    return make_database("exchange_rate_service", "rates")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, schema="rates", pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> None:
    # TRUNCATE (not DELETE): the history table refuses row deletes by design.
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE exchange_rate, outbox_message RESTART IDENTITY"))


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


class ProviderDouble:
    """The outside world: answers provider requests with the handler a test sets, and records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.handler: Callable[[httpx.Request], Any] = lambda req: httpx.Response(503)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.handler(request)
        if hasattr(result, "__await__"):
            result = await result
        return result

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def providers() -> ProviderDouble:
    return ProviderDouble()


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_prefix: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        rate_cache_prefix=f"{redis_prefix}rates:",
        rate_providers="exchangerate-api,fxratesapi,static",
        exchangerate_api_base_url="https://er-api.test",
        exchangerate_api_key=PROVIDER_KEY,
        fxratesapi_base_url="https://fxratesapi.test",
        fxratesapi_key=FX_KEY,
        rate_refresh_enabled=False,
        runtime_settings_refresh=False,  # tests drive `app.state.runtime.refresh()` themselves
        outbox_relay_enabled=False,
    )


@pytest.fixture
async def app_and_client(
    settings: Settings, clean_db: None, providers: ProviderDouble, tokens: TokenFactory
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings, provider_transport=providers.transport())
    async with asgi_client(app) as c:
        tokens.install(app)
        yield app, c


@pytest.fixture(scope="module")
async def validation_client(
    database_url: str, redis_url: str, tokens: TokenFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """One app per module, for requests refused before any rate is read (validation, auth): it
    needs no clean database, so it is started once instead of once per case."""
    settings = Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        rate_refresh_enabled=False,
        runtime_settings_refresh=False,
        outbox_relay_enabled=False,
        seed_on_startup=False,
        rate_cache_prefix=f"test:{uuid.uuid4().hex[:12]}:rates:",
    )
    app = create_app(settings)
    async with asgi_client(app) as c:
        tokens.install(app)
        yield c


@pytest.fixture
def app(app_and_client: tuple[Any, httpx.AsyncClient]) -> Any:
    return app_and_client[0]


@pytest.fixture
def client(app_and_client: tuple[Any, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


@pytest.fixture
def admin_headers(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("admin-1", role="admin")


@pytest.fixture
def user_headers(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("user-1", role="user")


@pytest.fixture
def service_headers(settings: Settings) -> Iterator[dict[str, str]]:
    yield {"X-API-Key": settings.accepted_service_keys()["transaction-service"]}


async def insert_rate(
    engine: AsyncEngine, currency: str, rate: str, *, fetched_at: datetime, source: str = "static"
) -> None:
    """Write a history row directly (e.g. an old rate left by a provider outage)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session, session.begin():
        session.add(
            ExchangeRate(
                currency=currency,
                base_currency="BDT",
                rate_to_bdt=Decimal(rate),
                source=source,
                as_of=fetched_at,
                fetched_at=fetched_at,
            )
        )


# -- recorded-shape provider payloads ------------------------------------------------------------

# ExchangeRate-API v6 `latest/BDT` (units of CUR per 1 BDT), numbers as the provider sends them.
ER_API_PER_BDT = {
    "BDT": 1,
    "AED": 0.03125,
    "AUD": 0.01299,
    "CAD": 0.01188,
    "CHF": 0.007485,
    "EUR": 0.007788,
    "GBP": 0.006656,
    "INR": 0.7123,
    "JPY": 1.2771,
    "SGD": 0.01106,
    "USD": 0.008511,
}


def er_api_body(now_unix: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "result": "success",
        "documentation": "https://www.exchangerate-api.com/docs",
        "terms_of_use": "https://www.exchangerate-api.com/terms",
        "time_last_update_unix": now_unix - 3600,
        "time_last_update_utc": "Thu, 26 Nov 2026 00:00:01 +0000",
        "time_next_update_unix": now_unix + 82800,
        "time_next_update_utc": "Fri, 27 Nov 2026 00:00:01 +0000",
        "base_code": "BDT",
        "conversion_rates": dict(ER_API_PER_BDT),
    }
    body.update(overrides)
    return body


def fx_body(now_unix: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": True,
        "terms": "https://fxratesapi.com/legal/terms-conditions",
        "privacy": "https://fxratesapi.com/legal/privacy-policy",
        "timestamp": now_unix - 600,
        "date": "2026-11-26T10:50:00.000Z",
        "base": "BDT",
        "rates": {
            "AUD": 0.0130012,
            "CAD": 0.0118834,
            "CHF": 0.0074861,
            "EUR": 0.0077901,
            "GBP": 0.0066573,
            "JPY": 1.2769015,
            "SGD": 0.0110622,
            "USD": 0.0085106,
        },
    }
    body.update(overrides)
    return body
