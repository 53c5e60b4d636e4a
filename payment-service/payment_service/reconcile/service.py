"""Reconciliation: ask the providers about a transaction and apply what we have not seen yet.

Used by `POST /internal/reconcile/{transaction_id}` (transaction-service's reconciler) and by the
periodic poller (payouts without a terminal state, refunds not yet finished). Every change goes
through the same apply functions as the webhooks, so events are emitted exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from sqlalchemy import or_, select, text

from payment_service.context import Context
from payment_service.models import Payment, Payout, Refund
from payment_service.payments.service import apply_decision, settle_from_provider
from payment_service.payouts import service as payouts
from payment_service.payouts import states
from payment_service.providers.base import ProviderError
from payment_service.refunds import service as refunds
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)

POLLER_LOCK_KEY = 0x70617931  # advisory lock id: one poller pass at a time across replicas


async def reconcile_transaction(ctx: Context, transaction_id: uuid.UUID) -> dict[str, Any]:
    found: dict[str, Any] = {
        "transaction_id": str(transaction_id),
        "payment": None,
        "payout": None,
        "refund": None,
    }
    async with ctx.unit_of_work() as session:
        payment = await session.scalar(select(Payment).where(Payment.transaction_id == transaction_id))
        payout = await session.scalar(select(Payout).where(Payout.transaction_id == transaction_id))
        refund = await session.scalar(select(Refund).where(Refund.transaction_id == transaction_id))

    if payment is not None:
        changed, error = False, None
        if payment.status in ("initiated", "failed", "cancelled", "expired"):
            try:
                decision = await settle_from_provider(ctx, payment)
            except ProviderError as exc:
                decision, error = None, type(exc).__name__
            if decision is not None and decision.action != "reject":
                async with ctx.unit_of_work() as session:
                    changed = await apply_decision(session, payment.id, decision)
        found["payment"] = await _payment_state(ctx, payment.id, changed, error)

    if payout is not None:
        changed = False
        if payout.status in states.NOT_TERMINAL:
            changed = await payouts.refresh(ctx, payout.id)
        async with ctx.unit_of_work() as session:
            p = await session.get(Payout, payout.id)
        assert p is not None
        found["payout"] = {
            "payout_id": str(p.id),
            "status": p.status,
            "payout_batch_id": p.payout_batch_id,
            "payout_item_id": p.payout_item_id,
            "changed": changed,
            "error": p.error,
        }

    if refund is not None:
        changed = False
        if refund.status in refunds.OPEN:
            changed = await refunds.poll(ctx, refund.id)
        async with ctx.unit_of_work() as session:
            r = await session.get(Refund, refund.id)
        assert r is not None
        found["refund"] = {"refund_id": str(r.id), "status": r.status, "changed": changed, "error": r.error}
    return found


async def _payment_state(
    ctx: Context, payment_id: uuid.UUID, changed: bool, error: str | None
) -> dict[str, Any]:
    async with ctx.unit_of_work() as session:
        p = await session.get(Payment, payment_id)
    assert p is not None
    return {
        "payment_id": str(p.id),
        "status": p.status,
        "hold_reason": p.hold_reason,
        "changed": changed,
        "error": error,
    }


async def poll_once(ctx: Context) -> int:
    """One pass over due payouts and refunds. Returns how many changed. On PostgreSQL a session
    advisory lock, held on its own connection for the whole pass, keeps replicas from overlapping."""
    if not ctx.db.is_postgres:
        return await _pass(ctx)
    async with ctx.db.engine.connect() as conn:
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": POLLER_LOCK_KEY})
        await conn.commit()
        if not got:
            return 0
        try:
            return await _pass(ctx)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": POLLER_LOCK_KEY})
            await conn.commit()


async def _pass(ctx: Context) -> int:
    now = utcnow()
    limit = ctx.settings.reconcile_batch_size
    async with ctx.unit_of_work() as session:
        payout_ids = list(
            (
                await session.scalars(
                    select(Payout.id)
                    .where(
                        Payout.status.in_(states.NOT_TERMINAL),
                        or_(Payout.next_check_at.is_(None), Payout.next_check_at <= now),
                    )
                    .order_by(Payout.next_check_at)
                    .limit(limit)
                )
            ).all()
        )
        refund_ids = list(
            (
                await session.scalars(
                    select(Refund.id)
                    .where(
                        Refund.status.in_(refunds.OPEN),
                        or_(Refund.next_poll_at.is_(None), Refund.next_poll_at <= now),
                    )
                    .order_by(Refund.next_poll_at)
                    .limit(limit)
                )
            ).all()
        )
    changed = 0
    for payout_id in payout_ids:
        try:
            changed += int(await payouts.refresh(ctx, payout_id))
        except Exception as exc:  # one bad row must not stop the pass
            log.warning("payout_poll_failed", payout_id=str(payout_id), error=type(exc).__name__)
    for refund_id in refund_ids:
        try:
            changed += int(await refunds.poll(ctx, refund_id))
        except Exception as exc:
            log.warning("refund_poll_failed", refund_id=str(refund_id), error=type(exc).__name__)
    return changed


class Poller:
    def __init__(self, ctx: Context, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await poll_once(self.ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep polling; the database may be briefly unavailable
                log.warning("reconcile_poller_error", error=type(exc).__name__)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="payment-reconcile-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
