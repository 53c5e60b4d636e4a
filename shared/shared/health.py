"""`/health` (liveness, no I/O), `/health/ready` (dependencies) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[Any]]


def health_router(service: str, version: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="Liveness (no I/O)")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service, "version": version}

    @router.get("/health/ready", summary="Readiness: database, cache and dependencies")
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness_checks", {})
        results: dict[str, str] = {}

        async def run(name: str, check: ReadinessCheck) -> None:
            try:
                await asyncio.wait_for(check(), timeout=3.0)
                results[name] = "ok"
            except Exception as exc:  # report, never raise: readiness is a report
                results[name] = f"down: {type(exc).__name__}"

        await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        ok = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "service": service, "checks": results},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        for refresh in getattr(request.app.state, "metrics_refreshers", []):
            try:
                await refresh()
            except Exception:  # noqa: S110 - a failed gauge refresh must not break scraping
                pass
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
