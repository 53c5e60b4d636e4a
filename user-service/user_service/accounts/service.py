"""Business rules for users: registration, profile changes, staff administration."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unauthorized, Unprocessable
from user_service.accounts import repository as repo
from user_service.accounts.schemas import AdminUserPatch, ProfilePatch, RegisterIn
from user_service.auth import onetime
from user_service.auth.revocation import revoke_user_sessions
from user_service.deps import Ctx
from user_service.models import PURPOSE_VERIFY_EMAIL, ROLE_USER, User
from user_service.security.passwords import check_policy


def normalize_phone(value: str, region: str) -> str:
    """E.164 (`+8801712345678`); national numbers are read in `region` (Bangladesh by default)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Unprocessable(
            "The phone number is not valid; use the international format, e.g. +8801712345678.",
            code="invalid_phone_number",
            extra={
                "errors": [
                    {
                        "field": "phone_number",
                        "location": "body",
                        "message": "invalid phone number",
                        "type": "phone_number",
                    }
                ]
            },
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _conflict(fields: set[str]) -> Conflict:
    what = " and ".join(sorted(fields)) or "username or email"
    return Conflict(
        f"This {what} is already registered.", code="already_registered", extra={"fields": sorted(fields)}
    )


async def create_user(
    ctx: Ctx,
    *,
    username: str,
    email: str,
    password: str,
    role: str = ROLE_USER,
    full_name: str | None = None,
    phone_number: str | None = None,
    email_verified: bool = False,
    created_by: str = "self",
) -> User:
    check_policy(password, ctx.settings, username=username, email=email)
    phone = normalize_phone(phone_number, ctx.settings.default_phone_region) if phone_number else None
    clash = await repo.taken(ctx.session, username=username, email=email)
    if clash:
        raise _conflict(clash)
    user = User(
        username=username,
        email=email,
        password_hash=await ctx.hasher.hash(password),
        full_name=(full_name or "").strip() or None,
        phone_number=phone,
        role=role,
        is_active=True,
        email_verified=email_verified,
        failed_login_count=0,
        preferred_language="en",
    )
    if email_verified:
        user.email_verified_at = utcnow()
    ctx.session.add(user)
    try:
        await ctx.session.flush()
    except IntegrityError:
        # A concurrent registration took the name between the check and the insert.
        raise _conflict(set()) from None
    await ctx.emit(
        "user.registered",
        user.id,
        user_id=str(user.id),
        username=user.username,
        email_verified=user.email_verified,
        role=user.role,
        by=created_by,
    )
    return user


async def register(ctx: Ctx, body: RegisterIn) -> User:
    user = await create_user(
        ctx,
        username=body.username,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        phone_number=body.phone_number,
    )
    await onetime.issue(ctx, user, PURPOSE_VERIFY_EMAIL, email=user.email)
    return user


async def me(ctx: Ctx, principal: Principal) -> User:
    if principal.is_client:
        raise Unauthorized(
            "This endpoint needs a user's token, not an API client's.", code="user_token_required"
        )
    user = await repo.get(ctx.session, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The access token is invalid, expired or revoked.", code="invalid_token")
    return user


async def update_profile(ctx: Ctx, user: User, patch: ProfilePatch) -> User:
    fields = patch.model_fields_set
    changed: list[str] = []
    if "full_name" in fields:
        user.full_name = (patch.full_name or "").strip() or None
        changed.append("full_name")
    if "phone_number" in fields:
        user.phone_number = (
            normalize_phone(patch.phone_number, ctx.settings.default_phone_region)
            if patch.phone_number
            else None
        )
        changed.append("phone_number")
    if "address" in fields:
        user.address = (patch.address or "").strip() or None
        changed.append("address")
    if "preferred_language" in fields and patch.preferred_language:
        user.preferred_language = patch.preferred_language
        changed.append("preferred_language")
    if "email" in fields and patch.email and patch.email != user.email:
        # The login address changes only once the new one is verified.
        if await repo.taken(ctx.session, email=patch.email):
            raise _conflict({"email"})
        user.pending_email = patch.email
        changed.append("pending_email")
        await onetime.issue(ctx, user, PURPOSE_VERIFY_EMAIL, email=patch.email)
    if changed:
        await ctx.session.flush()
        await ctx.emit("user.updated", user.id, user_id=str(user.id), fields=changed, by="self")
    return user


# --- staff -------------------------------------------------------------------------------------


async def get_for_staff(ctx: Ctx, user_id: str, principal: Principal) -> User:
    user = await repo.get(ctx.session, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    await ctx.emit(
        "user.staff_viewed",
        user.id,
        audit_only=True,
        user_id=str(user.id),
        by=principal.subject,
        by_role=principal.role,
    )
    return user


async def search_for_staff(
    ctx: Ctx,
    principal: Principal,
    *,
    q: str | None,
    role: str | None,
    is_active: bool | None,
    email_verified: bool | None,
    page: int,
    size: int,
) -> tuple[list[User], int]:
    items, total = await repo.search(
        ctx.session, q=q, role=role, is_active=is_active, email_verified=email_verified, page=page, size=size
    )
    # The search text may be personal data: the audit trail records that there was one, not what.
    await ctx.emit(
        "user.staff_searched",
        None,
        audit_only=True,
        by=principal.subject,
        by_role=principal.role,
        filters={"q": bool(q), "role": role, "is_active": is_active, "email_verified": email_verified},
        page=page,
        size=size,
        results=len(items),
    )
    return items, total


async def admin_update(ctx: Ctx, user_id: str, patch: AdminUserPatch, principal: Principal) -> User:
    user = await repo.get(ctx.session, user_id, lock=True)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    by = principal.subject
    changes_role = patch.role is not None and patch.role != user.role
    deactivates = patch.is_active is False and user.is_active
    if str(user.id) == by and (changes_role or deactivates):
        raise Conflict(
            "Administrators cannot change their own role or deactivate themselves.", code="cannot_modify_self"
        )
    if changes_role:
        old = user.role
        user.role = patch.role or old
        # Tokens carry the role: end the sessions so no token keeps the old one.
        await revoke_user_sessions(ctx, user.id, "role_changed")
        await ctx.emit(
            "user.role_changed", user.id, user_id=str(user.id), old_role=old, new_role=user.role, by=by
        )
    if patch.is_active is not None and patch.is_active != user.is_active:
        user.is_active = patch.is_active
        if deactivates:
            await revoke_user_sessions(ctx, user.id, "deactivated")
            await ctx.emit("user.deactivated", user.id, user_id=str(user.id), by=by)
        else:
            await ctx.emit("user.reactivated", user.id, user_id=str(user.id), by=by)
    if patch.unlock:
        was_locked = user.locked_until is not None
        user.locked_until = None
        user.failed_login_count = 0
        user.last_failed_login_at = None
        await ctx.emit("user.unlocked", user.id, user_id=str(user.id), was_locked=was_locked, by=by)
    await ctx.session.flush()
    return user


async def force_logout(ctx: Ctx, user_id: str, principal: Principal) -> int:
    """An admin ends every session of a user (their tokens are refused from now on)."""
    user = await repo.get(ctx.session, user_id, lock=True)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    revoked = await revoke_user_sessions(ctx, user.id, "forced_logout")
    await ctx.emit(
        "user.sessions_revoked", user.id, user_id=str(user.id), sessions_revoked=revoked, by=principal.subject
    )
    return revoked


async def user_counts(ctx: Ctx, date_from: datetime, date_to: datetime) -> dict[str, int]:
    """Registrations in `[date_from, date_to)` and the total, for admin dashboards."""
    new = await ctx.session.scalar(
        select(func.count()).select_from(User).where(User.created_at >= date_from, User.created_at < date_to)
    )
    total = await ctx.session.scalar(select(func.count()).select_from(User))
    return {"new_users": int(new or 0), "total_users": int(total or 0)}
