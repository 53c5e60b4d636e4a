"""Application factory for the Notification Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from notification_service import __version__
from notification_service.models import InboxEvent, OutboxMessage
from notification_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Notification Service",
        version=__version__,
        description="Email, SMS and push notifications with templates, preferences, retries and failover.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
