"""Application factory for the Exchange Rate Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from exchange_rate_service import __version__
from exchange_rate_service.models import InboxEvent, OutboxMessage
from exchange_rate_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Exchange Rate Service",
        version=__version__,
        description="Exchange rates with provenance, provider fallback, caching and history.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
