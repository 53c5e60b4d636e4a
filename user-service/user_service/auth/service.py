"""Business rules for password login, lockout, refresh rotation, logout and sessions.

No user enumeration: an unknown login costs one argon2 verification like a known one, gets the
same 401, and is locked out the same way (a counter in the key-value store instead of the row).
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select

from shared.auth import Principal, TokenError
from shared.db import for_update, utcnow
from shared.errors import BadRequest, Forbidden, Locked, NotFound, Unauthorized
from shared.logging import get_logger
from user_service.accounts import repository as repo
from user_service.auth.revocation import revoke_jti, revoke_sessions, revoke_user_sessions
from user_service.auth.schemas import TokenOut
from user_service.deps import Ctx
from user_service.models import AuthSession, User
from user_service.security.passwords import check_policy

log = get_logger(__name__)

BAD_CREDENTIALS = "Incorrect username/e-mail or password."


def _locked(retry_after: float) -> Locked:
    seconds = max(1, math.ceil(retry_after))
    return Locked(
        "Too many failed logins; try again later.",
        code="account_locked",
        headers={"Retry-After": str(seconds)},
        extra={"retry_after": seconds},
    )


def _unknown_key(identifier: str, suffix: str) -> str:
    return f"user-service:login-{suffix}:{hashlib.sha256(identifier.encode()).hexdigest()}"


async def _unknown_login(ctx: Ctx, identifier: str, password: str) -> NoReturn:
    """A login for a name nobody has: same cost, same answers, same lockout as a real account."""
    lock_key = _unknown_key(identifier, "lock")
    until = await ctx.kv.get(lock_key)
    if until is not None and float(until) > time.time():
        await ctx.emit("user.login_failed", None, user_id=None, reason="locked", ip=ctx.ip)
        raise _locked(float(until) - time.time())
    await ctx.hasher.verify(password, None)
    s = ctx.settings
    count = await ctx.kv.incr(_unknown_key(identifier, "fail"), ttl=s.login_lockout_seconds)
    await ctx.emit("user.login_failed", None, user_id=None, reason="unknown_user", ip=ctx.ip)
    if count >= s.login_max_failures:
        until_ts = time.time() + s.login_lockout_seconds
        await ctx.kv.set(lock_key, str(until_ts), ttl=s.login_lockout_seconds)
        await ctx.kv.delete(_unknown_key(identifier, "fail"))
        until = utcnow() + timedelta(seconds=s.login_lockout_seconds)
        await ctx.emit("user.locked", None, user_id=None, until=until.isoformat(), ip=ctx.ip)
        raise _locked(s.login_lockout_seconds)
    raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")


async def _failed_login(ctx: Ctx, user: User) -> NoReturn:
    s = ctx.settings
    now = utcnow()
    if user.last_failed_login_at and now - user.last_failed_login_at > timedelta(
        seconds=s.login_lockout_seconds
    ):
        user.failed_login_count = 0  # old failures no longer count
    user.failed_login_count += 1
    user.last_failed_login_at = now
    await ctx.emit("user.login_failed", user.id, user_id=str(user.id), reason="bad_password", ip=ctx.ip)
    if user.failed_login_count >= s.login_max_failures:
        user.locked_until = now + timedelta(seconds=s.login_lockout_seconds)
        user.failed_login_count = 0
        await ctx.emit(
            "user.locked", user.id, user_id=str(user.id), until=user.locked_until.isoformat(), ip=ctx.ip
        )
        await ctx.session.flush()
        raise _locked(s.login_lockout_seconds)
    await ctx.session.flush()
    raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")


async def _start_session(ctx: Ctx, user: User) -> TokenOut:
    now = utcnow()
    sess = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        refresh_jti=uuid.uuid4().hex,
        refresh_count=0,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds),
        user_agent=ctx.user_agent,
        ip=ctx.ip,
    )
    ctx.session.add(sess)
    await ctx.session.flush()
    return _pair(ctx, user, sess)


def _pair(ctx: Ctx, user: User, sess: AuthSession) -> TokenOut:
    access = ctx.issuer.access(user.id, role=user.role, sid=sess.id)
    refresh = ctx.issuer.refresh(user.id, role=user.role, sid=sess.id, jti=sess.refresh_jti)
    return TokenOut(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=ctx.settings.access_token_ttl_seconds,
    )


async def login(ctx: Ctx, identifier: str, password: str) -> TokenOut:
    """Password grant. Raises a problem after having recorded the failure (the router commits)."""
    ident = identifier.strip().lower()
    if not ident or not password or len(ident) > 254:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    user = await repo.get_by_login(ctx.session, ident, lock=True)
    if user is None:
        await _unknown_login(ctx, ident, password)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        await ctx.emit("user.login_failed", user.id, user_id=str(user.id), reason="locked", ip=ctx.ip)
        raise _locked((user.locked_until - now).total_seconds())
    ok, new_hash = await ctx.hasher.verify(password, user.password_hash)
    if not ok:
        await _failed_login(ctx, user)
    if not user.is_active:
        await ctx.emit("user.login_failed", user.id, user_id=str(user.id), reason="inactive", ip=ctx.ip)
        raise Forbidden("This account is disabled.", code="account_disabled")
    if new_hash:
        user.password_hash = new_hash  # upgraded (bcrypt import or older argon2 parameters)
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    tokens = await _start_session(ctx, user)
    await ctx.emit("user.logged_in", user.id, user_id=str(user.id), method="password", ip=ctx.ip)
    return tokens


async def refresh(ctx: Ctx, token: str) -> TokenOut:
    """Rotate: the presented refresh token must be the session's latest; an older one means it was
    copied — the whole session (and its access tokens) is revoked."""
    invalid = Unauthorized("The refresh token is invalid, expired or revoked.", code="invalid_refresh_token")
    try:
        principal = await ctx.verifier.verify(token, expected_type="refresh")
    except TokenError as exc:
        log.info("refresh_rejected", reason=exc.reason)
        raise invalid from None
    try:
        sid = uuid.UUID(principal.session_id or "")
    except ValueError:
        raise invalid from None
    stmt = select(AuthSession).where(AuthSession.id == sid)
    sess = (await ctx.session.scalars(for_update(stmt, ctx.session))).first()
    now = utcnow()
    if (
        sess is None
        or str(sess.user_id) != principal.subject
        or sess.revoked_at is not None
        or sess.expires_at <= now
    ):
        raise invalid
    if sess.refresh_jti != principal.token_id:
        await revoke_sessions(ctx, [sess], "refresh_reuse")
        await ctx.emit(
            "user.session_revoked",
            sess.user_id,
            user_id=str(sess.user_id),
            session_id=str(sess.id),
            reason="refresh_token_reuse",
            ip=ctx.ip,
        )
        log.warning("refresh_token_reuse", session_id=str(sess.id))
        raise Unauthorized(
            "The refresh token was already used; the session has been ended.", code="refresh_token_reused"
        )
    user = await repo.get(ctx.session, sess.user_id)
    if user is None or not user.is_active:
        await revoke_sessions(ctx, [sess], "inactive")
        raise invalid
    sess.refresh_jti = uuid.uuid4().hex
    sess.refresh_count += 1
    sess.last_used_at = now
    sess.expires_at = now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)
    await ctx.session.flush()
    return _pair(ctx, user, sess)


async def logout(ctx: Ctx, principal: Principal) -> None:
    await revoke_jti(ctx, principal.token_id, principal.expires_at)
    if principal.is_client or not principal.session_id:
        return
    sess = await _own_session(ctx, principal, principal.session_id)
    if sess is not None:
        await revoke_sessions(ctx, [sess], "logout")
    await ctx.emit(
        "user.logged_out", principal.user_id, user_id=principal.user_id, session_id=principal.session_id
    )


async def _own_session(ctx: Ctx, principal: Principal, session_id: str) -> AuthSession | None:
    try:
        sid = uuid.UUID(session_id)
    except ValueError:
        return None
    sess = await ctx.session.get(AuthSession, sid)
    if sess is None or str(sess.user_id) != principal.user_id:
        return None  # someone else's session is indistinguishable from a missing one
    return sess


async def revoke_own_session(ctx: Ctx, principal: Principal, session_id: str) -> None:
    sess = await _own_session(ctx, principal, session_id)
    if sess is None:
        raise NotFound("No such session.", code="session_not_found")
    if sess.revoked_at is None:
        await revoke_sessions(ctx, [sess], "user_revoked")
        await ctx.emit(
            "user.session_revoked",
            sess.user_id,
            user_id=str(sess.user_id),
            session_id=str(sess.id),
            reason="user_revoked",
            ip=ctx.ip,
        )


async def change_password(ctx: Ctx, user: User, principal: Principal, current: str, new: str) -> None:
    ok, _ = await ctx.hasher.verify(current, user.password_hash)
    if not ok:
        await ctx.emit(
            "user.login_failed", user.id, user_id=str(user.id), reason="bad_current_password", ip=ctx.ip
        )
        raise BadRequest("The current password is not correct.", code="wrong_password")
    check_policy(new, ctx.settings, username=user.username, email=user.email, field="new_password")
    user.password_hash = await ctx.hasher.hash(new)
    user.password_changed_at = utcnow()
    revoked = await revoke_user_sessions(ctx, user.id, "password_changed", keep=principal.session_id)
    await ctx.session.flush()
    await ctx.emit(
        "user.password_changed", user.id, user_id=str(user.id), by="user", sessions_revoked=revoked
    )
