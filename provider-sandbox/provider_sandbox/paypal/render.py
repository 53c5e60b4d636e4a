"""Payout resources as PayPal renders them (schemas `payout`, `payout_batch`, `payout_item-2`).

Money is `{currency, value}` with `value` a string; JPY/HUF/TWD take no decimals at PayPal (§1.12).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from provider_sandbox.paypal.auth import PAYOUTS_ERRORS_LINK
from provider_sandbox.state import PayoutBatch, PayoutItem, iso

ZERO_DECIMAL = {"JPY", "HUF", "TWD"}
ITEM_ERROR_MESSAGES = {
    "RECEIVER_UNREGISTERED": "Receiver is unregistered",
    "RECEIVER_UNCONFIRMED": "Receiver is unconfirmed",
    "RECEIVER_ACCOUNT_LOCKED": "Receiver account is locked or inactive",
    "RISK_DECLINE": "Transaction was declined due to risk concerns",
    "REGULATORY_PENDING": "Transaction is pending regulatory review",
    "REGULATORY_BLOCKED": "Transaction is blocked for regulatory reasons",
    "RECEIVING_LIMIT_EXCEEDED": "Receiver has exceeded the receiving limit",
    "CURRENCY_NOT_SUPPORTED_FOR_RECEIVER": "Currency is not supported for the receiver",
}


def places(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 2


def fmt(value: Decimal, currency: str) -> str:
    return str(value.quantize(Decimal(1).scaleb(-places(currency)), rounding=ROUND_HALF_UP))


def money(value: Decimal, currency: str) -> dict[str, str]:
    return {"currency": currency, "value": fmt(value, currency)}


def batch_url(base: str, batch_id: str) -> str:
    return f"{base}/v1/payments/payouts/{batch_id}"


def item_url(base: str, item_id: str) -> str:
    return f"{base}/v1/payments/payouts-item/{item_id}"


def sender_header(header: dict[str, Any]) -> dict[str, Any]:
    """The echo of `sender_batch_header` (schema `payout_sender_batch_header`)."""
    keep = ("sender_batch_id", "recipient_type", "email_subject", "email_message")
    return {k: header[k] for k in keep if isinstance(header.get(k), str)}


def item_body(
    base: str, it: PayoutItem, *, in_batch: bool = False, with_errors: bool = True
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "recipient_type": it.recipient_type,
        "amount": money(it.amount, it.currency),
        "receiver": it.receiver,
        "recipient_wallet": it.recipient_wallet,
    }
    for key in ("note", "sender_item_id", "purpose"):
        if getattr(it, key):
            detail[key] = getattr(it, key)
    body: dict[str, Any] = {"payout_item_id": it.payout_item_id}
    if it.transaction_id:
        body["transaction_id"] = it.transaction_id
        body["activity_id"] = it.activity_id
    body |= {
        "transaction_status": it.transaction_status,
        "payout_item_fee": money(it.fee, it.currency),
        "payout_batch_id": it.payout_batch_id,
    }
    if not in_batch:
        body["sender_batch_id"] = it.sender_batch_id
    body["payout_item"] = detail
    if it.time_processed is not None:
        body["time_processed"] = iso(it.time_processed)
    if with_errors and it.error_name:
        body["errors"] = {
            "name": it.error_name,
            "message": ITEM_ERROR_MESSAGES.get(it.error_name, "The payout item could not be completed."),
            "debug_id": it.payout_item_id.lower(),
            "information_link": PAYOUTS_ERRORS_LINK,
            "details": [],
            "links": [],
        }
    if in_batch:
        body["links"] = [
            {
                "href": item_url(base, it.payout_item_id),
                "rel": "item",
                "method": "GET",
                "encType": "application/json",
            }
        ]
    else:
        body["links"] = [
            {
                "href": item_url(base, it.payout_item_id),
                "rel": "self",
                "method": "GET",
                "encType": "application/json",
            },
            {
                "href": batch_url(base, it.payout_batch_id),
                "rel": "batch",
                "method": "GET",
                "encType": "application/json",
            },
        ]
    return body


def batch_header(b: PayoutBatch, items: list[PayoutItem]) -> dict[str, Any]:
    currency = items[0].currency if items else "USD"
    same = [it for it in items if it.currency == currency]  # totals of the first currency
    header: dict[str, Any] = {
        "payout_batch_id": b.payout_batch_id,
        "batch_status": b.batch_status,
        "time_created": iso(b.time_created),
    }
    if b.time_completed is not None:
        header["time_completed"] = iso(b.time_completed)
    if b.time_closed is not None:
        header["time_closed"] = iso(b.time_closed)
    header |= {
        "sender_batch_header": sender_header(b.sender_batch_header),
        "funding_source": "BALANCE",
        "amount": money(sum((it.amount for it in same), Decimal(0)), currency),
        "fees": money(sum((it.fee for it in same), Decimal(0)) if b.fees_set else Decimal(0), currency),
    }
    return header


def batch_link(base: str, batch_id: str) -> dict[str, str]:
    return {"href": batch_url(base, batch_id), "rel": "self", "method": "GET", "encType": "application/json"}
