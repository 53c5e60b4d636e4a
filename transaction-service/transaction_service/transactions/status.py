"""The transaction status machine (ARCHITECTURE §1; names are part of the API) and the one place
that changes a status: `transition()` writes the status-history row and the outbox event in the
caller's transaction. Moves not in `ALLOWED` are refused, so duplicate or out-of-order events can
never move a transaction backwards."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.money import PAY_IN_CURRENCY, format_minor
from shared.outbox import publish
from transaction_service.models import OutboxMessage, Transaction, TransactionStatusHistory

PRODUCER = "transaction-service"

PENDING = "PENDING"
BDT_RECEIVED = "BDT_RECEIVED"
PROCESSING = "PROCESSING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
EXPIRED = "EXPIRED"
REFUNDED = "REFUNDED"
STATUSES = (PENDING, BDT_RECEIVED, PROCESSING, COMPLETED, FAILED, CANCELLED, EXPIRED, REFUNDED)

ALLOWED: dict[str, frozenset[str]] = {
    PENDING: frozenset({BDT_RECEIVED, FAILED, CANCELLED, EXPIRED}),
    BDT_RECEIVED: frozenset({PROCESSING, FAILED}),
    PROCESSING: frozenset({COMPLETED, FAILED}),
    FAILED: frozenset({REFUNDED}),  # only when BDT had been received
    COMPLETED: frozenset({REFUNDED}),  # admin-initiated
}

# Statuses whose USD equivalent counts against the sender's limits. Every other status releases
# the reservation, so "limits released on every path that does not complete" holds by construction.
RESERVING = (PENDING, BDT_RECEIVED, PROCESSING, COMPLETED)

EVENT_TYPES = {
    BDT_RECEIVED: "transaction.bdt_received",
    PROCESSING: "transaction.processing",
    COMPLETED: "transaction.completed",
    FAILED: "transaction.failed",
    CANCELLED: "transaction.cancelled",
    EXPIRED: "transaction.expired",
    REFUNDED: "transaction.refunded",
}


def event_data(txn: Transaction, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transaction_id": str(txn.id),
        "internal_tran_id": txn.internal_tran_id,
        "user_id": txn.user_id,
        "status": txn.status,
        "foreign_currency": txn.foreign_currency,
        "foreign_amount": format_minor(txn.foreign_amount, txn.foreign_currency),
        "total_bdt": format_minor(txn.total_bdt, PAY_IN_CURRENCY),
    }
    data.update(extra)
    return data


async def emit(session: AsyncSession, txn: Transaction, event_type: str, **extra: Any) -> None:
    await publish(
        session,
        OutboxMessage,
        event_type=event_type,
        producer=PRODUCER,
        subject_id=str(txn.id),
        data=event_data(txn, **extra),
    )


def can_move(txn: Transaction, to_status: str) -> bool:
    return to_status in ALLOWED.get(txn.status, frozenset())


def _history(
    txn: Transaction,
    from_status: str | None,
    *,
    reason: str | None,
    actor_type: str,
    actor_id: str | None,
    event_id: uuid.UUID | None,
) -> TransactionStatusHistory:
    return TransactionStatusHistory(
        transaction_id=txn.id,
        from_status=from_status,
        to_status=txn.status,
        on_hold=txn.on_hold,
        reason=(reason or None) and reason[:200],
        actor_type=actor_type,
        actor_id=actor_id,
        event_id=event_id,
        created_at=utcnow(),
    )


async def record_created(session: AsyncSession, txn: Transaction, *, actor_id: str) -> None:
    session.add(_history(txn, None, reason="created", actor_type="user", actor_id=actor_id, event_id=None))


async def transition(
    session: AsyncSession,
    txn: Transaction,
    to_status: str,
    *,
    reason: str | None = None,
    actor_type: str = "system",
    actor_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Move `txn` to `to_status` if the machine allows it; False (and no effect) otherwise."""
    if not can_move(txn, to_status):
        return False
    from_status = txn.status
    now = utcnow()
    txn.status = to_status
    txn.updated_at = now
    if to_status == COMPLETED:
        txn.completed_at = now
    if to_status == FAILED and reason:
        txn.failure_reason = reason[:200]
    session.add(
        _history(txn, from_status, reason=reason, actor_type=actor_type, actor_id=actor_id, event_id=event_id)
    )
    extra = {"reason": reason or ""} if to_status == FAILED else {}
    await emit(session, txn, EVENT_TYPES[to_status], **extra)
    return True


async def hold(
    session: AsyncSession,
    txn: Transaction,
    reason: str,
    *,
    actor_type: str = "system",
    actor_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Put `txn` on hold for a person (status unchanged, the flow does not advance)."""
    if txn.on_hold and txn.hold_reason == reason:
        return False
    txn.on_hold = True
    txn.hold_reason = reason[:64]
    txn.updated_at = utcnow()
    session.add(
        _history(
            txn,
            txn.status,
            reason=f"held: {reason}",
            actor_type=actor_type,
            actor_id=actor_id,
            event_id=event_id,
        )
    )
    await emit(session, txn, "transaction.held", reason=reason)
    return True


async def release_hold(
    session: AsyncSession, txn: Transaction, reason: str, *, actor_type: str, actor_id: str | None
) -> None:
    """A person resolved the hold; the status is unchanged here (the caller may move it next)."""
    previous = txn.hold_reason
    txn.on_hold = False
    txn.hold_reason = None
    txn.updated_at = utcnow()
    session.add(
        _history(
            txn,
            txn.status,
            reason=f"hold {previous} released: {reason}",
            actor_type=actor_type,
            actor_id=actor_id,
            event_id=None,
        )
    )
