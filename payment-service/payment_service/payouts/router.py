"""Payout routes: the internal create endpoint and PayPal's webhook listener."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from payment_service.context import CtxDep
from payment_service.payouts.service import request_payout
from payment_service.payouts.webhook import handle_paypal_webhook
from shared.errors import BadRequest, problem_responses
from shared.service_auth import ServiceCaller

internal_router = APIRouter(prefix="/internal/payouts", tags=["internal"])
webhook_router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

MAX_WEBHOOK_BYTES = 256 * 1024


class PayoutCreate(BaseModel):
    transaction_id: uuid.UUID


class PayoutAccepted(BaseModel):
    payout_id: uuid.UUID
    sender_batch_id: str
    status: str


@internal_router.post(
    "", status_code=202, response_model=PayoutAccepted, responses=problem_responses(401, 404, 409, 503)
)
async def create_payout(body: PayoutCreate, ctx: CtxDep, caller: ServiceCaller) -> PayoutAccepted:
    """Pay the transaction's recipient with PayPal Payouts (idempotent per transaction)."""
    payout = await request_payout(ctx, body.transaction_id)
    return PayoutAccepted(payout_id=payout.id, sender_batch_id=payout.sender_batch_id, status=payout.status)


@webhook_router.post("/paypal", summary="PayPal webhook listener (signature verified on the raw body)")
async def paypal_webhook(request: Request, ctx: CtxDep) -> JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise BadRequest("Webhook too large.", code="payload_too_large")
    headers = {k.lower(): v for k, v in request.headers.items()}
    outcome, _reason = await handle_paypal_webhook(ctx, raw, headers)
    if outcome == "rejected":
        raise BadRequest("The webhook was rejected.", code="webhook_rejected")
    if outcome == "error":
        return JSONResponse({"status": "retry"}, status_code=503, headers={"Retry-After": "60"})
    return JSONResponse({"status": outcome})
