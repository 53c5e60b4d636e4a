"""SSLCommerz IPN handling (providers.md §2.4–§2.6).

Order of work: store the raw notification → verify `verify_sign` → find our payment → ask the
provider (validation API for a paid status; transaction query for a failure, so a signed
"failed" can never override a paid attempt) → apply under a row lock with the event in the same
transaction. No DB transaction is open during provider calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from payment_service.context import Context
from payment_service.payments import repository
from payment_service.payments.service import (
    FINAL_PAID,
    Decision,
    apply_decision,
    decide_on_validation,
    failure_decision,
    settle_from_provider,
)
from payment_service.providers.base import ProviderError
from payment_service.providers.sslcommerz import PAID_STATUSES, verify_sign_ok
from payment_service.webhook_log import close_record, close_record_alone, record_received
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class IpnResult:
    outcome: str  # processed | duplicate | rejected | ignored | error
    reason: str | None = None

    @property
    def http_status(self) -> int:
        return {"rejected": 400, "error": 503}.get(self.outcome, 200)


async def handle_ipn(
    ctx: Context, fields: Mapping[str, str], raw_body: bytes, headers: Mapping[str, str]
) -> IpnResult:
    tran_id = str(fields.get("tran_id", ""))[:30]
    status = str(fields.get("status", "")).upper()
    val_id = str(fields.get("val_id", ""))
    record_id = await record_received(
        ctx,
        provider="sslcommerz",
        kind="ipn",
        raw_body=raw_body,
        headers=headers,
        event_id=f"{tran_id}:{val_id}:{status}",
    )

    async def finish(outcome: str, reason: str | None = None, transaction_id=None) -> IpnResult:
        await close_record_alone(ctx, record_id, outcome, reason, transaction_id)
        if outcome in ("rejected", "error"):
            log.warning("sslcommerz_ipn_" + outcome, reason=reason, tran_id=tran_id)
        return IpnResult(outcome, reason)

    if not verify_sign_ok(fields, ctx.sslcommerz.store_password):
        return await finish("rejected", "bad_signature")
    async with ctx.unit_of_work() as session:
        payment = await repository.by_tran_id(session, tran_id)
    if payment is None:
        return await finish("rejected", "unknown_tran_id")
    txid = payment.transaction_id

    try:
        if status in PAID_STATUSES:
            if payment.status in FINAL_PAID and payment.val_id == val_id:
                return await finish("duplicate", None, txid)
            if not val_id:
                return await finish("rejected", "missing_val_id", txid)
            validation = await ctx.sslcommerz.validate(val_id, transaction_id=txid)
            decision: Decision | None = decide_on_validation(payment, validation)
        elif failure_decision(status, None) is not None:
            if payment.status != "initiated":
                return await finish("duplicate", None, txid)
            decision = await settle_from_provider(
                ctx, payment, hint_status=status, hint_error=fields.get("error")
            )
        else:
            return await finish("ignored", f"status_{status.lower() or 'missing'}", txid)
    except ProviderError as exc:
        # Unknown outcome: answer 503 so SSLCommerz may retry; the reconciler covers the rest.
        return await finish("error", type(exc).__name__, txid)

    if decision is None:
        return await finish("rejected", "not_confirmed_by_provider", txid)
    if decision.action == "reject":
        return await finish("rejected", decision.reason, txid)
    async with ctx.unit_of_work() as session:
        changed = await apply_decision(session, payment.id, decision)
        outcome = "processed" if changed else "duplicate"
        await close_record(session, record_id, outcome, decision.reason, txid)
    return IpnResult(outcome, decision.reason)
