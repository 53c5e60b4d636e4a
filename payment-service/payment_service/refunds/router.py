"""Refund route (internal)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from payment_service.context import CtxDep
from payment_service.refunds.service import start_refund
from shared.errors import problem_responses
from shared.service_auth import ServiceCaller

router = APIRouter(prefix="/internal/refunds", tags=["internal"])


class RefundCreate(BaseModel):
    transaction_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=255)


class RefundAccepted(BaseModel):
    refund_id: uuid.UUID
    status: str


@router.post("", status_code=202, response_model=RefundAccepted, responses=problem_responses(401, 404, 409))
async def create_refund(body: RefundCreate, ctx: CtxDep, caller: ServiceCaller) -> RefundAccepted:
    """Full BDT refund of the transaction's validated payment (idempotent per transaction)."""
    refund = await start_refund(ctx, body.transaction_id, body.reason)
    return RefundAccepted(refund_id=refund.id, status=refund.status)
