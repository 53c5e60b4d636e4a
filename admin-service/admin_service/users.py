"""`/api/v1/admin/users`: user management through user-service's staff APIs, forwarding the
caller's bearer token (user-service applies its own rules: admin for changes, support read-only)
plus a transactions summary from transaction-service. Every change is also published as
`admin.user_updated` / `admin.user_logged_out` for the audit trail."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, model_validator

from admin_service import audit, upstream
from shared.auth import AdminPrincipal, StaffPrincipal
from shared.deps import SessionDep
from shared.errors import ProblemError, problem_responses

router = APIRouter(prefix="/api/v1/admin/users", tags=["users"])

USERS = "user-service"
Role = Literal["user", "support", "admin"]


class UserChange(BaseModel):
    role: Role | None = None
    is_active: bool | None = None
    unlock: bool = False

    @model_validator(mode="after")
    def _something(self) -> UserChange:
        if self.role is None and self.is_active is None and not self.unlock:
            raise ValueError("give role, is_active or unlock")
        return self


@router.get("", summary="Search users (q, role, is_active; paginated)")
async def search_users(
    request: Request,
    principal: StaffPrincipal,
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    params = {"q": q, "role": role, "is_active": _bool(is_active), "page": page, "size": size}
    return await upstream.call(request, USERS, "GET", "/api/v1/users", forward_bearer=True, params=params)


@router.get(
    "/{user_id}", responses=problem_responses(401, 403, 404), summary="A user and their transactions summary"
)
async def get_user(user_id: uuid.UUID, request: Request, principal: StaffPrincipal) -> dict[str, Any]:
    user = await upstream.call(request, USERS, "GET", f"/api/v1/users/{user_id}", forward_bearer=True)
    try:
        summary = await upstream.call(
            request, "transaction-service", "GET", "/internal/stats/summary", params={"user_id": str(user_id)}
        )
    except ProblemError as exc:
        summary = {"unavailable": exc.code}
    return {"user": user, "transactions": summary}


@router.patch(
    "/{user_id}",
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Change role, activate/deactivate, unlock (admin)",
)
async def change_user(
    user_id: uuid.UUID, body: UserChange, request: Request, admin: AdminPrincipal, session: SessionDep
) -> Any:
    changes = body.model_dump(exclude_none=True, exclude_defaults=True)
    if body.unlock:
        changes["unlock"] = True
    result = await upstream.call(
        request, USERS, "PATCH", f"/api/v1/users/{user_id}", forward_bearer=True, json=changes
    )
    await audit.record(
        session,
        "admin.user_updated",
        subject_id=str(user_id),
        by=admin.subject,
        user_id=str(user_id),
        changes=changes,
    )
    return result


@router.post(
    "/{user_id}/logout",
    responses=problem_responses(401, 403, 404),
    summary="Force logout: end every session of the user (admin)",
)
async def force_logout(
    user_id: uuid.UUID, request: Request, admin: AdminPrincipal, session: SessionDep
) -> Any:
    result = await upstream.call(
        request, USERS, "POST", f"/api/v1/users/{user_id}/sessions/revoke", forward_bearer=True
    )
    await audit.record(
        session, "admin.user_logged_out", subject_id=str(user_id), by=admin.subject, user_id=str(user_id)
    )
    return result if result is not None else {"user_id": str(user_id), "sessions_revoked": True}


def _bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")
