"""The sandbox control API (ARCHITECTURE §8, MUST): complete sessions and payout items, inspect state,
arm faults. Not a provider API: errors here are the platform's problem+json."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from provider_sandbox.faults import FaultSpecError
from provider_sandbox.paypal import payouts, webhooks
from provider_sandbox.runtime import FaultDep, SandboxDep
from provider_sandbox.sslcommerz import refunds, service
from provider_sandbox.state import plain
from shared.errors import BadRequest, Conflict, NotFound

router = APIRouter(prefix="/sandbox", tags=["sandbox control"])

PAYPAL_OUTCOMES = {
    "SUCCEEDED": "SUCCESS",
    "SUCCESS": "SUCCESS",
    "FAILED": "FAILED",
    "UNCLAIMED": "UNCLAIMED",
    "RETURNED": "RETURNED",
    "BLOCKED": "BLOCKED",
    "ONHOLD": "ONHOLD",
    "HELD": "ONHOLD",
    "DENIED": "DENIED",
    "REFUNDED": "REFUNDED",
    "REVERSED": "REVERSED",
}


def _decimal(value: str | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise BadRequest(f"{field} must be a decimal string.", code="invalid_amount") from None


class SessionComplete(BaseModel):
    outcome: Literal["success", "fail", "cancel", "VALID", "FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"]
    risk_level: Literal[0, 1] = 0
    amount: str | None = Field(None, description="Override the paid BDT amount (amount-mismatch tests)")
    currency: str | None = Field(None, description="Override the reported currency (currency-mismatch tests)")
    deliver_ipn: bool = True


@router.post(
    "/sslcommerz/sessions/{sessionkey}/complete", summary="Finish a payment session and send the IPN"
)
async def complete_session(
    sessionkey: str, body: SessionComplete, sb: SandboxDep, fault: FaultDep
) -> dict[str, Any]:
    s = sb.state.sessions.get(sessionkey)
    if s is None:
        raise NotFound("No such SSLCommerz session.")
    try:
        return await service.complete(
            sb,
            s,
            body.outcome,
            risk_level=body.risk_level,
            amount=_decimal(body.amount, "amount"),
            currency=body.currency,
            deliver_ipn=body.deliver_ipn,
            fault=fault,
        )
    except service.SessionStateError as exc:
        raise Conflict(str(exc), code="session_completed") from None


class RefundComplete(BaseModel):
    outcome: Literal["refunded", "cancelled"] = "refunded"


@router.post("/sslcommerz/refunds/{refund_ref_id}/complete", summary="Settle or cancel a processing refund")
async def complete_refund(refund_ref_id: str, body: RefundComplete, sb: SandboxDep) -> dict[str, Any]:
    r = sb.state.refunds.get(refund_ref_id)
    if r is None:
        raise NotFound("No such refund.")
    refunds.finish(sb, r, body.outcome)
    return plain(r)


class ItemComplete(BaseModel):
    outcome: Literal[
        "SUCCEEDED",
        "FAILED",
        "UNCLAIMED",
        "RETURNED",
        "BLOCKED",
        "SUCCESS",
        "ONHOLD",
        "HELD",
        "DENIED",
        "REFUNDED",
        "REVERSED",
    ]
    error_name: str | None = Field(None, description="Item `errors.name`, e.g. RECEIVER_UNREGISTERED")


@router.post(
    "/paypal/payout-items/{payout_item_id}/complete", summary="Move a payout item and send its webhook"
)
async def complete_item(
    payout_item_id: str, body: ItemComplete, sb: SandboxDep, fault: FaultDep
) -> dict[str, Any]:
    it = sb.state.items.get(payout_item_id)
    if it is None:
        raise NotFound("No such payout item.")
    try:
        events = await payouts.transition(
            sb, it, PAYPAL_OUTCOMES[body.outcome], error_name=body.error_name, fault=fault
        )
    except ValueError as exc:
        raise Conflict(str(exc), code="invalid_transition") from None
    ids = {e["id"] for e in events}
    batch = sb.state.batches[it.payout_batch_id]
    return {
        "payout_item_id": it.payout_item_id,
        "payout_batch_id": it.payout_batch_id,
        "transaction_status": it.transaction_status,
        "batch_status": batch.batch_status,
        "webhooks": [
            {
                "event_id": d.ref,
                "event_type": d.event_type,
                "transmission_id": d.headers["PAYPAL-TRANSMISSION-ID"],
                "delivered": d.delivered,
                "attempts": d.attempts,
            }
            for d in sb.state.deliveries
            if d.kind == "paypal_webhook" and d.ref in ids
        ],
    }


@router.post("/paypal/webhooks/{event_id}/redeliver", summary="Send a stored PayPal event again")
async def redeliver(event_id: str, sb: SandboxDep) -> dict[str, Any]:
    d = await webhooks.redeliver(sb, event_id)
    if d is None:
        raise NotFound("No such event (or webhook delivery is off).")
    return plain(d)


class Balance(BaseModel):
    value: str


@router.put("/paypal/balances/{currency}", summary="Set the PayPal balance available in a currency")
async def set_balance(currency: str, body: Balance, sb: SandboxDep) -> dict[str, str]:
    value = _decimal(body.value, "value")
    assert value is not None
    sb.state.balances[currency.upper()] = value
    return {"currency": currency.upper(), "value": str(value)}


@router.get("/state", summary="Everything the sandbox holds (debugging)")
async def state(sb: SandboxDep) -> dict[str, Any]:
    return {**sb.state.snapshot(), "faults": [plain(r) for r in sb.faults.rules]}


@router.post("/reset", status_code=204, summary="Forget all state and armed faults")
async def reset(sb: SandboxDep) -> Response:
    sb.reset()
    return Response(status_code=204)


class FaultArm(BaseModel):
    path_prefix: str = Field(..., description="Request path prefix, or `@ipn` / `@webhook` for deliveries")
    fault: str = Field(..., description="Fault spec, e.g. `status_after=500` or `webhook=duplicate`")
    method: str | None = None
    times: int | None = Field(
        1, ge=1, description="How many matching requests it fires for; null = until cleared"
    )


@router.post("/faults", status_code=201, summary="Arm a fault for requests the test does not make itself")
async def arm_fault(body: FaultArm, sb: SandboxDep) -> dict[str, Any]:
    try:
        rule = sb.faults.arm(body.path_prefix, body.fault, method=body.method, times=body.times)
    except FaultSpecError as exc:
        raise BadRequest(str(exc), code="invalid_fault") from None
    return plain(rule)


@router.get("/faults", summary="Armed faults")
async def list_faults(sb: SandboxDep) -> list[dict[str, Any]]:
    return [plain(r) for r in sb.faults.rules]


@router.delete("/faults", status_code=204, summary="Disarm every fault")
async def clear_faults(sb: SandboxDep) -> Response:
    sb.faults.clear()
    return Response(status_code=204)
