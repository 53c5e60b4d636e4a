"""Admin resolution of held transactions (ARCHITECTURE §1: "until an admin approves (the flow
continues) or refunds it"). Both only change persisted state; the saga worker makes the calls."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.logging import get_logger
from transaction_service.models import Transaction
from transaction_service.saga.worker import mark_due
from transaction_service.transactions import repository as repo
from transaction_service.transactions import status as sm
from transaction_service.transactions.schemas import TransactionRead

log = get_logger(__name__)


async def _locked(session: AsyncSession, txn_id: uuid.UUID) -> Transaction:
    txn = await repo.get_locked(session, txn_id)
    if txn is None:
        raise NotFound("Transaction not found.", code="transaction_not_found")
    return txn


async def approve(session: AsyncSession, admin: Principal, txn_id: uuid.UUID, reason: str) -> TransactionRead:
    """Let a held transaction continue: a held payment is accepted (→ BDT_RECEIVED → payout), a
    refused payout or failed refund is retried."""
    txn = await _locked(session, txn_id)
    if not txn.on_hold:
        raise Conflict("The transaction is not on hold.", code="not_on_hold")
    continues = (
        (txn.status == sm.PENDING and txn.bdt_received_at is not None)
        or txn.status == sm.BDT_RECEIVED
        or (txn.status == sm.FAILED and txn.hold_reason == "refund_failed")
    )
    if not continues:
        raise Conflict(
            f"A held {txn.status} transaction cannot continue; refund it instead.", code="cannot_approve"
        )
    await sm.release_hold(session, txn, reason, actor_type="admin", actor_id=admin.subject)
    if txn.status == sm.PENDING:
        await sm.transition(
            session,
            txn,
            sm.BDT_RECEIVED,
            reason=f"payment approved: {reason}",
            actor_type="admin",
            actor_id=admin.subject,
        )
    if txn.status == sm.FAILED:
        txn.refund_requested_at = None  # ask payment-service again
    txn.next_action_at, txn.action_attempts = None, 0
    mark_due(session)
    await session.flush()
    log.info("hold_approved", transaction_id=str(txn.id), by=admin.subject)
    return TransactionRead.of(txn)


async def refund(session: AsyncSession, admin: Principal, txn_id: uuid.UUID, reason: str) -> TransactionRead:
    """Return the BDT of a transaction whose payment arrived but must not be paid out."""
    txn = await _locked(session, txn_id)
    if txn.bdt_received_at is None or txn.refund_requested_at is not None:
        raise Conflict("There is no received payment left to refund.", code="nothing_to_refund")
    if txn.status not in (sm.PENDING, sm.BDT_RECEIVED, sm.FAILED, sm.CANCELLED, sm.EXPIRED):
        raise Conflict(f"A {txn.status} transaction cannot be refunded here.", code="invalid_status")
    if txn.on_hold:
        await sm.release_hold(
            session, txn, f"refund ordered: {reason}", actor_type="admin", actor_id=admin.subject
        )
    if txn.status in (sm.PENDING, sm.BDT_RECEIVED):
        await sm.transition(
            session,
            txn,
            sm.FAILED,
            reason=f"refund ordered by admin: {reason}",
            actor_type="admin",
            actor_id=admin.subject,
        )
    txn.next_action_at, txn.action_attempts = None, 0
    mark_due(session)
    await session.flush()
    log.info("refund_ordered", transaction_id=str(txn.id), by=admin.subject)
    return TransactionRead.of(txn)
