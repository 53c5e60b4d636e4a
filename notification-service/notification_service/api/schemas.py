"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["email", "sms", "push"]
Status = Literal["queued", "sending", "sent", "dead", "suppressed"]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    category: str
    template_key: str
    language: str
    subject: str
    status: str
    status_reason: str | None
    internal_tran_id: str | None
    transaction_id: str | None
    attempts: int
    scheduled_for: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class Page(BaseModel):
    items: list[NotificationOut]
    total: int
    page: int
    size: int


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_no: int
    provider: str
    ok: bool
    provider_message_id: str | None
    error: str | None
    latency_ms: int
    created_at: datetime


class AdminNotificationOut(NotificationOut):
    user_id: str
    recipient: str
    provider: str | None
    provider_message_id: str | None
    last_error: str | None
    source_event_type: str | None


class AdminPage(BaseModel):
    items: list[AdminNotificationOut]
    total: int
    page: int
    size: int


class AdminDetail(AdminNotificationOut):
    body_text: str
    attempts_log: list[AttemptOut]


class StatRow(BaseModel):
    channel: str
    provider: str | None
    sent: int
    failed: int  # dead-lettered messages
    failed_attempts: int
    delivery_rate: float | None  # sent / (sent + failed); None when nothing finished


class Stats(BaseModel):
    by_channel: list[StatRow]
    by_provider: list[StatRow]
    queued: int
    breakers: dict[str, str]


class DeviceIn(BaseModel):
    token: str = Field(min_length=8, max_length=512)
    platform: Literal["android", "ios", "web"] = "android"


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: str
    active: bool
    created_at: datetime
    token_suffix: str


def _email_only() -> list[Channel]:
    return ["email"]


class DirectSendIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=64)
    template_key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    channels: list[Channel] = Field(default_factory=_email_only, min_length=1, max_length=3)
    variables: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=100)
    category: Literal["security", "transactions", "account", "marketing"] | None = None
    transaction_id: str | None = Field(default=None, max_length=64)
    internal_tran_id: str | None = Field(default=None, max_length=64)
    scheduled_for: datetime | None = None


class DirectSendOut(BaseModel):
    notifications: list[NotificationOut]
