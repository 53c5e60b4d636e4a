"""Application factory for the Provider Sandbox."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app

from provider_sandbox import __version__
from provider_sandbox.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="Provider Sandbox",
        version=__version__,
        description="Offline doubles of the SSLCommerz and PayPal APIs used by the platform (tests and `make run`).",
    )
