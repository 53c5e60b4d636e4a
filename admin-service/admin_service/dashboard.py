"""`/api/v1/admin/dashboard/*` (admin, support): figures computed from the owning services at
request time — transaction-service's rows, user-service's registrations. Nothing is cached or
hard-coded; a source that does not answer is named in `unavailable`, never filled in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from admin_service import upstream
from admin_service.analytics import DailySeries, StatsAccumulator, stream_transactions
from shared.auth import StaffPrincipal
from shared.db import utcnow
from shared.errors import ProblemError
from shared.logging import get_logger

log = get_logger(__name__)
router = APIRouter(prefix="/api/v1/admin/dashboard", tags=["dashboard"])

Period = Literal["today", "week", "month", "year"]


def period_start(period: Period, today: date) -> date:
    if period == "today":
        return today
    if period == "week":  # ISO week: from Monday
        return today - timedelta(days=today.weekday())
    if period == "month":
        return today.replace(day=1)
    return today.replace(month=1, day=1)


def local_range(tz: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in `tz`, as aware datetimes."""
    return datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz)


async def new_users(request: Request, start: datetime, end: datetime) -> int | None:
    try:
        body = await upstream.call(
            request,
            "user-service",
            "GET",
            "/internal/users/stats",
            params={"date_from": start.isoformat(), "date_to": end.isoformat()},
        )
    except ProblemError as exc:
        log.info("new_users_unavailable", code=exc.code)
        return None
    value = body.get("new_users") if isinstance(body, dict) else None
    return int(value) if isinstance(value, int) else None


@router.get("/stats", summary="Transactions by status, volume, fee revenue, success rate, users")
async def stats(
    request: Request, principal: StaffPrincipal, period: Annotated[Period, Query()] = "today"
) -> dict[str, Any]:
    settings = request.app.state.settings
    tz = ZoneInfo(settings.dashboard_timezone)
    today = utcnow().astimezone(tz).date()
    start, end = local_range(tz, period_start(period, today), today)
    acc = StatsAccumulator()
    async for row in stream_transactions(
        request.app.state.http, settings.url_of("transaction-service"), date_from=start, date_to=end
    ):
        acc.add(row)
    result = acc.result()
    users = await new_users(request, start, end)
    return {
        "period": period,
        "timezone": settings.dashboard_timezone,
        "from": start.isoformat(),
        "to": end.isoformat(),
        **result,
        "new_users": users,
        "unavailable": [] if users is not None else ["new_users"],
    }


@router.get("/metrics", summary="Daily series for charts and the top currencies")
async def metrics(
    request: Request, principal: StaffPrincipal, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> dict[str, Any]:
    settings = request.app.state.settings
    tz = ZoneInfo(settings.dashboard_timezone)
    today = utcnow().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start, end = local_range(tz, first, today)
    acc, series = StatsAccumulator(), DailySeries(tz, first, today)
    async for row in stream_transactions(
        request.app.state.http, settings.url_of("transaction-service"), date_from=start, date_to=end
    ):
        acc.add(row)
        series.add(row)
    by_currency = acc.result()["volume_by_currency"]
    top = sorted(by_currency.items(), key=lambda kv: (-Decimal(kv[1]["bdt_amount"]), kv[0]))
    return {
        "timezone": settings.dashboard_timezone,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "daily": series.result(),
        "top_currencies": [{"currency": cur, **figures} for cur, figures in top[:5]],
    }
