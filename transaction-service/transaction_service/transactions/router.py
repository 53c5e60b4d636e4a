"""`/api/v1/transactions`: create (Idempotency-Key), read, list, history, cancel, stats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.auth import AdminPrincipal, CurrentPrincipal, Principal
from shared.deps import SessionDep
from shared.errors import Forbidden, Unprocessable, problem_responses
from shared.idempotency import HEADER, idempotency_key_header, idempotent_response
from shared.money import CurrencyCode
from transaction_service.context import CtxDep
from transaction_service.models import IdempotencyKey
from transaction_service.transactions import admin as admin_actions
from transaction_service.transactions import repository as repo
from transaction_service.transactions import service
from transaction_service.transactions.schemas import (
    StatusChange,
    TransactionCreate,
    TransactionPage,
    TransactionRead,
)
from transaction_service.transactions.status import STATUSES

router = APIRouter(prefix="/api/v1/transactions", tags=["transactions"])

IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key_header)]


class ListParams:
    def __init__(
        self,
        status: Annotated[str | None, Query(description="|".join(STATUSES))] = None,
        currency: Annotated[CurrencyCode | None, Query()] = None,
        date_from: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
        date_to: Annotated[datetime | None, Query(description="created before (ISO 8601)")] = None,
        user_id: Annotated[str | None, Query(description="staff only: another user's transactions")] = None,
    ) -> None:
        self.status = status.upper() if status else None
        if self.status is not None and self.status not in STATUSES:
            raise Unprocessable(f"status must be one of {', '.join(STATUSES)}.", code="invalid_status_filter")
        self.currency = currency
        self.date_from = date_from
        self.date_to = date_to
        self.user_id = user_id

    def filters(self, principal: Principal) -> repo.Filters:
        if self.user_id is not None and self.user_id != principal.subject and not principal.is_staff:
            raise Forbidden("Only staff may list another user's transactions.", code="insufficient_role")
        return repo.Filters(
            user_id=self.user_id or principal.subject,
            status=self.status,
            currency=self.currency,
            date_from=self.date_from,
            date_to=self.date_to,
        )


ListDep = Annotated[ListParams, Depends()]


@router.post(
    "",
    status_code=201,
    response_model=TransactionRead,
    responses=problem_responses(401, 409, 422, 502, 503, 504),
    summary=f"Create a transaction (optional {HEADER} header, replayed for 24 h)",
)
async def create_transaction(
    body: TransactionCreate,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    ctx: CtxDep,
    idempotency_key: IdempotencyKeyDep,
) -> JSONResponse:
    async def effect() -> tuple[int, Any]:
        return 201, (await service.create(session, ctx, principal, body)).model_dump(mode="json")

    return await idempotent_response(
        request,
        session,
        IdempotencyKey,
        key=idempotency_key,
        scope=f"create-transaction:{principal.subject}",
        effect=effect,
    )


@router.get("", response_model=TransactionPage, summary="List own transactions (filters, pagination)")
async def list_transactions(
    principal: CurrentPrincipal,
    session: SessionDep,
    params: ListDep,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TransactionPage:
    rows, total = await repo.page(session, params.filters(principal), page=page, size=size)
    return TransactionPage(items=[TransactionRead.of(t) for t in rows], total=total, page=page, size=size)


@router.get("/stats", summary="Counts and totals by status and currency (own; admin: platform-wide)")
async def transaction_stats(principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return await service.stats(session, principal)


@router.get("/{transaction_id}", response_model=TransactionRead, responses=problem_responses(401, 404))
async def get_transaction(
    transaction_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> TransactionRead:
    return TransactionRead.of(await service.get_visible(session, principal, transaction_id))


@router.get(
    "/{transaction_id}/history",
    response_model=list[StatusChange],
    responses=problem_responses(401, 404),
    summary="Status changes with who and why",
)
async def transaction_history(
    transaction_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> list[StatusChange]:
    txn = await service.get_visible(session, principal, transaction_id)
    return [StatusChange.of(h) for h in await repo.history(session, txn.id)]


@router.post(
    "/{transaction_id}/cancel",
    response_model=TransactionRead,
    responses=problem_responses(401, 404, 409),
    summary="Cancel an unpaid PENDING transaction",
)
async def cancel_transaction(
    transaction_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> TransactionRead:
    return await service.cancel(session, principal, transaction_id)


class AdminDecision(BaseModel):
    reason: str = Field(min_length=3, max_length=150)


@router.post(
    "/{transaction_id}/approve",
    response_model=TransactionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary=f"Admin: let a held transaction continue (optional {HEADER} header, replayed for 24 h)",
)
async def approve_transaction(
    transaction_id: uuid.UUID,
    body: AdminDecision,
    request: Request,
    admin: AdminPrincipal,
    session: SessionDep,
    idempotency_key: IdempotencyKeyDep,
) -> JSONResponse:
    async def effect() -> tuple[int, Any]:
        txn = await admin_actions.approve(session, admin, transaction_id, body.reason)
        return 200, txn.model_dump(mode="json")

    return await idempotent_response(
        request, session, IdempotencyKey, key=idempotency_key, scope=f"approve:{admin.subject}", effect=effect
    )


@router.post(
    "/{transaction_id}/refund",
    response_model=TransactionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary=f"Admin: refund a received payment (optional {HEADER} header, replayed for 24 h)",
)
async def refund_transaction(
    transaction_id: uuid.UUID,
    body: AdminDecision,
    request: Request,
    admin: AdminPrincipal,
    session: SessionDep,
    idempotency_key: IdempotencyKeyDep,
) -> JSONResponse:
    async def effect() -> tuple[int, Any]:
        txn = await admin_actions.refund(session, admin, transaction_id, body.reason)
        return 200, txn.model_dump(mode="json")

    return await idempotent_response(
        request, session, IdempotencyKey, key=idempotency_key, scope=f"refund:{admin.subject}", effect=effect
    )
