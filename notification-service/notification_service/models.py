"""Notification Service database models (schema `notifications` on PostgreSQL).

`Notification` is both the history row and the delivery-queue entry: `scheduled_for` NULL means
"due now"; a worker claims a row by setting `status='sending'`, a fresh `claim_token` and
`locked_until` (the lease). Every provider call is a `DeliveryAttempt`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import BigIntPK, JSONType, ModelBase, new_metadata, utcnow
from shared.inbox import InboxMixin
from shared.outbox import OutboxMixin

# Message statuses.
QUEUED, SENDING, SENT, DEAD, SUPPRESSED = "queued", "sending", "sent", "dead", "suppressed"
STATUSES = (QUEUED, SENDING, SENT, DEAD, SUPPRESSED)
CHANNELS = ("email", "sms", "push")


class Base(ModelBase):
    __abstract__ = True
    metadata = new_metadata()


class OutboxMessage(OutboxMixin, Base):
    """Events this service publishes, written in the same transaction as the change."""


class InboxEvent(InboxMixin, Base):
    """Ids of events this service has consumed (dedupe)."""


class Template(Base):
    """One immutable version of a template for (key, channel, language); the highest active
    version is used. `body_html` is rendered with autoescape; subject/text without."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("key", "channel", "language", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    required_variables: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False, default="system")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class Preference(Base):
    """An explicit per-user choice; absent rows mean the category's default."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "category", "channel"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class QuietHours(Base):
    """Optional quiet hours: non-mandatory SMS/push is held until `end` (local time in `timezone`)."""

    __tablename__ = "quiet_hours"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start: Mapped[str] = mapped_column(String(5), nullable=False)  # "HH:MM"
    end: Mapped[str] = mapped_column(String(5), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)


class DeviceToken(Base):
    __tablename__ = "device_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    token: Mapped[str] = mapped_column(String(512), nullable=False, unique=True)
    platform: Mapped[str] = mapped_column(String(16), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "scheduled_for"),
        Index("ix_notification_user", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # `<event id>:<channel>[:<device>]` or `direct:<caller>:<key>:<channel>`: exactly one row each.
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    template_key: Mapped[str] = mapped_column(String(64), nullable=False)
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    recipient: Mapped[str] = mapped_column(String(512), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    internal_tran_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    source_event_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=QUEUED)
    status_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(nullable=True)  # NULL = due now
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    claim_token: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    provider: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempt_no: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
