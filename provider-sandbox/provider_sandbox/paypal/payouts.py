"""PayPal Payouts behaviour (providers.md P.1–P.13): validation, dedupe, balance ledger, batch and
item state machines, outcome rules and the events each transition emits.

Ledger (per currency, `Decimal`): create holds `amount + fee` (the fee estimate); SUCCESS/UNCLAIMED/
ONHOLD keep it debited; FAILED/DENIED/BLOCKED release it; RETURNED/REFUNDED credit the amount back.
"""

from __future__ import annotations

import asyncio
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from provider_sandbox.faults import Fault
from provider_sandbox.paypal import render, webhooks
from provider_sandbox.paypal.auth import PayPalError
from provider_sandbox.runtime import Sandbox
from provider_sandbox.state import PayoutBatch, PayoutItem, now, upper_id

CURRENCIES = {
    "AUD",
    "BRL",
    "CAD",
    "CNY",
    "CZK",
    "DKK",
    "EUR",
    "HKD",
    "HUF",
    "ILS",
    "INR",
    "JPY",
    "MYR",
    "MXN",
    "TWD",
    "NZD",
    "NOK",
    "PHP",
    "PLN",
    "GBP",
    "SGD",
    "SEK",
    "CHF",
    "THB",
    "USD",
}  # no BDT (§1.12)
RECIPIENT_TYPES = {"EMAIL", "PHONE", "PAYPAL_ID", "USER_HANDLE"}
WALLETS = {"PAYPAL", "VENMO", "RECIPIENT_SELECTED"}
PURPOSES = {
    "AWARDS",
    "PRIZES",
    "DONATIONS",
    "GOODS",
    "SERVICES",
    "REBATES",
    "CASHBACK",
    "DISCOUNTS",
    "NON_GOODS_OR_SERVICES",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VALUE_RE = re.compile(r"^\d{1,15}(\.\d+)?$")
MAX_ITEMS = 15000
TERMINAL = {"SUCCESS", "FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED"}
TRANSITIONS = {
    "PENDING": {"SUCCESS", "FAILED", "UNCLAIMED", "ONHOLD", "BLOCKED", "DENIED", "RETURNED"},
    "ONHOLD": {"SUCCESS", "FAILED", "BLOCKED"},
    "UNCLAIMED": {"SUCCESS", "RETURNED"},
    "SUCCESS": {"REFUNDED", "REVERSED"},
}
DEFAULT_ERRORS = {
    "FAILED": "RECEIVER_ACCOUNT_LOCKED",
    "UNCLAIMED": "RECEIVER_UNREGISTERED",
    "BLOCKED": "RISK_DECLINE",
    "DENIED": "RISK_DECLINE",
    "ONHOLD": "REGULATORY_PENDING",
    "RETURNED": "RECEIVER_UNREGISTERED",
}
# PayPal's sandbox test values (P.11): items[0].note on create → that error.
TEST_VALUES = {
    "ERRPYO001": (403, "SENDER_RESTRICTED"),
    "ERRPYO002": (403, "SENDER_EMAIL_UNCONFIRMED"),
    "ERRPYO003": (403, "AUTHORIZATION_ERROR"),
    "ERRPYO005": (422, "INSUFFICIENT_FUNDS"),
    "ERRPYO006": (500, "INTERNAL_ERROR"),
    "ERRPYO010": (400, "VALIDATION_ERROR"),
    "ERRPYO011": (403, "REQUIRED_SCOPE_MISSING"),
    "ERRPYO012": (403, "SENDER_LOCKED"),
    "ERRPYO014": (400, "USER_BUSINESS_ERROR"),
    "ERRPYO035": (429, "RATE_LIMIT_VALIDATION_FAILURES"),
    "ERRPYO036": (504, "REQUEST_TIMEOUT_EXCEEDED"),
    "ERRPYO038": (422, "NON_HOLDING_CURRENCY"),
    "ERRPYO039": (409, "PREVIOUS_REQUEST_IN_PROGRESS"),
}


def _issue(field: str, issue: str) -> dict[str, str]:
    return {"field": field, "location": "body", "issue": issue}


def _validation_error(details: list[dict[str, str]]) -> PayPalError:
    return PayPalError(400, "VALIDATION_ERROR", "Invalid request - see details", details=details)


def fee_for(sb: Sandbox, amount: Decimal, currency: str) -> Decimal:
    fee = min(amount * sb.settings.paypal_fee_percent / 100, sb.settings.paypal_fee_cap)
    return fee.quantize(Decimal(1).scaleb(-render.places(currency)), rounding=ROUND_HALF_UP)


def _validate_item(i: int, raw: Any, default_type: str | None) -> list[dict[str, str]]:
    if not isinstance(raw, dict):
        return [_issue(f"items[{i}]", "Item must be an object")]
    issues = []
    rtype = raw.get("recipient_type") or default_type
    if rtype not in RECIPIENT_TYPES:
        issues.append(_issue(f"items[{i}].recipient_type", "Recipient type is missing or invalid"))
    elif rtype == "PHONE":
        issues.append(
            _issue(f"items[{i}].recipient_type", "The sandbox does not support the PHONE recipient type")
        )
    receiver = raw.get("receiver")
    if (
        not isinstance(receiver, str)
        or not receiver
        or len(receiver) > 127
        or (rtype == "EMAIL" and not EMAIL_RE.match(receiver))
        or (rtype == "PAYPAL_ID" and not re.fullmatch(r"[A-Z0-9]{13}", receiver))
    ):
        issues.append(_issue(f"items[{i}].receiver", "Receiver is invalid or does not match with type"))
    amount = raw.get("amount")
    if not isinstance(amount, dict):
        return [*issues, _issue(f"items[{i}].amount", "Required field missing")]
    currency, value = amount.get("currency"), amount.get("value")
    if currency not in CURRENCIES:
        issues.append(_issue(f"items[{i}].amount.currency", "Currency code is invalid or not supported"))
    # A JSON number is refused: money travels as a string (PayPal's schema says `type: string`).
    if not isinstance(value, str) or not VALUE_RE.match(value) or Decimal(value) <= 0:
        issues.append(_issue(f"items[{i}].amount.value", "Amount must be a positive decimal string"))
    elif isinstance(currency, str) and currency in CURRENCIES:
        decimals = len(value.partition(".")[2])
        if decimals > render.places(currency):
            issues.append(
                _issue(
                    f"items[{i}].amount.value",
                    f"Currency {currency} allows {render.places(currency)} decimal places",
                )
            )
        elif currency == "USD" and Decimal(value) > 20000:
            issues.append(
                _issue(f"items[{i}].amount.value", "Amount exceeds the per-item limit of 20000.00 USD")
            )
    for key, limit in (("sender_item_id", 63), ("note", 4000)):
        if raw.get(key) is not None and (not isinstance(raw[key], str) or len(raw[key]) > limit):
            issues.append(_issue(f"items[{i}].{key}", f"Must be a string of at most {limit} characters"))
    if raw.get("purpose") is not None and raw["purpose"] not in PURPOSES:
        issues.append(_issue(f"items[{i}].purpose", "Purpose is invalid"))
    if raw.get("recipient_wallet") is not None and raw["recipient_wallet"] not in WALLETS:
        issues.append(_issue(f"items[{i}].recipient_wallet", "Recipient wallet is invalid"))
    return issues


def _test_value(body: dict[str, Any], mock: str | None) -> None:
    items = body.get("items")
    note = items[0].get("note") if isinstance(items, list) and items and isinstance(items[0], dict) else None
    code = next((c for c in TEST_VALUES if mock and c in mock), None) or (
        note if note in TEST_VALUES else None
    )
    if code:
        status, name = TEST_VALUES[code]
        raise PayPalError(status, name, f"Simulated {name} (test value {code}).", details=[])


def create(
    sb: Sandbox, client_id: str, body: Any, request_id: str | None, mock: str | None
) -> tuple[int, dict]:
    if (
        sb.settings.paypal_request_id_mode == "replay"
        and request_id
        and (client_id, request_id) in sb.state.request_ids
    ):
        return 200, sb.state.request_ids[(client_id, request_id)]
    if not isinstance(body, dict):
        raise _validation_error([_issue("/", "MALFORMED_REQUEST_JSON")])
    _test_value(body, mock)
    header, items = body.get("sender_batch_header"), body.get("items")
    if not isinstance(header, dict):
        raise _validation_error([_issue("sender_batch_header", "Required field missing")])
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise _validation_error([_issue("items", f"Between 1 and {MAX_ITEMS} items are required")])
    sbid = header.get("sender_batch_id")
    if sbid is not None and (not isinstance(sbid, str) or len(sbid) > 256):
        raise _validation_error(
            [_issue("sender_batch_header.sender_batch_id", "Must be at most 256 characters")]
        )
    issues = [x for i, raw in enumerate(items) for x in _validate_item(i, raw, header.get("recipient_type"))]
    if issues:
        raise _validation_error(issues)  # one bad item rejects the whole request
    base = sb.settings.sandbox_public_url
    if sbid and (client_id, sbid) in sb.state.sender_batch_ids:
        original = sb.state.sender_batch_ids[(client_id, sbid)]
        raise PayPalError(
            400,
            "USER_BUSINESS_ERROR",
            "User business error.",
            details=[
                {
                    "field": "SENDER_BATCH_ID",
                    "issue": "Batch with given sender_batch_id already exists",
                    "link": [{"href": render.batch_url(base, original), "rel": "self", "method": "GET"}],
                }
            ],
        )
    needed: dict[str, Decimal] = {}
    for raw in items:
        cur, amount = raw["amount"]["currency"], Decimal(raw["amount"]["value"])
        needed[cur] = needed.get(cur, Decimal(0)) + amount + fee_for(sb, amount, cur)
    for cur, total in needed.items():
        if total > sb.state.balances.get(cur, Decimal(0)):
            raise PayPalError(
                422,
                "INSUFFICIENT_FUNDS",
                "Sender does not have sufficient funds. Please add funds and retry.",
                details=[],
            )
    for cur, total in needed.items():
        sb.state.balances[cur] -= total  # hold
    batch = PayoutBatch(
        payout_batch_id=upper_id(13), client_id=client_id, sender_batch_header=header, item_ids=[]
    )
    for raw in items:
        cur = raw["amount"]["currency"]
        it = PayoutItem(
            payout_item_id=upper_id(13),
            payout_batch_id=batch.payout_batch_id,
            sender_batch_id=sbid or "",
            recipient_type=raw.get("recipient_type") or header["recipient_type"],
            amount=Decimal(raw["amount"]["value"]),
            currency=cur,
            receiver=raw["receiver"],
            note=raw.get("note"),
            sender_item_id=raw.get("sender_item_id"),
            recipient_wallet=raw.get("recipient_wallet") or "PAYPAL",
            purpose=raw.get("purpose"),
        )
        sb.state.items[it.payout_item_id] = it
        batch.item_ids.append(it.payout_item_id)
    sb.state.batches[batch.payout_batch_id] = batch
    if sbid:
        sb.state.sender_batch_ids[(client_id, sbid)] = batch.payout_batch_id
    header_out = render.batch_header(batch, [])
    response = {
        "batch_header": {
            k: header_out[k]
            for k in ("payout_batch_id", "batch_status", "time_created", "sender_batch_header")
        },
        "links": [render.batch_link(base, batch.payout_batch_id)],
    }
    if request_id:
        sb.state.request_ids[(client_id, request_id)] = response
    sb.out.spawn(run_batch(sb, batch))
    return 201, response


def outcome_for(receiver: str) -> tuple[str, str | None]:
    """Receiver rules for auto-completion (P.13 b): `+fail_<ERROR>@`, `+hold@`, `+block@`, `+unclaimed@`."""
    local = receiver.partition("@")[0].lower()
    if "+fail_" in local:
        return "FAILED", local.partition("+fail_")[2].upper() or None
    for tag, status in (
        ("+hold", "ONHOLD"),
        ("+block", "BLOCKED"),
        ("+unclaimed", "UNCLAIMED"),
        ("+deny", "DENIED"),
    ):
        if tag in local:
            return status, None
    return "SUCCESS", None


async def run_batch(sb: Sandbox, batch: PayoutBatch) -> None:
    """Background: PENDING → PROCESSING after a tick; with auto-complete, resolve pending items later."""
    await asyncio.sleep(sb.settings.paypal_processing_delay_seconds)
    await start_processing(sb, batch)
    if sb.settings.paypal_auto_complete:
        await asyncio.sleep(sb.settings.paypal_auto_complete_delay_seconds)
        for item_id in batch.item_ids:
            it = sb.state.items[item_id]
            if it.transaction_status == "PENDING":
                status, error = outcome_for(it.receiver)
                await transition(sb, it, status, error_name=error)


async def start_processing(
    sb: Sandbox, batch: PayoutBatch, *, emit_now: bool = True
) -> dict[str, Any] | None:
    """PENDING → PROCESSING (fees set); returns the PAYOUTSBATCH.PROCESSING event (sent unless told not)."""
    if batch.batch_status != "PENDING":
        return None
    batch.batch_status = "PROCESSING"
    batch.fees_set = True
    for item_id in batch.item_ids:
        it = sb.state.items[item_id]
        it.fee = fee_for(sb, it.amount, it.currency)
    event = webhooks.batch_event(sb, batch)
    batch.events.append(event["id"])
    if emit_now:
        await webhooks.emit(sb, [event])
    return event


def _ledger(sb: Sandbox, it: PayoutItem, status: str) -> None:
    total = it.amount + fee_for(sb, it.amount, it.currency)
    if status in ("FAILED", "DENIED", "BLOCKED") and it.held:
        sb.state.balances[it.currency] += total
        it.held = False
    elif status in ("RETURNED", "REFUNDED") and it.held:
        sb.state.balances[it.currency] += it.amount if it.transaction_status == "SUCCESS" else total
        it.held = False


async def transition(
    sb: Sandbox,
    it: PayoutItem,
    status: str,
    *,
    error_name: str | None = None,
    fault: Fault | None = None,
    cancelled: bool = False,
) -> list[dict[str, Any]]:
    """Move an item (checked against the machine), then settle its batch; emit the events."""
    if status not in TRANSITIONS.get(it.transaction_status, set()):
        raise ValueError(f"payout item is {it.transaction_status}; cannot move to {status}")
    batch = sb.state.batches[it.payout_batch_id]
    stale = sb.state.events.get(batch.events[-1]) if batch.events else None
    # Completed before the processing tick: PROCESSING goes out with this call's events, in order.
    processing = await start_processing(sb, batch, emit_now=False)
    _ledger(sb, it, status)
    it.transaction_status = status
    it.time_processed = now()
    it.fee = fee_for(sb, it.amount, it.currency) if status not in ("FAILED", "DENIED") else Decimal(0)
    # Item `errors` say why it did not pay: none for SUCCESS/REFUNDED, else the given or a typical name.
    paid = status in ("SUCCESS", "REFUNDED")
    it.error_name = None if paid else (error_name or DEFAULT_ERRORS.get(status))
    if status not in ("FAILED", "DENIED") and not it.transaction_id:
        it.transaction_id, it.activity_id = upper_id(17), upper_id(17)
    events = [e for e in [processing, webhooks.item_event(sb, it, cancelled=cancelled)] if e is not None]
    items = [sb.state.items[i] for i in batch.item_ids]
    if batch.batch_status == "PROCESSING" and all(x.transaction_status != "PENDING" for x in items):
        batch.batch_status = "SUCCESS"
        batch.time_completed = now()
        if all(x.transaction_status in TERMINAL for x in items):
            batch.time_closed = batch.time_completed
        events.append(webhooks.batch_event(sb, batch))
    batch.events.extend(e["id"] for e in events if e is not processing)
    await webhooks.emit(sb, events, fault, stale=stale)
    return events


async def cancel(sb: Sandbox, it: PayoutItem) -> None:
    batch = sb.state.batches[it.payout_batch_id]
    if it.transaction_status == "RETURNED":
        raise PayPalError(400, "ITEM_ALREADY_CANCELLED", "Item has already been cancelled.", details=[])
    if batch.batch_status != "SUCCESS":
        raise PayPalError(400, "BATCH_NOT_COMPLETED", "Batch has not completed processing.", details=[])
    if it.transaction_status != "UNCLAIMED":
        raise PayPalError(400, "ITEM_INCORRECT_STATUS", "Only unclaimed items can be cancelled.", details=[])
    await transition(sb, it, "RETURNED", cancelled=True)
