"""Business rules: current rates (refused when stale), conversion, history and manual overrides."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from sqlalchemy.ext.asyncio import AsyncSession

from exchange_rate_service import repository
from exchange_rate_service.cache import RateCache, RateSnapshot
from exchange_rate_service.metrics import STALE_REFUSALS
from exchange_rate_service.models import ExchangeRate, OutboxMessage
from exchange_rate_service.providers.base import RATE_PLACES, quantize_rate
from exchange_rate_service.settings import Settings
from shared.db import utcnow
from shared.errors import ServiceUnavailable, Unprocessable
from shared.logging import get_logger
from shared.money import (
    PAY_IN_CURRENCY,
    SUPPORTED_FOREIGN_CURRENCIES,
    MoneyError,
    decimals_of,
    parse_amount,
    round_money,
)
from shared.outbox import publish

log = get_logger(__name__)

PRODUCER = Settings.SERVICE_NAME
MANUAL_SOURCE = "manual"
CROSS_RATE_PLACES = 8  # effective rate shown for a conversion (JPY→USD needs more than 6)
MAX_AMOUNT = Decimal("1000000000000")  # 10^12 units: beyond any real transfer; keeps arithmetic sane
STALE_RETRY_AFTER = "60"  # seconds: the refresher retries well within this


def stale_error(currency: str, snap: RateSnapshot | None) -> ServiceUnavailable:
    STALE_REFUSALS.labels(currency).inc()
    if snap is None:
        return ServiceUnavailable(
            f"No exchange rate for {currency} is available.",
            code="rate_unavailable",
            headers={"Retry-After": STALE_RETRY_AFTER},
            extra={"currency": currency},
        )
    return ServiceUnavailable(
        f"The {currency} rate is older than the maximum age and cannot be used for quoting.",
        code="rate_stale",
        headers={"Retry-After": STALE_RETRY_AFTER},
        extra={"currency": currency, "fetched_at": snap.fetched_at.isoformat()},
    )


async def current_rate(session: AsyncSession, cache: RateCache, currency: str) -> RateSnapshot:
    """The current rate of `currency` if it is fresh enough to quote; else a 503 problem."""
    snap = await cache.get(currency)
    if snap is not None and snap.is_fresh(cache.max_age):
        return snap
    row = await repository.latest(session, currency)
    snap = RateSnapshot.from_row(row) if row is not None else None
    if snap is None or not snap.is_fresh(cache.max_age):
        raise stale_error(currency, snap)
    await cache.put(snap)
    return snap


async def all_current(session: AsyncSession, cache: RateCache) -> tuple[list[RateSnapshot], list[str]]:
    """Fresh rates of every supported currency, and the currencies without one."""
    rows = await repository.latest_all(session, SUPPORTED_FOREIGN_CURRENCIES)
    fresh: list[RateSnapshot] = []
    missing: list[str] = []
    for currency in SUPPORTED_FOREIGN_CURRENCIES:
        row = rows.get(currency)
        snap = RateSnapshot.from_row(row) if row is not None else None
        if snap is not None and snap.is_fresh(cache.max_age):
            fresh.append(snap)
        else:
            missing.append(currency)
    return fresh, missing


async def convert(
    session: AsyncSession, cache: RateCache, from_currency: str, to_currency: str, amount: Decimal
) -> tuple[Decimal, Decimal, Decimal, list[RateSnapshot]]:
    """(amount, converted, effective rate, rates used). Any pair goes through BDT; one rounding,
    half-up, to the target currency's decimals (so USD→BDT matches the transaction quote)."""
    try:
        amount = parse_amount(amount, from_currency, allow_zero=False)
    except MoneyError as exc:
        raise Unprocessable(str(exc), code="invalid_amount") from None
    if amount > MAX_AMOUNT:
        raise Unprocessable("The amount is too large.", code="invalid_amount")
    used: list[RateSnapshot] = []
    to_bdt = {PAY_IN_CURRENCY: Decimal(1)}
    for c in dict.fromkeys((from_currency, to_currency)):
        if c != PAY_IN_CURRENCY:
            snap = await current_rate(session, cache, c)
            used.append(snap)
            to_bdt[c] = snap.rate_to_bdt
    with localcontext() as ctx:
        ctx.prec = 40
        exact = amount * to_bdt[from_currency] / to_bdt[to_currency]
        rate = (to_bdt[from_currency] / to_bdt[to_currency]).quantize(
            Decimal(1).scaleb(-CROSS_RATE_PLACES), rounding=ROUND_HALF_UP
        )
        converted = round_money(exact, to_currency)
    return amount, converted, rate, used


async def history(
    session: AsyncSession,
    currency: str,
    *,
    start: datetime | None,
    end: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ExchangeRate], str | None]:
    before_id: int | None = None
    if cursor:
        if not cursor.isdigit():
            raise Unprocessable("The cursor is invalid.", code="invalid_cursor")
        before_id = int(cursor)
    if start is not None and end is not None and end <= start:
        raise Unprocessable("`end` must be after `start`.", code="invalid_range")
    rows = await repository.history(
        session, currency, start=start, end=end, before_id=before_id, limit=limit + 1
    )
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def override(
    session: AsyncSession,
    currency: str,
    rate_to_bdt: Decimal,
    *,
    reason: str,
    by: str,
    max_deviation: Decimal,
    confirm_large_change: bool = False,
) -> RateSnapshot:
    """A manual rate, effective at once and superseded by the next provider refresh. Audited by a
    `rate.overridden` event in the same transaction. A change larger than `max_deviation` (a
    fraction) from the current rate needs `confirm_large_change` — a typo here moves real money."""
    if rate_to_bdt <= 0 or decimals_of(rate_to_bdt) > RATE_PLACES:
        raise Unprocessable(
            f"rate_to_bdt must be positive with at most {RATE_PLACES} decimals.", code="invalid_rate"
        )
    previous = await repository.latest(session, currency)
    if previous is not None and not confirm_large_change:
        deviation = abs(rate_to_bdt - previous.rate_to_bdt) / previous.rate_to_bdt
        if deviation > max_deviation:
            raise Unprocessable(
                f"The new rate differs from the current {previous.rate_to_bdt:f} by more than "
                f"{max_deviation * 100:f}%; resend with confirm_large_change=true if intended.",
                code="rate_change_too_large",
            )
    now = utcnow()
    row = repository.add(
        session,
        ExchangeRate(
            currency=currency,
            base_currency=PAY_IN_CURRENCY,
            rate_to_bdt=quantize_rate(rate_to_bdt),
            provider_quote=None,
            source=MANUAL_SOURCE,
            as_of=now,
            fetched_at=now,
            reason=reason,
            created_by=by,
        ),
    )
    await session.flush()
    await publish(
        session,
        OutboxMessage,
        event_type="rate.overridden",
        producer=PRODUCER,
        subject_id=currency,
        data={
            "currency": currency,
            "rate_to_bdt": f"{row.rate_to_bdt:f}",
            "source": MANUAL_SOURCE,
            "as_of": now.isoformat(),
            "previous_rate_to_bdt": f"{previous.rate_to_bdt:f}" if previous else None,
            "previous_source": previous.source if previous else None,
            "reason": reason,
            "by": by,
        },
    )
    log.info("rate_overridden", currency=currency, rate_to_bdt=f"{row.rate_to_bdt:f}", by=by)
    return RateSnapshot.from_row(row)
