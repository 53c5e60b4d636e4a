"""Application factory for the Provider Sandbox."""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from provider_sandbox import __version__, channels, control
from provider_sandbox.delivery import Deliverer
from provider_sandbox.faults import FaultMiddleware
from provider_sandbox.paypal import auth as paypal_auth
from provider_sandbox.paypal import router as paypal_router
from provider_sandbox.paypal.signing import CERT_PATH, WebhookSigner
from provider_sandbox.runtime import Sandbox
from provider_sandbox.settings import Settings
from provider_sandbox.sslcommerz import router as sslcommerz_router
from shared.app import create_service_app

OPENAPI_TAGS = [
    {"name": "sslcommerz", "description": "SSLCommerz v4 double (providers.md §2)."},
    {"name": "paypal", "description": "PayPal OAuth2, Payouts v1 and webhook verification doubles."},
    {"name": "channels", "description": "Twilio SMS, FCM push and ExchangeRate-API doubles."},
    {"name": "sandbox control", "description": "Test/demo control API (ARCHITECTURE §8)."},
]


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; once per process is enough (listener URLs may be https).
    return ssl.create_default_context()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    sandbox = Sandbox(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Outbound IPN/webhook client: no service API key, no redirects, short timeouts.
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False, verify=_tls_context()
        ) as http:
            sandbox.deliverer = Deliverer(http, sandbox.state)
            sandbox.signer = WebhookSigner(
                settings.paypal_cert_common_name, settings.sandbox_public_url + CERT_PATH
            )
            try:
                yield
            finally:
                await sandbox.deliverer.close()

    app = create_service_app(
        settings,
        title="Provider Sandbox",
        version=__version__,
        description=(
            "Offline doubles of the SSLCommerz and PayPal APIs used by the platform (tests and `make run`)."
        ),
        routers=[
            sslcommerz_router.router,
            paypal_auth.router,
            paypal_router.router,
            channels.router,
            control.router,
        ],
        extra_lifespan=lifespan,
        openapi_tags=OPENAPI_TAGS,
    )
    app.state.sandbox = sandbox
    paypal_auth.install_paypal_errors(app)
    app.add_middleware(FaultMiddleware, rules=sandbox.faults, hang_seconds=settings.fault_hang_seconds)
    return app
