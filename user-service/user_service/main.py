"""Application factory for the User Service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router

from user_service import __version__
from user_service.models import InboxEvent, OutboxMessage
from user_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="User Service",
        version=__version__,
        description="Identity provider: registration, login, tokens (JWKS), sessions, profiles, roles and API clients.",
        routers=[events_router(InboxEvent, {}, service=settings.SERVICE_NAME)],
        outbox_model=OutboxMessage,
    )
