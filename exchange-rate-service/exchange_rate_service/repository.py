"""Queries on the append-only `exchange_rate` table. The current rate of a currency is its row
with the highest id (rows are only ever inserted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_rate_service.models import ExchangeRate


async def latest(session: AsyncSession, currency: str) -> ExchangeRate | None:
    stmt = (
        select(ExchangeRate)
        .where(ExchangeRate.currency == currency)
        .order_by(ExchangeRate.id.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def latest_all(session: AsyncSession, currencies: Sequence[str]) -> dict[str, ExchangeRate]:
    newest = (
        select(func.max(ExchangeRate.id))
        .where(ExchangeRate.currency.in_(currencies))
        .group_by(ExchangeRate.currency)
    )
    rows = (await session.scalars(select(ExchangeRate).where(ExchangeRate.id.in_(newest)))).all()
    return {r.currency: r for r in rows}


async def count(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(ExchangeRate))) or 0)


async def history(
    session: AsyncSession,
    currency: str,
    *,
    start: datetime | None,
    end: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[ExchangeRate]:
    """Newest first, keyset-paginated on id; `start`/`end` bound our fetch time (end exclusive)."""
    stmt = select(ExchangeRate).where(ExchangeRate.currency == currency)
    if start is not None:
        stmt = stmt.where(ExchangeRate.fetched_at >= start)
    if end is not None:
        stmt = stmt.where(ExchangeRate.fetched_at < end)
    if before_id is not None:
        stmt = stmt.where(ExchangeRate.id < before_id)
    stmt = stmt.order_by(ExchangeRate.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


def add(session: AsyncSession, row: ExchangeRate) -> ExchangeRate:
    session.add(row)
    return row
