"""Transaction business rules: creation (quote → bounds → atomic limit reservation → payment
session), reading with object-level access, listing, history, cancel and stats."""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound, ServiceUnavailable
from shared.logging import get_logger
from shared.money import PAY_IN_CURRENCY, format_minor, to_minor
from transaction_service.context import ServiceContext
from transaction_service.limits import service as limits
from transaction_service.limits.windows import zone
from transaction_service.models import Transaction
from transaction_service.quotes import service as quotes
from transaction_service.transactions import repository as repo
from transaction_service.transactions import status as sm
from transaction_service.transactions.schemas import TransactionCreate, TransactionRead

log = get_logger(__name__)

_ALPHABET = string.ascii_uppercase + string.digits


def new_internal_tran_id(ctx: ServiceContext) -> str:
    """`TXN-YYYYMMDD-XXXXXXXX` (date in the limits time zone; 36^8 random suffix)."""
    day = utcnow().astimezone(zone(ctx.settings.limits_timezone)).strftime("%Y%m%d")
    return f"TXN-{day}-{''.join(secrets.choice(_ALPHABET) for _ in range(8))}"


async def create(
    session: AsyncSession, ctx: ServiceContext, principal: Principal, body: TransactionCreate
) -> TransactionRead:
    """One unit of work: if anything fails (limits, payment-service, the commit) nothing is kept —
    no transaction, no reservation, no event."""
    if ctx.runtime.maintenance_mode:
        raise ServiceUnavailable(
            "Transfers are paused for maintenance.", code="maintenance_mode", headers={"Retry-After": "300"}
        )
    currency = body.requested_foreign_currency
    amount = body.amount
    if body.quote_id is not None:
        quote = await quotes.take_quote(
            session, body.quote_id, principal, currency, to_minor(amount, currency)
        )
    else:
        quote = await quotes.create_quote(session, ctx, principal, currency, amount)
    limits.check_bounds(quote.usd_equivalent, ctx.runtime)
    customer = await ctx.clients.users.customer(principal.subject)

    # Row lock on the user's limits until commit: concurrent creations for this user queue here.
    await limits.reserve(session, principal.subject, quote.usd_equivalent, ctx.runtime)
    now = utcnow()
    txn = Transaction(
        id=uuid.uuid4(),
        internal_tran_id=new_internal_tran_id(ctx),
        user_id=principal.subject,
        status=sm.PENDING,
        on_hold=False,
        foreign_currency=currency,
        foreign_amount=quote.foreign_amount,
        recipient_paypal_email=str(body.recipient_paypal_email),
        payment_purpose=body.payment_purpose,
        quote_id=quote.id,
        rate_to_bdt=quote.rate_to_bdt,
        rate_source=quote.rate_source,
        fee_percentage=quote.fee_percentage,
        bdt_amount=quote.bdt_amount,
        fee_bdt=quote.fee_bdt,
        total_bdt=quote.total_bdt,
        usd_equivalent=quote.usd_equivalent,
        action_attempts=0,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.payment_window_seconds),
    )
    session.add(txn)
    quote.used_by_transaction_id = txn.id
    await sm.record_created(session, txn, actor_id=principal.subject)
    await session.flush()

    # payment-service is idempotent per transaction_id; if it fails the whole unit rolls back.
    payment = await ctx.clients.payments.create_session(
        {
            "transaction_id": str(txn.id),
            "internal_tran_id": txn.internal_tran_id,
            "user_id": txn.user_id,
            "total_bdt": format_minor(txn.total_bdt, PAY_IN_CURRENCY),
            "customer": {"name": customer.name, "email": customer.email, "phone": customer.phone},
        }
    )
    txn.payment_url = payment.payment_url
    txn.payment_id = payment.payment_id or None
    await sm.emit(
        session,
        txn,
        "transaction.created",
        payment_url=txn.payment_url,
        expires_at=txn.expires_at.isoformat(),
    )
    await session.flush()
    log.info("transaction_created", transaction_id=str(txn.id), currency=currency)
    return TransactionRead.of(txn)


def can_read(principal: Principal, txn: Transaction) -> bool:
    return principal.is_staff or txn.user_id == principal.subject


async def get_visible(
    session: AsyncSession, principal: Principal, txn_id: uuid.UUID, *, lock: bool = False
) -> Transaction:
    """The transaction if the caller may see it; 404 otherwise (never reveal others' ids)."""
    txn = await (repo.get_locked(session, txn_id) if lock else repo.get(session, txn_id))
    if txn is None or not can_read(principal, txn):
        raise NotFound("Transaction not found.", code="transaction_not_found")
    return txn


async def cancel(session: AsyncSession, principal: Principal, txn_id: uuid.UUID) -> TransactionRead:
    txn = await get_visible(session, principal, txn_id, lock=True)
    if txn.user_id != principal.subject and principal.role != "admin":
        raise NotFound("Transaction not found.", code="transaction_not_found")
    if txn.status != sm.PENDING or txn.on_hold:
        raise Conflict(
            f"Only an unpaid PENDING transaction can be cancelled (this one is {txn.status}).",
            code="invalid_status",
        )
    actor = "user" if txn.user_id == principal.subject else "admin"
    await sm.transition(
        session,
        txn,
        sm.CANCELLED,
        reason="cancelled by sender" if actor == "user" else "cancelled by admin",
        actor_type=actor,
        actor_id=principal.subject,
    )
    await session.flush()
    return TransactionRead.of(txn)


async def stats(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    platform = principal.role == "admin"
    rows = await repo.stats(session, None if platform else principal.subject)
    by_status: dict[str, int] = {s: 0 for s in sm.STATUSES}
    by_currency: dict[str, dict[str, Any]] = {}
    completed_bdt = 0
    for status, currency, count, foreign, bdt in rows:
        by_status[status] = by_status.get(status, 0) + count
        c = by_currency.setdefault(
            currency, {"count": 0, "foreign_amount": 0, "total_bdt": 0, "by_status": {}}
        )
        c["count"] += count
        c["foreign_amount"] += foreign
        c["total_bdt"] += bdt
        c["by_status"][status] = count
        if status == sm.COMPLETED:
            completed_bdt += bdt
    return {
        "scope": "platform" if platform else "own",
        "total_count": sum(by_status.values()),
        "by_status": by_status,
        "by_currency": {
            cur: {
                "count": v["count"],
                "foreign_amount": format_minor(v["foreign_amount"], cur),
                "total_bdt": format_minor(v["total_bdt"], PAY_IN_CURRENCY),
                "by_status": v["by_status"],
            }
            for cur, v in sorted(by_currency.items())
        },
        "completed_total_bdt": format_minor(completed_bdt, PAY_IN_CURRENCY),
        "currency_of_totals": PAY_IN_CURRENCY,
    }
