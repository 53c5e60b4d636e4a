"""Transaction queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import for_update
from transaction_service.models import Transaction, TransactionStatusHistory


@dataclass(frozen=True, slots=True)
class Filters:
    user_id: str | None = None  # None = every user (staff only)
    status: str | None = None
    currency: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        t = Transaction
        if self.user_id is not None:
            stmt = stmt.where(t.user_id == self.user_id)
        if self.status:
            stmt = stmt.where(t.status == self.status)
        if self.currency:
            stmt = stmt.where(t.foreign_currency == self.currency)
        if self.date_from:
            stmt = stmt.where(t.created_at >= self.date_from)
        if self.date_to:
            stmt = stmt.where(t.created_at < self.date_to)
        return stmt


def parse_id(value: str | uuid.UUID | None) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


async def get(session: AsyncSession, txn_id: uuid.UUID) -> Transaction | None:
    return await session.get(Transaction, txn_id)


async def get_locked(session: AsyncSession, txn_id: uuid.UUID) -> Transaction | None:
    stmt = select(Transaction).where(Transaction.id == txn_id).execution_options(populate_existing=True)
    return await session.scalar(for_update(stmt, session))


async def page(
    session: AsyncSession, filters: Filters, *, page: int, size: int
) -> tuple[Sequence[Transaction], int]:
    total = await session.scalar(filters.apply(select(func.count()).select_from(Transaction)))
    stmt = filters.apply(select(Transaction)).order_by(Transaction.created_at.desc(), Transaction.id.desc())
    rows = (await session.scalars(stmt.offset((page - 1) * size).limit(size))).all()
    return rows, int(total or 0)


async def history(session: AsyncSession, txn_id: uuid.UUID) -> Sequence[TransactionStatusHistory]:
    h = TransactionStatusHistory
    return (await session.scalars(select(h).where(h.transaction_id == txn_id).order_by(h.id))).all()


async def stats(session: AsyncSession, user_id: str | None) -> list[tuple[str, str, int, int, int]]:
    t = Transaction
    stmt = select(
        t.status,
        t.foreign_currency,
        func.count(),
        func.coalesce(func.sum(t.foreign_amount), 0),
        func.coalesce(func.sum(t.total_bdt), 0),
    ).group_by(t.status, t.foreign_currency)
    if user_id is not None:
        stmt = stmt.where(t.user_id == user_id)
    return [(s, c, int(n), int(f), int(b)) for s, c, n, f, b in (await session.execute(stmt)).all()]


async def export_batch(
    session: AsyncSession, filters: Filters, after: tuple[datetime, uuid.UUID] | None, size: int
) -> Sequence[Transaction]:
    """Keyset pagination in (created_at, id) order, so a long export never re-reads or skips rows."""
    t = Transaction
    stmt = filters.apply(select(t)).order_by(t.created_at, t.id).limit(size)
    if after is not None:
        created, last_id = after
        stmt = stmt.where((t.created_at > created) | ((t.created_at == created) & (t.id > last_id)))
    return (await session.scalars(stmt)).all()
