"""`/api/v1/limits`: own limits and remaining amounts, a pre-check, admin overrides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ValidationError

from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import utcnow
from shared.deps import SessionDep
from shared.errors import Unprocessable, problem_responses
from shared.logging import get_logger
from shared.money import CurrencyCode, format_minor
from transaction_service.context import CtxDep
from transaction_service.limits import service as limits
from transaction_service.limits.schemas import LimitsUpdate
from transaction_service.quotes.pricing import USD
from transaction_service.quotes.schemas import QuoteRequest
from transaction_service.quotes.service import current_pricing

router = APIRouter(prefix="/api/v1/limits", tags=["limits"])
log = get_logger(__name__)


@router.get("", summary="Own limits and what remains in each calendar window (USD, Asia/Dhaka)")
async def get_limits(principal: CurrentPrincipal, session: SessionDep, ctx: CtxDep) -> dict[str, Any]:
    current = await limits.usage(session, principal.subject, ctx.runtime)
    return limits.limits_view(current, ctx.runtime, principal.subject)


@router.get(
    "/check",
    responses=problem_responses(401, 422, 503),
    summary="Would a transfer of this amount be allowed now?",
)
async def check_limits(
    principal: CurrentPrincipal,
    session: SessionDep,
    ctx: CtxDep,
    currency: Annotated[CurrencyCode, Query()],
    amount: Annotated[str, Query()],
) -> dict[str, Any]:
    try:
        req = QuoteRequest.model_validate({"currency": currency, "amount": amount})
    except ValidationError:
        raise Unprocessable(
            "amount must be a positive decimal string valid for the currency.", code="invalid_amount"
        ) from None
    pricing, _ = await current_pricing(ctx, req.currency, req.decimal_amount)
    usd_cents = pricing.minor["usd_equivalent"]
    current = await limits.usage(session, principal.subject, ctx.runtime)
    violations = limits.bound_violations(usd_cents, ctx.runtime) + limits.limit_violations(usd_cents, current)
    return {
        "allowed": not violations,
        "violations": violations,
        "currency": req.currency,
        "amount": format_minor(pricing.minor["foreign_amount"], req.currency),
        "usd_equivalent": format_minor(usd_cents, USD),
        **limits.limits_view(current, ctx.runtime, principal.subject),
    }


@router.put("/{user_id}", responses=problem_responses(401, 403, 422), summary="Admin: set a user's limits")
async def set_limits(
    user_id: str, body: LimitsUpdate, admin: AdminPrincipal, session: SessionDep, ctx: CtxDep
) -> dict[str, Any]:
    row = await limits.lock_user_limit(session, user_id)
    row.daily_limit = body.cents("daily_limit")
    row.monthly_limit = body.cents("monthly_limit")
    row.yearly_limit = body.cents("yearly_limit")
    row.reason = body.reason
    row.updated_by = admin.subject
    row.updated_at = utcnow()
    await session.flush()
    log.info("limits_updated", user_id=user_id, by=admin.subject)
    current = await limits.usage(session, user_id, ctx.runtime, row=row)
    return {
        **limits.limits_view(current, ctx.runtime, user_id),
        "reason": row.reason,
        "updated_by": admin.subject,
    }
