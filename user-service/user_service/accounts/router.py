"""HTTP routes for users (thin: parsing, auth dependencies, response shapes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from shared.auth import AdminPrincipal, CurrentPrincipal, StaffPrincipal
from shared.errors import NotFound, Unprocessable, problem_responses
from shared.service_auth import ServiceCaller
from user_service.accounts import repository as repo
from user_service.accounts import service
from user_service.accounts.schemas import (
    AdminUserOut,
    AdminUserPatch,
    InternalUserOut,
    ProfilePatch,
    RegisterIn,
    Role,
    UserOut,
    UserPage,
)
from user_service.deps import CtxDep

register_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1/users", tags=["profile"])
staff_router = APIRouter(prefix="/api/v1/users", tags=["users (staff)"])
internal_router = APIRouter(prefix="/internal/users", tags=["internal"])


@register_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    summary="Create an account (a verification e-mail is sent)",
    responses=problem_responses(409, 422),
)
async def register(body: RegisterIn, ctx: CtxDep) -> UserOut:
    return UserOut.model_validate(await service.register(ctx, body))


@me_router.get("/me", response_model=UserOut, summary="My profile", responses=problem_responses(401))
async def get_me(principal: CurrentPrincipal, ctx: CtxDep) -> UserOut:
    return UserOut.model_validate(await service.me(ctx, principal))


@me_router.patch(
    "/me",
    response_model=UserOut,
    summary="Change my profile (a new e-mail must be verified first)",
    responses=problem_responses(401, 409, 422),
)
async def patch_me(body: ProfilePatch, principal: CurrentPrincipal, ctx: CtxDep) -> UserOut:
    user = await service.me(ctx, principal)
    return UserOut.model_validate(await service.update_profile(ctx, user, body))


@staff_router.get(
    "",
    response_model=UserPage,
    summary="Search users (admin, support)",
    responses=problem_responses(401, 403),
)
async def list_users(
    principal: StaffPrincipal,
    ctx: CtxDep,
    q: Annotated[str | None, Query(max_length=100, description="Part of username, e-mail or name")] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    email_verified: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UserPage:
    items, total = await service.search_for_staff(
        ctx,
        principal,
        q=q,
        role=role,
        is_active=is_active,
        email_verified=email_verified,
        page=page,
        size=size,
    )
    return UserPage(items=[AdminUserOut.model_validate(u) for u in items], total=total, page=page, size=size)


@staff_router.get(
    "/{user_id}",
    response_model=AdminUserOut,
    summary="One user (admin, support)",
    responses=problem_responses(401, 403, 404),
)
async def get_user(user_id: uuid.UUID, principal: StaffPrincipal, ctx: CtxDep) -> AdminUserOut:
    return AdminUserOut.model_validate(await service.get_for_staff(ctx, str(user_id), principal))


@staff_router.patch(
    "/{user_id}",
    response_model=AdminUserOut,
    summary="Change role, activation or unlock (admin)",
    responses=problem_responses(401, 403, 404, 409),
)
async def patch_user(
    user_id: uuid.UUID, body: AdminUserPatch, principal: AdminPrincipal, ctx: CtxDep
) -> AdminUserOut:
    return AdminUserOut.model_validate(await service.admin_update(ctx, str(user_id), body, principal))


@staff_router.post(
    "/{user_id}/sessions/revoke",
    summary="End every session of a user (admin)",
    responses=problem_responses(401, 403, 404),
)
async def revoke_user_sessions(
    user_id: uuid.UUID, principal: AdminPrincipal, ctx: CtxDep
) -> dict[str, object]:
    revoked = await service.force_logout(ctx, str(user_id), principal)
    return {"user_id": str(user_id), "sessions_revoked": revoked}


@internal_router.get(
    "/stats",
    summary="Registrations in a period and the total (service key)",
    responses=problem_responses(401, 422),
)
async def internal_user_stats(
    caller: ServiceCaller,
    ctx: CtxDep,
    date_from: Annotated[datetime, Query(description="inclusive, with a time zone")],
    date_to: Annotated[datetime, Query(description="exclusive, with a time zone")],
) -> dict[str, int]:
    if date_from.tzinfo is None or date_to.tzinfo is None:
        raise Unprocessable("date_from and date_to need a time zone.", code="naive_datetime")
    return await service.user_counts(ctx, date_from, date_to)


@internal_router.get(
    "/{user_id}",
    response_model=InternalUserOut,
    summary="Contact data and status (service key)",
    responses=problem_responses(401, 404),
)
async def internal_get_user(user_id: uuid.UUID, caller: ServiceCaller, ctx: CtxDep) -> InternalUserOut:
    user = await repo.get(ctx.session, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return InternalUserOut.model_validate(user)
