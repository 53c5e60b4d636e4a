"""Application factory for the Payment Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from payment_service import __version__
from payment_service.models import InboxEvent, OutboxMessage
from payment_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Payment Service",
        version=__version__,
        description="SSLCommerz pay-in sessions, IPN validation, PayPal Payouts, refunds and provider webhooks.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
