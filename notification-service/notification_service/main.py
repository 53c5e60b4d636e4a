"""Application factory for the Notification Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from notification_service import __version__
from notification_service.api.router import internal_router
from notification_service.api.router import router as notifications_router
from notification_service.channels.registry import build_chains, close_chains
from notification_service.delivery.worker import DeliveryWorker
from notification_service.events import build_handlers
from notification_service.models import InboxEvent, OutboxMessage
from notification_service.preferences.router import router as preferences_router
from notification_service.runtime import RuntimeSettings
from notification_service.settings import Settings
from notification_service.templates.router import router as templates_router
from notification_service.users import UserDirectory
from shared.app import create_service_app
from shared.http import create_http_client
from shared.inbox import events_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app: FastAPI

    @contextlib.asynccontextmanager
    async def notifications_lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Admin-owned runtime settings (channel switches, default quiet hours); env = defaults.
        runtime = RuntimeSettings(settings)
        app.state.runtime = runtime
        app.state.user_directory = UserDirectory(
            app.state.http, settings.user_service_url, timeout=settings.user_lookup_timeout
        )
        # A client of its own for SMS/push providers: the shared one carries our service API key,
        # which must never leave the platform.
        provider_http = create_http_client(timeout=settings.provider_timeout)
        chains = build_chains(settings, provider_http)
        worker = DeliveryWorker(
            app.state.db,
            chains,
            batch_size=settings.delivery_batch_size,
            concurrency=settings.delivery_concurrency,
            poll_interval=settings.delivery_poll_interval,
            lease_seconds=settings.delivery_lease_seconds,
            max_attempts=settings.delivery_max_attempts,
            base_delay=settings.delivery_base_delay,
            max_delay=settings.delivery_max_delay,
            workers=settings.delivery_workers,
            channel_enabled=runtime.channel_enabled,
        )
        app.state.delivery_worker = worker
        app.state.metrics_refreshers.append(worker.refresh_gauges)
        if settings.delivery_worker_enabled:
            worker.start()
        try:
            async with runtime.polling(app.state.http, enabled=settings.runtime_settings_refresh):
                yield
        finally:
            await worker.stop()
            await close_chains(chains)
            await provider_http.aclose()

    handlers = build_handlers(
        lambda: app.state.user_directory, settings, lambda: getattr(app.state, "runtime", None)
    )
    app = create_service_app(
        settings,
        title="Notification Service",
        version=__version__,
        description="Email, SMS and push notifications with templates, preferences, retries and failover.",
        routers=[
            notifications_router,
            preferences_router,
            templates_router,
            internal_router,
            events_router(InboxEvent, handlers, service=settings.SERVICE_NAME),
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=notifications_lifespan,
        openapi_tags=[
            {
                "name": "notifications",
                "description": "Your notification history and push devices; admin search.",
            },
            {"name": "preferences", "description": "What you receive, on which channel, and quiet hours."},
            {"name": "templates", "description": "Versioned message templates (admins) and previews."},
            {"name": "internal", "description": "Service-to-service (X-API-Key); never routed from outside."},
        ],
    )
    return app
