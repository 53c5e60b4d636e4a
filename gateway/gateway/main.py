"""Application factory for the API Gateway.

The proxy hot path (`gateway.proxy`) is the first thing a request meets: `GatewayApp.__call__` hands
every HTTP request to it before any of FastAPI's own layers (error, telemetry and body-limit
middleware, routing), and the proxy passes what is not in the routing table on to FastAPI, which
serves only the gateway's own routes: `/health`, `/health/ready`, `/health/services`, `/metrics`,
`/docs` and the merged `/openapi.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from gateway import __version__
from gateway.proxy import ProxyMiddleware
from gateway.runtime import GatewayRuntime
from gateway.settings import Settings
from shared.app import create_service_app
from shared.auth import TokenError

DESCRIPTION = (
    "Public entry point of the payment platform: every `/api/v1` route of every service, with "
    "authentication at the edge, rate limits and circuit breakers. Use **Authorize** to log in."
)


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own routes, with the proxy in front of everything else."""

    proxy: ProxyMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxy = self.proxy
        if proxy is not None and scope["type"] == "http":
            await proxy(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def fastapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The FastAPI side only (what the proxy falls through to)."""
        await super().__call__(scope, receive, send)


def _runtime(request: Request) -> GatewayRuntime:
    return request.app.state.gateway


async def _is_staff(request: Request, rt: GatewayRuntime) -> bool:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or rt.verifier is None:
        return False
    try:
        principal = await rt.verifier.verify(auth[7:].strip())
        if await rt.is_revoked(principal.token_id, principal.session_id):
            return False
    except (TokenError, Exception):
        return False
    return principal.role in ("admin", "support")


def gateway_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/services", summary="Downstream services: breaker state (details for staff)")
    async def services(request: Request) -> JSONResponse:
        rt = _runtime(request)
        states = {name: up.breaker.state for name, up in rt.upstreams.items()}
        degraded = any(s != "closed" for s in states.values())
        body: dict[str, Any] = {"status": "degraded" if degraded else "ok", "services": states}
        if await _is_staff(request, rt):
            http: httpx.AsyncClient = request.app.state.http

            async def probe(url: str) -> str:
                try:
                    r = await http.get(f"{url}/health/ready", timeout=2.0)
                    return "ready" if r.status_code == 200 else f"not_ready ({r.status_code})"
                except httpx.HTTPError as exc:
                    return f"down ({type(exc).__name__})"

            details = {name: up.snapshot() for name, up in rt.upstreams.items()}
            urls: list[tuple[str, dict[str, Any]]] = [
                (n, i) for n, d in details.items() for i in d["instances"]  # type: ignore[attr-defined]
            ]
            results = await asyncio.gather(*(probe(i["url"]) for _, i in urls))
            for (_, inst), res in zip(urls, results, strict=True):
                inst["health"] = res
            body["details"] = details
        return JSONResponse(body)

    return router


def create_app(settings: Settings | None = None) -> GatewayApp:
    settings = settings or Settings()
    runtime = GatewayRuntime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.started(app):
            yield

    app = create_service_app(
        settings,
        title="API Gateway",
        version=__version__,
        description=DESCRIPTION,
        routers=[gateway_router()],
        extra_lifespan=lifespan,
        use_database=False,
        app_class=GatewayApp,
    )
    assert isinstance(app, GatewayApp)
    app.state.gateway = runtime
    # Replace FastAPI's own /openapi.json with the merged document (/docs reads it).
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != "/openapi.json"]

    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi() -> JSONResponse:
        return JSONResponse(await runtime.docs.document())

    app.proxy = ProxyMiddleware(app.fastapi, runtime)
    return app
