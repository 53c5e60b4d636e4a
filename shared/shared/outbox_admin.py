"""The outbox admin surface every producing service exposes to admin-service (service API key):

    GET  /internal/outbox/stats                 → {service, pending, delivered, dead}
    GET  /internal/outbox/dead-letters?limit=   → {service, items: [...], count}
    POST /internal/outbox/dead-letters/replay   {"ids": [..]} or {} for all → {service, replayed}

A replayed dead letter goes back to `pending` with a fresh retry budget; the relay is woken when
the request's unit of work commits, and the subscriber's inbox keeps the effect exactly-once.
Dead-letter listings carry the envelope's type and subject, never its data (it may hold PII).

Registered once per app (idempotent, so `create_service_app` and a service may both call it):

    include_outbox_admin(app, outbox_model)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Query, Request
from pydantic import BaseModel, Field

from shared.deps import SessionDep
from shared.logging import get_logger
from shared.outbox import OutboxMixin, list_dead_letters, outbox_stats, replay_dead_letters
from shared.service_auth import ServiceCaller

log = get_logger(__name__)

PREFIX = "/internal/outbox"


class OutboxStats(BaseModel):
    service: str
    pending: int
    delivered: int
    dead: int


class DeadLetter(BaseModel):
    id: int
    event_id: uuid.UUID
    event_type: str
    subscriber: str
    subject_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime


class DeadLetterPage(BaseModel):
    service: str
    items: list[DeadLetter]
    count: int


class ReplayRequest(BaseModel):
    ids: list[int] | None = Field(
        default=None, max_length=1000, description="Row ids; omit for every dead letter"
    )


class ReplayResult(BaseModel):
    service: str
    replayed: int


def _service(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    return str(getattr(settings, "SERVICE_NAME", "") or "")


def outbox_admin_router(model: type[OutboxMixin], *, prefix: str = PREFIX) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["internal"])

    @router.get("/stats", response_model=OutboxStats, summary="Outbox rows by status (service API key)")
    async def stats(request: Request, caller: ServiceCaller, session: SessionDep) -> OutboxStats:
        counts = await outbox_stats(session, model)
        return OutboxStats(
            service=_service(request),
            pending=counts.get("pending", 0),
            delivered=counts.get("delivered", 0),
            dead=counts.get("dead", 0),
        )

    @router.get("/dead-letters", response_model=DeadLetterPage, summary="Dead letters (service API key)")
    async def dead_letters(
        request: Request,
        caller: ServiceCaller,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DeadLetterPage:
        rows = await list_dead_letters(session, model, limit=limit)
        items = [
            DeadLetter(
                id=r.id,
                event_id=r.event_id,
                event_type=r.event_type,
                subscriber=r.subscriber,
                subject_id=(r.envelope or {}).get("subject_id"),
                attempts=r.attempts,
                last_error=r.last_error,
                created_at=r.created_at,
                next_attempt_at=r.next_attempt_at,
            )
            for r in rows
        ]
        return DeadLetterPage(service=_service(request), items=items, count=len(items))

    @router.post(
        "/dead-letters/replay", response_model=ReplayResult, summary="Re-queue dead letters (service API key)"
    )
    async def replay(
        request: Request,
        caller: ServiceCaller,
        session: SessionDep,
        body: Annotated[ReplayRequest | None, Body()] = None,
    ) -> ReplayResult:
        ids = body.ids if body is not None else None
        n = await replay_dead_letters(session, model, ids)
        log.info("outbox_dead_letters_replayed", count=n, caller=caller)
        return ReplayResult(service=_service(request), replayed=n)

    return router


def include_outbox_admin(app: FastAPI, model: type[OutboxMixin]) -> bool:
    """Add the outbox admin routes to `app` unless already there; True when added now."""
    if getattr(app.state, "outbox_admin_included", False):
        return False
    app.include_router(outbox_admin_router(model))
    app.state.outbox_admin_included = True
    return True
