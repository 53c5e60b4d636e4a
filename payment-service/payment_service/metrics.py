"""Business metrics of the Payment Service (Prometheus; defined once at import)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOKS = Counter(
    "payment_webhooks_total",
    "Provider notifications by outcome (rejected = failed verification)",
    ["provider", "kind", "outcome"],
)
PROVIDER_CALLS = Counter(
    "payment_provider_calls_total",
    "Outgoing provider calls",
    ["provider", "operation", "result"],
)
PROVIDER_LATENCY = Histogram(
    "payment_provider_call_seconds",
    "Provider call latency",
    ["provider", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
)
EVENTS = Counter("payment_events_total", "payment.*/payout.*/refund.* events published", ["type"])
