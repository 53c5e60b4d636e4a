"""Refund rules: a full BDT refund of a transaction's validated payment via SSLCommerz (§2.8).

The refund row (with `refund_trans_id`, our idempotency key at SSLCommerz) is stored before the
provider is called; its status is then polled (`refund_ref_id`) by the reconciler with backoff,
so a restart loses nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from payment_service.context import Context, emit
from payment_service.models import Payment, Refund
from payment_service.providers.base import ProviderError
from shared.db import for_update, utcnow
from shared.errors import Conflict, NotFound
from shared.logging import get_logger
from shared.money import format_minor

log = get_logger(__name__)

REFUNDABLE = frozenset({"succeeded", "held"})
OPEN = frozenset({"pending", "processing"})


def refund_trans_id_for(refund_id: uuid.UUID) -> str:
    return f"RF{refund_id.hex[:28]}"  # SSLCommerz allows ≤30 chars


def _remarks(reason: str) -> str:
    return re.sub(r"[^A-Za-z0-9 .,_-]", "", reason)[:200] or "Refund"


async def start_refund(ctx: Context, transaction_id: uuid.UUID, reason: str) -> Refund:
    async with ctx.unit_of_work() as session:
        refund = await session.scalar(select(Refund).where(Refund.transaction_id == transaction_id))
        if refund is None:
            payment = await session.scalar(select(Payment).where(Payment.transaction_id == transaction_id))
            if payment is None:
                raise NotFound("No payment for this transaction.", code="payment_not_found")
            if payment.status not in REFUNDABLE or not payment.bank_tran_id:
                raise Conflict(
                    "The payment was not received, so there is nothing to refund.", code="not_refundable"
                )
            refund_id = uuid.uuid4()
            refund = Refund(
                id=refund_id,
                transaction_id=transaction_id,
                payment_id=payment.id,
                refund_trans_id=refund_trans_id_for(refund_id),
                refund_amount=payment.paid_amount
                if payment.paid_amount is not None
                else payment.total_amount,
                currency=payment.currency,
                reason=reason[:255],
                status="pending",
                attempts=0,
            )
            try:
                async with session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
                    session.add(refund)
                    await session.flush()
            except IntegrityError:
                refund = None
    if refund is None:
        async with ctx.unit_of_work() as session:
            refund = await session.scalar(select(Refund).where(Refund.transaction_id == transaction_id))
        assert refund is not None
    if refund.status == "pending":
        refund = await initiate(ctx, refund.id)
    return refund


async def _locked(session: Any, refund_id: uuid.UUID) -> Refund:
    stmt = for_update(select(Refund).where(Refund.id == refund_id), session)
    refund = await session.scalar(stmt.execution_options(populate_existing=True))
    assert refund is not None
    return refund


async def initiate(ctx: Context, refund_id: uuid.UUID) -> Refund:
    async with ctx.unit_of_work() as session:
        refund = await session.get(Refund, refund_id)
        payment = await session.get(Payment, refund.payment_id) if refund else None
    assert refund is not None and payment is not None
    try:
        answer = await ctx.sslcommerz.initiate_refund(
            bank_tran_id=payment.bank_tran_id or "",
            refund_amount=format_minor(refund.refund_amount, refund.currency),
            remarks=_remarks(refund.reason),
            refund_trans_id=refund.refund_trans_id,
            transaction_id=refund.transaction_id,
        )
    except ProviderError as exc:
        return await _reschedule(ctx, refund_id, type(exc).__name__)
    status = str(answer.get("status", "")).lower()
    async with ctx.unit_of_work() as session:
        refund = await _locked(session, refund_id)
        if refund.status != "pending":
            return refund
        refund.attempts += 1
        if status in ("success", "processing") and answer.get("refund_ref_id"):
            refund.refund_ref_id = str(answer["refund_ref_id"])[:64]
            refund.status = "processing"
            refund.error = None
            refund.next_poll_at = utcnow() + timedelta(seconds=ctx.settings.refund_poll_min_seconds)
            await emit(session, "refund.initiated", refund.transaction_id, _data(refund))
        elif status == "failed" or str(answer.get("APIConnect", "DONE")).upper() not in ("DONE", ""):
            refund.status = "failed"
            refund.error = str(answer.get("errorReason") or answer.get("APIConnect") or "failed")[:255]
            await emit(
                session, "refund.failed", refund.transaction_id, {**_data(refund), "error": refund.error}
            )
        else:
            refund.error = "unexpected answer"
            _schedule(ctx, refund)
        return refund


def _data(refund: Refund) -> dict[str, Any]:
    return {
        "transaction_id": str(refund.transaction_id),
        "refund_id": str(refund.id),
        "amount": format_minor(refund.refund_amount, refund.currency),
        "currency": refund.currency,
    }


def _schedule(ctx: Context, refund: Refund) -> None:
    s = ctx.settings
    delay = min(s.refund_poll_max_seconds, s.refund_poll_min_seconds * (2 ** min(refund.attempts, 10)))
    refund.next_poll_at = utcnow() + timedelta(seconds=delay)


async def _reschedule(ctx: Context, refund_id: uuid.UUID, error: str) -> Refund:
    async with ctx.unit_of_work() as session:
        refund = await _locked(session, refund_id)
        refund.attempts += 1
        refund.error = error[:255]
        _schedule(ctx, refund)
        return refund


async def poll(ctx: Context, refund_id: uuid.UUID) -> bool:
    """Re-check one open refund; True when its status changed."""
    async with ctx.unit_of_work() as session:
        refund = await session.get(Refund, refund_id)
    assert refund is not None
    if refund.status == "pending":
        return (await initiate(ctx, refund_id)).status != "pending"
    if refund.status != "processing" or not refund.refund_ref_id:
        return False
    try:
        answer = await ctx.sslcommerz.refund_status(
            refund.refund_ref_id, transaction_id=refund.transaction_id
        )
    except ProviderError as exc:
        await _reschedule(ctx, refund_id, type(exc).__name__)
        return False
    status = str(answer.get("status", "")).lower()
    async with ctx.unit_of_work() as session:
        refund = await _locked(session, refund_id)
        if refund.status != "processing":
            return False
        refund.attempts += 1
        if status == "refunded":
            refund.status, refund.next_poll_at = "succeeded", None
            await emit(session, "refund.succeeded", refund.transaction_id, _data(refund))
            return True
        if status in ("cancelled", "failed"):
            refund.status, refund.next_poll_at = "failed", None
            refund.error = str(answer.get("errorReason") or status)[:255]
            await emit(
                session, "refund.failed", refund.transaction_id, {**_data(refund), "error": refund.error}
            )
            return True
        _schedule(ctx, refund)
        return False
