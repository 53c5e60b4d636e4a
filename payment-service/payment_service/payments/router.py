"""Payment routes: the internal session endpoint, the SSLCommerz callbacks and the public reads."""

from __future__ import annotations

import html
import uuid
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from payment_service.context import CtxDep
from payment_service.models import Payment
from payment_service.payments import repository, service
from payment_service.payments.ipn import handle_ipn
from payment_service.payments.schemas import (
    PaymentList,
    PaymentRead,
    PayoutSummary,
    RefundSummary,
    SessionCreate,
    SessionRead,
)
from payment_service.webhook_log import close_record_alone, record_received
from shared.auth import CurrentPrincipal, Principal
from shared.deps import SessionDep
from shared.errors import BadRequest, NotFound, problem_responses
from shared.money import format_minor
from shared.service_auth import ServiceCaller

internal_router = APIRouter(prefix="/internal/payments", tags=["internal"])
webhook_router = APIRouter(prefix="/api/v1/webhooks/sslcommerz", tags=["webhooks"])
public_router = APIRouter(prefix="/api/v1/payments", tags=["payments"])

MAX_FORM_BYTES = 64 * 1024


@internal_router.post(
    "/sessions", status_code=201, response_model=SessionRead, responses=problem_responses(401, 409, 422, 502)
)
async def create_session(body: SessionCreate, ctx: CtxDep, caller: ServiceCaller) -> SessionRead:
    """Create (or return the existing) SSLCommerz hosted session of a transaction."""
    payment = await service.create_session(ctx, body)
    return SessionRead(
        payment_id=payment.id,
        sessionkey=payment.sessionkey,
        payment_url=payment.payment_url,
        status=payment.status,
    )


async def _form(request: Request) -> tuple[dict[str, str], bytes]:
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise BadRequest("Notification too large.", code="payload_too_large")
    form = await request.form()  # url-encoded or multipart (§2.4)
    return {k: v for k, v in form.items() if isinstance(v, str)}, raw


@webhook_router.post("/ipn", summary="SSLCommerz IPN (server to server)")
async def sslcommerz_ipn(request: Request, ctx: CtxDep) -> JSONResponse:
    fields, raw = await _form(request)
    result = await handle_ipn(ctx, fields, raw, request.headers)
    if result.outcome == "rejected":
        raise BadRequest("The notification was rejected.", code="ipn_rejected")
    if result.outcome == "error":
        return JSONResponse({"status": "retry"}, status_code=503, headers={"Retry-After": "30"})
    return JSONResponse({"status": result.outcome})


@webhook_router.post(
    "/{outcome}", status_code=303, summary="Browser return from SSLCommerz (never changes state)"
)
async def sslcommerz_browser_return(
    outcome: Literal["success", "fail", "cancel"], request: Request, ctx: CtxDep
) -> RedirectResponse:
    fields, raw = await _form(request)
    tran_id = str(fields.get("tran_id", ""))[:30]
    record_id = await record_received(
        ctx,
        provider="sslcommerz",
        kind=f"return.{outcome}",
        raw_body=raw,
        headers=request.headers,
        event_id=tran_id or None,
    )
    await close_record_alone(ctx, record_id, "ignored", "browser return")
    query = urlencode({"outcome": outcome, "tran_id": tran_id})
    return RedirectResponse(f"{ctx.settings.payment_result_url}?{query}", status_code=303)


_RESULT_TEXT = {
    "success": "Thank you. Your payment is being verified; the transfer continues automatically.",
    "fail": "The payment did not go through. No money was taken; you can try again.",
    "cancel": "The payment was cancelled.",
}


@webhook_router.get(
    "/result", response_class=HTMLResponse, summary="Status page shown after the hosted payment page"
)
async def payment_result(
    outcome: Annotated[str, Query(max_length=10)] = "", tran_id: Annotated[str, Query(max_length=30)] = ""
) -> HTMLResponse:
    text = _RESULT_TEXT.get(outcome, "Payment status unknown.")
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Payment</title></head><body>"
        f"<h1>Payment {html.escape(outcome or 'status')}</h1><p>{html.escape(text)}</p>"
        f"<p>Reference: {html.escape(tran_id)}</p></body></html>"
    )
    return HTMLResponse(body)


# -- public reads ------------------------------------------------------------------------------------
def _visible(payment: Payment, principal: Principal) -> bool:
    return principal.is_staff or str(payment.user_id) == principal.user_id


async def _read(session: SessionDep, payment: Payment) -> PaymentRead:
    out = PaymentRead(
        id=payment.id,
        transaction_id=payment.transaction_id,
        internal_tran_id=payment.internal_tran_id,
        user_id=payment.user_id,
        status=payment.status,
        amount=format_minor(payment.total_amount, payment.currency),
        currency=payment.currency,
        payment_url=payment.payment_url,
        val_id=payment.val_id,
        bank_tran_id=payment.bank_tran_id,
        risk_level=payment.risk_level,
        hold_reason=payment.hold_reason,
        failure_reason=payment.failure_reason,
        validated_at=payment.validated_at,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
    )
    payout = await repository.payout_of(session, payment.transaction_id)
    if payout is not None:
        out.payout = PayoutSummary(
            payout_id=payout.id,
            sender_batch_id=payout.sender_batch_id,
            payout_batch_id=payout.payout_batch_id,
            payout_item_id=payout.payout_item_id,
            status=payout.status,
            amount=format_minor(payout.payout_amount, payout.currency),
            currency=payout.currency,
            error=payout.error,
        )
    refund = await repository.refund_of(session, payment.transaction_id)
    if refund is not None:
        out.refund = RefundSummary(
            refund_id=refund.id,
            status=refund.status,
            amount=format_minor(refund.refund_amount, refund.currency),
            currency=refund.currency,
            error=refund.error,
        )
    return out


@public_router.get("", response_model=PaymentList, responses=problem_responses(401))
async def list_payments(
    session: SessionDep,
    principal: CurrentPrincipal,
    transaction_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PaymentList:
    """Payments of a transaction (owner, support, admin). Staff may omit `transaction_id` to see
    the latest payments; for anyone else an unknown and a foreign transaction look the same."""
    if transaction_id is None:
        payments = await repository.latest(session, limit) if principal.is_staff else []
    else:
        found = await repository.by_transaction(session, transaction_id)
        payments = [found] if found is not None else []
    return PaymentList(items=[await _read(session, p) for p in payments if _visible(p, principal)])


@public_router.get("/{payment_id}", response_model=PaymentRead, responses=problem_responses(401, 404))
async def get_payment(payment_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> PaymentRead:
    payment = await session.get(Payment, payment_id)
    if payment is None or not _visible(payment, principal):
        raise NotFound("Payment not found.", code="payment_not_found")
    return await _read(session, payment)
