"""Application factory for the Admin Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from admin_service import __version__
from admin_service.models import InboxEvent, OutboxMessage
from admin_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Admin Service",
        version=__version__,
        description="Runtime settings, user management, dashboards, reports and system operations.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
