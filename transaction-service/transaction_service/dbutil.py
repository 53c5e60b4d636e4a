"""`INSERT … ON CONFLICT DO NOTHING` on both backends (PostgreSQL and the embedded SQLite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: Any, **values: Any) -> None:
    bind: Any = session.bind
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())
