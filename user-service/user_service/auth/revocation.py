"""Revoking sessions and access tokens so that every service refuses them at once.

The key-value store (Redis in the full stack, a shared SQLite file in the embedded mode) holds
`revoked_sid_key(sid)` / `revoked_jti_key(jti)` entries that `shared.auth.TokenVerifier` checks on
every request. An entry lives as long as the longest access token it could cover (+ clock leeway);
after that the tokens have expired anyway and the database row (`revoked_at`) keeps refresh
tokens refused. The store is written before the database: if the transaction then fails, the
tokens are dead regardless (the safe direction).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from sqlalchemy import select

from shared.auth import revoked_jti_key, revoked_sid_key
from shared.db import utcnow
from user_service.deps import Ctx
from user_service.models import AuthSession

LEEWAY_SECONDS = 30


async def revoke_sessions(ctx: Ctx, sessions: Iterable[AuthSession], reason: str) -> int:
    now = utcnow()
    ttl = ctx.settings.access_token_ttl_seconds + LEEWAY_SECONDS
    count = 0
    for sess in sessions:
        await ctx.kv.set(revoked_sid_key(str(sess.id)), reason, ttl=ttl)
        if sess.revoked_at is None:
            sess.revoked_at = now
            sess.revoked_reason = reason[:32]
            count += 1
    return count


async def revoke_sid(ctx: Ctx, sid: str, reason: str) -> None:
    """Revoke a session id that has no database row (an API client's tokens)."""
    await ctx.kv.set(revoked_sid_key(sid), reason, ttl=ctx.settings.access_token_ttl_seconds + LEEWAY_SECONDS)


async def revoke_jti(ctx: Ctx, jti: str, expires_at: int) -> None:
    ttl = max(1, expires_at - int(time.time()) + LEEWAY_SECONDS)
    await ctx.kv.set(revoked_jti_key(jti), "logout", ttl=ttl)


async def active_sessions(ctx: Ctx, user_id: uuid.UUID) -> list[AuthSession]:
    stmt = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.last_used_at.desc())
    )
    return list((await ctx.session.scalars(stmt)).all())


async def revoke_user_sessions(ctx: Ctx, user_id: uuid.UUID, reason: str, *, keep: str | None = None) -> int:
    sessions = [s for s in await active_sessions(ctx, user_id) if str(s.id) != keep]
    return await revoke_sessions(ctx, sessions, reason)
