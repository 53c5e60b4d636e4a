"""Payout rules: create one PayPal payout per transaction, and apply PayPal's item state.

Amount, currency and recipient come only from transaction-service's record. `sender_batch_id`
is derived from the transaction id and stored before the first POST, so a retry (ours, the
caller's, or the reconciler's) can never pay twice: PayPal refuses a reused id for 30 days and we
adopt the batch it links to (P.4).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.context import Context, emit
from payment_service.models import Payment, Payout
from payment_service.payouts import states
from payment_service.providers.base import ProviderError, ProviderRejected
from payment_service.providers.paypal import paypal_exponent
from shared.db import for_update, utcnow
from shared.errors import Conflict
from shared.logging import get_logger
from shared.money import MoneyError, format_minor, from_minor, parse_amount, to_minor

log = get_logger(__name__)

PAYABLE_TRANSACTION_STATUSES = frozenset({"BDT_RECEIVED", "PROCESSING"})
PAID_PAYMENT_STATUSES = frozenset({"succeeded", "held"})
# Create errors after which the same request may succeed later (ops must act first).
RETRYABLE_CREATE_ERRORS = frozenset(
    {
        "INSUFFICIENT_FUNDS",
        "NON_HOLDING_CURRENCY",
        "RATE_LIMIT_REACHED",
        "PREVIOUS_REQUEST_IN_PROGRESS",
        "INTERNAL_ERROR",
        "REQUEST_TIMEOUT_EXCEEDED",
    }
)


def sender_batch_id_for(transaction_id: uuid.UUID) -> str:
    """Deterministic and ≤63 chars, so it also fits `sender_item_id`."""
    return f"PO-{transaction_id.hex}"


def paypal_value(minor: int, currency: str) -> str:
    """Format for PayPal's exponent table (JPY/HUF/TWD: no decimals), refusing lossy values."""
    amount = from_minor(minor, currency)
    places = paypal_exponent(currency)
    quantized = amount.quantize(Decimal(1).scaleb(-places))
    if quantized != amount:
        raise MoneyError(f"{currency} payouts take {places} decimals at PayPal")
    return f"{quantized:f}"


def payout_body(ctx: Context, payout: Payout) -> dict[str, Any]:
    s = ctx.settings
    return {
        "sender_batch_header": {
            "sender_batch_id": payout.sender_batch_id,
            "recipient_type": "EMAIL",
            "email_subject": s.payout_email_subject,
            "email_message": "You have received a remittance.",
        },
        "items": [
            {
                "recipient_type": "EMAIL",
                "amount": {
                    "value": paypal_value(payout.payout_amount, payout.currency),
                    "currency": payout.currency,
                },
                "receiver": payout.receiver,
                "note": "Remittance",
                "sender_item_id": payout.sender_batch_id,
                "purpose": s.payout_purpose,
                "recipient_wallet": "PAYPAL",
            }
        ],
    }


async def locked_payout(session: AsyncSession, payout_id: uuid.UUID) -> Payout:
    stmt = for_update(select(Payout).where(Payout.id == payout_id), session)
    payout = await session.scalar(stmt.execution_options(populate_existing=True))
    assert payout is not None
    return payout


async def request_payout(ctx: Context, transaction_id: uuid.UUID) -> Payout:
    async with ctx.unit_of_work() as session:
        payout = await session.scalar(select(Payout).where(Payout.transaction_id == transaction_id))
    if payout is None:
        payout = await _create_row(ctx, transaction_id)
    if payout.status == states.CREATED and payout.payout_batch_id is None:
        payout = await submit(ctx, payout.id)
    return payout


async def _create_row(ctx: Context, transaction_id: uuid.UUID) -> Payout:
    txn = await ctx.transactions.get(transaction_id)
    if str(txn.get("status")) not in PAYABLE_TRANSACTION_STATUSES or txn.get("on_hold"):
        raise Conflict("The transaction is not ready for a payout.", code="transaction_not_payable")
    try:
        currency = str(txn["foreign_currency"]).upper()
        amount = parse_amount(str(txn["foreign_amount"]), currency, allow_zero=False)
        minor = to_minor(amount, currency)
        paypal_value(minor, currency)
        receiver = str(txn["recipient_paypal_email"]).strip()
    except (KeyError, MoneyError) as exc:
        raise Conflict(
            "The transaction's amount or recipient cannot be paid out.", code="transaction_not_payable"
        ) from exc
    if not receiver or "@" not in receiver or len(receiver) > 127:
        raise Conflict("The transaction's recipient cannot be paid out.", code="transaction_not_payable")
    async with ctx.unit_of_work() as session:
        payment = await session.scalar(select(Payment).where(Payment.transaction_id == transaction_id))
        if payment is None or payment.status not in PAID_PAYMENT_STATUSES:
            raise Conflict("No validated BDT payment for this transaction.", code="payment_not_received")
        payout = Payout(
            transaction_id=transaction_id,
            user_id=payment.user_id,
            sender_batch_id=sender_batch_id_for(transaction_id),
            payout_amount=minor,
            currency=currency,
            receiver=receiver,
            status=states.CREATED,
            attempts=0,
        )
        try:
            async with session.begin_nested():  # a savepoint: a lost race leaves the transaction usable
                session.add(payout)
                await session.flush()
            return payout
        except IntegrityError:
            pass  # a concurrent request won; fall through and return its row
    async with ctx.unit_of_work() as session:
        existing = await session.scalar(select(Payout).where(Payout.transaction_id == transaction_id))
    assert existing is not None
    return existing


def _duplicate_batch_id(body: dict[str, Any]) -> str | None:
    """The original batch id from a USER_BUSINESS_ERROR / SENDER_BATCH_ID answer (P.4): the last
    path segment of `details[].link[].href`. Matched on name + field, never on the text."""
    if body.get("name") != "USER_BUSINESS_ERROR":
        return None
    for detail in body.get("details") or []:
        if str(detail.get("field", "")).upper() != "SENDER_BATCH_ID":
            continue
        links = detail.get("link") or detail.get("links") or []
        for link in links if isinstance(links, list) else [links]:
            href = str((link or {}).get("href", ""))
            if "/v1/payments/payouts/" in href:
                return href.rstrip("/").rsplit("/", 1)[-1] or None
        return ""  # a duplicate without a link: needs reconciliation by a person
    return None


async def submit(ctx: Context, payout_id: uuid.UUID) -> Payout:
    """POST the batch (retrying timeouts/5xx with the same sender_batch_id, which is safe), then
    read the batch for the item id. Leaves the payout CREATED for the reconciler when PayPal's
    answer is unknown or the failure is temporary."""
    async with ctx.unit_of_work() as session:
        payout = await session.get(Payout, payout_id)
        assert payout is not None
        body = payout_body(ctx, payout)
    batch_id: str | None = None
    error: str | None = None
    permanent = False
    for _ in range(max(1, ctx.settings.payout_submit_attempts)):
        try:
            status, answer = await ctx.paypal.create_payout(body, transaction_id=payout.transaction_id)
        except ProviderError as exc:
            error = type(exc).__name__
            continue
        if status in (200, 201):
            batch_id = str((answer.get("batch_header") or {}).get("payout_batch_id") or "") or None
            error = None if batch_id else "no payout_batch_id in answer"
            break
        duplicate = _duplicate_batch_id(answer)
        if duplicate:
            batch_id, error = duplicate, None
            log.info("payout_batch_adopted", sender_batch_id=payout.sender_batch_id)
            break
        name = str(answer.get("name") or f"HTTP_{status}")
        error = "DUPLICATE_WITHOUT_LINK" if duplicate == "" else name
        permanent = duplicate is None and name not in RETRYABLE_CREATE_ERRORS
        break

    batch: dict[str, Any] | None = None
    if batch_id:
        try:
            batch = await ctx.paypal.get_batch(batch_id, transaction_id=payout.transaction_id)
        except (ProviderError, ValueError):
            batch = None  # the poller reads it later
    async with ctx.unit_of_work() as session:
        payout = await locked_payout(session, payout_id)
        payout.attempts += 1
        if batch_id and payout.payout_batch_id is None:
            payout.payout_batch_id = batch_id[:40]
            payout.error = None
            await emit(
                session,
                "payout.created",
                payout.transaction_id,
                {
                    "transaction_id": str(payout.transaction_id),
                    "payout_id": str(payout.id),
                    "sender_batch_id": payout.sender_batch_id,
                    "payout_batch_id": payout.payout_batch_id,
                },
            )
            await _move(session, payout, states.PENDING, None)
            if batch is not None:
                await apply_batch(session, payout, batch)
        elif not batch_id:
            payout.error = (error or "unknown")[:200]
            if permanent:
                await _move(session, payout, "FAILED", payout.error)
        payout.next_check_at = utcnow() + timedelta(seconds=ctx.settings.refund_poll_min_seconds)
        return payout


def _item_of(batch: dict[str, Any], payout: Payout) -> dict[str, Any] | None:
    for item in batch.get("items") or []:
        if not isinstance(item, dict):
            continue
        sender_item_id = (item.get("payout_item") or {}).get("sender_item_id")
        if item.get("payout_item_id") == payout.payout_item_id or sender_item_id == payout.sender_batch_id:
            return item
    items = batch.get("items") or []
    return items[0] if len(items) == 1 and isinstance(items[0], dict) else None


async def apply_batch(session: AsyncSession, payout: Payout, batch: dict[str, Any]) -> bool:
    header = batch.get("batch_header") or {}
    if header.get("batch_status"):
        payout.batch_status = str(header["batch_status"])[:16]
    item = _item_of(batch, payout)
    if item is not None:
        return await apply_item(session, payout, item)
    if payout.batch_status == "DENIED":  # the whole batch was refused and lists no item (P.6)
        return await _move(session, payout, "DENIED", "BATCH_DENIED")
    return False


async def apply_item(session: AsyncSession, payout: Payout, item: dict[str, Any]) -> bool:
    """Apply a GET-item (or batch item) body — PayPal's truth — if it moves the payout forward."""
    if item.get("payout_item_id") and not payout.payout_item_id:
        payout.payout_item_id = str(item["payout_item_id"])[:40]
    if item.get("transaction_id"):
        payout.paypal_transaction_id = str(item["transaction_id"])[:40]
    errors = item.get("errors") or {}
    error = str(errors.get("name"))[:200] if isinstance(errors, dict) and errors.get("name") else None
    return await _move(session, payout, states.normalize(str(item.get("transaction_status", ""))), error)


async def _move(session: AsyncSession, payout: Payout, new: str, error: str | None) -> bool:
    if not states.can_move(payout.status, new):
        return False
    payout.status = new
    if error:
        payout.error = error
    event = states.event_for(new)
    if event is not None:
        data: dict[str, Any] = {
            "transaction_id": str(payout.transaction_id),
            "payout_id": str(payout.id),
            "payout_item_id": payout.payout_item_id,
            "transaction_status": new,
            "amount": format_minor(payout.payout_amount, payout.currency),
            "currency": payout.currency,
        }
        if event == "payout.failed":
            data["error"] = error or payout.error or new
        await emit(session, event, payout.transaction_id, data)
    return True


async def refresh(ctx: Context, payout_id: uuid.UUID) -> bool:
    """Re-read PayPal's state of a payout (reconciler/poller). True when it changed."""
    async with ctx.unit_of_work() as session:
        payout = await session.get(Payout, payout_id)
        assert payout is not None
    if payout.status == states.CREATED and payout.payout_batch_id is None:
        before = payout.status
        payout = await submit(ctx, payout_id)
        return payout.status != before
    try:
        if payout.payout_item_id:
            item = await ctx.paypal.get_item(payout.payout_item_id, transaction_id=payout.transaction_id)
            batch = None
        elif payout.payout_batch_id:
            batch = await ctx.paypal.get_batch(payout.payout_batch_id, transaction_id=payout.transaction_id)
            item = None
        else:
            return False
    except (ProviderError, ValueError) as exc:
        await _reschedule(ctx, payout_id, type(exc).__name__)
        return False
    async with ctx.unit_of_work() as session:
        locked = await locked_payout(session, payout_id)
        changed = (
            await apply_item(session, locked, item)
            if item is not None
            else await apply_batch(session, locked, batch or {})
        )
        _schedule(ctx, locked)
        return changed


def _schedule(ctx: Context, payout: Payout) -> None:
    s = ctx.settings
    delay = min(s.refund_poll_max_seconds, s.refund_poll_min_seconds * (2 ** min(payout.attempts, 10)))
    payout.attempts += 1
    payout.next_check_at = (
        utcnow() + timedelta(seconds=delay) if payout.status in states.NOT_TERMINAL else None
    )


async def _reschedule(ctx: Context, payout_id: uuid.UUID, error: str) -> None:
    async with ctx.unit_of_work() as session:
        payout = await locked_payout(session, payout_id)
        payout.error = error[:200]
        _schedule(ctx, payout)


__all__ = ["ProviderRejected", "apply_item", "refresh", "request_payout", "sender_batch_id_for"]
