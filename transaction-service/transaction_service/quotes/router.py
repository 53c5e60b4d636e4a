"""`POST /api/v1/transactions/calculate`: a locked quote."""

from __future__ import annotations

from fastapi import APIRouter

from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.errors import problem_responses
from transaction_service.context import CtxDep
from transaction_service.quotes import service
from transaction_service.quotes.schemas import QuoteRead, QuoteRequest

router = APIRouter(prefix="/api/v1/transactions", tags=["quotes"])


@router.post(
    "/calculate",
    response_model=QuoteRead,
    status_code=201,
    responses=problem_responses(401, 422, 502, 503),
    summary="Price an amount and lock the rate for QUOTE_TTL",
)
async def calculate(
    body: QuoteRequest, principal: CurrentPrincipal, session: SessionDep, ctx: CtxDep
) -> QuoteRead:
    quote = await service.create_quote(session, ctx, principal, body.currency, body.decimal_amount)
    return service.quote_read(quote)
