"""Periodic clean-up: sessions and one-time tokens that can no longer be used are deleted a grace
period after they died (kept that long for support questions). Idempotent, so every replica may
run it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.logging import get_logger
from user_service.models import AuthSession, OneTimeToken

log = get_logger(__name__)

GRACE = timedelta(days=7)


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> dict[str, int]:
    cutoff = (now or utcnow()) - GRACE
    sessions = await session.execute(
        delete(AuthSession).where(or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff))
    )
    tokens = await session.execute(
        delete(OneTimeToken).where(or_(OneTimeToken.expires_at < cutoff, OneTimeToken.used_at < cutoff))
    )
    return {"sessions": int(sessions.rowcount or 0), "tokens": int(tokens.rowcount or 0)}  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def housekeeping(db: Database, interval: float) -> AsyncIterator[None]:
    """Run `purge_expired` every `interval` seconds while the app lives (0 disables it)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                async with db.sessionmaker() as session, session.begin():
                    counts = await purge_expired(session)
                if any(counts.values()):
                    log.info("housekeeping_purged", **counts)
            except Exception as exc:  # keep the loop alive; the next round retries
                log.warning("housekeeping_failed", error=type(exc).__name__)

    task = asyncio.create_task(loop(), name="user-housekeeping") if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
