"""Appending to the chain. Appends are serialised so the chain never forks: on PostgreSQL by a
transaction-scoped advisory lock (released at commit/rollback, so across replicas too); on SQLite
by taking the database write lock before the head is read (SQLite allows one writer)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.chain.hashing import GENESIS, entry_hash
from audit_service.models import AuditCheckpoint, AuditEntry
from shared.db import advisory_xact_lock, utcnow

# pg_advisory_xact_lock key for the audit chain (any constant unique within the database).
CHAIN_LOCK_KEY = 0x0A0D17C4A1


async def lock_chain(session: AsyncSession) -> None:
    """Serialise appends: an advisory lock on PostgreSQL; on SQLite every transaction already holds
    the database write lock from its start (`BEGIN IMMEDIATE`, shared.db)."""
    await advisory_xact_lock(session, CHAIN_LOCK_KEY)


async def chain_head(session: AsyncSession) -> tuple[int, str]:
    """(position, hash) of the last entry; after a full purge the purge checkpoint; else genesis."""
    row = (
        await session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    ).first()
    if row is not None:
        return int(row[0]), str(row[1])
    anchor = (
        await session.execute(
            select(AuditCheckpoint.entry_id, AuditCheckpoint.entry_hash)
            .where(AuditCheckpoint.purged_through.is_not(None))
            .order_by(AuditCheckpoint.entry_id.desc())
            .limit(1)
        )
    ).first()
    if anchor is not None:
        return int(anchor[0]), str(anchor[1])
    return 0, GENESIS


@dataclass(slots=True)
class Appended:
    id: int
    duplicate: bool


async def append_entries(session: AsyncSession, drafts: Sequence[dict[str, Any]]) -> list[Appended]:
    """Append masked drafts (column → value, without id/hashes) in order. A draft whose
    `source_id` is already stored (or repeated in the batch) is not stored again."""
    await lock_chain(session)
    head_id, head_hash = await chain_head(session)
    wanted = [d["source_id"] for d in drafts if d.get("source_id") is not None]
    seen: dict[uuid.UUID, int] = {}
    if wanted:
        rows = await session.execute(
            select(AuditEntry.source_id, AuditEntry.id).where(AuditEntry.source_id.in_(wanted))
        )
        seen = {sid: int(eid) for sid, eid in rows.all() if sid is not None}
    out: list[Appended] = []
    now = utcnow()
    for draft in drafts:
        sid = draft.get("source_id")
        if sid is not None and sid in seen:
            out.append(Appended(seen[sid], True))
            continue
        values = {**draft, "id": head_id + 1, "recorded_at": now}
        digest = entry_hash(head_hash, values)
        session.add(AuditEntry(**values, prev_hash=head_hash, hash=digest))
        head_id, head_hash = head_id + 1, digest
        if sid is not None:
            seen[sid] = head_id
        out.append(Appended(head_id, False))
    await session.flush()
    return out
