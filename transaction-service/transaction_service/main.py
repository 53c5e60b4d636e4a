"""Application factory for the Transaction Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from shared.app import create_service_app
from shared.inbox import events_router
from transaction_service import __version__
from transaction_service.clients import Clients, http_clients
from transaction_service.context import ServiceContext
from transaction_service.limits.router import router as limits_router
from transaction_service.metrics import status_gauge_refresher
from transaction_service.models import InboxEvent, OutboxMessage
from transaction_service.quotes.router import router as quotes_router
from transaction_service.reporting.router import router as reporting_router
from transaction_service.runtime import RuntimeSettings
from transaction_service.saga.handlers import SagaHandlers
from transaction_service.saga.worker import SagaWorker
from transaction_service.settings import Settings
from transaction_service.transactions.export import router as export_router
from transaction_service.transactions.internal import router as internal_router
from transaction_service.transactions.router import router as transactions_router

TAGS = [
    {"name": "quotes", "description": "Locked quotes: rate, fee and totals."},
    {"name": "transactions", "description": "Create, read, list, cancel; status history; stats."},
    {"name": "limits", "description": "Per-user daily/monthly/yearly limits in USD equivalent."},
    {"name": "history", "description": "Exports."},
    {"name": "internal", "description": "Service-to-service routes (X-API-Key)."},
]


def create_app(settings: Settings | None = None, *, clients: Clients | None = None) -> FastAPI:
    """`clients` replaces the HTTP clients to the other services (tests of odd failure modes)."""
    settings = settings or Settings()
    app: FastAPI | None = None

    def get_ctx() -> ServiceContext:
        assert app is not None
        return app.state.ctx

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = RuntimeSettings(settings)
        ctx = ServiceContext(
            settings=settings,
            runtime=runtime,
            db=app.state.db,
            clients=clients or http_clients(app.state.http, settings),
        )
        ctx.worker = SagaWorker(ctx)
        app.state.ctx = ctx
        app.state.metrics_refreshers.append(status_gauge_refresher(ctx.db))
        if settings.saga_worker_enabled:
            ctx.worker.start()
        try:
            async with runtime.polling(app.state.http, enabled=settings.runtime_settings_refresh):
                yield
        finally:
            await ctx.worker.stop()

    handlers = SagaHandlers(get_ctx)
    app = create_service_app(
        settings,
        title="Transaction Service",
        version=__version__,
        description="Quotes, transactions, limits and the remittance saga (the orchestrator).",
        routers=[
            quotes_router,
            transactions_router,
            limits_router,
            export_router,
            internal_router,
            reporting_router,
            events_router(InboxEvent, handlers.table(), service=settings.SERVICE_NAME),
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=lifespan,
        openapi_tags=TAGS,
    )
    return app
