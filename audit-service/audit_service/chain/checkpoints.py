"""Signed checkpoints over the chain head, retention purge behind a checkpoint, and the periodic
task that does both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.chain.repository import chain_head, lock_chain
from audit_service.chain.signing import CheckpointSigner, checkpoint_message
from audit_service.models import AuditCheckpoint, AuditEntry
from audit_service.settings import Settings
from shared.db import Database, is_postgres, utcnow
from shared.errors import Conflict
from shared.logging import get_logger

log = get_logger(__name__)


def _new_checkpoint(
    signer: CheckpointSigner,
    entry_id: int,
    entry_hash: str,
    *,
    reason: str,
    purged_through: int | None = None,
) -> AuditCheckpoint:
    created = utcnow()
    return AuditCheckpoint(
        entry_id=entry_id,
        entry_hash=entry_hash,
        created_at=created,
        algorithm=signer.algorithm,
        key_id=signer.key_id,
        signature=signer.sign(checkpoint_message(entry_id, entry_hash, created)),
        reason=reason,
        purged_through=purged_through,
    )


async def create_checkpoint(
    session: AsyncSession, signer: CheckpointSigner, *, reason: str = "manual", only_if_moved: bool = False
) -> AuditCheckpoint | None:
    """Sign the current head. With `only_if_moved`, nothing is written if the head is already
    the latest checkpoint's (periodic runs on idle chains, several replicas)."""
    await lock_chain(session)
    head_id, head_hash = await chain_head(session)
    if head_id == 0:
        if only_if_moved:
            return None
        raise Conflict("The audit trail is empty: there is nothing to checkpoint.", code="empty_chain")
    if only_if_moved:
        last = (await session.execute(select(func.max(AuditCheckpoint.entry_id)))).scalar()
        if last is not None and last >= head_id:
            return None
    cp = _new_checkpoint(signer, head_id, head_hash, reason=reason)
    session.add(cp)
    await session.flush()
    return cp


async def list_checkpoints(session: AsyncSession, *, limit: int = 1000) -> list[AuditCheckpoint]:
    rows = await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit))
    return list(rows.scalars().all())


@dataclass
class PurgeResult:
    cutoff: datetime
    purged: int
    through_entry_id: int | None
    checkpoint_id: int | None
    dry_run: bool


async def purge_expired(
    session: AsyncSession,
    signer: CheckpointSigner,
    *,
    retention_days: int,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    """Delete entries recorded before the retention cutoff. A signed checkpoint at the last
    purged entry is written first, in the same transaction: the first remaining entry links to
    it, so the chain stays verifiable. The PostgreSQL trigger allows exactly these deletes."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    await lock_chain(session)
    boundary = (
        await session.execute(select(func.max(AuditEntry.id)).where(AuditEntry.recorded_at < cutoff))
    ).scalar()
    if boundary is None:
        return PurgeResult(cutoff, 0, None, None, dry_run)
    first = (await session.execute(select(func.min(AuditEntry.id)))).scalar() or boundary
    count = int(boundary) - int(first) + 1
    if dry_run:
        return PurgeResult(cutoff, count, int(boundary), None, True)
    boundary_hash = (
        await session.execute(select(AuditEntry.hash).where(AuditEntry.id == boundary))
    ).scalar_one()
    cp = _new_checkpoint(signer, int(boundary), boundary_hash, reason="purge", purged_through=int(boundary))
    session.add(cp)
    await session.flush()
    if is_postgres(session):
        await session.execute(text("SELECT set_config('audit.purge', 'on', true)"))
    deleted = await session.execute(delete(AuditEntry).where(AuditEntry.id <= boundary))
    if is_postgres(session):
        await session.execute(text("SELECT set_config('audit.purge', 'off', true)"))
    log.info(
        "audit_purged",
        through_entry_id=int(boundary),
        purged=getattr(deleted, "rowcount", 0),
        checkpoint_id=cp.id,
    )
    return PurgeResult(cutoff, int(getattr(deleted, "rowcount", 0) or 0), int(boundary), cp.id, False)


async def run_periodic(db: Database, signer: CheckpointSigner, settings: Settings) -> None:
    """Every interval: checkpoint the head if it moved, then (if enabled) purge expired entries."""
    interval = settings.audit_checkpoint_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            async for session in db.session():
                cp = await create_checkpoint(session, signer, reason="periodic", only_if_moved=True)
                if cp is not None:
                    log.info("audit_checkpoint_created", entry_id=cp.entry_id)
                if settings.audit_retention_auto_purge and settings.audit_retention_days > 0:
                    await purge_expired(session, signer, retention_days=settings.audit_retention_days)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep the task alive; the next round retries
            log.warning("audit_periodic_failed", error=type(exc).__name__)


@contextlib.asynccontextmanager
async def periodic_task(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    db: Database | None = app.state.db
    task: asyncio.Task[None] | None = None
    if db is not None and settings.audit_checkpoint_interval_seconds > 0:
        task = asyncio.create_task(run_periodic(db, app.state.signer, settings), name="audit-periodic")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
