"""Application factory for the Payment Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from payment_service import __version__
from payment_service.context import Context
from payment_service.models import InboxEvent, OutboxMessage
from payment_service.payments import router as payments
from payment_service.payouts import router as payouts
from payment_service.providers.base import DatabaseRecorder
from payment_service.providers.paypal import PayPalClient
from payment_service.providers.paypal_webhook import OfflineVerifier
from payment_service.providers.sslcommerz import SSLCommerzClient
from payment_service.reconcile import router as reconcile
from payment_service.reconcile.service import Poller
from payment_service.refunds import router as refunds
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
        ctx = Context(
            settings=settings,
            db=app.state.db,
            sslcommerz=SSLCommerzClient(
                provider_http,
                base_url=settings.sslcommerz_base_url,
                store_id=settings.sslcommerz_store_id,
                store_password=settings.sslcommerz_store_password.get_secret_value(),
                timeout=settings.sslcommerz_timeout_seconds,
                recorder=recorder,
            ),
            paypal=PayPalClient(
                provider_http,
                base_url=settings.paypal_base_url,
                client_id=settings.paypal_client_id,
                client_secret=settings.paypal_client_secret.get_secret_value(),
                timeout=settings.paypal_timeout_seconds,
                token_skew=settings.paypal_token_skew_seconds,
                recorder=recorder,
            ),
            offline_verifier=OfflineVerifier(
                provider_http,
                allowed_hosts=settings.cert_hosts,
                allow_http=settings.paypal_cert_allow_http,
                trust_pem=settings.paypal_cert_trust_pem,
                recorder=recorder,
            ),
            transactions=TransactionServiceClient(app.state.http, settings.url_of("transaction-service")),
        )
        app.state.ctx = ctx
        poller = Poller(ctx, settings.reconcile_interval_seconds)
        app.state.poller = poller
        if settings.reconcile_enabled:
            poller.start()
        try:
            yield
        finally:
            await poller.stop()
            await provider_http.aclose()

    return create_service_app(
        settings,
        title="Payment Service",
        version=__version__,
        description="SSLCommerz pay-in, IPN validation, PayPal Payouts, refunds and provider webhooks.",
        routers=[
            events_router(InboxEvent, {}, service=settings.SERVICE_NAME),
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
