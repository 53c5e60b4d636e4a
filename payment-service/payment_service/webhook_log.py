"""Recording of inbound provider notifications: stored raw before any check, then closed with
an outcome. Headers are masked (signatures, cookies); the body is kept byte-exact."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.context import Context
from payment_service.metrics import WEBHOOKS
from payment_service.models import WebhookRecord
from shared.db import utcnow
from shared.masking import mask_mapping

KEPT_HEADERS = ("content-type", "user-agent", "x-request-id", "x-forwarded-for")


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept = {
        k.lower(): v
        for k, v in headers.items()
        if k.lower() in KEPT_HEADERS or k.lower().startswith("paypal-")
    }
    return mask_mapping(kept)


async def record_received(
    ctx: Context,
    *,
    provider: str,
    kind: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    event_id: str | None = None,
    transmission_id: str | None = None,
) -> int:
    async with ctx.unit_of_work() as session:
        rec = WebhookRecord(
            provider=provider,
            kind=kind,
            raw_body=raw_body.decode("utf-8", "replace"),
            headers=_headers(headers),
            event_id=(event_id or None) and event_id[:80],
            transmission_id=(transmission_id or None) and transmission_id[:80],
            outcome="received",
        )
        session.add(rec)
        await session.flush()
        return rec.id


async def close_record(
    session: AsyncSession,
    record_id: int,
    outcome: str,
    reason: str | None = None,
    transaction_id: uuid.UUID | None = None,
) -> None:
    rec = await session.get(WebhookRecord, record_id)
    if rec is not None:
        WEBHOOKS.labels(rec.provider, rec.kind, outcome).inc()
    values: dict[str, object] = {
        "outcome": outcome,
        "reason": (reason or None) and reason[:200],
        "processed_at": utcnow(),
    }
    if transaction_id is not None:
        values["transaction_id"] = transaction_id
    await session.execute(update(WebhookRecord).where(WebhookRecord.id == record_id).values(**values))


async def close_record_alone(
    ctx: Context,
    record_id: int,
    outcome: str,
    reason: str | None = None,
    transaction_id: uuid.UUID | None = None,
) -> None:
    async with ctx.unit_of_work() as session:
        await close_record(session, record_id, outcome, reason, transaction_id)
