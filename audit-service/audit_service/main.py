"""Application factory for the Audit Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from audit_service import __version__
from audit_service.models import InboxEvent, OutboxMessage
from audit_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Audit Service",
        version=__version__,
        description="Tamper-evident, masked audit trail with search, analytics and compliance reports.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
