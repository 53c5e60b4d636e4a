"""Application factory for the API Gateway."""

from __future__ import annotations

from fastapi import FastAPI

from shared.app import create_service_app

from gateway import __version__
from gateway.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="API Gateway",
        version=__version__,
        description="Public entry point: routing, edge authentication, rate limiting, circuit breaking and merged API docs.",
    )
