"""PayPal webhook handling (providers.md §1.9–§1.11, P.8).

Store raw → verify the signature on the raw bytes (postback API or offline) → dedupe by event id
and transmission id → re-GET the item or batch (webhook resources are hints, the GET is the
truth) → apply only forward moves, with the dedupe keys, the state change and the `payout.*`
event in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from payment_service.context import Context
from payment_service.models import Payout, ProcessedWebhook
from payment_service.payouts.service import apply_batch, apply_item, locked_payout
from payment_service.providers.base import ProviderError
from payment_service.providers.paypal_webhook import WebhookVerificationError
from payment_service.webhook_log import close_record, close_record_alone, record_received
from shared.logging import get_logger

log = get_logger(__name__)

ITEM_PREFIX = "PAYMENT.PAYOUTS-ITEM."
BATCH_PREFIX = "PAYMENT.PAYOUTSBATCH."


async def _verified(ctx: Context, headers: Mapping[str, str], raw: bytes) -> str | None:
    """None when PayPal signed it, else the reason."""
    webhook_id = ctx.settings.paypal_webhook_id
    try:
        if ctx.settings.paypal_webhook_verification == "offline":
            await ctx.offline_verifier.verify(headers, raw, webhook_id)
            return None
        ok = await ctx.paypal.verify_webhook_signature(headers, raw, webhook_id)
        return None if ok else "signature_failure"
    except WebhookVerificationError as exc:
        return str(exc)[:200]


def _keys(event_id: str, transmission_id: str) -> list[str]:
    keys = [f"paypal:event:{event_id}"]
    if transmission_id:
        keys.append(f"paypal:transmission:{transmission_id}")
    return keys


async def handle_paypal_webhook(
    ctx: Context, raw: bytes, headers: Mapping[str, str]
) -> tuple[str, str | None]:
    """Returns (outcome, reason); outcome in processed|unchanged|duplicate|ignored|rejected|error."""
    transmission_id = headers.get("paypal-transmission-id", "")[:80]
    try:
        event = json.loads(raw)
    except ValueError:
        event = None
    event_id = str(event.get("id", ""))[:80] if isinstance(event, dict) else ""
    record_id = await record_received(
        ctx,
        provider="paypal",
        kind="webhook",
        raw_body=raw,
        headers=headers,
        event_id=event_id or None,
        transmission_id=transmission_id or None,
    )

    async def finish(
        outcome: str, reason: str | None = None, transaction_id: Any = None
    ) -> tuple[str, str | None]:
        await close_record_alone(ctx, record_id, outcome, reason, transaction_id)
        if outcome in ("rejected", "error"):
            log.warning("paypal_webhook_" + outcome, reason=reason, event_id=event_id)
        return outcome, reason

    if not isinstance(event, dict) or not event_id:
        return await finish("rejected", "malformed_event")
    try:
        reason = await _verified(ctx, headers, raw)
    except ProviderError as exc:
        return await finish("error", f"verification_unavailable:{type(exc).__name__}")
    if reason is not None:
        return await finish("rejected", reason)

    keys = _keys(event_id, transmission_id)
    async with ctx.unit_of_work() as session:
        seen = await session.scalar(
            select(ProcessedWebhook.key).where(ProcessedWebhook.key.in_(keys)).limit(1)
        )
    if seen is not None:
        return await finish("duplicate")

    event_type = str(event.get("event_type", ""))
    raw_resource = event.get("resource")
    resource: dict[str, Any] = raw_resource if isinstance(raw_resource, dict) else {}
    payout = await _find_payout(ctx, event_type, resource)
    if payout is None:
        return await finish(
            "ignored",
            "unknown_payout"
            if event_type.startswith("PAYMENT.PAYOUTS")
            else f"unhandled_event:{event_type[:60]}",
        )

    item: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    try:
        if event_type.startswith(ITEM_PREFIX) and (resource.get("payout_item_id") or payout.payout_item_id):
            item = await ctx.paypal.get_item(
                str(resource.get("payout_item_id") or payout.payout_item_id),
                transaction_id=payout.transaction_id,
            )
        else:
            batch_id = str(
                (resource.get("batch_header") or {}).get("payout_batch_id") or payout.payout_batch_id or ""
            )
            batch = await ctx.paypal.get_batch(batch_id, transaction_id=payout.transaction_id)
    except (ProviderError, ValueError) as exc:
        # Not applied and not deduped: PayPal redelivers (non-2xx), and the poller also re-reads.
        return await finish("error", f"reread_failed:{type(exc).__name__}", payout.transaction_id)
    if (
        item is not None
        and str(item.get("sender_batch_id") or payout.sender_batch_id) != payout.sender_batch_id
    ):
        return await finish("rejected", "item_of_another_batch", payout.transaction_id)

    try:
        async with ctx.unit_of_work() as session:
            for key in keys:
                session.add(ProcessedWebhook(key=key))
            await session.flush()
            locked = await locked_payout(session, payout.id)
            changed = (
                await apply_item(session, locked, item)
                if item is not None
                else await apply_batch(session, locked, batch or {})
            )
            outcome = "processed" if changed else "unchanged"  # verified, new, but nothing moved forward
            await close_record(session, record_id, outcome, event_type[:200], payout.transaction_id)
    except IntegrityError:
        return await finish("duplicate", "concurrent delivery", payout.transaction_id)
    return outcome, None


async def _find_payout(ctx: Context, event_type: str, resource: dict[str, Any]) -> Payout | None:
    if event_type.startswith(ITEM_PREFIX):
        item_id = str(resource.get("payout_item_id") or "")
        sender_item_id = str((resource.get("payout_item") or {}).get("sender_item_id") or "")
        batch_id = str(resource.get("payout_batch_id") or "")
    elif event_type.startswith(BATCH_PREFIX):
        header = resource.get("batch_header") or {}
        item_id, batch_id = "", str(header.get("payout_batch_id") or "")
        sender_item_id = str((header.get("sender_batch_header") or {}).get("sender_batch_id") or "")
    else:
        return None
    conditions = []
    if item_id:
        conditions.append(Payout.payout_item_id == item_id)
    if sender_item_id:
        conditions.append(Payout.sender_batch_id == sender_item_id)
    if batch_id:
        conditions.append(Payout.payout_batch_id == batch_id)
    if not conditions:
        return None
    async with ctx.unit_of_work() as session:
        return await session.scalar(select(Payout).where(or_(*conditions)).limit(1))
