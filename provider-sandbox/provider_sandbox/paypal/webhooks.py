"""PayPal webhook events for payouts (P.8): build the envelope, sign it (§1.11), deliver it.

Delivery faults (see `faults.py`): `suppress` (recorded, not sent), `duplicate` (each event sent
twice, each copy its own transmission), `reorder` (this call's events sent newest first, then the
batch's previous event again — a stale one), `tamper` (body changed after signing), `delay:<ms>`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from provider_sandbox.faults import Fault
from provider_sandbox.paypal import render
from provider_sandbox.paypal.signing import AUTH_ALGO
from provider_sandbox.runtime import Sandbox
from provider_sandbox.state import Delivery, PayoutBatch, PayoutItem, iso, now, upper_id

ITEM_EVENTS = {
    "SUCCESS": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
    "FAILED": "PAYMENT.PAYOUTS-ITEM.FAILED",
    "UNCLAIMED": "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
    "ONHOLD": "PAYMENT.PAYOUTS-ITEM.HELD",
    "BLOCKED": "PAYMENT.PAYOUTS-ITEM.BLOCKED",
    "RETURNED": "PAYMENT.PAYOUTS-ITEM.RETURNED",
    "REFUNDED": "PAYMENT.PAYOUTS-ITEM.REFUNDED",
    "DENIED": "PAYMENT.PAYOUTS-ITEM.DENIED",
}
SUMMARIES = {
    "PAYMENT.PAYOUTS-ITEM.SUCCEEDED": "A payout item has succeeded",
    "PAYMENT.PAYOUTS-ITEM.FAILED": "A payout item has failed",
    "PAYMENT.PAYOUTS-ITEM.UNCLAIMED": "A payout item is unclaimed",
    "PAYMENT.PAYOUTS-ITEM.HELD": "A payout item is held",
    "PAYMENT.PAYOUTS-ITEM.BLOCKED": "A payout item was blocked",
    "PAYMENT.PAYOUTS-ITEM.RETURNED": "A payout item was returned",
    "PAYMENT.PAYOUTS-ITEM.CANCELED": "A payout item was cancelled",
    "PAYMENT.PAYOUTS-ITEM.REFUNDED": "A payout item was refunded",
    "PAYMENT.PAYOUTS-ITEM.DENIED": "A payout item was denied",
    "PAYMENT.PAYOUTSBATCH.PROCESSING": "Payouts batch is being processed.",
    "PAYMENT.PAYOUTSBATCH.SUCCESS": "Payouts batch completed successfully.",
    "PAYMENT.PAYOUTSBATCH.DENIED": "Payouts batch got denied.",
}


def _envelope(sb: Sandbox, event_type: str, resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    event_id = f"WH-{upper_id(17)}-{upper_id(17)}"
    base = sb.settings.sandbox_public_url
    event = {
        "id": event_id,
        "event_version": "1.0",
        "create_time": iso(now()),
        "resource_type": resource_type,
        "event_type": event_type,
        "summary": SUMMARIES.get(event_type, event_type),
        "resource": resource,
        "links": [
            {"href": f"{base}/v1/notifications/webhooks-events/{event_id}", "rel": "self", "method": "GET"},
            {
                "href": f"{base}/v1/notifications/webhooks-events/{event_id}/resend",
                "rel": "resend",
                "method": "POST",
            },
        ],
    }
    sb.state.events[event_id] = event
    return event


def item_event(sb: Sandbox, it: PayoutItem, *, cancelled: bool = False) -> dict[str, Any] | None:
    event_type = "PAYMENT.PAYOUTS-ITEM.CANCELED" if cancelled else ITEM_EVENTS.get(it.transaction_status)
    if event_type is None:  # PENDING and REVERSED emit nothing (P.8)
        return None
    # Webhook resources carry no `errors` (P.8): the listener must GET the item for the reason.
    resource = render.item_body(sb.settings.sandbox_public_url, it, with_errors=False)
    return _envelope(sb, event_type, "payouts_item", resource)


def batch_event(sb: Sandbox, b: PayoutBatch) -> dict[str, Any]:
    items = [sb.state.items[i] for i in b.item_ids]
    resource = {
        "batch_header": render.batch_header(b, items),
        "links": [render.batch_link(sb.settings.sandbox_public_url, b.payout_batch_id)],
    }
    event = _envelope(sb, f"PAYMENT.PAYOUTSBATCH.{b.batch_status}", "payouts", resource)
    return event


def signed_delivery(sb: Sandbox, event: dict[str, Any], *, tamper: bool = False) -> Delivery:
    body = json.dumps(event, separators=(",", ":")).encode()
    transmission_id = str(uuid.uuid4())
    transmission_time = iso(now())
    s = sb.settings
    sig = sb.sig.sign(transmission_id, transmission_time, s.paypal_webhook_id, body)
    if tamper:
        body = body.replace(b'"summary":"', b'"summary":"(tampered) ', 1)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PayPal/AUHD-214.0-58609373",
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-TIME": transmission_time,
        "PAYPAL-TRANSMISSION-SIG": sig,
        "PAYPAL-CERT-URL": sb.sig.cert_url,
        "PAYPAL-AUTH-ALGO": AUTH_ALGO,
    }
    return Delivery(
        kind="paypal_webhook",
        url=s.paypal_webhook_url,
        body=body.decode(),
        headers=headers,
        ref=event["id"],
        event_type=event["event_type"],
    )


async def emit(
    sb: Sandbox, events: list[dict[str, Any]], fault: Fault | None = None, stale: dict[str, Any] | None = None
) -> list[Delivery]:
    """Sign and deliver `events` in order, applying the delivery faults in `fault` and armed `@webhook`."""
    fault = (fault or Fault()).merge(sb.faults.take("@webhook", "POST"))
    if not sb.settings.webhooks_enabled or "suppress" in fault.webhook or not events:
        return []
    order = list(events)
    if "reorder" in fault.webhook:
        order.reverse()
        if stale is not None:
            order.append(stale)
    copies = 2 if "duplicate" in fault.webhook else 1
    delay = fault.webhook_delay_ms / 1000 if "delay" in fault.webhook else 0.0
    sent = []
    for event in order:
        for _ in range(copies):
            d = signed_delivery(sb, event, tamper="tamper" in fault.webhook)
            await sb.out.deliver(
                d,
                max_attempts=sb.settings.paypal_webhook_max_attempts,
                base_delay=sb.settings.paypal_webhook_retry_base_seconds,
                delay=delay,
            )
            sent.append(d)
    return sent


async def redeliver(sb: Sandbox, event_id: str) -> Delivery | None:
    """Send a stored event again, as a new transmission (PayPal's "resend")."""
    event = sb.state.events.get(event_id)
    if event is None or not sb.settings.webhooks_enabled:
        return None
    d = signed_delivery(sb, event)
    return await sb.out.deliver(
        d,
        max_attempts=sb.settings.paypal_webhook_max_attempts,
        base_delay=sb.settings.paypal_webhook_retry_base_seconds,
    )
