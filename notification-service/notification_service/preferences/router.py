"""`/api/v1/preferences`: the caller's own preferences and quiet hours."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from notification_service.models import QuietHours
from notification_service.preferences import service
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.errors import problem_responses

router = APIRouter(prefix="/api/v1/preferences", tags=["preferences"])

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class PreferenceOut(BaseModel):
    category: str
    channel: str
    enabled: bool
    mandatory: bool


class QuietHoursBody(BaseModel):
    start: str = Field(pattern=HHMM, examples=["22:00"])
    end: str = Field(pattern=HHMM, examples=["07:00"])
    timezone: str = Field(default="Asia/Dhaka", max_length=64)


class PreferencesOut(BaseModel):
    preferences: list[PreferenceOut]
    quiet_hours: QuietHoursBody | None


class EnabledBody(BaseModel):
    enabled: bool


async def _read(session: SessionDep, user_id: str) -> PreferencesOut:
    qh = await session.get(QuietHours, user_id)
    return PreferencesOut(
        preferences=[PreferenceOut.model_validate(p) for p in await service.matrix(session, user_id)],
        quiet_hours=QuietHoursBody(start=qh.start, end=qh.end, timezone=qh.timezone) if qh else None,
    )


@router.get("", response_model=PreferencesOut, summary="My preferences (category × channel, quiet hours)")
async def get_preferences(principal: CurrentPrincipal, session: SessionDep) -> PreferencesOut:
    return await _read(session, principal.user_id)


@router.put(
    "/{category}/{channel}",
    response_model=PreferencesOut,
    responses=problem_responses(401, 422),
    summary="Switch a category on or off for a channel (security/transactions cannot be switched off)",
)
async def put_preference(
    category: Annotated[str, Path(max_length=32)],
    channel: Annotated[str, Path(max_length=16)],
    body: EnabledBody,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> PreferencesOut:
    await service.set_preference(session, principal.user_id, category, channel, body.enabled)
    return await _read(session, principal.user_id)


@router.put("/quiet-hours", response_model=PreferencesOut, responses=problem_responses(401, 422))
async def put_quiet_hours(
    body: QuietHoursBody, principal: CurrentPrincipal, session: SessionDep
) -> PreferencesOut:
    service.check_zone(body.timezone)
    qh = await session.get(QuietHours, principal.user_id)
    if qh is None:
        session.add(
            QuietHours(user_id=principal.user_id, start=body.start, end=body.end, timezone=body.timezone)
        )
    else:
        qh.start, qh.end, qh.timezone = body.start, body.end, body.timezone
    await session.flush()
    return await _read(session, principal.user_id)


@router.delete("/quiet-hours", response_model=PreferencesOut)
async def delete_quiet_hours(principal: CurrentPrincipal, session: SessionDep) -> PreferencesOut:
    qh = await session.get(QuietHours, principal.user_id)
    if qh is not None:
        await session.delete(qh)
        await session.flush()
    return await _read(session, principal.user_id)
