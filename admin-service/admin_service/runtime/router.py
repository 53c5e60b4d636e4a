"""`/api/v1/admin/settings` (staff read, admin write) and `/internal/settings` (service key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from admin_service.runtime import service
from admin_service.runtime.crypto import SecretBox
from shared.auth import AdminPrincipal, StaffPrincipal
from shared.deps import SessionDep
from shared.errors import problem_responses
from shared.service_auth import ServiceCaller

router = APIRouter(prefix="/api/v1/admin", tags=["settings"])
internal_router = APIRouter(prefix="/internal/settings", tags=["internal"])


class SettingUpdate(BaseModel):
    value: Any


class SettingChangeOut(BaseModel):
    key: str
    action: str
    old_value: Any
    new_value: Any
    changed_by: str
    changed_at: datetime


def box(request: Request) -> SecretBox:
    return request.app.state.secret_box


@router.get("/settings", summary="Every runtime setting with its type, default and value (secrets masked)")
async def list_settings(principal: StaffPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    return await service.list_settings(session)


@router.get("/settings/{key}", responses=problem_responses(401, 403, 404), summary="One runtime setting")
async def get_setting(key: str, principal: StaffPrincipal, session: SessionDep) -> dict[str, Any]:
    return await service.get_setting(session, key)


@router.put(
    "/settings/{key}",
    responses=problem_responses(401, 403, 404, 422),
    summary="Change a runtime setting (admin); emits setting.changed, applied by its owner within 60 s",
)
async def put_setting(
    key: str, body: SettingUpdate, request: Request, admin: AdminPrincipal, session: SessionDep
) -> dict[str, Any]:
    return await service.update(session, box(request), key, body.value, admin.subject)


@router.delete(
    "/settings/{key}",
    responses=problem_responses(401, 403, 404),
    summary="Reset a runtime setting to its default (admin)",
)
async def reset_setting(key: str, admin: AdminPrincipal, session: SessionDep) -> dict[str, Any]:
    return await service.reset(session, key, admin.subject)


@router.get(
    "/settings/{key}/history",
    response_model=list[SettingChangeOut],
    responses=problem_responses(401, 403, 404),
    summary="Changes of a setting, newest first (secrets masked)",
)
async def setting_history(
    key: str,
    principal: StaffPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SettingChangeOut]:
    return [
        SettingChangeOut.model_validate(c, from_attributes=True)
        for c in await service.history(session, key, limit)
    ]


@router.post(
    "/settings-encryption/rotate",
    summary="Re-encrypt every stored secret with the first ADMIN_SETTINGS_KEY (admin)",
)
async def rotate(request: Request, admin: AdminPrincipal, session: SessionDep) -> dict[str, int]:
    return {"reencrypted": await service.rotate_secrets(session, box(request), admin.subject)}


@internal_router.get("", summary="{key: value} of the non-secret runtime settings (service key)")
async def internal_settings(caller: ServiceCaller, session: SessionDep) -> dict[str, Any]:
    return await service.internal_values(session)


@internal_router.get("/secrets", summary="The clear secrets owned by the calling service (service key)")
async def internal_secrets(request: Request, caller: ServiceCaller, session: SessionDep) -> dict[str, str]:
    return await service.owned_secrets(session, box(request), caller)
