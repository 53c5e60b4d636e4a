"""Recompute the chain and check the signed checkpoints.

An entry is intact when its position follows its predecessor's (no gap: nothing deleted), its
`prev_hash` equals the predecessor's hash (nothing inserted or reordered) and its recomputed hash
equals the stored one (nothing altered). The first entry still stored links to genesis, or — after
a retention purge — to the purge checkpoint, whose signature must hold. A checkpoint beyond the
last entry means the tail was deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit_service.chain.hashing import GENESIS, entry_hash
from audit_service.chain.signing import CheckpointSigner, checkpoint_message
from audit_service.models import AuditCheckpoint, AuditEntry

BATCH = 5000
_COLUMNS = ("id", *[c for c in AuditEntry.__table__.c.keys() if c not in ("id", "prev_hash", "hash")])


@dataclass
class VerifyResult:
    valid: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None
    from_id: int | None = None
    to_id: int | None = None
    head_id: int | None = None
    head_hash: str | None = None
    checkpoints_checked: int = 0
    broken_checkpoint_ids: list[int] = field(default_factory=list)


def checkpoint_ok(signer: CheckpointSigner, cp: AuditCheckpoint) -> bool:
    msg = checkpoint_message(cp.entry_id, cp.entry_hash, cp.created_at)
    return signer.verify(msg, cp.signature, algorithm=cp.algorithm, key_id=cp.key_id)


async def _start(session: AsyncSession, signer: CheckpointSigner, first_id: int) -> tuple[str | None, str]:
    """The hash the entry at `first_id` must link to, or None with a reason."""
    prev = (await session.execute(select(AuditEntry.hash).where(AuditEntry.id == first_id - 1))).scalar()
    if prev is not None:
        return str(prev), ""
    if first_id == 1:
        return GENESIS, ""
    anchors = (
        (
            await session.execute(
                select(AuditCheckpoint)
                .where(AuditCheckpoint.entry_id == first_id - 1, AuditCheckpoint.purged_through.is_not(None))
                .order_by(AuditCheckpoint.id)
            )
        )
        .scalars()
        .all()
    )
    for cp in anchors:
        if checkpoint_ok(signer, cp):
            return cp.entry_hash, ""
    return None, "missing_anchor"


async def verify_chain(
    session: AsyncSession, signer: CheckpointSigner, *, from_id: int | None = None, to_id: int | None = None
) -> VerifyResult:
    lo_hi = select(func.min(AuditEntry.id), func.max(AuditEntry.id))
    if from_id is not None:
        lo_hi = lo_hi.where(AuditEntry.id >= from_id)
    if to_id is not None:
        lo_hi = lo_hi.where(AuditEntry.id <= to_id)
    first_id, last_id = (await session.execute(lo_hi)).one()
    result = VerifyResult(valid=True, checked=0, from_id=first_id, to_id=last_id)
    if first_id is not None:
        expected, why = await _start(session, signer, int(first_id))
        expected_id = int(first_id)
        cols = [AuditEntry.__table__.c[name] for name in (*_COLUMNS, "prev_hash", "hash")]
        cursor = int(first_id) - 1
        while cursor < last_id and result.first_broken_id is None:
            rows = (
                await session.execute(
                    select(*cols)
                    .where(AuditEntry.id > cursor, AuditEntry.id <= last_id)
                    .order_by(AuditEntry.id)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                break
            for row in rows:
                values: dict[str, Any] = row._asdict()
                problem = _check(values, expected, expected_id, why)
                if problem:
                    result.valid, result.first_broken_id, result.reason = False, int(values["id"]), problem
                    break
                result.checked += 1
                expected, expected_id, why = values["hash"], int(values["id"]) + 1, ""
            cursor = int(rows[-1][0])
    await _check_checkpoints(session, signer, result, whole_chain=from_id is None and to_id is None)
    head = (
        await session.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    ).first()
    if head is not None:
        result.head_id, result.head_hash = int(head[0]), str(head[1])
    return result


def _check(values: dict[str, Any], expected: str | None, expected_id: int, why: str) -> str | None:
    if int(values["id"]) != expected_id:
        return "gap"
    if expected is None:
        return why or "missing_anchor"
    if values["prev_hash"] != expected:
        return "prev_hash_mismatch"
    if entry_hash(values["prev_hash"], values) != values["hash"]:
        return "hash_mismatch"
    return None


async def _check_checkpoints(
    session: AsyncSession, signer: CheckpointSigner, result: VerifyResult, *, whole_chain: bool
) -> None:
    """Signatures of checkpoints in the verified range, and that each still matches its entry."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.id)
    if not whole_chain:
        if result.from_id is None:
            return
        stmt = stmt.where(
            AuditCheckpoint.entry_id >= result.from_id, AuditCheckpoint.entry_id <= result.to_id
        )
    checkpoints = (await session.execute(stmt)).scalars().all()
    purged = (await session.execute(select(func.max(AuditCheckpoint.purged_through)))).scalar() or 0
    for cp in checkpoints:
        result.checkpoints_checked += 1
        stored = (await session.execute(select(AuditEntry.hash).where(AuditEntry.id == cp.entry_id))).scalar()
        # An entry may be missing only because a retention purge removed it.
        missing = stored is None and cp.entry_id > purged
        if not checkpoint_ok(signer, cp) or (stored is not None and stored != cp.entry_hash) or missing:
            result.broken_checkpoint_ids.append(cp.id)
    if result.broken_checkpoint_ids:
        result.valid = False
        result.reason = result.reason or "checkpoint_mismatch"
