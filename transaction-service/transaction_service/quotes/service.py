"""Quotes: price an amount at the current rate (exchange-rate-service) and the runtime fee, and
store it as a locked quote valid for QUOTE_TTL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import for_update, utcnow
from shared.errors import Conflict
from shared.money import PAY_IN_CURRENCY, format_minor
from transaction_service.clients import Rate
from transaction_service.context import ServiceContext
from transaction_service.limits.service import check_bounds
from transaction_service.models import Quote
from transaction_service.quotes.pricing import USD, Pricing, format_rate, price
from transaction_service.quotes.schemas import QuoteRead


async def current_pricing(ctx: ServiceContext, currency: str, amount: Decimal) -> tuple[Pricing, Rate]:
    rate = await ctx.clients.rates.current(currency)
    usd_rate = rate if currency == USD else await ctx.clients.rates.current(USD)
    return price(amount, currency, rate.rate_to_bdt, ctx.runtime.fee_percentage, usd_rate.rate_to_bdt), rate


async def create_quote(
    session: AsyncSession, ctx: ServiceContext, principal: Principal, currency: str, amount: Decimal
) -> Quote:
    pricing, rate = await current_pricing(ctx, currency, amount)
    minor = pricing.minor
    check_bounds(minor["usd_equivalent"], ctx.runtime)
    now = utcnow()
    quote = Quote(
        id=uuid.uuid4(),
        user_id=principal.subject,
        currency=currency,
        rate_to_bdt=pricing.rate_to_bdt,
        rate_source=rate.source,
        rate_as_of=rate.as_of,
        fee_percentage=pricing.fee_percentage,
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.runtime.quote_ttl_seconds),
        **minor,
    )
    session.add(quote)
    await session.flush()
    return quote


async def take_quote(
    session: AsyncSession, quote_id: uuid.UUID, principal: Principal, currency: str, amount_minor: int
) -> Quote:
    """The caller's valid, unused quote for exactly this currency and amount, locked; else 409."""
    quote = await session.scalar(for_update(select(Quote).where(Quote.id == quote_id), session))
    if quote is None or quote.user_id != principal.subject:
        raise Conflict("The quote does not exist or is not yours.", code="quote_invalid")
    if quote.expires_at <= utcnow():
        raise Conflict("The quote has expired; ask for a new one.", code="quote_expired")
    if quote.used_by_transaction_id is not None:
        raise Conflict("The quote was already used for a transaction.", code="quote_used")
    if quote.currency != currency or quote.foreign_amount != amount_minor:
        raise Conflict("The quote is for a different currency or amount.", code="quote_mismatch")
    return quote


def quote_read(q: Quote) -> QuoteRead:
    return QuoteRead(
        quote_id=q.id,
        currency=q.currency,
        amount=format_minor(q.foreign_amount, q.currency),
        rate_to_bdt=format_rate(q.rate_to_bdt),
        rate_source=q.rate_source,
        bdt_amount=format_minor(q.bdt_amount, PAY_IN_CURRENCY),
        fee_percentage=f"{q.fee_percentage:f}",
        fee_bdt=format_minor(q.fee_bdt, PAY_IN_CURRENCY),
        total_bdt=format_minor(q.total_bdt, PAY_IN_CURRENCY),
        usd_equivalent=format_minor(q.usd_equivalent, USD),
        created_at=q.created_at,
        expires_at=q.expires_at,
    )
