"""Per-user limits in USD equivalent: the effective limits, current usage per calendar window, and
the atomic reservation check used when a transaction is created.

Atomicity: `lock_user_limit()` takes a row lock on the user's `user_limit` row (created on first
use) for the rest of the caller's transaction; the usage sum and the new transaction's insert
happen under that lock, so two concurrent creations for one user are serialised and can never
both pass a limit. Usage is derived from the user's transactions in reserving statuses, so every
status that does not complete releases the reservation without bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import for_update, insert_ignore, utcnow
from shared.errors import Unprocessable
from shared.money import format_minor, to_minor
from transaction_service.limits.windows import DAILY, MONTHLY, WINDOWS, YEARLY, Window, windows, zone
from transaction_service.models import Transaction, UserLimit
from transaction_service.runtime import RuntimeSettings
from transaction_service.transactions.status import RESERVING

USD = "USD"
_DEFAULT_KEYS = {DAILY: "daily_limit_usd", MONTHLY: "monthly_limit_usd", YEARLY: "yearly_limit_usd"}


@dataclass(frozen=True, slots=True)
class WindowUsage:
    window: Window
    limit: int  # US cents
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def as_dict(self) -> dict[str, str]:
        return {
            "limit": format_minor(self.limit, USD),
            "used": format_minor(self.used, USD),
            "remaining": format_minor(self.remaining, USD),
            "window_start": self.window.start.isoformat(),
            "resets_at": self.window.end.isoformat(),
        }


def cents(value: Decimal) -> int:
    return to_minor(value.quantize(Decimal("0.01")), USD)


async def ensure_user_limit(session: AsyncSession, user_id: str) -> None:
    await insert_ignore(session, UserLimit, user_id=user_id, updated_at=utcnow())


async def lock_user_limit(session: AsyncSession, user_id: str) -> UserLimit:
    """The user's limit row, locked until the caller's transaction ends."""
    await ensure_user_limit(session, user_id)
    stmt = select(UserLimit).where(UserLimit.user_id == user_id).execution_options(populate_existing=True)
    row = await session.scalar(for_update(stmt, session))
    assert row is not None
    return row


def effective_limits(row: UserLimit | None, runtime: RuntimeSettings) -> dict[str, int]:
    overrides: dict[str, int | None] = {
        DAILY: row.daily_limit if row else None,
        MONTHLY: row.monthly_limit if row else None,
        YEARLY: row.yearly_limit if row else None,
    }
    out: dict[str, int] = {}
    for w in WINDOWS:
        value = overrides[w]
        out[w] = value if value is not None else cents(runtime.usd(_DEFAULT_KEYS[w]))
    return out


async def usage(
    session: AsyncSession,
    user_id: str,
    runtime: RuntimeSettings,
    *,
    row: UserLimit | None = None,
    now: datetime | None = None,
) -> dict[str, WindowUsage]:
    wins = windows(now or utcnow(), zone(runtime.settings.limits_timezone))
    if row is None:
        row = await session.get(UserLimit, user_id)
    limits = effective_limits(row, runtime)
    t = Transaction

    def window_sum(w: Window) -> Any:
        return func.coalesce(func.sum(case((t.created_at >= w.start, t.usd_equivalent), else_=0)), 0)

    stmt = select(window_sum(wins[DAILY]), window_sum(wins[MONTHLY]), window_sum(wins[YEARLY])).where(
        t.user_id == user_id, t.status.in_(RESERVING), t.created_at >= wins[YEARLY].start
    )
    day, month, year = (await session.execute(stmt)).one()
    used = {DAILY: int(day), MONTHLY: int(month), YEARLY: int(year)}
    return {w: WindowUsage(wins[w], limits[w], used[w]) for w in WINDOWS}


def bounds(runtime: RuntimeSettings) -> tuple[int, int]:
    return cents(runtime.usd("min_transaction_usd")), cents(runtime.usd("max_transaction_usd"))


def bound_violations(usd_cents: int, runtime: RuntimeSettings) -> list[str]:
    low, high = bounds(runtime)
    if usd_cents < low:
        return ["below_minimum"]
    if usd_cents > high:
        return ["above_maximum"]
    return []


def check_bounds(usd_cents: int, runtime: RuntimeSettings) -> None:
    violations = bound_violations(usd_cents, runtime)
    if violations:
        low, high = bounds(runtime)
        raise Unprocessable(
            f"The amount must be between {format_minor(low, USD)} and {format_minor(high, USD)} USD "
            "equivalent.",
            code="amount_out_of_bounds",
            extra={
                "usd_equivalent": format_minor(usd_cents, USD),
                "min_usd": format_minor(low, USD),
                "max_usd": format_minor(high, USD),
            },
        )


def limit_violations(usd_cents: int, current: dict[str, WindowUsage]) -> list[str]:
    return [f"{w}_limit" for w in WINDOWS if current[w].used + usd_cents > current[w].limit]


async def reserve(session: AsyncSession, user_id: str, usd_cents: int, runtime: RuntimeSettings) -> None:
    """Lock the user's limits and check `usd_cents` fits every window. The caller inserts the
    transaction in the same DB transaction, which is what reserves it."""
    row = await lock_user_limit(session, user_id)
    current = await usage(session, user_id, runtime, row=row)
    violated = limit_violations(usd_cents, current)
    if violated:
        first = current[violated[0].removesuffix("_limit")]
        raise Unprocessable(
            f"This transfer would exceed your {violated[0].replace('_', ' ')}.",
            code="limit_exceeded",
            extra={
                "limits_exceeded": violated,
                "remaining_usd": format_minor(first.remaining, USD),
                "usd_equivalent": format_minor(usd_cents, USD),
            },
        )


def limits_view(current: dict[str, WindowUsage], runtime: RuntimeSettings, user_id: str) -> dict[str, object]:
    low, high = bounds(runtime)
    return {
        "user_id": user_id,
        "currency": USD,
        "timezone": runtime.settings.limits_timezone,
        "per_transaction": {"min": format_minor(low, USD), "max": format_minor(high, USD)},
        **{w: current[w].as_dict() for w in WINDOWS},
    }
