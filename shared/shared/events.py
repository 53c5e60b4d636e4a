"""The event envelope and the default subscription table (who receives which event types)."""

from __future__ import annotations

import fnmatch
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.db import utcnow
from shared.logging import request_id_var, traceparent_var


class EventEnvelope(BaseModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=100)
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str
    subject_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    trace: dict[str, str] = Field(default_factory=dict)


# subscriber service → event type patterns (fnmatch). Producers fan out to these at publish time;
# a deployment may override with the EVENT_SUBSCRIPTIONS setting of the producer.
DEFAULT_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "audit-service": ("*",),
    "notification-service": ("user.*", "transaction.*", "setting.*"),
    "transaction-service": ("payment.*", "payout.*", "refund.*", "setting.*"),
    "exchange-rate-service": ("setting.*",),
    "payment-service": ("setting.*",),
    "user-service": ("setting.*",),
}


def subscribers_for(
    event_type: str, producer: str, subscriptions: dict[str, tuple[str, ...]] | None = None
) -> list[str]:
    table = DEFAULT_SUBSCRIPTIONS if subscriptions is None else subscriptions
    return sorted(
        name
        for name, patterns in table.items()
        if name != producer and any(fnmatch.fnmatchcase(event_type, p) for p in patterns)
    )


def current_trace() -> dict[str, str]:
    trace: dict[str, str] = {}
    if rid := request_id_var.get():
        trace["request_id"] = rid
    if tp := traceparent_var.get():
        trace["traceparent"] = tp
    return trace
