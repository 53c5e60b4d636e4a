"""The saga's event side: payment.*, payout.* and refund.* events (consumed exactly once through
`shared.inbox`) move transactions along the status machine. Each handler runs in the inbox's DB
transaction with the transaction row locked; moves the machine does not allow (duplicates,
out-of-order events) change nothing. Outgoing calls (payout, refund) are never made here: the
state change marks them due and the saga worker makes them, so a crash cannot lose them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.events import EventEnvelope
from shared.inbox import EventHandler
from shared.logging import get_logger
from shared.money import PAY_IN_CURRENCY, MoneyError, parse_decimal, to_minor
from transaction_service.context import ServiceContext
from transaction_service.models import Transaction
from transaction_service.saga.worker import mark_due
from transaction_service.transactions import repository as repo
from transaction_service.transactions import status as sm

log = get_logger(__name__)

SERVICE = "payment-service"


def _bdt_minor(value: Any) -> int | None:
    try:
        return to_minor(
            parse_decimal(value if not isinstance(value, int | float) else str(value)), PAY_IN_CURRENCY
        )
    except (MoneyError, ValueError, ArithmeticError):
        return None


def payment_mismatch(txn: Transaction, data: dict[str, Any]) -> str | None:
    """An amount or currency that differs from our record never advances the transaction."""
    if str(data.get("currency", PAY_IN_CURRENCY)).upper() != PAY_IN_CURRENCY:
        return "currency_mismatch"
    if "amount" in data and _bdt_minor(data["amount"]) != txn.total_bdt:
        return "amount_mismatch"
    return None


class SagaHandlers:
    def __init__(self, get_ctx: Callable[[], ServiceContext]) -> None:
        self.get_ctx = get_ctx

    def table(self) -> dict[str, EventHandler]:
        return {
            "payment.*": self.on_payment,
            "payout.*": self.on_payout,
            "refund.*": self.on_refund,
            "setting.*": self.on_setting,
        }

    async def _txn(self, session: AsyncSession, env: EventEnvelope) -> Transaction | None:
        txn_id = repo.parse_id(env.data.get("transaction_id") or env.subject_id)
        txn = await repo.get_locked(session, txn_id) if txn_id else None
        if txn is None:
            log.warning("event_for_unknown_transaction", type=env.type, event_id=str(env.id))
        return txn

    async def _move(
        self, session: AsyncSession, txn: Transaction, to: str, env: EventEnvelope, reason: str
    ) -> bool:
        moved = await sm.transition(
            session, txn, to, reason=reason, actor_type="service", actor_id=SERVICE, event_id=env.id
        )
        if not moved:
            log.info("event_ignored_by_status_machine", type=env.type, status=txn.status, wanted=to)
        return moved

    async def _hold(self, session: AsyncSession, txn: Transaction, reason: str, env: EventEnvelope) -> None:
        await sm.hold(session, txn, reason, actor_type="service", actor_id=SERVICE, event_id=env.id)

    # -- payment.* ---------------------------------------------------------------------------
    async def on_payment(self, session: AsyncSession, env: EventEnvelope) -> None:
        txn = await self._txn(session, env)
        if txn is None:
            return
        data = env.data
        kind = env.type.removeprefix("payment.")
        if kind == "succeeded":
            if txn.bdt_received_at is not None:
                return  # already received (duplicate under another event id)
            txn.payment_id = str(data.get("payment_id") or txn.payment_id or "") or None
            mismatch = payment_mismatch(txn, data)
            if mismatch:
                txn.bdt_received_at = utcnow()  # money arrived, but not what we expected
                await self._hold(session, txn, mismatch, env)
            elif txn.status == sm.PENDING:
                txn.bdt_received_at = utcnow()
                txn.next_action_at = None  # payout due now
                await self._move(session, txn, sm.BDT_RECEIVED, env, "payment validated")
                mark_due(session)
            elif txn.status in (sm.EXPIRED, sm.CANCELLED, sm.FAILED):
                # Paid after expiry/cancel: the money is ours to return — a person decides.
                txn.bdt_received_at = utcnow()
                await self._hold(session, txn, "late_payment", env)
        elif kind == "held":
            txn.payment_id = str(data.get("payment_id") or txn.payment_id or "") or None
            if txn.bdt_received_at is None:
                txn.bdt_received_at = utcnow()
            await self._hold(session, txn, str(data.get("reason") or "payment_held")[:64], env)
        elif kind == "failed":
            await self._move(
                session, txn, sm.FAILED, env, f"payment failed: {data.get('reason') or 'unknown'}"
            )
        elif kind == "cancelled":
            await self._move(session, txn, sm.CANCELLED, env, "payment cancelled by the payer")
        await session.flush()

    # -- payout.* ----------------------------------------------------------------------------
    async def on_payout(self, session: AsyncSession, env: EventEnvelope) -> None:
        txn = await self._txn(session, env)
        if txn is None:
            return
        data = env.data
        kind = env.type.removeprefix("payout.")
        if data.get("payout_id"):
            txn.payout_id = str(data["payout_id"])
        if kind in ("created", "succeeded", "failed") and txn.status == sm.BDT_RECEIVED:
            # The payout exists even if our own PROCESSING write has not landed yet.
            txn.payout_requested_at = txn.payout_requested_at or utcnow()
            await self._move(session, txn, sm.PROCESSING, env, f"payout {kind}")
        if kind == "succeeded":
            await self._move(session, txn, sm.COMPLETED, env, "payout succeeded")
        elif kind == "failed":
            detail = data.get("transaction_status") or data.get("error") or "unknown"
            if await self._move(session, txn, sm.FAILED, env, f"payout failed: {detail}"):
                txn.next_action_at = None  # refund due now
                mark_due(session)
        elif kind == "pending":
            log.info("payout_pending", transaction_id=str(txn.id), state=data.get("transaction_status"))
        await session.flush()

    # -- refund.* ----------------------------------------------------------------------------
    async def on_refund(self, session: AsyncSession, env: EventEnvelope) -> None:
        txn = await self._txn(session, env)
        if txn is None:
            return
        data = env.data
        kind = env.type.removeprefix("refund.")
        if data.get("refund_id"):
            txn.refund_id = str(data["refund_id"])
        if kind == "initiated":
            txn.refund_requested_at = txn.refund_requested_at or utcnow()
        elif kind == "succeeded":
            txn.refund_requested_at = txn.refund_requested_at or utcnow()
            if txn.status in (sm.FAILED, sm.COMPLETED):
                await self._move(session, txn, sm.REFUNDED, env, "BDT refunded")
            elif txn.on_hold:
                # A held payment (late, mismatched) refunded by an admin: record it on the hold.
                await self._hold(session, txn, "refunded", env)
        elif kind == "failed":
            await self._hold(session, txn, "refund_failed", env)
        await session.flush()

    # -- setting.* (admin-service runtime settings) --------------------------------------------
    async def on_setting(self, session: AsyncSession, env: EventEnvelope) -> None:
        key = env.data.get("key")
        if isinstance(key, str):
            self.get_ctx().runtime.apply(key, env.data.get("value"))
