"""Calendar windows for limits: day, month and year in the limits time zone (Asia/Dhaka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAILY, MONTHLY, YEARLY = "daily", "monthly", "yearly"
WINDOWS = (DAILY, MONTHLY, YEARLY)


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        if name == "Asia/Dhaka":  # no tz database in a slim image; Bangladesh has had no DST since 2009
            return timezone(timedelta(hours=6), "Asia/Dhaka")
        raise


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive: when the window resets


def windows(now: datetime, tz: tzinfo) -> dict[str, Window]:
    local = now.astimezone(tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    year = month.replace(month=1)
    next_day = (day + timedelta(days=1)).replace(tzinfo=tz)
    next_month = (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )
    next_year = year.replace(year=year.year + 1)

    def utc(d: datetime) -> datetime:
        return d.astimezone(UTC)

    return {
        DAILY: Window(DAILY, utc(day), utc(next_day)),
        MONTHLY: Window(MONTHLY, utc(month), utc(next_month)),
        YEARLY: Window(YEARLY, utc(year), utc(next_year)),
    }
