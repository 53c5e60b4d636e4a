"""E-mail verification and password reset (the links travel sealed in notification events).

Requests always answer the same way, whether or not the address belongs to someone.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from shared.db import utcnow
from shared.errors import Conflict
from user_service.accounts import repository as repo
from user_service.auth import onetime
from user_service.auth.revocation import revoke_user_sessions
from user_service.deps import Ctx
from user_service.models import PURPOSE_PASSWORD_RESET, PURPOSE_VERIFY_EMAIL, User
from user_service.security.passwords import check_policy


async def request_verification(ctx: Ctx, user: User | None) -> None:
    """Send a link for the address waiting for verification (a pending change, else an unverified
    login address); nothing when there is none."""
    if user is None or not user.is_active:
        return
    target = user.pending_email or (None if user.email_verified else user.email)
    if target:
        await onetime.issue(ctx, user, PURPOSE_VERIFY_EMAIL, email=target)


async def request_verification_by_email(ctx: Ctx, email: str) -> None:
    await request_verification(ctx, await repo.find_for_verification(ctx.session, email))


async def verify_email(ctx: Ctx, token: str) -> User:
    row = await onetime.consume(ctx, token, PURPOSE_VERIFY_EMAIL)
    user = await repo.get(ctx.session, row.user_id, lock=True)
    assert user is not None  # the foreign key cascades deletes
    if row.email and row.email == user.pending_email:
        if await repo.get_by_email(ctx.session, row.email) is not None:
            raise Conflict(
                "This e-mail is already registered.", code="already_registered", extra={"fields": ["email"]}
            )
        user.email = row.email
        user.pending_email = None
    elif row.email != user.email:
        # The link was for an address the user has since replaced: it proves nothing now.
        raise Conflict("This link is for an address no longer on the account.", code="stale_verification")
    user.email_verified = True
    user.email_verified_at = utcnow()
    try:
        await ctx.session.flush()
    except IntegrityError:
        raise Conflict("This e-mail is already registered.", code="already_registered") from None
    await ctx.emit("user.email_verified", user.id, user_id=str(user.id))
    return user


async def request_password_reset(ctx: Ctx, email: str) -> None:
    user = await repo.get_by_email(ctx.session, email)
    if user is not None and user.is_active:
        await onetime.issue(ctx, user, PURPOSE_PASSWORD_RESET, email=user.email)


async def reset_password(ctx: Ctx, token: str, new_password: str) -> None:
    row = await onetime.consume(ctx, token, PURPOSE_PASSWORD_RESET)
    user = await repo.get(ctx.session, row.user_id, lock=True)
    assert user is not None
    check_policy(new_password, ctx.settings, username=user.username, email=user.email, field="new_password")
    user.password_hash = await ctx.hasher.hash(new_password)
    user.password_changed_at = utcnow()
    # Proving control of the mailbox also lifts a lockout.
    user.failed_login_count = 0
    user.locked_until = None
    revoked = await revoke_user_sessions(ctx, user.id, "password_reset")
    await ctx.session.flush()
    await ctx.emit(
        "user.password_changed", user.id, user_id=str(user.id), by="reset", sessions_revoked=revoked
    )
