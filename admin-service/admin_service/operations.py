"""`/api/v1/admin/system/*` and `/api/v1/admin/transactions/*`: system health, the outbox of every
service (backlog, dead letters, replay) and transactions held for review (approve / refund)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from admin_service import audit, upstream
from admin_service.models import OutboxMessage
from shared.auth import AdminPrincipal, StaffPrincipal
from shared.deps import SessionDep
from shared.errors import NotFound, ProblemError, problem_responses
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.idempotency import REPLAY_HEADER
from shared.outbox import list_dead_letters, outbox_stats, replay_dead_letters
from shared.topology import SERVICES

router = APIRouter(prefix="/api/v1/admin", tags=["operations"])

ME = "admin-service"
OUTBOX_SERVICES = tuple(s.name for s in SERVICES if s.schema)  # services with a database and outbox


async def probe(http: httpx.AsyncClient, name: str, base: str, wait: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        resp = await http.get(f"{base}/health/ready", timeout=wait)
    except httpx.HTTPError as exc:
        return {"service": name, "status": "down", "error": type(exc).__name__, "url": base}
    elapsed = round((time.monotonic() - started) * 1000)
    body = upstream._json(resp)
    checks = body.get("checks") if isinstance(body, dict) else None
    status = "up" if resp.status_code == 200 else "degraded"
    return {
        "service": name,
        "status": status,
        "http_status": resp.status_code,
        "latency_ms": elapsed,
        "checks": checks,
        "url": base,
    }


@router.get("/system/health", summary="Readiness of every service and the gateway's circuit breakers")
async def system_health(request: Request, principal: StaffPrincipal) -> dict[str, Any]:
    settings = request.app.state.settings
    http: httpx.AsyncClient = request.app.state.http
    names = [s.name for s in SERVICES]
    results = await asyncio.gather(
        *(probe(http, n, settings.url_of(n), settings.health_timeout) for n in names)
    )
    try:
        breakers = await upstream.call(
            request,
            "gateway",
            "GET",
            "/health/services",
            forward_bearer=True,
            wait=settings.health_timeout,
        )
    except ProblemError as exc:
        breakers = {"unavailable": exc.code}
    overall = "ok" if all(r["status"] == "up" for r in results) else "degraded"
    return {"status": overall, "services": list(results), "gateway": breakers}


def _known(service: str) -> str:
    if service not in OUTBOX_SERVICES:
        raise NotFound("No such service with an outbox.", code="unknown_service")
    return service


@router.get("/system/outbox", summary="Outbox backlog and dead letters of every service")
async def outbox_overview(request: Request, principal: StaffPrincipal, session: SessionDep) -> dict[str, Any]:
    async def one(name: str) -> tuple[str, Any]:
        if name == ME:
            return name, {"service": ME, **await outbox_stats(session, OutboxMessage)}
        try:
            return name, await upstream.call(request, name, "GET", "/internal/outbox/stats", wait=5.0)
        except ProblemError as exc:
            return name, {"service": name, "unavailable": exc.code}

    # Our own stats use the request's session, so they are read first (a session is not concurrent).
    own = await one(ME)
    others = await asyncio.gather(*(one(n) for n in OUTBOX_SERVICES if n != ME))
    return dict([own, *others])


@router.get(
    "/system/outbox/{service}/dead-letters",
    responses=problem_responses(401, 403, 404, 503),
    summary="Dead letters of one service",
)
async def dead_letters(
    service: str,
    request: Request,
    principal: StaffPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    _known(service)
    if service == ME:
        rows = await list_dead_letters(session, OutboxMessage, limit=limit)
        items = [
            {
                "id": r.id,
                "event_id": str(r.event_id),
                "event_type": r.event_type,
                "subscriber": r.subscriber,
                "subject_id": (r.envelope or {}).get("subject_id"),
                "attempts": r.attempts,
                "last_error": r.last_error,
                "created_at": r.created_at,
                "next_attempt_at": r.next_attempt_at,
            }
            for r in rows
        ]
        return {"service": ME, "items": items, "count": len(items)}
    return await upstream.call(
        request, service, "GET", "/internal/outbox/dead-letters", params={"limit": limit}
    )


class ReplayBody(BaseModel):
    ids: list[int] | None = Field(default=None, max_length=1000)


@router.post(
    "/system/outbox/{service}/dead-letters/replay",
    responses=problem_responses(401, 403, 404, 503),
    summary="Re-queue dead letters of one service (admin): all, or the given ids",
)
async def replay(
    service: str,
    request: Request,
    admin: AdminPrincipal,
    session: SessionDep,
    body: Annotated[ReplayBody | None, Body()] = None,
) -> Any:
    _known(service)
    ids = body.ids if body else None
    if service == ME:
        result: Any = {"service": ME, "replayed": await replay_dead_letters(session, OutboxMessage, ids)}
    else:
        result = await upstream.call(
            request, service, "POST", "/internal/outbox/dead-letters/replay", json={"ids": ids}
        )
    await audit.record(
        session,
        "admin.dead_letters_replayed",
        subject_id=service,
        by=admin.subject,
        service=service,
        ids=ids,
        replayed=(result or {}).get("replayed"),
    )
    return result


# -- transactions held for review ----------------------------------------------------------------


class Decision(BaseModel):
    reason: str = Field(min_length=3, max_length=150)


@router.get("/transactions/held", summary="Transactions on hold (amount mismatch, risk_level=1, …)")
async def held(
    request: Request, principal: StaffPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    return await upstream.call(
        request, "transaction-service", "GET", "/internal/reports/held", params={"limit": limit}
    )


@router.get(
    "/transactions/stuck",
    summary="The reconciler's view: in-flight transactions unchanged too long, and when last re-checked",
)
async def stuck(
    request: Request, principal: StaffPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    return await upstream.call(
        request, "transaction-service", "GET", "/internal/reports/stuck", params={"limit": limit}
    )


async def _decide(
    action: str, txn_id: uuid.UUID, body: Decision, request: Request, admin_id: str, session: SessionDep
) -> Any:
    # An Idempotency-Key is passed on: transaction-service replays the first answer to a retry
    # (instead of a 409 from the state guard), and a replay is not recorded a second time.
    key = request.headers.get(IDEMPOTENCY_HEADER)
    resp = await upstream.exchange(
        request,
        "transaction-service",
        "POST",
        f"/api/v1/transactions/{txn_id}/{action}",
        forward_bearer=True,
        json={"reason": body.reason},
        headers={IDEMPOTENCY_HEADER: key} if key else None,
    )
    result = resp.json()
    if resp.headers.get(REPLAY_HEADER) == "true":
        return JSONResponse(result, headers={REPLAY_HEADER: "true"})
    await audit.record(
        session,
        f"admin.transaction_{action}d" if action == "approve" else "admin.transaction_refund_ordered",
        subject_id=str(txn_id),
        by=admin_id,
        transaction_id=str(txn_id),
        reason=body.reason,
    )
    return result


@router.post(
    "/transactions/{txn_id}/approve",
    responses=problem_responses(401, 403, 404, 409),
    summary="Approve a held transaction (admin): the flow continues (optional Idempotency-Key)",
)
async def approve(
    txn_id: uuid.UUID, body: Decision, request: Request, admin: AdminPrincipal, session: SessionDep
) -> Any:
    return await _decide("approve", txn_id, body, request, admin.subject, session)


@router.post(
    "/transactions/{txn_id}/refund",
    responses=problem_responses(401, 403, 404, 409),
    summary="Refund a held transaction's payment (admin; optional Idempotency-Key)",
)
async def refund(
    txn_id: uuid.UUID, body: Decision, request: Request, admin: AdminPrincipal, session: SessionDep
) -> Any:
    return await _decide("refund", txn_id, body, request, admin.subject, session)
