"""`/internal/transactions/{id}` (service API key): the record payment-service reads."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from shared.deps import SessionDep
from shared.errors import NotFound, problem_responses
from shared.service_auth import ServiceCaller
from transaction_service.transactions import repository as repo
from transaction_service.transactions.schemas import InternalTransaction

router = APIRouter(prefix="/internal/transactions", tags=["internal"])


@router.get("/{transaction_id}", response_model=InternalTransaction, responses=problem_responses(401, 404))
async def internal_get_transaction(
    transaction_id: uuid.UUID, caller: ServiceCaller, session: SessionDep
) -> InternalTransaction:
    txn = await repo.get(session, transaction_id)
    if txn is None:
        raise NotFound("Transaction not found.", code="transaction_not_found")
    return InternalTransaction.of(txn)
