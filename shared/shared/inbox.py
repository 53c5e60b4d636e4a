"""Inbox: consumers record each event id in the same transaction as the event's effect, so a
redelivered event has no second effect (exactly-once effect over at-least-once delivery).

    router = events_router(InboxEvent, {"payment.*": on_payment_event})
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import utcnow
from shared.deps import SessionDep
from shared.errors import Forbidden
from shared.events import EventEnvelope
from shared.logging import get_logger
from shared.metrics import INBOX_RECEIVED
from shared.service_auth import ServiceCaller

log = get_logger(__name__)

EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


class InboxMixin:
    __tablename__ = "inbox_event"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    producer: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


def inbox_table_ops(op: Any) -> None:
    """Alembic `upgrade()` helper creating the inbox table exactly as `InboxMixin` declares it."""
    from shared.db import UTCDateTime

    op.create_table(
        "inbox_event",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("producer", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox_event"),
    )


def match_handler(handlers: Mapping[str, EventHandler], event_type: str) -> EventHandler | None:
    if event_type in handlers:
        return handlers[event_type]
    for pattern, handler in handlers.items():
        if fnmatch.fnmatchcase(event_type, pattern):
            return handler
    return None


async def consume(
    session: AsyncSession,
    model: type[InboxMixin],
    handlers: Mapping[str, EventHandler],
    envelope: EventEnvelope,
    *,
    service: str = "",
) -> str:
    """Record the event and run its handler in `session`'s transaction. Returns the outcome."""
    if await session.get(model, envelope.id) is not None:
        INBOX_RECEIVED.labels(service, envelope.type, "duplicate").inc()
        return "duplicate"
    factory: Any = model  # a mapped subclass of the mixin
    session.add(factory(event_id=envelope.id, event_type=envelope.type, producer=envelope.producer))
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent delivery of the same event won the race.
        await session.rollback()
        INBOX_RECEIVED.labels(service, envelope.type, "duplicate").inc()
        return "duplicate"
    handler = match_handler(handlers, envelope.type)
    if handler is None:
        INBOX_RECEIVED.labels(service, envelope.type, "ignored").inc()
        return "ignored"
    await handler(session, envelope)
    INBOX_RECEIVED.labels(service, envelope.type, "processed").inc()
    return "processed"


def events_router(
    model: type[InboxMixin], handlers: Mapping[str, EventHandler], *, service: str = ""
) -> APIRouter:
    router = APIRouter(tags=["internal"])

    @router.post("/internal/events", summary="Receive an event (service API key)")
    async def receive_event(
        envelope: EventEnvelope, caller: ServiceCaller, session: SessionDep
    ) -> dict[str, str]:
        if envelope.producer != caller:
            # A service key speaks only for its own service: nobody publishes under another's name.
            INBOX_RECEIVED.labels(service, envelope.type, "refused").inc()
            raise Forbidden("The event's producer is not the calling service.", code="producer_mismatch")
        outcome = await consume(session, model, handlers, envelope, service=service)
        log.debug("event_received", type=envelope.type, caller=caller, outcome=outcome)
        return {"status": outcome, "event_id": str(envelope.id)}

    return router
