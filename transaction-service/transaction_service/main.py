"""Application factory for the Transaction Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from transaction_service import __version__
from transaction_service.models import InboxEvent, OutboxMessage
from transaction_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Transaction Service",
        version=__version__,
        description="Quotes, transactions, limits and the remittance saga (the orchestrator).",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
