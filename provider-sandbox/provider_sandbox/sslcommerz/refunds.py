"""SSLCommerz refunds (providers.md §2.8): initiate by bank_tran_id, poll by refund_ref_id.

A refund is `processing` for `SSLCOMMERZ_REFUND_POLLS` status queries, then `refunded` (or whatever
`POST /sandbox/sslcommerz/refunds/{refund_ref_id}/complete` decided). `refund_trans_id` (our refund
id) is the idempotency key: initiating again with the same one returns the same refund.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from provider_sandbox.runtime import Sandbox
from provider_sandbox.sslcommerz.service import DHAKA, money
from provider_sandbox.state import SslRefund, alnum_id, now


def _stamp() -> str:
    return now().astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S")


def _answer(r: SslRefund, status: str) -> dict[str, object]:
    return {
        "APIConnect": "DONE",
        "bank_tran_id": r.bank_tran_id,
        "trans_id": r.tran_id,
        "refund_ref_id": r.refund_ref_id,
        "status": status,
        "errorReason": "",
    }


def _failed(bank_tran_id: str, reason: str) -> dict[str, object]:
    return {
        "APIConnect": "DONE",
        "bank_tran_id": bank_tran_id,
        "trans_id": "",
        "refund_ref_id": "",
        "status": "failed",
        "errorReason": reason,
    }


def initiate(sb: Sandbox, params: dict[str, str]) -> dict[str, object]:
    bank_tran_id = params["bank_tran_id"]
    trans_id = params.get("refund_trans_id", "")
    if trans_id:
        for r in sb.state.refunds.values():
            if r.refund_trans_id == trans_id and r.bank_tran_id == bank_tran_id:
                return _answer(r, "success")
    session = next((s for s in sb.state.sessions.values() if s.bank_tran_id == bank_tran_id), None)
    if session is None or session.status != "VALID":
        return _failed(bank_tran_id, "Invalid bank_tran_id or the transaction is not refundable")
    try:
        amount = Decimal(params["refund_amount"])
    except InvalidOperation:
        return _failed(bank_tran_id, "Invalid refund_amount")
    if amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return _failed(bank_tran_id, "Invalid refund_amount")
    paid = session.paid_amount if session.paid_amount is not None else session.amount
    remaining = paid - session.refunded_amount
    if amount > remaining:
        return _failed(bank_tran_id, f"Refund amount exceeds the refundable amount {money(remaining)}")
    session.refunded_amount += amount
    r = SslRefund(
        refund_ref_id=alnum_id(18),
        bank_tran_id=bank_tran_id,
        tran_id=session.tran_id,
        amount=amount,
        refund_trans_id=trans_id,
        remarks=params.get("refund_remarks", ""),
        initiated_on=_stamp(),
    )
    if sb.settings.sslcommerz_refund_polls <= 0:
        r.status, r.refunded_on = "refunded", _stamp()
    sb.state.refunds[r.refund_ref_id] = r
    return _answer(r, "success")


def status(sb: Sandbox, refund_ref_id: str) -> dict[str, object]:
    r = sb.state.refunds.get(refund_ref_id)
    if r is None:
        return {
            "APIConnect": "DONE",
            "refund_ref_id": refund_ref_id,
            "status": "failed",
            "errorReason": "Invalid refund_ref_id",
        }
    if r.status == "processing":
        r.polls += 1
        if r.polls > sb.settings.sslcommerz_refund_polls:
            r.status, r.refunded_on = "refunded", _stamp()
    return {
        "APIConnect": "DONE",
        "bank_tran_id": r.bank_tran_id,
        "tran_id": r.tran_id,
        "refund_ref_id": r.refund_ref_id,
        "initiated_on": r.initiated_on,
        "refunded_on": r.refunded_on,
        "status": r.status,
        "errorReason": "",
    }


def finish(sb: Sandbox, r: SslRefund, outcome: str) -> None:
    """Control API: settle a processing refund now (`refunded`) or cancel it (money back to refundable)."""
    if outcome == "cancelled" and r.status == "processing":
        session = next(s for s in sb.state.sessions.values() if s.bank_tran_id == r.bank_tran_id)
        session.refunded_amount -= r.amount
    if r.status == "processing":
        r.status = outcome
        r.refunded_on = _stamp() if outcome == "refunded" else ""
