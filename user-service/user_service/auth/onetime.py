"""Single-use, expiring tokens for e-mail verification and password reset.

The token (256 random bits) goes only into the sealed part of the notification event, from which
notification-service builds the mail; the database keeps its SHA-256. Issuing a new token of the
same purpose invalidates the user's earlier ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from shared.db import for_update, utcnow
from shared.errors import BadRequest
from user_service.deps import Ctx
from user_service.models import PURPOSE_PASSWORD_RESET, PURPOSE_VERIFY_EMAIL, OneTimeToken, User

EVENT_BY_PURPOSE = {
    PURPOSE_VERIFY_EMAIL: "user.email_verification_requested",
    PURPOSE_PASSWORD_RESET: "user.password_reset_requested",
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _cooling_down(ctx: Ctx, purpose: str, user: User) -> bool:
    """True when a mail of this purpose was sent to this user within the cooldown window."""
    window = ctx.settings.mail_cooldown_seconds
    if window <= 0:
        return False
    return await ctx.kv.incr(f"user-service:mail-cooldown:{purpose}:{user.id}", ttl=window) > 1


async def issue(ctx: Ctx, user: User, purpose: str, *, email: str) -> bool:
    """Create a token and publish the sealed link for `email`. False if skipped (cooldown)."""
    if await _cooling_down(ctx, purpose, user):
        return False
    s = ctx.settings
    if purpose == PURPOSE_VERIFY_EMAIL:
        ttl, template = s.email_verification_ttl_seconds, s.email_verify_url_template
    else:
        ttl, template = s.password_reset_ttl_seconds, s.password_reset_url_template
    await ctx.session.execute(
        delete(OneTimeToken).where(
            OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose, OneTimeToken.used_at.is_(None)
        )
    )
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl)
    ctx.session.add(
        OneTimeToken(
            user_id=user.id, purpose=purpose, token_hash=token_hash(token), email=email, expires_at=expires_at
        )
    )
    await ctx.session.flush()
    sealed = ctx.seal(
        {
            "url": template.replace("{token}", token),
            "token_expires_at": expires_at.isoformat(),
            "email": email,
            "purpose": purpose,
        }
    )
    await ctx.emit(EVENT_BY_PURPOSE[purpose], user.id, user_id=str(user.id), sealed=sealed)
    return True


async def consume(ctx: Ctx, token: str, purpose: str) -> OneTimeToken:
    """The unused, unexpired token row (locked and marked used), else a 400 problem."""
    stmt = select(OneTimeToken).where(
        OneTimeToken.token_hash == token_hash(token), OneTimeToken.purpose == purpose
    )
    row = (await ctx.session.scalars(for_update(stmt, ctx.session))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise BadRequest("The link is invalid, already used or expired.", code="invalid_or_expired_token")
    row.used_at = utcnow()
    return row
