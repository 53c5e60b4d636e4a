"""Application factory for the Payment Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

import shared.runtime_settings as rs
from payment_service import __version__
from payment_service.context import Context
from payment_service.models import InboxEvent, OutboxMessage
from payment_service.payments import router as payments
from payment_service.payouts import router as payouts
from payment_service.providers.base import DatabaseRecorder
from payment_service.providers.factory import ProviderFactory
from payment_service.providers.paypal_webhook import OfflineVerifier
from payment_service.reconcile import router as reconcile
from payment_service.reconcile.service import Poller
from payment_service.refunds import router as refunds
from payment_service.runtime import RuntimeSettings
from payment_service.settings import Settings
from payment_service.transactions_client import TransactionServiceClient
from shared.app import create_service_app
from shared.http import create_http_client
from shared.inbox import events_router

TAGS = [
    {"name": "payments", "description": "Pay-in records (owner, support, admin)."},
    {"name": "webhooks", "description": "SSLCommerz IPN/browser returns and PayPal webhooks (verified)."},
    {"name": "internal", "description": "Service-to-service (X-API-Key)."},
]


def create_app(
    settings: Settings | None = None, *, provider_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`provider_transport` replaces the network for provider calls (tests: `httpx.MockTransport`)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A client of its own for the outside world: no service API key on it, explicit timeouts.
        provider_http = create_http_client(
            timeout=httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=5.0), transport=provider_transport
        )
        recorder = DatabaseRecorder(app.state.db)
        # Provider base URLs and credentials: env defaults, overridden by admin-service at run time.
        runtime = RuntimeSettings(settings)
        providers = ProviderFactory(provider_http, runtime, recorder)
        ctx = Context(
            settings=settings,
            db=app.state.db,
            sslcommerz=providers.sslcommerz(),
            paypal=providers.paypal(),
            offline_verifier=OfflineVerifier(
                provider_http,
                allowed_hosts=settings.cert_hosts,
                allow_http=settings.paypal_cert_allow_http,
                trust_pem=settings.paypal_cert_trust_pem,
                recorder=recorder,
            ),
            transactions=TransactionServiceClient(app.state.http, settings.url_of("transaction-service")),
            runtime=runtime,
            providers=providers,
        )
        runtime.on_change = ctx.on_runtime_change
        app.state.ctx = ctx
        poller = Poller(ctx, settings.reconcile_interval_seconds)
        app.state.poller = poller
        if settings.reconcile_enabled:
            poller.start()
        try:
            async with runtime.polling(app.state.http, enabled=settings.runtime_settings_refresh):
                yield
        finally:
            await poller.stop()
            # Replaced provider clients share this HTTP client: closed once, after their calls.
            await provider_http.aclose()

    def runtime_and_http() -> tuple[rs.RuntimeSettings, httpx.AsyncClient]:
        assert app is not None
        return app.state.ctx.runtime, app.state.http

    app: FastAPI | None = None
    app = create_service_app(
        settings,
        title="Payment Service",
        version=__version__,
        description="SSLCommerz pay-in, IPN validation, PayPal Payouts, refunds and provider webhooks.",
        routers=[
            events_router(InboxEvent, rs.setting_handlers(runtime_and_http), service=settings.SERVICE_NAME),
            payments.internal_router,
            payouts.internal_router,
            refunds.router,
            reconcile.router,
            payments.webhook_router,
            payouts.webhook_router,
            payments.public_router,
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=lifespan,
        openapi_tags=TAGS,
    )
    return app
