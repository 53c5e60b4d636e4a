"""Admin actions performed through other services are also published by admin-service (through its
outbox, in the request's transaction), so the audit trail records who did what from here even when
the owning service's own event says only "by <admin id>"."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_service.models import OutboxMessage
from shared.outbox import publish


async def record(
    session: AsyncSession, event_type: str, *, subject_id: str | None, by: str, **data: Any
) -> None:
    await publish(
        session,
        OutboxMessage,
        event_type=event_type,
        producer="admin-service",
        subject_id=subject_id,
        data={**data, "by": by},
    )
    await session.flush()
