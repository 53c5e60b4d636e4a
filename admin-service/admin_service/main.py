"""Application factory for the Admin Service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from admin_service import __version__
from admin_service.dashboard import router as dashboard_router
from admin_service.models import InboxEvent, OutboxMessage
from admin_service.operations import router as operations_router
from admin_service.providers import router as providers_router
from admin_service.reports.router import router as reports_router
from admin_service.reports.service import interrupt_stale_reports
from admin_service.runtime.crypto import SecretBox
from admin_service.runtime.router import internal_router as settings_internal_router
from admin_service.runtime.router import router as settings_router
from admin_service.settings import Settings
from admin_service.users import router as users_router
from shared.app import create_service_app
from shared.http import create_http_client
from shared.inbox import events_router
from shared.outbox_admin import include_outbox_admin

TAGS = [
    {"name": "settings", "description": "Runtime settings (typed, validated, secrets encrypted), history."},
    {"name": "providers", "description": "Provider credentials: test connection."},
    {"name": "users", "description": "User management through user-service (admin; support read-only)."},
    {"name": "dashboard", "description": "Figures computed from the owning services."},
    {"name": "reports", "description": "Background reports, CSV and JSON downloads."},
    {"name": "operations", "description": "System health, outboxes and dead letters, held transactions."},
    {"name": "internal", "description": "Service-to-service routes (X-API-Key)."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.secret_box = SecretBox(settings.admin_settings_key.get_secret_value())
        app.state.report_tasks = set()
        # Calls to third-party providers: no service API key on this client.
        app.state.provider_http = create_http_client()
        await interrupt_stale_reports(app)
        try:
            yield
        finally:
            tasks = list(app.state.report_tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await app.state.provider_http.aclose()

    app = create_service_app(
        settings,
        title="Admin Service",
        version=__version__,
        description="Runtime settings, user management, dashboards, reports and system operations.",
        routers=[
            settings_router,
            settings_internal_router,
            providers_router,
            users_router,
            dashboard_router,
            reports_router,
            operations_router,
            events_router(InboxEvent, {}, service=settings.SERVICE_NAME),
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=lifespan,
        openapi_tags=TAGS,
    )
    include_outbox_admin(app, OutboxMessage)
    return app
