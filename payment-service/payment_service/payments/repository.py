"""Queries for payments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.models import Payment, Payout, Refund
from shared.db import for_update


async def by_transaction(session: AsyncSession, transaction_id: uuid.UUID) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.transaction_id == transaction_id))


async def by_tran_id(session: AsyncSession, tran_id: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.internal_tran_id == tran_id))


async def locked(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    stmt = for_update(select(Payment).where(Payment.id == payment_id), session)
    payment = await session.scalar(stmt.execution_options(populate_existing=True))
    assert payment is not None
    return payment


async def latest(session: AsyncSession, limit: int) -> list[Payment]:
    return list(
        (await session.scalars(select(Payment).order_by(Payment.created_at.desc()).limit(limit))).all()
    )


async def payout_of(session: AsyncSession, transaction_id: uuid.UUID) -> Payout | None:
    return await session.scalar(select(Payout).where(Payout.transaction_id == transaction_id))


async def refund_of(session: AsyncSession, transaction_id: uuid.UUID) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.transaction_id == transaction_id))
