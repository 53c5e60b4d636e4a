"""Business metrics of the Notification Service (defined once at import)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter("notifications_sent_total", "Messages delivered", ["channel", "provider"])
FAILED = Counter("notification_attempt_failures_total", "Failed send attempts", ["channel", "provider"])
DEAD = Counter("notifications_dead_lettered_total", "Messages dead-lettered", ["channel"])
LATENCY = Histogram(
    "notification_send_seconds",
    "Provider send latency",
    ["channel", "provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BREAKER_OPEN = Gauge(
    "notification_breaker_open", "1 when the provider's circuit breaker is open", ["provider"]
)
BACKLOG = Gauge("notification_queue", "Messages by status", ["status"])
