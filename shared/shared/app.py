"""`create_service_app()`: the wiring every service shares.

It configures logging, error handlers, the request-context middleware, `/health`,
`/health/ready`, `/metrics`, and creates (in `lifespan`, never at import) the database, the
key-value store, the pooled httpx client, the token verifier and the outbox relay. A service adds
its routers and, if it needs more resources, an `extra_lifespan` context manager.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI

from shared.auth import JWKSCache, TokenVerifier
from shared.db import Database
from shared.errors import install_error_handlers
from shared.events import DEFAULT_SUBSCRIPTIONS
from shared.health import health_router
from shared.http import create_http_client
from shared.kv import create_kv
from shared.logging import configure_logging, get_logger
from shared.metrics import instrument_engine, refresh_pool_gauges
from shared.middleware import RequestContextMiddleware
from shared.outbox import OutboxMixin, OutboxRelay
from shared.outbox_admin import include_outbox_admin
from shared.settings import ServiceSettings
from shared.topology import spec

log = get_logger(__name__)

ExtraLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str = "0.1.0",
    description: str = "",
    routers: Sequence[APIRouter] = (),
    outbox_model: type[OutboxMixin] | None = None,
    extra_lifespan: ExtraLifespan | None = None,
    openapi_tags: list[dict[str, Any]] | None = None,
    use_database: bool | None = None,
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    service = settings.SERVICE_NAME
    me = spec(service)
    wants_db = bool(me.schema) if use_database is None else use_database

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, settings.log_level, settings.log_format)
        app.state.settings = settings
        app.state.readiness_checks = {}
        app.state.metrics_refreshers = []
        async with contextlib.AsyncExitStack() as stack:
            db: Database | None = None
            if wants_db:
                db = Database(
                    settings.database_url,
                    schema=settings.db_schema,
                    pool_size=settings.db_pool_size,
                    echo=settings.db_echo,
                )
                stack.push_async_callback(db.dispose)
                instrument_engine(db.engine, service)
                app.state.readiness_checks["database"] = db.ping
                engine = db.engine
                app.state.metrics_refreshers.append(_async(lambda: refresh_pool_gauges(engine, service)))
            app.state.db = db

            kv = create_kv(settings.redis_url, settings.data_dir)
            stack.push_async_callback(kv.close)
            app.state.kv = kv
            app.state.readiness_checks["cache"] = kv.ping

            http = create_http_client(api_key=settings.service_api_key.get_secret_value())
            stack.push_async_callback(http.aclose)
            app.state.http = http

            app.state.verifier = TokenVerifier(
                JWKSCache(settings.jwks_url, http),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                kv=kv,
            )

            relay: OutboxRelay | None = None
            if outbox_model is not None and db is not None:
                endpoints = {name: settings.url_of(name) for name in DEFAULT_SUBSCRIPTIONS if name != service}
                relay = OutboxRelay(
                    db,
                    outbox_model,
                    service=service,
                    http=http,
                    endpoints=endpoints,
                    api_key=settings.service_api_key.get_secret_value(),
                    poll_interval=settings.outbox_poll_interval,
                    max_attempts=settings.outbox_max_attempts,
                    base_delay=settings.outbox_base_delay,
                    max_delay=settings.outbox_max_delay,
                )
                app.state.metrics_refreshers.append(relay.refresh_gauges)
                if settings.outbox_relay_enabled:
                    relay.start()
                stack.push_async_callback(relay.stop)
            app.state.outbox_relay = relay

            if extra_lifespan is not None:
                await stack.enter_async_context(extra_lifespan(app))
            log.info("service_started", port=settings.port, environment=settings.environment)
            yield
        log.info("service_stopped")

    app = app_class(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=service)
    app.include_router(health_router(service, version))
    for router in routers:
        app.include_router(router)
    if outbox_model is not None and wants_db:
        # /internal/outbox/*: backlog, dead letters and replay for admin-service (service key only).
        include_outbox_admin(app, outbox_model)
    return app


def _async(fn: Callable[[], None]) -> Callable[[], Any]:
    async def wrapper() -> None:
        fn()

    return wrapper
