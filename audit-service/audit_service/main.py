"""Application factory for the Audit Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from audit_service import __version__
from audit_service.analytics.router import router as analytics_router
from audit_service.chain.checkpoints import periodic_task
from audit_service.chain.router import router as chain_router
from audit_service.chain.signing import CheckpointSigner
from audit_service.entries import build_masker
from audit_service.ingest.router import router as ingest_router
from audit_service.ingest.service import make_event_handler
from audit_service.logs.router import router as logs_router
from audit_service.models import InboxEvent, OutboxMessage
from audit_service.settings import Settings
from shared.app import create_service_app
from shared.inbox import events_router

TAGS = [
    {"name": "audit", "description": "Search, read and export the masked audit trail (admin/support)."},
    {
        "name": "audit integrity",
        "description": "Hash-chain verification, signed checkpoints, retention (admin).",
    },
    {
        "name": "analytics",
        "description": "Stats, trends, security alerts, compliance report (admin/support).",
    },
    {"name": "internal", "description": "Service-to-service ingestion (X-API-Key)."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    masker = build_masker(settings)
    signer = CheckpointSigner(
        settings.audit_checkpoint_algorithm,
        settings.audit_checkpoint_key.get_secret_value(),
        settings.audit_checkpoint_key_id,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with periodic_task(app):
            yield

    # Every event type is recorded (`*`); the inbox makes a redelivery a no-op.
    handlers = {"*": make_event_handler(masker)}
    app = create_service_app(
        settings,
        title="Audit Service",
        version=__version__,
        description="Tamper-evident, masked audit trail with search, analytics and compliance reports.",
        routers=[
            events_router(InboxEvent, handlers, service=settings.SERVICE_NAME),
            ingest_router,
            logs_router,
            chain_router,
            analytics_router,
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=lifespan,
        openapi_tags=TAGS,
    )
    app.state.masker = masker
    app.state.signer = signer
    return app
