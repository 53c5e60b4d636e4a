"""Application factory for the Exchange Rate Service."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI

import shared.runtime_settings as rs
from exchange_rate_service import __version__
from exchange_rate_service.cache import RateCache
from exchange_rate_service.metrics import age_refresher
from exchange_rate_service.models import InboxEvent, OutboxMessage
from exchange_rate_service.providers import build_providers
from exchange_rate_service.providers.chain import ProviderChain, age_rules, primary_provider
from exchange_rate_service.providers.static import StaticProvider
from exchange_rate_service.refresher import Refresher
from exchange_rate_service.router import internal_router, router
from exchange_rate_service.runtime import RuntimeSettings
from exchange_rate_service.settings import Settings
from shared.app import create_service_app
from shared.http import create_http_client
from shared.inbox import events_router
from shared.logging import get_logger

log = get_logger(__name__)


def create_app(
    settings: Settings | None = None, *, provider_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`provider_transport` lets tests put an `httpx.MockTransport` in front of the providers."""
    settings = settings or Settings()
    app: FastAPI | None = None

    def runtime_and_http() -> tuple[RuntimeSettings, httpx.AsyncClient]:
        assert app is not None
        return app.state.runtime, app.state.http

    @contextlib.asynccontextmanager
    async def rates_lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A client of its own for the third-party providers: the shared one carries our service
        # API key, which must never be sent outside the platform.
        provider_http = create_http_client(timeout=settings.provider_timeout, transport=provider_transport)
        max_age = timedelta(seconds=settings.rate_max_age)
        cache = RateCache(
            app.state.kv, prefix=settings.rate_cache_prefix, ttl=settings.rate_cache_ttl, max_age=max_age
        )
        refresher = Refresher(
            app.state.db, app.state.kv, cache, build_providers(settings, provider_http), settings
        )
        runtime = RuntimeSettings(settings)

        def use_primary_settings(changed: frozenset[str]) -> None:
            # admin-service changed the primary provider's URL/key: the next fetch uses a new
            # client object; a fetch in flight keeps the chain it started with.
            refresher.chain = refresher.chain.with_provider(
                primary_provider(settings, provider_http, base_url=runtime.base_url, api_key=runtime.api_key)
            )
            log.info("rate_provider_reconfigured", provider="exchangerate-api", settings=sorted(changed))

        runtime.on_change = use_primary_settings
        app.state.rate_cache = cache
        app.state.refresher = refresher
        app.state.runtime = runtime
        app.state.metrics_refreshers.append(age_refresher(app.state.db))
        try:
            if settings.seed_on_startup:
                # Offline start (`make run`): the bundled file. In production it is held to the
                # same as-of age rule as the live providers, so an old file never seeds quotes.
                static = StaticProvider(settings.static_rates_file or None)
                await refresher.seed_if_empty(ProviderChain([static], **age_rules(settings)))
            async with runtime.polling(app.state.http, enabled=settings.runtime_settings_refresh):
                if settings.rate_refresh_enabled:
                    # The first refresh comes soon after start (spread out so replicas do not
                    # collide); it is skipped if another replica refreshed recently.
                    refresher.start(first_delay=random.uniform(1.0, 5.0))
                yield
        finally:
            await refresher.stop()
            await provider_http.aclose()

    app = create_service_app(
        settings,
        title="Exchange Rate Service",
        version=__version__,
        description="Exchange rates with provenance, provider fallback, caching and history.",
        routers=[
            router,
            internal_router,
            events_router(InboxEvent, rs.setting_handlers(runtime_and_http), service=settings.SERVICE_NAME),
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=rates_lifespan,
        openapi_tags=[
            {"name": "rates", "description": "Exchange rates (BDT base) with provenance and history."},
            {"name": "internal", "description": "Service-to-service (X-API-Key); never routed from outside."},
        ],
    )
    return app
