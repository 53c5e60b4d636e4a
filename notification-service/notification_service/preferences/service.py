"""Preference rules: mandatory categories (security, money) cannot be switched off; marketing is
off unless the user opted in; everything else is on unless the user opted out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.catalog import CATEGORIES, default_enabled, is_mandatory
from notification_service.models import CHANNELS, Preference, QuietHours
from shared.db import utcnow
from shared.errors import Unprocessable


async def channel_enabled(session: AsyncSession, user_id: str, category: str, channel: str) -> bool:
    if is_mandatory(category):
        return True
    stmt = select(Preference.enabled).where(
        Preference.user_id == user_id, Preference.category == category, Preference.channel == channel
    )
    value = (await session.scalars(stmt)).first()
    return default_enabled(category) if value is None else bool(value)


async def matrix(session: AsyncSession, user_id: str) -> list[dict[str, object]]:
    rows = (await session.scalars(select(Preference).where(Preference.user_id == user_id))).all()
    explicit = {(p.category, p.channel): p.enabled for p in rows}
    return [
        {
            "category": cat,
            "channel": ch,
            "enabled": True if is_mandatory(cat) else explicit.get((cat, ch), default_enabled(cat)),
            "mandatory": is_mandatory(cat),
        }
        for cat in CATEGORIES
        for ch in CHANNELS
    ]


async def set_preference(
    session: AsyncSession, user_id: str, category: str, channel: str, enabled: bool
) -> None:
    if category not in CATEGORIES or channel not in CHANNELS:
        raise Unprocessable("Unknown category or channel.", code="unknown_preference")
    if is_mandatory(category) and not enabled:
        raise Unprocessable(
            f"{category.capitalize()} messages cannot be switched off.", code="mandatory_category"
        )
    stmt = select(Preference).where(
        Preference.user_id == user_id, Preference.category == category, Preference.channel == channel
    )
    pref = (await session.scalars(stmt)).first()
    if pref is None:
        session.add(Preference(user_id=user_id, category=category, channel=channel, enabled=enabled))
    else:
        pref.enabled = enabled
        pref.updated_at = utcnow()
    await session.flush()


def parse_hhmm(value: str) -> tuple[int, int]:
    hh, _, mm = value.partition(":")
    return int(hh), int(mm)


def check_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Unprocessable("Unknown time zone.", code="unknown_timezone") from exc


def quiet_end_after(now: datetime, start: str, end: str, zone: ZoneInfo) -> datetime | None:
    """If `now` falls inside [start, end) local time (wrapping midnight), the UTC instant the
    window ends; else None."""
    local = now.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    sh, sm = parse_hhmm(start)
    eh, em = parse_hhmm(end)
    s, e = sh * 60 + sm, eh * 60 + em
    inside = s <= minutes < e if s < e else (minutes >= s or minutes < e)
    if not inside or s == e:
        return None
    end_local = local.replace(hour=eh, minute=em, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local.astimezone(now.tzinfo)


async def quiet_hours_end(
    session: AsyncSession,
    user_id: str,
    *,
    default: tuple[str, str, str] | None = None,
) -> datetime | None:
    """When the quiet-hours window the user is in now ends (None: not in one). A user's own quiet
    hours win; `default` (start, end, zone: the platform's) applies only to users without any."""
    qh = await session.get(QuietHours, user_id)
    if qh is not None:
        return quiet_end_after(utcnow(), qh.start, qh.end, check_zone(qh.timezone))
    if default is None:
        return None
    start, end, zone = default
    return quiet_end_after(utcnow(), start, end, check_zone(zone))
