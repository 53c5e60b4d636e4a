"""Reconcile route (internal)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from payment_service.context import CtxDep
from payment_service.reconcile.service import reconcile_transaction
from shared.errors import problem_responses
from shared.service_auth import ServiceCaller

router = APIRouter(prefix="/internal/reconcile", tags=["internal"])


@router.post("/{transaction_id}", responses=problem_responses(401))
async def reconcile(transaction_id: uuid.UUID, ctx: CtxDep, caller: ServiceCaller) -> dict[str, Any]:
    """Re-query SSLCommerz / PayPal for the transaction; emits events for anything new."""
    return await reconcile_transaction(ctx, transaction_id)
