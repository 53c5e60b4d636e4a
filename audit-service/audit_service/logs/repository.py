"""Audit log queries (keyset pagination by chain position, newest first)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.logs.filters import LogFilters
from audit_service.models import AuditEntry
from shared.db import Database


async def list_entries(
    session: AsyncSession, filters: LogFilters, *, limit: int, before_id: int | None = None
) -> Sequence[AuditEntry]:
    stmt = filters.apply(select(AuditEntry))
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return (await session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))).scalars().all()


async def get_entry(session: AsyncSession, entry_id: int) -> AuditEntry | None:
    return await session.get(AuditEntry, entry_id)


async def transaction_trail(
    session: AsyncSession, transaction_id: str, *, limit: int
) -> Sequence[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.transaction_id == transaction_id)
        .order_by(AuditEntry.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def iter_entries(
    db: Database, filters: LogFilters, *, max_rows: int, batch: int = 1000
) -> AsyncIterator[AuditEntry]:
    """Oldest first, in batches, each batch in its own short read (an export never holds one long
    transaction open)."""
    after, sent = 0, 0
    while sent < max_rows:
        async with db.sessionmaker() as session:
            stmt = filters.apply(select(AuditEntry)).where(AuditEntry.id > after)
            rows = (
                (await session.execute(stmt.order_by(AuditEntry.id).limit(min(batch, max_rows - sent))))
                .scalars()
                .all()
            )
        if not rows:
            return
        for row in rows:
            yield row
        sent += len(rows)
        after = rows[-1].id
