"""Pay-in rules: SSLCommerz session creation and the one place a payment changes state.

A payment moves only on a verified provider answer (IPN + validation API, or the reconciler's
transaction query + validation API); browser returns never move it. Every change publishes its
`payment.*` event in the same transaction, under a row lock, so duplicates have no second effect.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.context import Context, emit
from payment_service.models import Payment
from payment_service.payments import repository
from payment_service.payments.schemas import SessionCreate
from payment_service.providers.base import ProviderError
from payment_service.providers.sslcommerz import PAID_STATUSES
from shared.db import utcnow
from shared.errors import Conflict, UpstreamError
from shared.logging import get_logger
from shared.money import MoneyError, format_minor, parse_decimal, to_minor

log = get_logger(__name__)

PAY_IN_CURRENCY = "BDT"
FINAL_PAID = frozenset({"succeeded", "held"})
NOT_PAID_END = frozenset({"failed", "cancelled", "expired"})


# -- session -----------------------------------------------------------------------------------
def session_fields(ctx: Context, payment: Payment, body: SessionCreate) -> dict[str, str]:
    base = ctx.settings.public_base_url
    hook = f"{base}/api/v1/webhooks/sslcommerz"
    return {
        "total_amount": format_minor(payment.total_amount, payment.currency),
        "currency": payment.currency,
        "tran_id": payment.internal_tran_id,
        "success_url": f"{hook}/success",
        "fail_url": f"{hook}/fail",
        "cancel_url": f"{hook}/cancel",
        "ipn_url": f"{hook}/ipn",
        "product_name": "International remittance",
        "product_category": "Remittance",
        "product_profile": "non-physical-goods",
        "shipping_method": "NO",
        "num_of_item": "1",
        "cus_name": body.customer.name or "Customer",
        "cus_email": str(body.customer.email),
        "cus_phone": body.customer.phone or "N/A",
        "cus_add1": "N/A",
        "cus_city": "Dhaka",
        "cus_postcode": "1000",
        "cus_country": "Bangladesh",
        # Echoed back in the IPN and the validation answer.
        "value_a": str(payment.id),
        "value_b": str(payment.transaction_id),
    }


async def create_session(ctx: Context, body: SessionCreate) -> Payment:
    """Idempotent per transaction: a second call returns the stored session (and only retries
    SSLCommerz if the first attempt never got one)."""
    try:
        amount = to_minor(body.total_bdt, PAY_IN_CURRENCY)
    except MoneyError as exc:
        raise Conflict("total_bdt has more than 2 decimals.", code="invalid_amount") from exc
    async with ctx.unit_of_work() as session:
        payment = await repository.by_transaction(session, body.transaction_id)
        if payment is None:
            payment = Payment(
                transaction_id=body.transaction_id,
                internal_tran_id=body.internal_tran_id,
                user_id=body.user_id,
                total_amount=amount,
                currency=PAY_IN_CURRENCY,
                status="initiated",
            )
            try:
                async with session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
                    session.add(payment)
                    await session.flush()
            except IntegrityError:
                payment = None
    if payment is None:  # a concurrent call created it, or the tran_id belongs to another transaction
        async with ctx.unit_of_work() as session:
            payment = await repository.by_transaction(session, body.transaction_id)
        if payment is None:
            raise Conflict("internal_tran_id is already used by another transaction.", code="tran_id_in_use")
    if payment.internal_tran_id != body.internal_tran_id or payment.total_amount != amount:
        raise Conflict("A session for this transaction exists with other values.", code="session_mismatch")
    if payment.payment_url:
        return payment

    try:
        answer = await ctx.sslcommerz.create_session(
            session_fields(ctx, payment, body), transaction_id=payment.transaction_id
        )
    except ProviderError as exc:
        raise UpstreamError(
            "The payment provider is unavailable; try again.", code="provider_unavailable"
        ) from exc
    url = str(answer.get("GatewayPageURL") or "")
    if str(answer.get("status", "")).upper() != "SUCCESS" or not _acceptable_url(ctx, url):
        log.warning("sslcommerz_session_refused", reason=str(answer.get("failedreason", ""))[:120])
        raise UpstreamError("The payment provider refused the session.", code="provider_refused")
    async with ctx.unit_of_work() as session:
        locked = await repository.locked(session, payment.id)
        if not locked.payment_url:
            locked.sessionkey = str(answer.get("sessionkey") or "")[:64] or None
            locked.payment_url = url[:500]
        return locked


def _acceptable_url(ctx: Context, url: str) -> bool:
    parts = urlsplit(url)
    if ctx.sslcommerz.base_url.startswith("https://"):
        return parts.scheme == "https" and bool(parts.netloc)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# -- deciding on a validation answer -------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    action: str  # "succeed" | "hold" | "reject" | "fail" | "cancel" | "expire"
    reason: str | None = None
    validation: dict[str, Any] | None = None


def decide_on_validation(payment: Payment, validation: dict[str, Any]) -> Decision:
    """The validation API is the truth (§2.6): VALID/VALIDATED, our tran_id, and exactly our
    amount and currency (Decimal equality, no tolerance); risk_level 1 needs a person."""
    status = str(validation.get("status", "")).upper()
    if status not in PAID_STATUSES:
        return Decision("reject", f"validation_{status.lower() or 'unknown'}")
    if str(validation.get("tran_id", "")) != payment.internal_tran_id:
        return Decision("reject", "tran_id_mismatch")
    if str(validation.get("currency", "")).upper() != payment.currency:
        return Decision("hold", "currency_mismatch", validation)
    try:
        paid = parse_decimal(str(validation.get("amount", "")))
    except MoneyError:
        return Decision("hold", "amount_mismatch", validation)
    if paid != Decimal(format_minor(payment.total_amount, payment.currency)):
        return Decision("hold", "amount_mismatch", validation)
    if str(validation.get("risk_level", "0")).strip() == "1":
        return Decision("hold", "risk_level", validation)
    return Decision("succeed", None, validation)


def _paid_minor(validation: dict[str, Any], currency: str) -> int | None:
    try:
        return to_minor(parse_decimal(str(validation.get("amount", ""))), currency)
    except (MoneyError, KeyError):
        return None


async def apply_decision(session: AsyncSession, payment_id: uuid.UUID, decision: Decision) -> bool:
    """Apply under a row lock; True when the payment changed (and its event was published)."""
    payment = await repository.locked(session, payment_id)
    if payment.status in FINAL_PAID:
        return False  # duplicate or late notification: the first verified outcome stands
    if decision.action in ("fail", "cancel", "expire") and payment.status != "initiated":
        return False
    base = {
        "transaction_id": str(payment.transaction_id),
        "internal_tran_id": payment.internal_tran_id,
        "payment_id": str(payment.id),
    }
    if decision.action in ("succeed", "hold"):
        v = decision.validation or {}
        paid_currency = str(v.get("currency", "")).upper()[:3] or payment.currency
        payment.val_id = str(v.get("val_id") or "")[:64] or None
        payment.bank_tran_id = str(v.get("bank_tran_id") or "")[:80] or None
        payment.risk_level = str(v.get("risk_level", ""))[:4] or None
        payment.paid_currency = paid_currency
        payment.paid_amount = _paid_minor(v, paid_currency) if paid_currency == payment.currency else None
        payment.validated_at = utcnow()
        payment.status = "succeeded" if decision.action == "succeed" else "held"
        payment.hold_reason = decision.reason
        data = {
            **base,
            "amount": str(v.get("amount", "")),
            "currency": paid_currency,
            "val_id": payment.val_id,
            "bank_tran_id": payment.bank_tran_id,
            "risk_level": payment.risk_level,
        }
        if decision.action == "succeed":
            await emit(session, "payment.succeeded", payment.transaction_id, data)
        else:
            data.update(
                reason=decision.reason,
                expected_amount=format_minor(payment.total_amount, payment.currency),
                expected_currency=payment.currency,
            )
            await emit(session, "payment.held", payment.transaction_id, data)
        return True
    payment.failure_reason = (decision.reason or decision.action)[:200]
    amount = {"amount": format_minor(payment.total_amount, payment.currency), "currency": payment.currency}
    if decision.action == "cancel":
        payment.status = "cancelled"
        await emit(
            session,
            "payment.cancelled",
            payment.transaction_id,
            {**base, **amount, "reason": decision.reason},
        )
    else:
        payment.status = "expired" if decision.action == "expire" else "failed"
        await emit(
            session, "payment.failed", payment.transaction_id, {**base, **amount, "reason": decision.reason}
        )
    return True


def failure_decision(status: str, error: str | None) -> Decision | None:
    """IPN / query statuses that end a payment without money (§2.4, §2.7)."""
    status = status.upper()
    if status == "FAILED":
        return Decision("fail", (error or "failed")[:200])
    if status == "CANCELLED":
        return Decision("cancel", (error or "cancelled")[:200])
    if status in ("EXPIRED", "UNATTEMPTED"):
        return Decision("expire", status.lower())
    return None


async def settle_from_provider(
    ctx: Context, payment: Payment, *, hint_status: str = "", hint_error: str | None = None
) -> Decision | None:
    """Ask SSLCommerz what happened to this tran_id (transaction query, then the validation API
    for a paid attempt). A paid attempt always wins over failed ones (a tran_id may have several)."""
    answer = await ctx.sslcommerz.query_transaction(
        payment.internal_tran_id, transaction_id=payment.transaction_id
    )
    elements = answer.get("element") or []
    if isinstance(elements, dict):
        elements = [elements]
    elements = [
        e for e in elements if isinstance(e, dict) and str(e.get("tran_id", "")) == payment.internal_tran_id
    ]
    for element in elements:
        if str(element.get("status", "")).upper() in PAID_STATUSES and element.get("val_id"):
            validation = await ctx.sslcommerz.validate(
                str(element["val_id"]), transaction_id=payment.transaction_id
            )
            return decide_on_validation(payment, validation)
    if hint_status:
        # A signed failure notice stands once the query shows no paid attempt for the tran_id.
        return failure_decision(hint_status, hint_error)
    if elements:
        for element in elements:
            decision = failure_decision(str(element.get("status", "")), element.get("error"))
            if decision is not None:
                return decision
    return None
